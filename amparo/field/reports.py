"""Observer reports: created once from what the phone sent, read only by those entitled to.

A report's text, as received, is itself an original in the evidence store, so that every
reading of it is a custody event and an export carries it with a receipt.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, BinaryIO

import rfc8785
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.audit.services import record as audit
from amparo.custody.evidence import ingest_for, record_custody
from amparo.evidence.custody import CustodyEvent
from amparo.field import media_types
from amparo.field.models import (
    AgencyType,
    Assignment,
    Attachment,
    Audibility,
    Deployment,
    Detention,
    DispersalOrder,
    Entry,
    ForceIncident,
    Report,
    Witness,
)
from amparo.field.services import pair_partners, require_report_reader

WORK_PRODUCT_LABEL = "Attorney work product. Prepared in anticipation of litigation."
DEFAULT_MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024 * 1024


def max_attachment_bytes() -> int:
    return int(getattr(settings, "FIELD_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_ATTACHMENT_BYTES))


class ReportError(ValueError):
    """What the phone or form sent cannot become a report; the message says what to fix."""


class AttachmentRejected(ValueError):
    """An upload was refused; the message names the file and what was wrong."""


def _text(value: Any, field: str, limit: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ReportError(_("%(field)s must be text.") % {"field": field})
    text = str(value).strip()
    if required and not text:
        raise ReportError(_("%(field)s is required.") % {"field": field})
    if len(text) > limit:
        raise ReportError(
            _("%(field)s is longer than %(limit)d characters.") % {"field": field, "limit": limit}
        )
    return text


def _clock(value: Any, field: str, required: bool = False) -> time | None:
    if value in (None, "") and not required:
        return None
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ReportError(
            _("%(field)s must be a clock time such as 14:05.") % {"field": field}
        ) from None


def _rows(payload: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    rows = payload.get(key) or []
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ReportError(_("%(field)s must be a list of entries.") % {"field": key})
    if len(rows) > 500:
        raise ReportError(_("%(field)s has too many entries.") % {"field": key})
    return rows


@dataclass(frozen=True)
class ReportDraft:
    """A report's content, checked and normalised, before it is saved."""

    client_id: uuid.UUID
    deployment_id: int | None
    device_created_at: str
    agency_types: list[str]
    in_charge_role: str
    narrative: str
    written_after_fact_at: datetime | None
    entries: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    detentions: list[dict[str, Any]]
    force: list[dict[str, Any]]
    witnesses: list[dict[str, Any]]


def parse_report(payload: Mapping[str, Any]) -> ReportDraft:
    """Check what a phone or form sent; raise ReportError naming the first problem."""
    try:
        client_id = uuid.UUID(str(payload.get("client_id", "")))
    except ValueError:
        raise ReportError(_("The report has no valid id; the capture page gives one.")) from None
    deployment = payload.get("deployment")
    if deployment in ("", None):
        deployment_id = None
    elif isinstance(deployment, int) or (isinstance(deployment, str) and deployment.isdigit()):
        deployment_id = int(deployment)
    else:
        raise ReportError(_("The event must be given by its number."))
    agencies = payload.get("agency_types") or []
    if not isinstance(agencies, list) or any(a not in AgencyType.values for a in agencies):
        raise ReportError(_("Agency types must come from the list offered."))
    after = payload.get("written_after_fact_at")
    written_after: datetime | None = None
    if after not in (None, ""):
        written_after = parse_datetime(str(after))
        if written_after is None:
            raise ReportError(_("'Written after the fact at' must be a date and time."))
        if timezone.is_naive(written_after):
            written_after = timezone.make_aware(written_after)
    entries = [
        {
            "clock_time": _clock(row.get("time"), _("Entry time"), required=True),
            "location": _text(row.get("location"), _("Entry location"), 300),
            "what_happened": _text(row.get("what"), _("What happened"), 20000, required=True),
        }
        for row in _rows(payload, "entries")
    ]
    orders = []
    for row in _rows(payload, "orders"):
        audible = str(row.get("audible") or Audibility.UNKNOWN)
        if audible not in Audibility.values:
            raise ReportError(_("Whether an order could be heard must be yes, partly or no."))
        times_given = row.get("times_given")
        orders.append(
            {
                "clock_time": _clock(row.get("time"), _("Order time")),
                "words": _text(row.get("words"), _("What was said"), 5000, required=True),
                "audible": audible,
                "times_given": int(str(times_given)) if str(times_given or "").isdigit() else None,
            }
        )
    detentions = [
        {
            # A name is kept only when the person agreed to it being recorded.
            "person_name": _text(row.get("name"), _("Name"), 200)
            if row.get("name_consent") is True
            else "",
            "clock_time": _clock(row.get("time"), _("Arrest time")),
            "place": _text(row.get("place"), _("Place"), 300),
            "conduct": _text(row.get("conduct"), _("Their conduct"), 5000),
            "apparent_charge": _text(row.get("charge"), _("Apparent charge"), 200),
            "vehicle_type": _text(row.get("vehicle"), _("Vehicle type"), 200),
        }
        for row in _rows(payload, "detentions")
    ]
    force = [
        {
            "what_happened": _text(row.get("what"), _("Force used"), 10000, required=True),
            "medical_help": _text(row.get("medical"), _("Medical help"), 5000),
            "injury_photo_consent": row.get("injury_photo_consent") is True,
        }
        for row in _rows(payload, "force")
    ]
    witnesses = [
        {
            "name": _text(row.get("name"), _("Witness name"), 200, required=True),
            "contact": _text(row.get("contact"), _("How to reach the witness"), 300),
            "filmed": row.get("filmed") is True,
        }
        for row in _rows(payload, "witnesses")
    ]
    return ReportDraft(
        client_id=client_id,
        deployment_id=deployment_id,
        device_created_at=_text(payload.get("device_created_at"), "device_created_at", 64),
        agency_types=list(dict.fromkeys(agencies)),
        in_charge_role=_text(payload.get("in_charge_role"), _("Who was in charge"), 200),
        narrative=_text(payload.get("narrative"), _("Narrative"), 200000),
        written_after_fact_at=written_after,
        entries=entries,
        orders=orders,
        detentions=detentions,
        force=force,
        witnesses=witnesses,
    )


