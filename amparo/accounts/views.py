"""Accounts pages. Each view parses a form, calls one service, and renders or redirects."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from amparo.accounts import forms, services
from amparo.accounts.middleware import ENDED_REASON_KEY
from amparo.accounts.models import Invitation, PartnerOrganization, TOTPDevice, User
from amparo.accounts.roles import Role
from amparo.audit.services import record
from amparo.web.policy import has_completed_mfa, mfa_pending, public, roles, signed_in

NEXT_KEY = "amparo_next"

ENDED_REASONS = {
    "idle": gettext_lazy("You were signed out after a period without activity."),
    "absolute": gettext_lazy("Your session reached its time limit. Please sign in again."),
    "disabled": gettext_lazy("Your session was ended. Sign in again if your account is active."),
    "access_window": gettext_lazy("Your session ended because your access period is closed."),
}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


def _after_sign_in(request: HttpRequest) -> str:
    return _safe_next(request, request.session.pop(NEXT_KEY, None)) or reverse("web:home")


# --- sign-in and second factor ----------------------------------------------------------


@public
def sign_in(request: HttpRequest) -> HttpResponse:
    if has_completed_mfa(request):
        return redirect("web:home")
    reason = request.session.pop(ENDED_REASON_KEY, None)
    if reason in ENDED_REASONS:
        messages.info(request, ENDED_REASONS[reason])
    next_path = _safe_next(
        request, request.POST.get("next") or request.GET.get(REDIRECT_FIELD_NAME)
    )
    form = forms.SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.sign_in_with_password(
                request, form.cleaned_data["username"], form.cleaned_data["password"]
            )
        except services.SignInRefused as refusal:
            form.add_error(None, refusal.message)
        else:
            if next_path:
                request.session[NEXT_KEY] = next_path
            return redirect("accounts:mfa")
    return render(request, "accounts/sign_in.html", {"form": form, "next": next_path or ""})


@mfa_pending
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    services.sign_out(request)
    messages.info(request, _("You have signed out."))
    return redirect("accounts:login")


@mfa_pending
def mfa(request: HttpRequest) -> HttpResponse:
    if has_completed_mfa(request):
        return redirect("web:home")
    if services.has_confirmed_totp(_user(request)):
        return redirect("accounts:mfa_verify")
    return redirect("accounts:mfa_enrol")


@mfa_pending
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if has_completed_mfa(request):
        return redirect("web:home")
    if services.has_confirmed_totp(user):
        return redirect("accounts:mfa_verify")
    form = forms.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.confirm_enrolment(request, form.cleaned_data["code"])
        except services.SignInRefused as refusal:
            form.add_error("code", refusal.message)
        else:
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "continue_to": _after_sign_in(request), "first_time": True},
            )
    device = services.start_enrolment_in_session(request)
    uri = services.provisioning_uri(device)
    return render(
        request,
        "accounts/mfa_enrol.html",
        {
            "form": form,
            "qr_code": services.qr_code_data_uri(uri),
            "secret": services.grouped_secret(device.secret),
        },
    )


@mfa_pending
def mfa_verify(request: HttpRequest) -> HttpResponse:
    if has_completed_mfa(request):
        return redirect("web:home")
    if not services.has_confirmed_totp(_user(request)):
        return redirect("accounts:mfa_enrol")
    form = forms.VerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.verify_second_factor(request, form.cleaned_data["code"])
        except services.SignInRefused as refusal:
            form.add_error("code", refusal.message)
        else:
            return redirect(_after_sign_in(request))
    return render(request, "accounts/mfa_verify.html", {"form": form})


# --- invitations --------------------------------------------------------------------------


@public
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invitation link opens.

    The token travels in this URL once, so it can appear once in the server's access log
    (gunicorn logs the request line). That copy is harmless by design: the link works a
    single time, expires, and the database keeps only its SHA-256. The page's form sends
    the token back in the POST body to a path without it, and no-referrer keeps it from
    leaking to other sites.
    """
    try:
        found = services.open_invitation(token)
    except services.InvitationUnusable as refusal:
        return render(
            request, "accounts/invitation_unusable.html", {"reason": refusal.message}, status=410
        )
    form = forms.AcceptInvitationForm(initial={"token": token})
    return render(request, "accounts/accept_invitation.html", {"form": form, "invitation": found})


