"""Deployments and reports: thin views over services, reports, redaction and export."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from PIL import Image

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.audit.services import record as audit
from amparo.custody.evidence import evidence_store, record_custody
from amparo.custody.streaming import bundle_download, stream_original
from amparo.evidence.custody import CustodyEvent
from amparo.field import redaction_review, services
from amparo.field.export import ExportError, export_deployment, export_report
from amparo.field.forms import (
    AssignmentForm,
    AttachmentForm,
    AttendanceForm,
    CertifiedForm,
    DecisionForm,
    DeploymentRequestForm,
    LegalTeamForm,
)
from amparo.field.models import (
    Assignment,
    Attachment,
    AttachmentKind,
    AttendanceKind,
    Deployment,
    DeploymentStatus,
    Detention,
    Report,
)
from amparo.field.redaction import RedactionError, can_redact, make_working_copy
from amparo.field.redaction_faces import FaceBlurError, can_blur, parse_boxes
from amparo.field.redaction_forms import CheckForm, WorkingCopyForm
from amparo.field.reports import (
    WORK_PRODUCT_LABEL,
    AttachmentRejected,
    add_attachment,
    log_attachment_download,
    read_report,
)
from amparo.web.policy import Refusal, public, refuse, roles

# The piece a download is streamed in.
DOWNLOAD_CHUNK_SIZE = 1024 * 1024


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


# --- Organizer's request (public) ----------------------------------------------------------


@public
def request_observers(request: HttpRequest) -> HttpResponse:
    form = DeploymentRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.request_deployment(services.DeploymentRequest(**form.cleaned_data))
        return redirect("field:request_sent")
    return render(request, "field/request_form.html", {"form": form})


@public
def request_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "field/request_sent.html")


# --- Coordinators and legal teams ----------------------------------------------------------


def _visible_deployment(request: HttpRequest, pk: int) -> Deployment:
    deployment = get_object_or_404(Deployment, pk=pk)
    if not services.can_see_request(_user(request), deployment):
        raise Refusal(_("Requests are shown only to coordinators and the event's legal team."))
    audit(request, "field.request.viewed", target=f"deployment:{deployment.pk}")
    return deployment


@roles(Role.COORDINATOR, Role.ATTORNEY)
def deployments(request: HttpRequest) -> HttpResponse:
    visible = services.visible_requests(_user(request)).order_by("-starts_at")
    return render(request, "field/deployments.html", {"deployments": visible})


@roles(Role.COORDINATOR, Role.ATTORNEY)
def deployment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deployment = _visible_deployment(request, pk)
    user = _user(request)
    roster = deployment.roster.select_related("observer").prefetch_related("attendance")
    context = {
        "deployment": deployment,
        "roster": roster,
        "is_coordinator": user.role == Role.COORDINATOR,
        "on_legal_team": services.on_legal_team(user, deployment),
        "reports": deployment.reports.all(),
        "decision_form": DecisionForm(),
        "assignment_form": AssignmentForm(observers=services.eligible_observers()),
        "legal_team_form": LegalTeamForm(initial={"attorneys": deployment.legal_team.all()}),
        "approved": deployment.status == DeploymentStatus.APPROVED,
    }
    return render(request, "field/deployment.html", context)


@roles(Role.COORDINATOR)
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    deployment = get_object_or_404(Deployment, pk=pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        services.decide(deployment, approve, _user(request), form.cleaned_data["note"])
        audit(request, "field.request.decided", target=f"deployment:{pk}", detail=str(approve))
    return redirect("field:deployment", pk=pk)


@roles(Role.COORDINATOR)
@require_POST
def add_to_roster(request: HttpRequest, pk: int) -> HttpResponse:
    deployment = get_object_or_404(Deployment, pk=pk)
    form = AssignmentForm(request.POST, observers=services.eligible_observers())
    if not form.is_valid():
        messages.error(request, _("Choose a currently certified observer."))
        return redirect("field:deployment", pk=pk)
    try:
        services.assign_observer(
            deployment,
            form.cleaned_data["observer"],
            form.cleaned_data["pair"],
            form.cleaned_data["post"] or "",
        )
    except services.RosterError as error:
        messages.error(request, str(error))
    return redirect("field:deployment", pk=pk)


@roles(Role.COORDINATOR)
@require_POST
def remove_from_roster(request: HttpRequest, pk: int, assignment_pk: int) -> HttpResponse:
    assignment = get_object_or_404(Assignment, pk=assignment_pk, deployment_id=pk)
    services.remove_observer(assignment.deployment, assignment.observer)
    return redirect("field:deployment", pk=pk)


@roles(Role.COORDINATOR)
@require_POST
def set_legal_team(request: HttpRequest, pk: int) -> HttpResponse:
    deployment = get_object_or_404(Deployment, pk=pk)
    form = LegalTeamForm(request.POST)
    if form.is_valid():
        try:
            services.set_legal_team(deployment, list(form.cleaned_data["attorneys"]))
            audit(request, "field.legal_team.set", target=f"deployment:{pk}")
        except services.RosterError as error:
            messages.error(request, str(error))
    return redirect("field:deployment", pk=pk)


@roles(Role.COORDINATOR)
def observers(request: HttpRequest) -> HttpResponse:
    people = User.objects.filter(role=Role.OBSERVER).order_by("username")
    rows = [(person, services.is_eligible_observer(person)) for person in people]
    certified = set(
        User.objects.filter(observer_profile__certified=True).values_list("pk", flat=True)
    )
    return render(request, "field/observers.html", {"rows": rows, "certified": certified})


@roles(Role.COORDINATOR)
@require_POST
def set_certified(request: HttpRequest, pk: int) -> HttpResponse:
    observer = get_object_or_404(User, pk=pk, role=Role.OBSERVER)
    form = CertifiedForm(request.POST)
    if form.is_valid():
        services.set_coordinator_certified(observer, form.cleaned_data["certified"], _user(request))
        audit(request, "field.observer.certified", target=f"user:{pk}")
    return redirect("field:observers")


@roles(Role.ATTORNEY)
@require_POST
def export_deployment_bundle(request: HttpRequest, pk: int) -> HttpResponseBase:
    deployment = get_object_or_404(Deployment, pk=pk)
    if not services.on_legal_team(_user(request), deployment):
        return refuse(request, _("Only the event's legal team exports its evidence."))
    return _bundle_download(
        request,
        f"event-{deployment.pk}",
        lambda out: export_deployment(deployment, out, request.user, zip=True),
        reverse("field:deployment", args=[pk]),
    )


# --- Observers on the day ------------------------------------------------------------------


@roles(Role.OBSERVER)
def my_events(request: HttpRequest) -> HttpResponse:
    assignments = (
        Assignment.objects.filter(observer=_user(request))
        .select_related("deployment")
        .prefetch_related("attendance")
        .order_by("-deployment__starts_at")
    )
    rows = [(a, services.pair_partners(a)) for a in assignments]
    return render(
        request, "field/my_events.html", {"rows": rows, "attendance_form": AttendanceForm()}
    )


@roles(Role.OBSERVER)
@require_POST
def attendance(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_object_or_404(Assignment, pk=pk)
    if assignment.observer_id != request.user.pk:
        return refuse(request, _("You can check in only for yourself."))
    form = AttendanceForm(request.POST)
    if form.is_valid():
        try:
            services.record_attendance(
                assignment,
                AttendanceKind(form.cleaned_data["kind"]),
                form.cleaned_data["all_handed_in"],
                form.cleaned_data["note"],
            )
            messages.success(request, _("Recorded."))
        except services.RosterError as error:
            messages.error(request, str(error))
    return redirect("field:my_events")


# --- Reports -------------------------------------------------------------------------------

REPORT_READERS = (Role.OBSERVER, Role.ATTORNEY, Role.COORDINATOR)


@roles(*REPORT_READERS)
def reports(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    known = services.reports_known_to(user)
    rows = [(report, services.can_read_report(user, report)) for report in known]
    return render(request, "field/reports.html", {"rows": rows})


def _readable_report(request: HttpRequest, pk: int) -> Report:
    report = get_object_or_404(Report, pk=pk)
    return read_report(request, report)


@roles(*REPORT_READERS)
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = _readable_report(request, pk)
    user = _user(request)
    attachments = list(report.attachments.all())
    context = {
        "report": report,
        "label": _(WORK_PRODUCT_LABEL),
        "attachments": [(a, can_redact(a), redaction_review.check_state(a)) for a in attachments],
        "check_labels": redaction_review.STATE_LABELS,
        "working_copy_form": WorkingCopyForm(),
        "is_author": report.authors.filter(pk=user.pk).exists(),
        "on_legal_team": services.on_legal_team(user, report.deployment),
        "attachment_form": AttachmentForm(),
        "agencies": report.agency_types,
    }
    return render(request, "field/report.html", context)


@roles(Role.OBSERVER)
@require_POST
def upload_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(Report, pk=pk)
    services.require_report_reader(_user(request), report)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to attach."))
        return redirect("field:report", pk=pk)
    upload = form.cleaned_data["file"]
    assert isinstance(upload, UploadedFile)
    try:
        add_attachment(
            report,
            _user(request),
            upload.file,  # type: ignore[arg-type]
            filename=upload.name or "upload",
            size=upload.size or 0,
            shows_injury=form.cleaned_data["shows_injury"],
        )
        messages.success(request, _("Attached and stored as evidence."))
    except AttachmentRejected as error:
        messages.error(request, str(error))
    return redirect("field:report", pk=pk)


@roles(Role.OBSERVER, Role.ATTORNEY, Role.COORDINATOR)
def download_attachment(request: HttpRequest, pk: int) -> HttpResponseBase:
    attachment = get_object_or_404(Attachment, pk=pk)
    services.require_report_reader(_user(request), attachment.report)
    if redaction_review.check_state(attachment) != redaction_review.APPROVED:
        return refuse(
            request,
            _("A working copy can be downloaded only after a person on the legal team checked it."),
            target=f"attachment:{pk}",
        )
    # Logged here, opened only when the first chunk is sent (see custody.streaming).
    log_attachment_download(request, attachment)
    response = StreamingHttpResponse(
        stream_original(attachment.item_id, attachment.sha256, DOWNLOAD_CHUNK_SIZE),
        content_type=attachment.media_type,
    )
    response["Content-Disposition"] = f'attachment; filename="{attachment.pk}-{attachment.item_id}"'
    response["Content-Length"] = str(attachment.size)
    return response


# --- Redacted working copies and their check -----------------------------------------------


@roles(Role.ATTORNEY)
@require_POST
def working_copy(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = get_object_or_404(Attachment, pk=pk)
    if not services.on_legal_team(_user(request), attachment.report.deployment):
        return refuse(request, _("Only the event's legal team makes working copies."))
    form = WorkingCopyForm(request.POST)
    keep_faces = form.is_valid() and bool(form.cleaned_data["keep_faces"])
    try:
        copy = make_working_copy(attachment, _user(request), blur=not keep_faces)
    except RedactionError as error:
        messages.error(request, str(error))
        return redirect("field:report", pk=attachment.report_id)
    audit(request, "field.attachment.derived", target=f"attachment:{copy.pk}")
    messages.success(request, _("A redacted working copy was made; check it before sharing."))
    return redirect("field:working_copy_check", pk=copy.pk)


def _copy_for_legal_team(request: HttpRequest, pk: int) -> Attachment:
    copy = get_object_or_404(
        Attachment.objects.select_related("report__deployment", "derived_from"),
        pk=pk,
        kind=AttachmentKind.WORKING_COPY,
    )
    if not services.on_legal_team(_user(request), copy.report.deployment):
        raise Refusal(_("Only the event's legal team checks working copies."))
    return copy


def _photo_size(copy: Attachment) -> tuple[int, int] | None:
    """The copy's width and height in pixels, read from its header only."""
    if not can_blur(copy.media_type):
        return None
    with evidence_store().blobs.open(copy.item_id, copy.sha256) as reader:
        data = reader.read()
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    return int(width), int(height)


