"""Deployments to pre-planned events, observer reports and their attachments, sync state.

No field here holds an officer's name, badge number or vehicle plate: who appeared to be in
charge is recorded by role only, and anything else an observer saw goes into the narrative.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ObserverProfile(models.Model):
    """A coordinator's own say on whether an observer may be deployed (beside training's)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="observer_profile"
    )
    certified = models.BooleanField(_("certified by a coordinator"), default=False)
    certified_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    certified_set_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"observer profile {self.user_id}"


class DeploymentStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")


class Deployment(models.Model):
    """An organizer's request for observers at a planned event, and what came of it."""

    event_name = models.CharField(_("name of the event"), max_length=200)
    contact_name = models.CharField(_("contact person"), max_length=200)
    contact_how = models.CharField(_("how to reach the contact person"), max_length=300)
    organization = models.CharField(_("organization"), max_length=200)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=300)
    expected_size = models.PositiveIntegerField(_("expected number of people"), null=True)
    expectations = models.TextField(_("what you expect"), blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=16, choices=DeploymentStatus.choices, default=DeploymentStatus.REQUESTED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    legal_team = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="legal_team_deployments", blank=True
    )

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"deployment {self.pk}"


class Assignment(models.Model):
    """An observer on a deployment's roster, with their pair and post."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="roster")
    observer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    pair = models.PositiveSmallIntegerField(_("pair"), null=True, blank=True)
    post = models.CharField(_("post"), max_length=200, blank=True)

    class Meta:
        ordering = ["pair", "observer__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "observer"], name="field_one_assignment_per_observer"
            )
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk}"


class AttendanceKind(models.TextChoices):
    CHECK_IN = "check_in", _("Checked in")
    CHECK_IN_AGAIN = "check_in_again", _("Checked in again")
    SIGN_OUT = "sign_out", _("Signed out")


class Attendance(models.Model):
    """One check-in or sign-out on the day, kept in order."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="attendance")
    kind = models.CharField(max_length=16, choices=AttendanceKind.choices)
    at = models.DateTimeField(default=timezone.now)
    all_handed_in = models.BooleanField(null=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%H:%M}"


class AgencyType(models.TextChoices):
    LOCAL_POLICE = "local_police", _("Local police")
    SHERIFF = "sheriff", _("Sheriff")
    STATE_POLICE = "state_police", _("State police")
    FEDERAL_IMMIGRATION = "federal_immigration", _("Federal immigration")
    OTHER_FEDERAL = "other_federal", _("Other federal")
    PRIVATE_SECURITY = "private_security", _("Private security")
    UNKNOWN = "unknown", _("Unknown")


class Audibility(models.TextChoices):
    YES = "yes", _("Could be heard")
    PARTLY = "partly", _("Could be heard in part")
    NO = "no", _("Could not be heard")
    UNKNOWN = "unknown", _("Not known")


class Report(models.Model):
    """An observer pair's report. Attorney work product; read only by authors and legal team."""

    client_id = models.UUIDField(unique=True, default=uuid.uuid4)
    deployment = models.ForeignKey(
        Deployment, on_delete=models.PROTECT, null=True, blank=True, related_name="reports"
    )
    authors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="field_reports")
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now)
    device_created_at = models.CharField(max_length=64, blank=True)
    agency_types = models.JSONField(default=list)
    in_charge_role = models.CharField(_("who appeared to be in charge (role only)"), max_length=200)
    narrative = models.TextField(_("narrative"), blank=True)
    written_after_fact_at = models.DateTimeField(
        _("written after the fact at"), null=True, blank=True
    )
    # The report's text as received, kept as an original in the evidence store.
    item_id = models.CharField(max_length=32, blank=True)
    receipt_index = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"report {self.pk}"


class Entry(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="entries")
    clock_time = models.TimeField(_("clock time"))
    location = models.CharField(_("location (cross-streets, landmark)"), max_length=300)
    what_happened = models.TextField(_("what happened"))

    class Meta:
        ordering = ["clock_time", "pk"]

    def __str__(self) -> str:
        return f"entry {self.pk}"