@public
@require_POST
def accept_invitation(request: HttpRequest) -> HttpResponse:
    form = forms.AcceptInvitationForm(request.POST)
    token = request.POST.get("token", "")
    try:
        found = services.open_invitation(token)
    except services.InvitationUnusable as refusal:
        return render(
            request, "accounts/invitation_unusable.html", {"reason": refusal.message}, status=410
        )
    if form.is_valid():
        try:
            user = services.accept_invitation(
                token, form.cleaned_data["username"], form.cleaned_data["password"]
            )
        except ValidationError as problems:
            form.add_error("password", problems)
        except services.InvitationUnusable as refusal:
            return render(
                request,
                "accounts/invitation_unusable.html",
                {"reason": refusal.message},
                status=410,
            )
        except services.AccountError as refusal:
            form.add_error("username", refusal.message)
        else:
            services.begin_session(request, user)
            return redirect("accounts:mfa_enrol")
    return render(request, "accounts/accept_invitation.html", {"form": form, "invitation": found})


# --- own account --------------------------------------------------------------------------


@signed_in
def account(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return _account_page(request, forms.OwnEmailForm(initial={"email": user.email}))


def _account_page(
    request: HttpRequest, email_form: forms.OwnEmailForm, status: int = 200
) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "accounts/account.html",
        {
            "sessions": services.active_sessions(user),
            "current_key": request.session.session_key,
            "unused_codes": services.unused_recovery_code_count(user),
            "email_form": email_form,
        },
        status=status,
    )


@signed_in
@require_POST
def change_own_email(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = forms.OwnEmailForm(request.POST)
    if not form.is_valid():
        return _account_page(request, form, status=400)
    user.email = form.cleaned_data["email"]
    user.save(update_fields=["email"])
    record(request, "account.email_changed", target=f"user:{user.pk}")
    messages.success(
        request,
        _("Your email address is saved.") if user.email else _("Your email address is removed."),
    )
    return redirect("accounts:account")


@signed_in
def change_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(_user(request), request.POST or None)
    if request.method == "POST":
        try:
            attempt = services.reserve_password_check(request)
        except services.SignInRefused as refusal:
            messages.error(request, refusal.message)
            form = PasswordChangeForm(_user(request))
        else:
            form.is_valid()
            correct = "old_password" not in form.errors
            services.settle_password_check(request, attempt, correct=correct)
    if form.is_bound and form.is_valid():
        ended = services.change_password(request, form.cleaned_data["new_password1"])
        messages.success(
            request,
            _("Your password is changed. Sessions ended elsewhere: %(count)d.") % {"count": ended},
        )
        return redirect("accounts:account")
    return render(request, "accounts/change_password.html", {"form": form})


@signed_in
@require_POST
def regenerate_recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = services.regenerate_recovery_codes(request)
    return render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "continue_to": reverse("accounts:account"), "first_time": False},
    )


@signed_in
@require_POST
def end_own_session(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    current = user.tracked_sessions.filter(pk=pk, session_key=request.session.session_key)
    if current.exists():
        services.sign_out(request)
        return redirect("accounts:login")
    if services.end_own_session(request, pk):
        messages.success(request, _("That session has ended."))
    return redirect("accounts:account")


# --- coordinator: people --------------------------------------------------------------------


@roles(Role.COORDINATOR)
def people(request: HttpRequest) -> HttpResponse:
    enrolled = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed_at__isnull=False)
    listed = (
        User.objects.select_related("organization")
        .annotate(mfa_enrolled=Exists(enrolled))
        .order_by("role", "username")
    )
    return render(request, "accounts/people.html", {"people": listed})


@roles(Role.COORDINATOR)
def invite(request: HttpRequest) -> HttpResponse:
    form = forms.InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        issued = services.invite(
            _user(request),
            data["role"],
            display_name=data["display_name"],
            email=data["email"],
            organization=data["organization"],
            access_starts_at=data["access_starts_at"],
            access_ends_at=data["access_ends_at"],
        )
        return render(
            request,
            "accounts/invitation_created.html",
            {"issued": issued, "invitation": issued.invitation},
        )
    return render(request, "accounts/invite.html", {"form": form})