@roles(Role.ATTORNEY)
def working_copy_check(request: HttpRequest, pk: int) -> HttpResponse:
    copy = _copy_for_legal_team(request, pk)
    user = _user(request)
    form = CheckForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            for error in form.non_field_errors():
                messages.error(request, str(error))
            return redirect("field:working_copy_check", pk=pk)
        decision = form.cleaned_data["decision"]
        try:
            if decision == "redo":
                return _blur_more(request, copy, form.cleaned_data["boxes"])
            redaction_review.record_check(copy, user, approved=decision == "approve")
        except RedactionError as error:
            messages.error(request, str(error))
            return redirect("field:working_copy_check", pk=pk)
        approved = decision == "approve"
        audit(
            request,
            "field.working_copy.checked" if approved else "field.working_copy.rejected",
            target=f"attachment:{pk}",
        )
        if approved:
            messages.success(request, _("Checked. The working copy may now be downloaded."))
        else:
            messages.info(request, _("Rejected. The working copy stays, but cannot be shared."))
        return redirect("field:working_copy_check", pk=pk)
    audit(request, "field.working_copy.viewed", target=f"attachment:{pk}")
    state = redaction_review.check_state(copy)
    context = {
        "copy": copy,
        "original": copy.derived_from,
        "state": state,
        "state_label": redaction_review.STATE_LABELS[state],
        "pending": state == redaction_review.PENDING,
        "derivation": redaction_review.derivation(copy),
        "is_video": redaction_review.is_video(copy),
        "size": _photo_size(copy),
        "label": _(WORK_PRODUCT_LABEL),
    }
    return render(request, "field/working_copy_check.html", context)


