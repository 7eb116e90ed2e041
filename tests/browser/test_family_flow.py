"""A parent builds a plan in Spanish; a trusted person raises the alarm for them, in Chromium."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import override_settings
from playwright.sync_api import BrowserContext, expect

from amparo.custody.evidence import forget_opened_stores
from amparo.hotline.models import Case
from amparo.preparedness.models import Activation, VaultDocument
from tests.notify.loopback import SmtpInbox, smtp_inbox  # noqa: F401 - fixture
from tests.preparedness.test_printables import decode_qr, pdf_text

pytestmark = pytest.mark.browser

HOTLINE = "+15550100200"
BIRTH_CERTIFICATE = b"%PDF-1.4\n" + b"Acta de nacimiento de Sofia Rivera\n" * 200 + b"%%EOF\n"


@pytest.fixture
def family_settings(tmp_path: Path) -> Iterator[None]:
    forget_opened_stores()
    with override_settings(EVIDENCE_DIR=tmp_path / "evidence", AMPARO_HOTLINE_NUMBER=HOTLINE):
        yield
    forget_opened_stores()


def test_a_plan_built_in_spanish_is_activated_by_a_trusted_person(
    new_context: Callable[[], BrowserContext],
    site: str,
    smtp_inbox: SmtpInbox,  # noqa: F811 - the fixture imported above
    family_settings: None,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    parent = new_context().new_page()
    parent.set_viewport_size({"width": 375, "height": 740})  # a small phone
    parent.goto("/family/start/")
    suggested = parent.locator(".passphrase code").inner_text()
    assert len(suggested.split("-")) == 5
    parent.fill("[name=display_name]", "María Rivera")
    parent.fill("[name=username]", "rivera")
    parent.select_option("#id_language", "es")
    expect(parent.locator("[name=passphrase]")).to_have_value(suggested)
    parent.click("button[type=submit] >> text=Start my plan")
    expect(parent.locator("h1")).to_contain_text("María Rivera")
    expect(parent.locator("html")).to_have_attribute("lang", "es")

    parent.goto("/family/plan/")
    parent.fill("[name=person_name]", "María Rivera")
    parent.fill("[name=attorney_name]", "Lic. Ana Torres")
    parent.fill("[name=attorney_phone]", "+15550100300")
    parent.locator("form:has([name=person_name]) button[type=submit]").click()

    for child in ("Sofía Rivera", "Mateo Rivera"):
        parent.goto("/family/plan/household/new/")
        parent.fill("[name=name]", child)
        parent.check("[name=is_child]")
        parent.fill("[name=primary_caregiver]", "Rosa Rivera")
        parent.fill("[name=backup_caregiver]", "Luis Pérez")
        parent.select_option("[name=instrument]", "affidavit")
        parent.fill("[name=instrument_state]", "AZ")
        parent.fill("[name=original_kept_at]", "carpeta azul")
        parent.locator("form:has([name=name]) button[type=submit]").click()
        expect(parent.locator("main")).to_contain_text(child)

    for name, address, language in (
        ("Rosa", "rosa@example.org", "es"),
        ("Pastor John", "pastor@example.org", "en"),
    ):
        parent.goto("/family/plan/contacts/new/")
        parent.fill("[name=name]", name)
        parent.select_option("#id_language", language)
        parent.select_option("[name=channel]", "email")
        parent.fill("[name=email]", address)
        parent.select_option("[name=may_be_told]", "children")
        parent.locator("form:has([name=email]) button[type=submit]").click()
        expect(parent.locator("main")).to_contain_text(name)

    parent.goto("/family/plan/documents/")
    parent.select_option("[name=kind]", "birth_certificate")
    parent.set_input_files(
        "[name=file]",
        {"name": "acta.pdf", "mimeType": "application/pdf", "buffer": BIRTH_CERTIFICATE},
    )
    parent.locator("form:has([name=file]) button[type=submit]").click()
    expect(parent.locator("main")).to_contain_text("acta.pdf")
    with parent.expect_download() as download_info:
        parent.click("a[href*='/download/']")
    downloaded = Path(download_info.value.path()).read_bytes()
    assert hashlib.sha256(downloaded).hexdigest() == VaultDocument.objects.get().sha256
    assert downloaded == BIRTH_CERTIFICATE

    for language, words in (("es", "Conozca sus derechos"), ("ar", "حقوقك")):
        card = parent.request.get(f"/family/plan/print/rights-card.pdf?language={language}")
        assert card.headers["content-type"] == "application/pdf"
        assert words in pdf_text(card.body(), tmp_path, 1)
        assert "Know your rights" in pdf_text(card.body(), tmp_path, 2)
        assert decode_qr(card.body(), tmp_path, 1) == [f"tel:{HOTLINE}"]

    parent.goto("/family/plan/alerts/")
    parent.fill("[name=name]", "Carmen")
    parent.locator("form:has([name=name]) button[type=submit]").click()
    reference = parent.locator(".reference").inner_text()
    code = parent.locator(".activation-code").inner_text()
    assert re.fullmatch(r"\d{3}-\d{3}-\d{3}", code)
    parent.screenshot(path=str(artifacts / "family-trusted-code.png"), full_page=True)

    trusted = new_context().new_page()
    trusted.goto("/family/alert/")
    trusted.fill("[name=reference]", reference)
    trusted.fill("[name=code]", code)
    trusted.locator("form:has([name=code]) button[type=submit]").click()
    expect(trusted.locator("[role=status]")).to_contain_text("2")
    trusted.screenshot(path=str(artifacts / "family-activated.png"), full_page=True)

    assert len(smtp_inbox.to("rosa@example.org")) == 1
    assert len(smtp_inbox.to("pastor@example.org")) == 1
    assert "Hola Rosa" in smtp_inbox.to("rosa@example.org")[0].get_content()
    intake = Case.objects.get().intakes.get()
    assert "Sofía Rivera" in intake.children
    assert "Mateo Rivera" in intake.children
    assert "Lic. Ana Torres" in intake.existing_attorney
    assert intake.caller_name == "Carmen"

    # Again within the hour: nothing is sent twice.
    trusted.goto("/family/alert/")
    trusted.fill("[name=reference]", reference)
    trusted.fill("[name=code]", code)
    trusted.locator("form:has([name=code]) button[type=submit]").click()
    expect(trusted.locator("h1")).to_contain_text("already")
    assert len(smtp_inbox.messages) == 2
    assert Activation.objects.count() == 1
