from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from amparo.custody.evidence import evidence_store
from amparo.evidence.verify import VerificationFailure, verify_bundle
from amparo.field.models import AttachmentKind
from tests.amparo_verify import run_amparo_verify
from tests.field.conftest import Event
from tests.field.factories import filed_report, signed_in_client, upload_through_page
from tests.field.jpeg_samples import jpeg

pytestmark = pytest.mark.django_db


def _report_with_photo(event: Event):
    report = filed_report(event.alice, event.deployment)
    upload_through_page(event.alice, report, "scene.jpg", jpeg(with_gps=True), "image/jpeg")
    return report


def test_export_bundle_command_writes_a_bundle_amparo_verify_accepts(
    event: Event, tmp_path: Path
) -> None:
    report = _report_with_photo(event)
    out = tmp_path / "report-bundle"
    call_command("export-bundle", "--report", str(report.client_id), "--out", str(out))
    result = run_amparo_verify(out, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: 2 originals")
    documents = [p for p in (out / "data").rglob("*.json") if "report-" in p.name]
    text = json.loads(documents[0].read_text())
    assert text["narrative"].startswith("SECRET NARRATIVE")
    assert text["label"].startswith("Attorney work product")


def test_every_single_byte_change_fails_verification(event: Event, tmp_path: Path) -> None:
    report = _report_with_photo(event)
    out = tmp_path / "bundle"
    call_command("export-bundle", "--report", str(report.pk), "--out", str(out))
    vkey = evidence_store().log_vkey
    verify_bundle(out, vkey)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert len(files) > 5
    for path in files:
        original = path.read_bytes()
        if not original:
            path.write_bytes(b"\n")
            with pytest.raises(VerificationFailure):
                verify_bundle(out, vkey)
        for position in sorted({0, len(original) // 2, len(original) - 1} if original else set()):
            changed = bytearray(original)
            changed[position] ^= 0x01
            path.write_bytes(bytes(changed))
            with pytest.raises(VerificationFailure):
                verify_bundle(out, vkey)
        path.write_bytes(original)
    verify_bundle(out, vkey)


def test_deployment_export_holds_every_report_and_is_a_zip_from_the_legal_teams_page(
    event: Event, tmp_path: Path
) -> None:
    _report_with_photo(event)
    filed_report(event.carol, event.deployment)
    out = tmp_path / "event"
    call_command("export-bundle", "--deployment", str(event.deployment.pk), "--out", str(out))
    assert verify_bundle(out, evidence_store().log_vkey).originals == 3
    response = signed_in_client(event.lawyer).post(
        reverse("field:export_deployment", args=[event.deployment.pk])
    )
    assert response.status_code == 200
    download = tmp_path / "download.zip"
    download.write_bytes(response.getvalue())
    assert zipfile.is_zipfile(download)
    assert verify_bundle(download, evidence_store().log_vkey).originals == 3


def test_unknown_references_are_named(event: Event, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no report 'nope'"):
        call_command("export-bundle", "--report", "nope", "--out", str(tmp_path / "x"))


def test_checkpoint_command_signs_the_log(event: Event, capsys) -> None:
    filed_report(event.alice, event.deployment)
    call_command("checkpoint")
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == evidence_store().origin


def test_a_working_copy_goes_into_a_bundle_only_once_a_person_confirmed_it(
    event: Event, tmp_path: Path
) -> None:
    report = _report_with_photo(event)
    original = report.attachments.get()
    lawyer = signed_in_client(event.lawyer)
    lawyer.post(reverse("field:working_copy", args=[original.pk]))
    copy = report.attachments.get(kind=AttachmentKind.WORKING_COPY)
    check = reverse("field:working_copy_check", args=[copy.pk])

    def exported(name: str) -> set[str]:
        """The item ids of the originals a fresh bundle of the report holds."""
        out = tmp_path / name
        call_command("export-bundle", "--report", str(report.pk), "--out", str(out))
        assert verify_bundle(out, evidence_store().log_vkey)
        return {path.name.split("-", 1)[0] for path in (out / "data" / "originals").iterdir()}

    assert exported("waiting") == {report.item_id, original.item_id}
    lawyer.post(check, {"decision": "approve", "confirmed": "on"})
    assert exported("confirmed") == {report.item_id, original.item_id, copy.item_id}