def _blur_more(request: HttpRequest, copy: Attachment, text: str) -> HttpResponse:
    """A new copy from the original with these rectangles blurred too; this one is rejected."""
    if redaction_review.check_state(copy) != redaction_review.PENDING:
        raise RedactionError(_("This working copy has already been checked."))
    size = _photo_size(copy)
    original = copy.derived_from
    if size is None or original is None:
        raise RedactionError(_("Rectangles can be blurred by hand only in photos."))
    try:
        boxes = parse_boxes(text, *size)
    except FaceBlurError as error:
        raise RedactionError(str(error)) from error
    blurred_before = bool(redaction_review.derivation(copy).get("faces_blurred", True))
    replacement = make_working_copy(
        original, _user(request), blur=blurred_before, boxes_by_hand=boxes
    )
    redaction_review.record_check(copy, _user(request), approved=False, replaced_by=replacement)
    audit(request, "field.attachment.derived", target=f"attachment:{replacement.pk}")
    audit(request, "field.working_copy.rejected", target=f"attachment:{copy.pk}")
    messages.success(request, _("A new working copy was made with those rectangles blurred."))
    return redirect("field:working_copy_check", pk=replacement.pk)


@roles(Role.ATTORNEY)
def working_copy_preview(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The copy itself, for the legal team to check: shown inline if a photo."""
    copy = _copy_for_legal_team(request, pk)
    user = _user(request)
    photo = can_blur(copy.media_type)
    event = CustodyEvent.VIEWED if photo else CustodyEvent.DOWNLOADED
    record_custody(copy.item_id, event, user, {"purpose": "check"})
    audit(request, "field.working_copy.previewed", target=f"attachment:{pk}")
    response = StreamingHttpResponse(
        stream_original(copy.item_id, copy.sha256, DOWNLOAD_CHUNK_SIZE),
        content_type=copy.media_type,
    )
    disposition = "inline" if photo else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{copy.pk}-{copy.item_id}"'
    response["Content-Length"] = str(copy.size)
    return response


@roles(Role.ATTORNEY)
@require_POST
def export_report_bundle(request: HttpRequest, pk: int) -> HttpResponseBase:
    report = get_object_or_404(Report, pk=pk)
    if not services.on_legal_team(_user(request), report.deployment):
        return refuse(request, _("Only the event's legal team exports its evidence."))
    return _bundle_download(
        request,
        f"report-{report.pk}",
        lambda out: export_report(report, out, request.user, zip=True),
        reverse("field:report", args=[pk]),
    )


def _bundle_download(
    request: HttpRequest, name: str, write: Callable[[Path], Path], back: str
) -> HttpResponseBase:
    return bundle_download(
        request,
        name,
        write,
        back=back,
        action="field.bundle.exported",
        target=name,
        refusals=(ExportError,),
    )


@roles(Role.OBSERVER, Role.ATTORNEY)
@require_POST
def open_hotline_intake(request: HttpRequest, pk: int) -> HttpResponse:
    detention = get_object_or_404(Detention, pk=pk)
    services.require_report_reader(_user(request), detention.report)
    try:
        case_id = services.open_hotline_intake(detention, _user(request))
    except services.RosterError as error:
        messages.error(request, str(error))
        return redirect("field:report", pk=detention.report_id)
    audit(request, "field.hotline_intake.opened", target=f"detention:{pk}")
    if case_id is None:
        messages.info(
            request, _("The hotline cannot take intakes yet; the details are kept ready.")
        )
    else:
        messages.success(request, _("A hotline intake was opened for this person."))
    return redirect("field:report", pk=detention.report_id)
