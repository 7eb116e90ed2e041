"""Evidence bundles of a report or a whole event, for a court: verifiable with amparo-verify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from amparo.custody.evidence import actor_of, evidence_store
from amparo.field.models import Attachment, AttachmentKind, Deployment, Report
from amparo.field.redaction_review import APPROVED, check_state


class ExportError(ValueError):
    """Nothing to export, or the export was refused; the message says why."""


def report_item_ids(reports: list[Report]) -> list[str]:
    """Each report's text, then its originals and the working copies a person has checked
    and confirmed, in the order received. A working copy still waiting for its check, or
    rejected, is not shared: its original is in the bundle, and the copy may still show a
    face that must be hidden."""
    ids: list[str] = []
    for report in reports:
        if report.item_id:
            ids.append(report.item_id)
        ids.extend(
            attachment.item_id
            for attachment in Attachment.objects.filter(report=report).order_by("pk")
            if attachment.kind != AttachmentKind.WORKING_COPY or check_state(attachment) == APPROVED
        )
    return ids


def export_reports(reports: list[Report], out: Path, by: Any = None, *, zip: bool = False) -> Path:
    """Write a signed bundle of these reports at `out`; each item gets an "exported" entry."""
    ids = report_item_ids(reports)
    if not ids:
        raise ExportError(_("There is nothing to export yet."))
    role, actor_id = actor_of(by)
    return evidence_store().bundle(ids, Path(out), actor_role=role, actor_id=actor_id, zip=zip)


def export_report(report: Report, out: Path, by: Any = None, *, zip: bool = False) -> Path:
    return export_reports([report], out, by, zip=zip)


def export_deployment(
    deployment: Deployment, out: Path, by: Any = None, *, zip: bool = False
) -> Path:
    reports = list(Report.objects.filter(deployment=deployment).order_by("received_at", "pk"))
    if not reports:
        raise ExportError(_("This event has no reports yet."))
    return export_reports(reports, out, by, zip=zip)
