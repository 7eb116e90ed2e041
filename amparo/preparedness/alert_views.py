"""Alerts and sharing: the family's PIN and trusted people, activation by each of the
three who may trigger it, and the read-only caregiver link."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.audit.services import record
from amparo.preparedness import services, sharing
from amparo.preparedness.alerts import (
    ActivationOutcome,
    activate_plan,
    delivery_summary,
)
from amparo.preparedness.forms import (
    PinForm,
    ShareForm,
    TrustedActivationForm,
    TrustedPersonForm,
    VolunteerLookupForm,
)
from amparo.preparedness.models import ActivationSource, FamilyAccount, Plan, ShareLink
from amparo.preparedness.policy import family_only
from amparo.preparedness.printables import packet_context, render_packet
from amparo.web.policy import public, roles

SHARED_LINK_SESSION_KEY = "amparo_shared_link"


def _alerts_context(account: FamilyAccount) -> dict[str, object]:
    plan = account.plan
    return {
        "plan": plan,
        "reference": services.format_reference(plan.reference),
        "trusted": plan.trusted.filter(revoked_at__isnull=True),
        "activations": plan.activations.prefetch_related("deliveries__contact")[:5],
        "has_pin": bool(plan.pin_hash),
        "pin_form": PinForm(),
        "activate_form": PinForm(),
        "trusted_form": TrustedPersonForm(),
    }


@family_only
def alerts(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    return render(request, "preparedness/alerts.html", _alerts_context(account))


@family_only
@require_POST
def set_pin(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    form = PinForm(request.POST)
    if form.is_valid():
        try:
            services.set_pin(account.plan, form.cleaned_data["pin"])
        except services.CodeRefused as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, _("Your PIN is set."))
    return redirect("preparedness:alerts")


@family_only
@require_POST
def add_trusted(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    form = TrustedPersonForm(request.POST)
    if not form.is_valid():
        return redirect("preparedness:alerts")
    named = services.add_trusted_person(account.plan, form.cleaned_data["name"])
    context = {
        "name": named.person.name,
        "code": named.code,
        "reference": services.format_reference(account.plan.reference),
    }
    return render(request, "preparedness/trusted_code.html", context)


@family_only
@require_POST
def revoke_trusted(request: HttpRequest, account: FamilyAccount, person_id: int) -> HttpResponse:
    if not services.revoke_trusted_person(account.plan, person_id):
        raise Http404
    messages.success(request, _("That code no longer works."))
    return redirect("preparedness:alerts")


def _outcome_message(request: HttpRequest, outcome: ActivationOutcome) -> None:
    if outcome.repeated:
        messages.warning(
            request,
            _("This plan was activated less than an hour ago. Nothing was sent again."),
        )
        return
    messages.success(
        request,
        _("The plan is activated. Messages sent: %(sent)d. The hotline has your plan.")
        % {"sent": outcome.sent},
    )
    if outcome.retrying:
        messages.warning(
            request,
            ngettext(
                "%(retrying)d message could not be sent yet. It will be tried again "
                "in the next minutes.",
                "%(retrying)d messages could not be sent yet. They will be tried again "
                "in the next minutes.",
                outcome.retrying,
            )
            % {"retrying": outcome.retrying},
        )
    if outcome.failed:
        messages.error(
            request,
            _("%(failed)d messages could not be sent. Call the hotline.")
            % {"failed": outcome.failed},
        )


@family_only
@require_POST
def activate(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    form = PinForm(request.POST)
    if not form.is_valid():
        return redirect("preparedness:alerts")
    try:
        services.check_pin(account.plan, form.cleaned_data["pin"])
    except services.CodeRefused as refusal:
        messages.error(request, refusal.message)
        return redirect("preparedness:alerts")
    outcome = activate_plan(account.plan, ActivationSource.FAMILY)
    _outcome_message(request, outcome)
    return redirect("preparedness:alerts")


@public
def trusted_activation(request: HttpRequest) -> HttpResponse:
    """A trusted person raises the alarm with the plan's reference and their own code."""
    form = TrustedActivationForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            person = services.check_activation_code(
                form.cleaned_data["reference"], form.cleaned_data["code"]
            )
        except services.CodeRefused as refusal:
            form.add_error(None, refusal.message)
            status = 429 if refusal.locked else 200
        else:
            outcome = activate_plan(person.plan, ActivationSource.TRUSTED, trusted_person=person)
            context = {"outcome": outcome}
            return render(request, "preparedness/activated.html", context)
    return render(request, "preparedness/trusted_activation.html", {"form": form}, status=status)