class ReportConflict(ReportError):
    """The report id is already used by someone else's report."""


def _authors_for(filer: User, deployment: Deployment | None) -> list[User]:
    if deployment is None:
        return [filer]
    assignment = Assignment.objects.filter(deployment=deployment, observer=filer).first()
    if assignment is None:
        raise ReportError(_("You are not on the roster of that event."))
    return [filer, *pair_partners(assignment)]


def create_report(filer: User, draft: ReportDraft) -> tuple[Report, bool]:
    """Save a report once; the same id sent again returns the first one (created=False)."""
    existing = Report.objects.filter(client_id=draft.client_id).first()
    if existing is not None:
        return _same_filer(existing, filer), False
    if filer.role != Role.OBSERVER:
        raise ReportError(_("Only observers file field reports."))
    deployment = None
    if draft.deployment_id is not None:
        deployment = Deployment.objects.filter(pk=draft.deployment_id).first()
        if deployment is None:
            raise ReportError(_("That event does not exist."))
    authors = _authors_for(filer, deployment)
    try:
        with transaction.atomic():
            report = _save(filer, draft, deployment, authors)
    except IntegrityError:
        # The same id arrived twice at once; the constraint kept exactly one.
        existing = Report.objects.get(client_id=draft.client_id)
        return _same_filer(existing, filer), False
    return report, True


def _same_filer(report: Report, filer: User) -> Report:
    if report.filed_by_id != filer.pk:
        raise ReportConflict(_("This report id belongs to another report."))
    return report


def _save(
    filer: User, draft: ReportDraft, deployment: Deployment | None, authors: list[User]
) -> Report:
    report = Report.objects.create(
        client_id=draft.client_id,
        deployment=deployment,
        filed_by=filer,
        device_created_at=draft.device_created_at,
        agency_types=draft.agency_types,
        in_charge_role=draft.in_charge_role,
        narrative=draft.narrative,
        written_after_fact_at=draft.written_after_fact_at,
    )
    report.authors.set(authors)
    Entry.objects.bulk_create(Entry(report=report, **row) for row in draft.entries)
    DispersalOrder.objects.bulk_create(DispersalOrder(report=report, **row) for row in draft.orders)
    Detention.objects.bulk_create(Detention(report=report, **row) for row in draft.detentions)
    ForceIncident.objects.bulk_create(ForceIncident(report=report, **row) for row in draft.force)
    Witness.objects.bulk_create(Witness(report=report, **row) for row in draft.witnesses)
    text = report_text(report)
    item = ingest_for(
        filer,
        io.BytesIO(text),
        filename=f"report-{report.client_id}.json",
        media_type="application/json",
    )
    report.item_id = item.id
    report.receipt_index = item.custody_entries[-1]
    report.save(update_fields=["item_id", "receipt_index"])
    return report


def _clock_text(value: time | None) -> str:
    return value.strftime("%H:%M") if value else ""


