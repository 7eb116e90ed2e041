"""Hotline pages. Views parse, check the object, call one service, render.

A-numbers and dates of birth travel only in POST bodies and are never put in a URL.
"""

from __future__ import annotations

import html
import logging
import time
from functools import cache
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.audit.services import record
from amparo.custody.streaming import bundle_download
from amparo.hotline import (
    documents,
    intake_writer,
    referrals,
    reminders,
    services,
    template_review,
    updates,
)
from amparo.hotline.a_numbers import format_a_number, masked_a_number
from amparo.hotline.forms import (
    ANumberSearchForm,
    CustodySearchForm,
    DeclineForm,
    HearingForm,
    IntakeForm,
    NoteForm,
    StatusForm,
)
from amparo.hotline.intake_throttle import Verdict, known_refusal, public_form_bucket
from amparo.hotline.models import (
    Case,
    CaseStatus,
    DuplicateFlag,
    Intake,
    IntakeChannel,
    Offer,
    UpdateTemplate,
)
from amparo.web.policy import Refusal, public, roles

logger = logging.getLogger(__name__)
STAFF_ROLES = (Role.HOTLINE, Role.COORDINATOR)
PUBLIC_FORM_BUCKET = "public-intake"


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _case_for(request: HttpRequest, case_id: int) -> Case:
    """The case, if this person may see it: hotline staff any case, an attorney only theirs."""
    case = get_object_or_404(Case.objects.select_related("assigned_attorney"), pk=case_id)
    user = _user(request)
    if user.role == Role.ATTORNEY and case.assigned_attorney_id != user.pk:
        raise Refusal(_("this case is not assigned to you"))
    return case


def _intake_initial(request: HttpRequest) -> dict[str, Any]:
    language = translation.get_language() or "en"
    return {"caller_language": language, "best_language": language}


# --- the public form -------------------------------------------------------------------


# How long a family is asked to wait when the database could not store their answers.
RETRY_AFTER_FAILURE_SECONDS = 30


def _kept_answers(request: HttpRequest) -> list[tuple[str, str]]:
    """The public form's answers as they were sent, for the busy page to send again: only the
    form's own fields, so nothing else that was in the body comes back."""
    return [
        (name, value) for name in IntakeForm.base_fields for value in request.POST.getlist(name)
    ]


def _busy(request: HttpRequest, verdict: Verdict, status: int = 429) -> HttpResponse:
    """Not sent: the family is told when to try again, and their answers wait on the page,
    ready to be sent again or brought back into the form (a page that is never cached is not
    refilled by the browser's Back button)."""
    kept = _kept_answers(request)
    context = {
        "retry_after": verdict.retry_after_seconds,
        # Joined here rather than in a template loop (in a flood this page is most answers);
        # html.escape with quote=True escapes what Django's escape does.
        "kept": mark_safe(  # noqa: S308 (every name and value is escaped)
            "".join(
                f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
                for name, value in kept
            )
        ),
    }
    response = render(request, "hotline/busy.html", context, status=status)
    response["Retry-After"] = str(verdict.retry_after_seconds)
    return response