# --- sharing ----------------------------------------------------------------------------


@family_only
def share(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    form = ShareForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        issued = sharing.create_share_link(
            account.plan, form.cleaned_data["label"], timedelta(days=form.cleaned_data["days"])
        )
        form = ShareForm()
    links = account.plan.share_links.all()
    return render(
        request, "preparedness/share.html", {"form": form, "issued": issued, "links": links}
    )


@family_only
@require_POST
def revoke_share(request: HttpRequest, account: FamilyAccount, link_id: int) -> HttpResponse:
    if not sharing.revoke_share_link(account.plan, link_id):
        raise Http404
    messages.success(request, _("That link no longer works."))
    return redirect("preparedness:share")


@public
def shared_entry(request: HttpRequest, token: str) -> HttpResponse:
    # The token is in this URL once; the page itself is served from a URL without it.
    request.session[SHARED_LINK_SESSION_KEY] = sharing.hash_share_token(token)
    return redirect("preparedness:shared")


def _shared_link(request: HttpRequest) -> ShareLink:
    token_hash = request.session.get(SHARED_LINK_SESSION_KEY)
    link = sharing.open_share_link(str(token_hash)) if token_hash else None
    if link is None:
        request.session.pop(SHARED_LINK_SESSION_KEY, None)
        raise Http404(_("This link does not work any more. Ask the family for a new one."))
    return link


@public
def shared(request: HttpRequest) -> HttpResponse:
    link = _shared_link(request)
    sharing.record_shared_view(link, "page")
    context = packet_context(link.plan)
    context["expires_at"] = link.expires_at
    return render(request, "preparedness/shared.html", context)


@public
def shared_packet(request: HttpRequest) -> HttpResponse:
    link = _shared_link(request)
    sharing.record_shared_view(link, "packet")
    response = HttpResponse(render_packet(link.plan), content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="plan-for-the-caregiver.pdf"'
    return response


# --- the hotline, for a family that consented ---------------------------------------------


def _consenting_plan(request: HttpRequest, reference: str) -> Plan | None:
    plan = services.plan_by_reference(reference)
    allowed = plan is not None and plan.hotline_may_act
    record(
        request,
        "family.plan_looked_up",
        target=services.plan_target(plan) if plan else "plan:unknown",
        allowed=allowed,
        detail="" if allowed else "no plan, or no consent",
    )
    return plan if allowed else None


@roles(Role.HOTLINE, Role.COORDINATOR)
def volunteer_lookup(request: HttpRequest) -> HttpResponse:
    form = VolunteerLookupForm(request.POST or None)
    plan = None
    if request.method == "POST" and form.is_valid():
        plan = _consenting_plan(request, form.cleaned_data["reference"])
        if plan is None:
            form.add_error(
                "reference",
                _("No plan with that reference lets the hotline act for the family."),
            )
    context: dict[str, object] = {"form": form, "plan": plan}
    if plan is not None:
        last_activation = plan.activations.first()
        context.update(
            reference=services.format_reference(plan.reference),
            children=plan.members.filter(is_child=True).count(),
            contacts=plan.contacts.count(),
            last_activation=last_activation,
            delivery_summary=delivery_summary(last_activation) if last_activation else [],
        )
    return render(request, "preparedness/volunteer.html", context)


@roles(Role.HOTLINE, Role.COORDINATOR)
@require_POST
def volunteer_activate(request: HttpRequest) -> HttpResponse:
    plan = _consenting_plan(request, request.POST.get("reference", ""))
    if plan is None:
        raise Http404
    volunteer = request.user
    assert isinstance(volunteer, User)
    outcome = activate_plan(plan, ActivationSource.HOTLINE, volunteer=volunteer)
    _outcome_message(request, outcome)
    if outcome.activation.case_id:
        return redirect("hotline:case", case_id=outcome.activation.case_id)
    return redirect("preparedness:volunteer")
