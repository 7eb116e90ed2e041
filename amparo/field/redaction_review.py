"""The human check a working copy needs before anyone can download or share it.

The state lives where the copy's history already is: the custody log. An attorney on the
event's legal team looks at the copy and either confirms it ("every face is blurred"),
rejects it, or asks for a new copy with more rectangles blurred by hand (which rejects this
one). Each decision is a "viewed" custody entry on the copy whose details carry ``check``;
the last such entry decides. A copy without one is still waiting, and so is every working
copy made before checks existed.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.accounts.models import User
from amparo.custody.evidence import evidence_store, record_custody
from amparo.evidence.custody import CustodyEvent, parse_custody_entry
from amparo.field.models import Attachment, AttachmentKind
from amparo.field.redaction import RedactionError
from amparo.field.services import on_legal_team

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
STATE_LABELS = {
    PENDING: gettext_lazy("waiting for a person to check it"),
    APPROVED: gettext_lazy("checked by a person; may be shared"),
    REJECTED: gettext_lazy("rejected; not to be shared"),
}
# What the attorney states, kept in the custody entry in these words.
PHOTO_STATEMENT = "I have checked every face in this copy is blurred"
VIDEO_STATEMENT = "I have watched this copy and it shows no face that must be hidden"


def _entries(attachment: Attachment) -> list[dict[str, Any]]:
    store = evidence_store()
    return [
        parse_custody_entry(store.log.entry(index))
        for index in store.item(attachment.item_id).custody_entries
    ]


def check_state(attachment: Attachment) -> str:
    """pending, approved or rejected; originals are never checked and count as approved."""
    if attachment.kind != AttachmentKind.WORKING_COPY:
        return APPROVED
    state = PENDING
    for entry in _entries(attachment):
        check = entry["details"].get("check")
        if entry["event"] == CustodyEvent.VIEWED and check in (APPROVED, REJECTED):
            state = check
    return state


def derivation(attachment: Attachment) -> dict[str, Any]:
    """The details of the "derived" entry that made this copy (what was removed, blurred)."""
    for entry in _entries(attachment):
        if entry["event"] == CustodyEvent.DERIVED and "from_item" in entry["details"]:
            details: dict[str, Any] = entry["details"]
            return details
    return {}


def is_video(attachment: Attachment) -> bool:
    return attachment.media_type.startswith("video/")


def record_check(
    attachment: Attachment, by: User, approved: bool, replaced_by: Attachment | None = None
) -> int:
    """Log the attorney's decision on a copy still waiting; return its log index."""
    if not on_legal_team(by, attachment.report.deployment):
        raise RedactionError(_("Only the event's legal team checks working copies."))
    if attachment.kind != AttachmentKind.WORKING_COPY:
        raise RedactionError(_("Only working copies are checked; originals never change."))
    if check_state(attachment) != PENDING:
        raise RedactionError(_("This working copy has already been checked."))
    details: dict[str, str | int | bool] = {"check": APPROVED if approved else REJECTED}
    if approved:
        details["statement"] = VIDEO_STATEMENT if is_video(attachment) else PHOTO_STATEMENT
    if replaced_by is not None:
        details["replaced_by"] = replaced_by.item_id
    return record_custody(attachment.item_id, CustodyEvent.VIEWED, by, details)
