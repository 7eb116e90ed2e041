from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from amparo.accounts.roles import Role
from amparo.custody.evidence import evidence_store, ingest_for, log_origin, record_custody
from amparo.evidence.custody import parse_custody_entry
from tests.field.factories import person

pytestmark = pytest.mark.django_db


def test_first_use_creates_the_store_named_after_the_site(tmp_path: Path) -> None:
    directory = tmp_path / "evidence"
    with override_settings(EVIDENCE_DIR=directory, SITE_URL="https://help.example.org"):
        store = evidence_store()
        assert store.origin == "help.example.org/log"
        assert evidence_store() is store
    assert (directory / "store.json").exists()


def test_configured_origin_wins(tmp_path: Path) -> None:
    with override_settings(AMPARO_LOG_ORIGIN="network.example/custody"):
        assert log_origin() == "network.example/custody"


def test_evidence_init_prints_the_key_and_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    with override_settings(EVIDENCE_DIR=tmp_path / "store"):
        call_command("evidence-init", "--origin", "example.net/log")
        printed = capsys.readouterr().out
        assert evidence_store().log_vkey in printed
        with pytest.raises(CommandError, match="already exists"):
            call_command("evidence-init")


def test_custody_entries_name_the_user_by_role_and_id_only(tmp_path: Path) -> None:
    lawyer = person("lina", Role.ATTORNEY)
    with override_settings(EVIDENCE_DIR=tmp_path / "store"):
        item = ingest_for(
            lawyer, io.BytesIO(b"%PDF-1.4 x"), filename="a.pdf", media_type="application/pdf"
        )
        index = record_custody(item.id, "viewed", lawyer)
        entry = parse_custody_entry(evidence_store().log.entry(index))
    assert (entry["actor_role"], entry["actor_id"]) == ("attorney", f"user:{lawyer.pk}")
    assert "lina" not in str(entry)
