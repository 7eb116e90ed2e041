"""Course text is Markdown written by trainers; it renders without raw HTML or script."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

# Only these schemes make a live link; anything else (javascript:, data:, vbscript:) stays text.
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})


def is_safe_link(url: str) -> bool:
    # Browsers ignore tabs, newlines and leading spaces inside a scheme; so must we.
    cleaned = "".join(ch for ch in url if ch not in "\t\r\n\x00").strip()
    scheme = urlsplit(cleaned).scheme.lower()
    if not scheme:
        # A relative link, unless a colon before any slash makes it look like a scheme.
        head = cleaned.split("/", 1)[0]
        return ":" not in head
    return scheme in SAFE_SCHEMES


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False})
    parser.validateLink = is_safe_link  # type: ignore[method-assign]
    return parser


_PARSER = _parser()


def render_markdown(text: str) -> SafeString:
    """HTML for trainer-written Markdown: raw HTML escaped, unsafe links left as plain text."""
    return mark_safe(str(_PARSER.render(text)))  # noqa: S308 - markdown-it escapes all raw HTML
