"""axe-core, as shipped by axe-playwright-python, run inside a page despite our strict CSP."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from playwright.sync_api import Page

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_SCRIPT = files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[str]:
    """Run axe on the page as it is now; one line per violation and offending node."""
    # page.evaluate goes through the DevTools protocol, which CSP does not govern, so the
    # page's own policy stays strict while axe runs.
    page.evaluate(AXE_SCRIPT)
    results: dict[str, Any] = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    found = []
    for violation in results["violations"]:
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            found.append(f"{violation['id']} at {target}: {violation['help']}")
    return found