def _rfc3339(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def report_document(report: Report) -> dict[str, Any]:
    """The report as a JSON-ready document: what an export and the stored original hold."""
    deployment = report.deployment
    return {
        "label": WORK_PRODUCT_LABEL,
        "report_id": str(report.client_id),
        "event": None
        if deployment is None
        else {
            "number": deployment.pk,
            "name": deployment.event_name,
            "place": deployment.place,
            "starts_at": _rfc3339(deployment.starts_at),
        },
        "filed_by": f"user:{report.filed_by_id}",
        "authors": sorted(f"user:{pk}" for pk in report.authors.values_list("pk", flat=True)),
        "received_at": _rfc3339(report.received_at),
        "device_created_at": report.device_created_at,
        "written_after_fact_at": _rfc3339(report.written_after_fact_at),
        "agency_types": list(report.agency_types),
        "in_charge_role": report.in_charge_role,
        "entries": [
            {"time": _clock_text(e.clock_time), "location": e.location, "what": e.what_happened}
            for e in report.entries.all()
        ],
        "orders": [
            {
                "time": _clock_text(o.clock_time),
                "words": o.words,
                "audible": o.audible,
                "times_given": o.times_given,
            }
            for o in report.orders.all().order_by("pk")
        ],
        "detentions": [
            {
                "name": d.person_name,
                "time": _clock_text(d.clock_time),
                "place": d.place,
                "conduct": d.conduct,
                "charge": d.apparent_charge,
                "vehicle": d.vehicle_type,
            }
            for d in report.detentions.all().order_by("pk")
        ],
        "force": [
            {
                "what": f.what_happened,
                "medical": f.medical_help,
                "injury_photo_consent": f.injury_photo_consent,
            }
            for f in report.force.all().order_by("pk")
        ],
        "witnesses": [
            {"name": w.name, "contact": w.contact, "filmed": w.filmed}
            for w in report.witnesses.all().order_by("pk")
        ],
        "narrative": report.narrative,
    }


def report_text(report: Report) -> bytes:
    """The report document as canonical JSON (RFC 8785)."""
    return bytes(rfc8785.dumps(report_document(report)))


# --- Reading, with custody and audit --------------------------------------------------------


def read_report(request: HttpRequest, report: Report) -> Report:
    """Check the reader may read the report, then log the reading as custody and audit events."""
    user = request.user
    assert isinstance(user, User)
    require_report_reader(user, report)
    if report.item_id:
        record_custody(report.item_id, CustodyEvent.VIEWED, user, {"what": "report"})
    audit(request, "field.report.viewed", target=f"report:{report.pk}")
    return report


def log_attachment_download(request: HttpRequest, attachment: Attachment) -> None:
    """Check the reader and log the download (custody and audit) before a byte is sent."""
    user = request.user
    assert isinstance(user, User)
    require_report_reader(user, attachment.report)
    record_custody(attachment.item_id, CustodyEvent.DOWNLOADED, user)
    audit(request, "field.attachment.downloaded", target=f"attachment:{attachment.pk}")


def _stream_head(stream: BinaryIO) -> bytes:
    head = stream.read(media_types.HEAD_SIZE)
    stream.seek(0)
    return head


def check_injury_consent(report: Report, shows_injury: bool, filename: str) -> None:
    if shows_injury and not report.force.filter(injury_photo_consent=True).exists():
        raise AttachmentRejected(
            _(
                "%(file)s: a photo of an injury is kept only with the injured person's "
                "consent; record that consent under 'force and injuries' first."
            )
            % {"file": filename}
        )


def add_attachment(
    report: Report,
    by: User,
    stream: BinaryIO,
    *,
    filename: str,
    size: int,
    shows_injury: bool = False,
    client_file_id: uuid.UUID | None = None,
    capture_metadata: Mapping[str, Any] | None = None,
) -> Attachment:
    """Check an upload's size and type by content, ingest it, and attach it to the report."""
    if not report.authors.filter(pk=by.pk).exists():
        raise AttachmentRejected(_("Only the report's authors add attachments."))
    if size <= 0:
        raise AttachmentRejected(_("%(file)s is empty.") % {"file": filename})
    if size > max_attachment_bytes():
        raise AttachmentRejected(
            _("%(file)s is larger than the limit of %(limit)d MB.")
            % {"file": filename, "limit": max_attachment_bytes() // (1024 * 1024)}
        )
    detected = media_types.detect(_stream_head(stream))
    if detected is None:
        raise AttachmentRejected(
            _("%(file)s is not a kind of file we accept (by its content). Accepted: %(kinds)s.")
            % {"file": filename, "kinds": media_types.accepted_description()}
        )
    check_injury_consent(report, shows_injury, filename)
    item = ingest_for(by, stream, filename=filename[:200], media_type=detected.name)
    return Attachment.objects.create(
        report=report,
        client_file_id=client_file_id or uuid.uuid4(),
        item_id=item.id,
        sha256=item.sha256,
        size=item.size,
        filename=filename[:200],
        media_type=detected.name,
        shows_injury=shows_injury,
        capture_metadata=dict(capture_metadata or {}),
        receipt_index=item.custody_entries[-1],
        added_by=by,
    )