@public
@sensitive_post_parameters("a_number", "date_of_birth")
def help_form(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and SWITCH_LANGUAGE in request.POST:
        return _intake_form_in(request, request.POST[SWITCH_LANGUAGE], "hotline/help_form.html")
    if request.method == "POST":
        shape = public_form_bucket()
        # When this process already knows the bucket is empty, the form is not even read.
        known = known_refusal(PUBLIC_FORM_BUCKET, shape)
        if known is not None:
            return _busy(request, known)
        form = IntakeForm(request.POST)
        valid = form.is_valid()
        # One write transaction per submission: token, case and audit event together.
        try:
            verdict, _outcome = intake_writer.record_public_intake(
                services.IntakeAnswers.from_cleaned(form.cleaned_data) if valid else None,
                PUBLIC_FORM_BUCKET,
                shape,
            )
        except (DatabaseError, TimeoutError):
            # Locked too long, disk full, database gone: not acknowledged, and the family is
            # asked to send it again or to call. (After a timeout the writer may still store
            # it; the second sending is then flagged as a possible duplicate.)
            logger.exception("a public intake could not be stored")
            failed = Verdict(allowed=False, retry_after_seconds=RETRY_AFTER_FAILURE_SECONDS)
            return _busy(request, failed, status=503)
        if not verdict.allowed:
            return _busy(request, verdict)
        if valid:
            return HttpResponseRedirect(_thanks_path(get_script_prefix()))
    elif request.method == "GET":
        form = IntakeForm(initial=_intake_initial(request))
    else:
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(request, "hotline/help_form.html", {"form": form})


# The intake forms' own language buttons (public form and call script): pressed, the form
# comes back in that language with everything typed so far, and nothing is sent. (The switcher
# at the top of every page is a form of its own, and would lose what was typed.)
SWITCH_LANGUAGE = "switch_language"


def _intake_form_in(request: HttpRequest, language: str, template: str) -> HttpResponse:
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = translation.get_language() or settings.LANGUAGE_CODE
    translation.activate(language)
    request.LANGUAGE_CODE = language
    typed: dict[str, Any] = {}
    for name, field in IntakeForm.base_fields.items():
        if isinstance(field, forms.BooleanField):
            typed[name] = name in request.POST  # an unticked box is not sent at all
        elif name in request.POST:
            typed[name] = request.POST[name]
    response = render(request, template, {"form": IntakeForm(initial=typed)})
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]  # "Lax"
    )
    return response


@cache
def _thanks_path(script_prefix: str) -> str:
    """Where an acknowledged submission is sent: reversed once per script prefix, not on
    every submission."""
    return reverse("hotline:help_thanks")


@public
def help_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "hotline/help_thanks.html")


# --- hotline staff ---------------------------------------------------------------------


