"""The working-copy check in real Chromium: the preview shows under the strict CSP, the page
passes axe in English and Arabic, and the attorney's confirmation releases the copy.

Playwright's sync API cannot start a second time in a thread whose event loop the browser
tests' session-wide Chromium already holds, so this test drives its own Chromium from a
thread of its own; the database is only touched from the test's thread.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from amparo.accounts.roles import Role
from amparo.field import redaction_review, services
from amparo.field.models import AttachmentKind
from tests.browser.accessibility import axe_violations
from tests.browser.conftest import CHROMIUM_ARGS, site  # noqa: F401 -- the live-server fixture
from tests.browser.tour import become, session_for
from tests.field.factories import (
    approved_deployment,
    certified_observer,
    filed_report,
    person,
    signed_in_client,
)
from tests.field.test_redaction_faces import WIDTH, picture, png_bytes
from tests.web.compiled_messages import ensure_compiled_messages

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _check_in_chromium(base: str, session: str, check: str, report_page: str) -> dict[str, Any]:
    executable = shutil.which("chromium")
    assert executable is not None, "Debian's chromium is not installed; run `make system-deps`."
    seen: dict[str, Any] = {"axe": {}, "csp": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=base, locale="en-US")
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.on(
                "console",
                lambda message: (
                    seen["csp"].append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            for language in ("ar", "en"):
                become(context, base, session, language)
                page.goto(check)
                expect(page.locator("html")).to_have_attribute("lang", language)
                page.wait_for_function(
                    "() => { const i = document.getElementById('copy-preview');"
                    " return i && i.complete && i.naturalWidth > 0; }"
                )
                seen["axe"][language] = axe_violations(page)
            seen["width"] = page.eval_on_selector("#copy-preview", "i => i.naturalWidth")
            page.check("#confirmed")
            with page.expect_navigation():
                page.click("text=Confirm the check")
            seen["state"] = page.inner_text("#check-state")
            page.goto(report_page)
            seen["links"] = page.eval_on_selector_all("#attachments a", "l => l.map(a => a.href)")
        finally:
            browser.close()
    return seen


def test_attorney_checks_a_blurred_copy_in_the_browser(site: str) -> None:  # noqa: F811
    ensure_compiled_messages()
    coordinator = person("coco", Role.COORDINATOR)
    alice = certified_observer("alice", coordinator)
    lawyer = person("lina", Role.ATTORNEY)
    deployment = approved_deployment(coordinator)
    services.assign_observer(deployment, alice, 1, "North corner")
    services.set_legal_team(deployment, [lawyer])
    report = filed_report(alice, deployment)
    signed_in_client(alice).post(
        reverse("field:upload_attachment", args=[report.pk]),
        {"file": SimpleUploadedFile("crowd.png", png_bytes(picture()), content_type="image/png")},
    )
    original = report.attachments.get()
    signed_in_client(lawyer).post(reverse("field:working_copy", args=[original.pk]))
    copy = report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    session = session_for(lawyer, mfa_done=True)
    check = reverse("field:working_copy_check", args=[copy.pk])
    with ThreadPoolExecutor(max_workers=1) as pool:
        seen = pool.submit(
            _check_in_chromium, site, session, check, reverse("field:report", args=[report.pk])
        ).result()
    assert seen["axe"] == {"ar": [], "en": []}
    assert seen["csp"] == []
    assert seen["width"] == WIDTH
    assert "checked by a person" in seen["state"]
    assert redaction_review.check_state(copy) == redaction_review.APPROVED
    download = site + reverse("field:download", args=[copy.pk])
    assert download in seen["links"]
