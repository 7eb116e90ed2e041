"""Family account pages: start, sign in (with an optional code), sign out, security."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amparo.accounts.services import qr_code_data_uri
from amparo.preparedness import family_accounts
from amparo.preparedness.forms import (
    CodeForm,
    ConfirmPassphraseForm,
    LanguageForm,
    SignInCodeForm,
    SignInForm,
    StartForm,
)
from amparo.preparedness.models import FAMILY_LANGUAGES, FamilyAccount
from amparo.preparedness.passphrases import generate_passphrase
from amparo.preparedness.policy import family_only, signed_in_family
from amparo.web.policy import public


def _site_has(language: str) -> bool:
    return language in {code for code, _name in settings.LANGUAGES}


def _in_their_language(response: HttpResponse, account: FamilyAccount) -> HttpResponse:
    # Pages follow the family's language when the site is translated into it.
    if _site_has(account.language):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            account.language,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite="Lax",
        )
    return response


@public
def start(request: HttpRequest) -> HttpResponse:
    if signed_in_family(request) is not None:
        return redirect("preparedness:home")
    suggestion = generate_passphrase()
    initial = {"language": getattr(request, "LANGUAGE_CODE", "en"), "passphrase": suggestion}
    form = StartForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = family_accounts.create_account(
                data["username"], data["display_name"], data["language"], data["passphrase"]
            )
        except family_accounts.FamilyAccountError as error:
            form.add_error(None, error.message)
        except ValidationError as error:
            form.add_error("passphrase", error)
        else:
            family_accounts.sign_in(request, account.username, data["passphrase"])
            messages.success(
                request, _("Your plan is ready to fill in. Write down your passphrase.")
            )
            return _in_their_language(redirect("preparedness:home"), account)
    return render(request, "preparedness/start.html", {"form": form, "suggestion": suggestion})


@public
def sign_in(request: HttpRequest) -> HttpResponse:
    if signed_in_family(request) is not None:
        return redirect("preparedness:home")
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = family_accounts.sign_in(
                request, form.cleaned_data["username"], form.cleaned_data["passphrase"]
            )
        except family_accounts.FamilyAccountError as error:
            form.add_error(None, error.message)
        else:
            if signed_in_family(request) is None:
                return redirect("preparedness:sign_in_code")
            return _in_their_language(redirect("preparedness:home"), account)
    return render(request, "preparedness/sign_in.html", {"form": form})


@public
def sign_in_code(request: HttpRequest) -> HttpResponse:
    if family_accounts.pending_account(request) is None:
        return redirect("preparedness:sign_in")
    form = SignInCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = family_accounts.complete_sign_in_with_code(request, form.cleaned_data["code"])
        except family_accounts.FamilyAccountError as error:
            form.add_error("code", error.message)
        else:
            return _in_their_language(redirect("preparedness:home"), account)
    return render(request, "preparedness/sign_in_code.html", {"form": form})


@public
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    family_accounts.sign_out(request)
    return redirect("preparedness:sign_in")


@family_only
def security(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    """Set up the authenticator app (and get recovery codes), or, with the passphrase again,
    move to a new phone or get new recovery codes."""
    posted = request.POST if request.method == "POST" else None
    acting = posted is not None and "action" in posted
    form = CodeForm(None if acting else posted)
    confirm = ConfirmPassphraseForm(posted if acting else None)
    context: dict[str, object] = {"form": form, "confirm": confirm, "account": account}
    if acting and confirm.is_valid():
        try:
            family_accounts.confirm_passphrase(request, account, confirm.cleaned_data["passphrase"])
        except family_accounts.FamilyAccountError as error:
            confirm.add_error("passphrase", error.message)
        else:
            if confirm.cleaned_data["action"] == "new_phone":
                family_accounts.forget_authenticator(account)
                messages.success(
                    request,
                    _("The old phone no longer works for signing in. Set up the new one below."),
                )
                return redirect("preparedness:security")
            if account.totp_confirmed_at is not None:
                context["recovery_codes"] = family_accounts.issue_recovery_codes(account)
                return render(request, "preparedness/security.html", context)
    elif posted is not None and not acting and form.is_valid():
        try:
            codes = family_accounts.confirm_totp(account, form.cleaned_data["code"])
        except family_accounts.FamilyAccountError as error:
            form.add_error("code", error.message)
        else:
            messages.success(request, _("From now on, sign-in also asks for a code."))
            context["recovery_codes"] = codes
            return render(request, "preparedness/security.html", context)
    if account.totp_confirmed_at is None:
        uri = family_accounts.start_totp(account)
        context["qr"] = qr_code_data_uri(uri)
        context["secret"] = account.totp_secret
    else:
        context["codes_left"] = family_accounts.unused_recovery_code_count(account)
    return render(request, "preparedness/security.html", context)


@family_only
def language(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    """The family's own language, kept on the account (not only in this browser)."""
    form = LanguageForm(request.POST or None, initial={"language": account.language})
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["language"]
        family_accounts.change_language(account, chosen)
        name = dict(FAMILY_LANGUAGES)[chosen]
        if _site_has(chosen):
            # Said in the language just chosen, which the next page is shown in.
            with translation.override(chosen):
                messages.success(request, _("Saved. Your language is %(name)s.") % {"name": name})
        else:
            messages.success(
                request,
                _(
                    "Saved. Your language is %(name)s. These pages are not translated into it "
                    "yet, so they stay as they are; your rights card is printed in it."
                )
                % {"name": name},
            )
        return _in_their_language(redirect("preparedness:home"), account)
    return render(request, "preparedness/language.html", {"form": form})