@roles(*STAFF_ROLES)
@sensitive_post_parameters("a_number", "date_of_birth")
def call_script(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and SWITCH_LANGUAGE in request.POST:
        # A volunteer who finds the caller speaks another language reads the script in it.
        return _intake_form_in(request, request.POST[SWITCH_LANGUAGE], "hotline/call_script.html")
    if request.method == "POST":
        form = IntakeForm(request.POST)
        form.asks_for_a_way_back = False  # the caller is on the line; some have no number
        if form.is_valid():
            outcome = services.record_intake(
                services.IntakeAnswers.from_cleaned(form.cleaned_data),
                IntakeChannel.CALL,
                taken_by=_user(request),
            )
            record(request, "hotline.intake.call", target=f"case:{outcome.case.pk}")
            if outcome.duplicates:
                messages.warning(request, _("This may be a case we already have. Check below."))
            return redirect("hotline:case", case_id=outcome.case.pk)
    else:
        form = IntakeForm(initial=_intake_initial(request))
    return render(request, "hotline/call_script.html", {"form": form})


@roles(*STAFF_ROLES)
@sensitive_post_parameters("a_number")
def case_list(request: HttpRequest) -> HttpResponse:
    search = ANumberSearchForm(request.POST if request.method == "POST" else None)
    found: list[Case] | None = None
    if request.method == "POST" and search.is_valid():
        found = list(services.find_cases_by_a_number(search.cleaned_data["a_number"]))
        record(
            request,
            "hotline.search.a_number",
            detail=f"{len(found)} found: " + _case_ids(found),
        )
    cases = list(
        Case.objects.filter(merged_into=None)
        .select_related("assigned_attorney")
        .order_by("-created_at")[:200]
    )
    # The list shows each case's name, status, facility and attorney: a read of each.
    record(request, "hotline.case.list", detail=_case_ids(cases))
    flagged = {
        side
        for pair in DuplicateFlag.objects.filter(resolved_at=None).values_list(
            "case_id", "other_id"
        )
        for side in pair
    }
    return render(
        request,
        "hotline/case_list.html",
        {"cases": cases, "flagged": flagged, "search": search, "found": found},
    )


def _case_ids(cases: list[Case]) -> str:
    return "cases " + ",".join(str(case.pk) for case in cases) if cases else "no cases"


def _shared_with_attorneys(case: Case) -> QuerySet[Intake]:
    """The reports an attorney may read: those whose caller agreed to share with partner
    attorneys. A merge can join a report whose caller did not to one whose caller did."""
    return case.intakes.filter(consent_share_with_attorneys=True)


@roles(*STAFF_ROLES, Role.ATTORNEY)
def deadlines(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    mine = Case.objects.filter(assigned_attorney=user) if user.role == Role.ATTORNEY else None
    return render(
        request, "hotline/deadlines.html", {"rows": services.upcoming_deadlines(cases=mine)}
    )


@roles(*STAFF_ROLES, Role.ATTORNEY)
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    if case.merged_into_id is not None:
        return redirect("hotline:case", case_id=case.merged_into_id)
    return _case_page(request, case)


def _case_page(request: HttpRequest, case: Case, **refused: forms.Form) -> HttpResponse:
    """The case page; a form that was sent and refused comes back as it was sent, with its
    errors, in place of the empty one (and the page answers 400), so nothing typed is lost."""
    user = _user(request)
    sees_immigration_details = user.role == Role.ATTORNEY
    # Hotline staff see the A-number and birth date only when they asked to, for a search.
    shows_immigration_details = _immigration_details_shown(request, case)
    record(
        request,
        "hotline.case.read",
        target=f"case:{case.pk}",
        detail="with immigration details" if shows_immigration_details else "",
    )
    digits = case.a_number()
    born = case.date_of_birth()
    context: dict[str, Any] = {
        "case": case,
        "a_number": format_a_number(digits) if shows_immigration_details else "",
        "a_number_masked": masked_a_number(digits),
        "date_of_birth": born if shows_immigration_details else None,
        "has_date_of_birth": born is not None,
        "sees_immigration_details": sees_immigration_details,
        "shows_immigration_details": shows_immigration_details,
        "reveal_minutes": REVEAL_SECONDS // 60,
        "intakes": (
            _shared_with_attorneys(case) if sees_immigration_details else case.intakes.all()
        ).select_related("taken_by"),
        "withheld_reports": (
            case.intakes.filter(consent_share_with_attorneys=False).count()
            if sees_immigration_details
            else 0
        ),
        "timeline": services.timeline(case),
        "searches": case.custody_searches.select_related("searched_by"),
        "hearings": case.hearings.order_by("scheduled_for", "id"),
        "deadline_rows": services.upcoming_deadlines(cases=Case.objects.filter(pk=case.pk)),
        "reminded": reminders.recipients_for_case(case),
        "notes": case.notes.select_related("author"),
        "offers": case.offers.select_related("attorney", "offered_by"),
        "documents": documents.documents_of(case),
        "documents_unlocked": shows_immigration_details,
        "document_form": documents.CaseDocumentForm(),
        "document_limit": documents.document_max_bytes(),
        "document_types": documents.ACCEPTED_TYPES,
        "flags": [
            (flag, services.other_side(flag, case)) for flag in services.open_duplicate_flags(case)
        ],
        "updates_sent": case.family_updates.select_related("template", "intake").filter(
            **({"intake__consent_share_with_attorneys": True} if sees_immigration_details else {})
        ),
        "status_form": StatusForm(initial={"status": case.status}),
        "search_form": CustodySearchForm(),
        "hearing_form": HearingForm(),
        "note_form": NoteForm(),
        "statuses": CaseStatus.choices,
    }
    context |= refused
    if user.role != Role.ATTORNEY:
        context["suggestions"] = referrals.suggestions_for(case)[:10]
        context["pending_offer"] = referrals.pending_offer(case)
        context["update_choices"] = [
            (intake, list(updates.templates_for(intake))) for intake in case.intakes.all()
        ]
    return render(request, "hotline/case_detail.html", context, status=400 if refused else 200)


def _back(case: Case) -> HttpResponse:
    return redirect("hotline:case", case_id=case.pk)


# How long the A-number and birth date stay shown to a volunteer who asked, for a search.
REVEAL_SECONDS = 15 * 60
_REVEALED = "hotline_revealed_cases"


def _revealed(request: HttpRequest, case: Case) -> bool:
    until = request.session.get(_REVEALED, {}).get(str(case.pk))
    return isinstance(until, (int, float)) and time.time() < until


def _immigration_details_shown(request: HttpRequest, case: Case) -> bool:
    """Whether this person sees the case's A-number, birth date and every document: the legal
    team does, and hotline staff once they asked to (for a custody search)."""
    return _user(request).role == Role.ATTORNEY or _revealed(request, case)


@roles(*STAFF_ROLES)
@require_POST
def case_reveal(request: HttpRequest, case_id: int) -> HttpResponse:
    """Show this volunteer the A-number and date of birth for a while: the online detainee
    locator asks for them. The request is audited; the session keeps only the case number
    and until when, never the values."""
    case = _case_for(request, case_id)
    now = time.time()
    shown = {
        key: until
        for key, until in request.session.get(_REVEALED, {}).items()
        if isinstance(until, (int, float)) and until > now
    }
    shown[str(case.pk)] = now + REVEAL_SECONDS
    request.session[_REVEALED] = shown
    record(request, "hotline.case.reveal", target=f"case:{case.pk}", detail="for a custody search")
    return _back(case)


@roles(*STAFF_ROLES, Role.ATTORNEY)
@require_POST
def case_status(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, status_form=form)
    services.set_status(
        case, CaseStatus(form.cleaned_data["status"]), _user(request), form.cleaned_data["note"]
    )
    return _back(case)


@roles(*STAFF_ROLES)
@require_POST
def case_search(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    form = CustodySearchForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The custody search was not recorded: check the fields."))
        return _case_page(request, case, search_form=form)
    services.log_custody_search(case, _user(request), **form.cleaned_data)
    messages.success(request, _("Custody search recorded."))
    return _back(case)


@roles(*STAFF_ROLES, Role.ATTORNEY)
@require_POST
def case_hearing(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    form = HearingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The hearing was not recorded: check the fields."))
        return _case_page(request, case, hearing_form=form)
    data = form.cleaned_data
    services.record_hearing(
        case,
        _user(request),
        kind=data["kind"],
        court=data["court"],
        judge=data["judge"],
        scheduled_for=data["scheduled_for"],
        decision_date=data["decision_date"],
        bond_outcome=data["bond_outcome"],
        bond_amount=data["bond_amount"],
    )
    messages.success(request, _("Hearing recorded."))
    return _back(case)


@roles(*STAFF_ROLES, Role.ATTORNEY)
@require_POST
def case_note(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, note_form=form)
    services.add_note(case, _user(request), form.cleaned_data["body"])
    return _back(case)


@roles(*STAFF_ROLES)
@require_POST
def case_offer(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    ranked = referrals.suggestions_for(case)
    chosen = request.POST.get("attorney", "")
    position = next((i for i, s in enumerate(ranked) if str(s.profile.attorney_id) == chosen), None)
    if position is None:
        messages.error(request, _("That attorney is not among the suggestions for this case."))
        return _back(case)
    try:
        offer = referrals.offer_case(
            case, ranked[position].profile.attorney, _user(request), rank=position + 1
        )
    except referrals.OfferError as error:
        messages.error(request, str(error))
    else:
        record(request, "hotline.offer.made", target=f"offer:{offer.pk}")
        messages.success(request, _("The case was offered."))
    return _back(case)


@roles(*STAFF_ROLES)
@require_POST
def case_update(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    intake = get_object_or_404(case.intakes, pk=request.POST.get("intake") or 0)
    try:
        sent = updates.send_family_update(
            case, intake, request.POST.get("template", ""), _user(request)
        )
    except updates.UpdateRefused as error:
        messages.error(request, _("Not sent: %(reason)s") % {"reason": error})
        return _back(case)
    record(request, "hotline.update.sent", target=f"case:{case.pk}", allowed=True)
    if sent.delivered:
        messages.success(request, _("The update was sent."))
    else:
        messages.error(
            request, _("The update could not be delivered: %(why)s") % {"why": sent.failure}
        )
    return _back(case)


@roles(*STAFF_ROLES)
@require_POST
def case_merge(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    flag = get_object_or_404(services.open_duplicate_flags(case), pk=request.POST.get("flag") or 0)
    other = services.other_side(flag, case)
    if request.POST.get("decision") == "merge":
        # The older case survives; the newer report's history joins it.
        keep, absorb = (other, case) if other.pk < case.pk else (case, other)
        try:
            services.merge_cases(keep, absorb, _user(request))
        except ValueError as error:
            messages.error(request, str(error))
            return _back(case)
        record(request, "hotline.case.merged", target=f"case:{keep.pk}", detail=f"{absorb.pk}")
        messages.success(request, _("The two cases are now one."))
        return _back(keep)
    services.dismiss_duplicate_flag(flag, _user(request))
    return _back(case)


# --- attorneys and their offers ---------------------------------------------------------


@roles(Role.ATTORNEY)
def offer_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    offers = Offer.objects.filter(attorney=user).select_related("case").order_by("-offered_at")
    my_cases = list(Case.objects.filter(assigned_attorney=user, merged_into=None))
    if my_cases:  # named, with their status: a read of each
        record(request, "hotline.case.list", detail=_case_ids(my_cases))
    return render(request, "hotline/offer_list.html", {"offers": offers, "my_cases": my_cases})


@roles(Role.ATTORNEY)
def offer_detail(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = get_object_or_404(Offer.objects.select_related("case"), pk=offer_id)
    offer = referrals.offer_for_attorney(offer.pk, _user(request))
    context: dict[str, Any] = {"offer": offer, "case": offer.case, "decline_form": DeclineForm()}
    if referrals.may_see_details(offer):
        case = offer.case
        referrals.note_details_viewed(offer)
        record(request, "hotline.offer.details_read", target=f"offer:{offer.pk}")
        born = case.date_of_birth()
        context |= {
            "details": True,
            "a_number": format_a_number(case.a_number()),
            "date_of_birth": born,
            "intakes": _shared_with_attorneys(case),
            "withheld_reports": case.intakes.filter(consent_share_with_attorneys=False).count(),
            "searches": case.custody_searches.all(),
            "documents": documents.documents_of(case),
            "documents_unlocked": True,
        }
    else:
        # Before the conflict check the page shows the person's names, facility and language.
        record(request, "hotline.offer.read", target=f"offer:{offer.pk}")
    return render(request, "hotline/offer_detail.html", context)


def _offer_step(request: HttpRequest, offer_id: int) -> Offer:
    get_object_or_404(Offer, pk=offer_id)
    return referrals.offer_for_attorney(offer_id, _user(request))


@roles(Role.ATTORNEY)
@require_POST
def offer_no_conflict(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = _offer_step(request, offer_id)
    try:
        referrals.confirm_no_conflict(offer)
    except referrals.OfferError as error:
        messages.error(request, str(error))
    record(request, "hotline.offer.no_conflict", target=f"offer:{offer.pk}")
    return redirect("hotline:offer", offer_id=offer.pk)


@roles(Role.ATTORNEY)
@require_POST
def offer_accept(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = _offer_step(request, offer_id)
    try:
        referrals.accept_offer(offer)
    except referrals.OfferError as error:
        messages.error(request, str(error))
        return redirect("hotline:offer", offer_id=offer.pk)
    record(request, "hotline.offer.accepted", target=f"offer:{offer.pk}")
    messages.success(request, _("You accepted the case."))
    return redirect("hotline:case", case_id=offer.case_id)


@roles(Role.ATTORNEY)
@require_POST
def offer_decline(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = _offer_step(request, offer_id)
    form = DeclineForm(request.POST)
    form.is_valid()
    try:
        referrals.decline_offer(
            offer,
            reason=form.cleaned_data.get("reason", ""),
            conflict=bool(form.cleaned_data.get("conflict")),
        )
    except referrals.OfferError as error:
        messages.error(request, str(error))
        return redirect("hotline:offer", offer_id=offer.pk)
    record(request, "hotline.offer.declined", target=f"offer:{offer.pk}")
    messages.success(request, _("You declined; the case goes to the next attorney."))
    return redirect("hotline:offers")


# --- case documents ----------------------------------------------------------------------


@roles(*STAFF_ROLES, Role.ATTORNEY)
@require_POST
def case_document_add(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    if case.merged_into_id is not None:
        # A page from before a merge: the document goes to the case that survives, if this
        # person may add to that one too.
        case = _case_for(request, documents.surviving_case(case).pk)
    form = documents.CaseDocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("No document was added: choose a file and say what it is."))
        return _back(case)
    sent = form.cleaned_data["file"]
    try:
        kept = documents.add_document(
            case,
            _user(request),
            sent,
            filename=sent.name,
            size=sent.size,
            kind=form.cleaned_data["kind"],
        )
    except documents.DocumentRefused as refusal:
        messages.error(request, _("Not added: %(reason)s") % {"reason": refusal})
    else:
        messages.success(request, _("Kept safely, encrypted: %(name)s") % {"name": kept.filename})
    return _back(case)


@roles(*STAFF_ROLES, Role.ATTORNEY)
@require_GET
def case_document(request: HttpRequest, case_id: int, document_id: int) -> HttpResponseBase:
    get_object_or_404(Case, pk=case_id)
    case = documents.readable_case(_user(request), case_id)
    if case.merged_into_id is not None:
        # A link from before a merge: the document moved with the merge; the surviving case
        # checks who may read it and logs the download.
        survivor = documents.surviving_case(case)
        return redirect("hotline:case_document", case_id=survivor.pk, document_id=document_id)
    document = documents.open_document(
        request, case, document_id, unlocked=_immigration_details_shown(request, case)
    )
    response = StreamingHttpResponse(
        documents.plaintext(document), content_type=document.media_type
    )
    response["Content-Disposition"] = f'attachment; filename="{documents.download_name(document)}"'
    response["Content-Length"] = str(document.size)
    return response


@roles(*STAFF_ROLES, Role.ATTORNEY)
@require_POST
def case_documents_bundle(request: HttpRequest, case_id: int) -> HttpResponseBase:
    """The case's documents as a signed bundle anyone can check offline with amparo-verify."""
    get_object_or_404(Case, pk=case_id)
    case = documents.readable_case(_user(request), case_id)
    if case.merged_into_id is not None:  # the documents moved with the merge
        case = documents.readable_case(_user(request), documents.surviving_case(case).pk)
    if not _immigration_details_shown(request, case):
        raise Refusal(_("documents carry immigration details: ask to see them first"))
    return bundle_download(
        request,
        f"case-{case.pk}-documents",
        lambda out: documents.export_case(case, out, _user(request), zip=True),
        back=reverse("hotline:case", args=[case.pk]),
        action="hotline.bundle.exported",
        target=f"case:{case.pk}",
        refusals=(documents.DocumentRefused,),
    )


# --- update templates (coordinators) ----------------------------------------------------


@roles(Role.COORDINATOR)
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    rows = [
        (
            template,
            template_review.may_approve(template, user),
            template_review.text_version(template),
        )
        for template in UpdateTemplate.objects.select_related("reviewed_by", "edited_by")
    ]
    return render(request, "hotline/templates.html", {"rows": rows})


@roles(Role.COORDINATOR)
@require_POST
def template_approve(request: HttpRequest, template_id: int) -> HttpResponse:
    template = get_object_or_404(UpdateTemplate, pk=template_id)
    try:
        template_review.approve_template(template, _user(request), request.POST.get("version", ""))
    except template_review.ReviewRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Approved: this template can now be sent."))
    return redirect("hotline:templates")


@roles(Role.COORDINATOR)
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    template = get_object_or_404(UpdateTemplate, pk=template_id)
    initial = {"subject": template.subject, "body": template.body}
    form = template_review.TemplateTextForm(
        request.POST or None, initial=initial, language=template.language
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = template_review.edit_template(
                template, _user(request), form.cleaned_data["subject"], form.cleaned_data["body"]
            )
        except template_review.ReviewRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            if changed:
                messages.success(
                    request, _("Saved. Another coordinator must approve it before it is sent.")
                )
            return redirect("hotline:templates")
    context = {"template": template, "form": form, "known": _known_placeholders()}
    return render(request, "hotline/template_edit.html", context)


@roles(Role.COORDINATOR)
def template_translate(request: HttpRequest, template_id: int) -> HttpResponse:
    source = get_object_or_404(UpdateTemplate, pk=template_id)
    missing = template_review.missing_languages(source.key)
    form = template_review.TranslationForm(request.POST or None, missing=missing)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            template_review.add_translation(
                source.key, data["language"], _user(request), data["subject"], data["body"]
            )
        except template_review.ReviewRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(
                request, _("Saved. Another coordinator must approve it before it is sent.")
            )
            return redirect("hotline:templates")
    context = {
        "source": source,
        "form": form,
        "missing": missing,
        "known": _known_placeholders(),
    }
    return render(request, "hotline/template_translate.html", context)


def _known_placeholders() -> list[str]:
    return sorted(set(updates.PLACEHOLDER_FACTS) | updates.ALWAYS_ALLOWED)
