from __future__ import annotations

import pytest

from amparo.training.rendering import is_safe_link, render_markdown


def test_raw_script_is_escaped_not_run() -> None:
    html = render_markdown("Hello <script>alert(1)</script> world")
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_event_handler_attributes_stay_text() -> None:
    html = render_markdown('<img src=x onerror="alert(1)">')
    assert "<img" not in html
    assert "&lt;img" in html


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "java\tscript:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
    ],
)
def test_dangerous_links_render_inert(target: str) -> None:
    html = render_markdown(f"[click me]({target})")
    assert "<a " not in html
    assert "href" not in html


def test_a_javascript_autolink_is_not_a_link() -> None:
    html = render_markdown("<javascript:alert(1)>")
    assert "<a " not in html


def test_ordinary_links_work() -> None:
    html = render_markdown("[hotline](https://example.org/help) and [next](../modules/2/)")
    assert '<a href="https://example.org/help">hotline</a>' in html
    assert '<a href="../modules/2/">next</a>' in html


def test_markdown_still_formats() -> None:
    html = render_markdown("**Never** follow officers.\n\n- watch\n- take notes")
    assert "<strong>Never</strong>" in html
    assert "<li>watch</li>" in html


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://a.example", True),
        ("mailto:help@example.org", True),
        ("/training/", True),
        ("#top", True),
        ("javascript:x", False),
        ("data:image/png;base64,AAAA", False),
        ("file:///etc/passwd", False),
    ],
)
def test_link_check(url: str, safe: bool) -> None:
    assert is_safe_link(url) is safe