class DispersalOrder(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="orders")
    clock_time = models.TimeField(_("time"), null=True)
    words = models.TextField(_("what was said"))
    audible = models.CharField(max_length=8, choices=Audibility.choices, default="unknown")
    times_given = models.PositiveSmallIntegerField(_("how often"), null=True)

    def __str__(self) -> str:
        return f"order {self.pk}"


class Detention(models.Model):
    """An arrest or detention. The name is kept only when known and the person agrees."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="detentions")
    person_name = models.CharField(_("name, if known and they agree"), max_length=200, blank=True)
    clock_time = models.TimeField(_("time"), null=True)
    place = models.CharField(_("place"), max_length=300, blank=True)
    conduct = models.TextField(_("their conduct"), blank=True)
    apparent_charge = models.CharField(_("apparent charge"), max_length=200, blank=True)
    vehicle_type = models.CharField(_("type of vehicle taken in"), max_length=200, blank=True)
    hotline_case_id = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return f"detention {self.pk}"


class ForceIncident(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="force")
    what_happened = models.TextField(_("what happened"))
    medical_help = models.TextField(_("medical help asked for or given"), blank=True)
    injury_photo_consent = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"force {self.pk}"


class Witness(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="witnesses")
    name = models.CharField(_("name"), max_length=200)
    contact = models.CharField(_("how to reach them"), max_length=300, blank=True)
    filmed = models.BooleanField(_("they filmed"), default=False)

    def __str__(self) -> str:
        return f"witness {self.pk}"


class AttachmentKind(models.TextChoices):
    ORIGINAL = "original", _("Original")
    WORKING_COPY = "working_copy", _("Redacted working copy")


class Attachment(models.Model):
    """A photo, video, audio or document held as an original in the evidence store."""

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="attachments")
    client_file_id = models.UUIDField(unique=True, default=uuid.uuid4)
    item_id = models.CharField(max_length=32, unique=True)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    filename = models.CharField(max_length=200)
    media_type = models.CharField(max_length=100)
    kind = models.CharField(
        max_length=16, choices=AttachmentKind.choices, default=AttachmentKind.ORIGINAL
    )
    derived_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="working_copies"
    )
    shows_injury = models.BooleanField(default=False)
    # Device time and any location the observer chose to attach, exactly as received.
    capture_metadata = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)
    receipt_index = models.BigIntegerField()
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["received_at", "pk"]

    def __str__(self) -> str:
        return f"attachment {self.pk}"


class DeviceToken(models.Model):
    """A phone's sync credential. Only its SHA-256 is stored; a coordinator can revoke it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="device_tokens"
    )
    label = models.CharField(_("device"), max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"device {self.pk}"


class Upload(models.Model):
    """A file arriving in chunks; becomes an Attachment once its whole hash checks out."""

    client_file_id = models.UUIDField(unique=True)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="uploads")
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    declared_sha256 = models.CharField(max_length=64)
    declared_size = models.BigIntegerField()
    received_bytes = models.BigIntegerField(default=0)
    filename = models.CharField(max_length=200)
    shows_injury = models.BooleanField(default=False)
    capture_metadata = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    attachment = models.OneToOneField(
        Attachment, on_delete=models.SET_NULL, null=True, blank=True, related_name="upload"
    )
    # The random key sealing this upload's staging file, itself sealed (see field/staging.py);
    # emptied once the file is ingested, so leftover staging bytes can never be opened.
    staging_key = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(received_bytes__lte=models.F("declared_size")),
                name="field_upload_not_past_declared_size",
            )
        ]

    def __str__(self) -> str:
        return f"upload {self.client_file_id}"


class UploadChunk(models.Model):
    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="chunks")
    offset = models.BigIntegerField()
    size = models.IntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["upload", "offset"], name="field_one_chunk_per_offset")
        ]

    def __str__(self) -> str:
        return f"chunk {self.offset}+{self.size}"