def _person(pk: int) -> User:
    return get_object_or_404(User.objects.select_related("organization"), pk=pk)


@roles(Role.COORDINATOR)
def person(request: HttpRequest, pk: int) -> HttpResponse:
    found = _person(pk)
    window_form = forms.AccessWindowForm(
        initial={
            "access_starts_at": found.access_starts_at,
            "access_ends_at": found.access_ends_at,
        }
    )
    return render(request, "accounts/person.html", _person_context(found, window_form))


def _person_context(found: User, window_form: forms.AccessWindowForm) -> dict[str, object]:
    return {
        "person": found,
        "window_form": window_form,
        "mfa_enrolled": services.has_confirmed_totp(found),
        "session_count": len(services.active_sessions(found)),
    }


@roles(Role.COORDINATOR)
@require_POST
def disable_person(request: HttpRequest, pk: int) -> HttpResponse:
    found = _person(pk)
    try:
        services.set_active(_user(request), found, active=False)
    except services.AccountError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("%(name)s is disabled.") % {"name": found.name_for_display})
    return redirect("accounts:person", pk=pk)


@roles(Role.COORDINATOR)
@require_POST
def enable_person(request: HttpRequest, pk: int) -> HttpResponse:
    found = _person(pk)
    services.set_active(_user(request), found, active=True)
    messages.success(request, _("%(name)s is enabled.") % {"name": found.name_for_display})
    return redirect("accounts:person", pk=pk)


@roles(Role.COORDINATOR)
@require_POST
def end_person_sessions(request: HttpRequest, pk: int) -> HttpResponse:
    found = _person(pk)
    ended = services.end_sessions_by_coordinator(_user(request), found)
    messages.success(request, _("Sessions ended: %(count)d.") % {"count": ended})
    if found.pk == request.user.pk:
        return redirect("accounts:login")
    return redirect("accounts:person", pk=pk)


@roles(Role.COORDINATOR)
@require_POST
def person_access_window(request: HttpRequest, pk: int) -> HttpResponse:
    found = _person(pk)
    form = forms.AccessWindowForm(request.POST)
    if form.is_valid():
        try:
            services.set_access_window(
                _user(request),
                found,
                form.cleaned_data["access_starts_at"],
                form.cleaned_data["access_ends_at"],
            )
        except services.AccountError as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, _("The access window is saved."))
            return redirect("accounts:person", pk=pk)
    return render(request, "accounts/person.html", _person_context(found, form), status=400)


@roles(Role.COORDINATOR)
@require_POST
def reset_person_mfa(request: HttpRequest, pk: int) -> HttpResponse:
    found = _person(pk)
    services.reset_mfa(_user(request), found)
    messages.success(
        request,
        _("%(name)s will set up a new authenticator at their next sign-in.")
        % {"name": found.name_for_display},
    )
    if found.pk == request.user.pk:
        return redirect("accounts:login")
    return redirect("accounts:person", pk=pk)


# --- coordinator: invitations and organizations -----------------------------------------------


@roles(Role.COORDINATOR)
def invitations(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    pending = Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).select_related("organization", "created_by")
    return render(request, "accounts/invitations.html", {"invitations": pending})


@roles(Role.COORDINATOR)
@require_POST
def revoke_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(Invitation, pk=pk)
    if services.revoke_invitation(_user(request), found):
        messages.success(request, _("The invitation is withdrawn; its link no longer works."))
    else:
        messages.error(request, _("That invitation was already used or withdrawn."))
    return redirect("accounts:invitations")


@roles(Role.COORDINATOR)
def organizations(request: HttpRequest) -> HttpResponse:
    form = forms.OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.create_organization(_user(request), form.cleaned_data["name"])
        messages.success(request, _("The organization is added."))
        return redirect("accounts:organizations")
    listed = PartnerOrganization.objects.all()
    return render(request, "accounts/organizations.html", {"form": form, "organizations": listed})
