"""Family accounts: create, sign in with a passphrase (and TOTP if enrolled, or one of the
recovery codes shown when it was), sign out.

Failed passphrases are throttled per (username, address) with the staff sign-in
throttle, under a "family:" prefix, so a stranger cannot lock a family out everywhere.
"""

from __future__ import annotations

import hmac
import logging
import time
from functools import cache

import pyotp
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.accounts.models import ThrottleKind
from amparo.accounts.services import (
    clear_failures,
    client_address,
    locked_until,
    record_failure,
    replace_recovery_codes,
    spend_recovery_code,
    unused_recovery_codes,
)
from amparo.audit.services import record
from amparo.hotline.sealed_fields import UnsealError
from amparo.preparedness.models import FAMILY_LANGUAGES, FamilyAccount, FamilyRecoveryCode
from amparo.preparedness.policy import (
    FAMILY_PENDING_KEY,
    FAMILY_SEEN_KEY,
    FAMILY_SESSION_KEY,
    FAMILY_STARTED_KEY,
)
from amparo.preparedness.services import open_plan

logger = logging.getLogger(__name__)


@cache
def _hash_of_nothing(hasher: str) -> str:
    # Checked when the username is unknown, so the answer takes as long as for an account.
    return make_password("no account has this passphrase")


class FamilyAccountError(Exception):
    """A refusal a person can read, in the language of the request."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalize_username(username: str) -> str:
    return username.strip().lower()


def _throttle_name(username: str) -> str:
    return "family:" + normalize_username(username)


def target_of(account: FamilyAccount) -> str:
    return f"family:{account.pk}"


@transaction.atomic
def create_account(
    username: str, display_name: str, language: str, passphrase: str
) -> FamilyAccount:
    username = normalize_username(username)
    if not username:
        raise FamilyAccountError(_("Choose a username."))
    if FamilyAccount.objects.filter(username=username).exists():
        raise FamilyAccountError(_("That username is taken. Choose another."))
    validate_password(passphrase)
    account = FamilyAccount.objects.create(
        username=username,
        display_name=display_name.strip(),
        language=language,
        passphrase_hash=make_password(passphrase),
    )
    open_plan(account)
    record(None, "family.account_created", target=target_of(account))
    return account


def change_language(account: FamilyAccount, language: str) -> None:
    """The account's language: pages (where translated), printables and the hotline intake."""
    if language not in {code for code, _name in FAMILY_LANGUAGES}:
        raise FamilyAccountError(_("Choose a language from the list."))
    if account.language == language:
        return
    previous = account.language
    account.language = language
    account.save(update_fields=["language"])
    record(
        None, "family.language_changed", target=target_of(account), detail=f"{previous}->{language}"
    )


def _start_session(request: HttpRequest, account: FamilyAccount) -> None:
    # A new session key at sign-in, so a key planted before it gains nothing.
    request.session.cycle_key()
    now = int(time.time())
    request.session.pop(FAMILY_PENDING_KEY, None)
    request.session[FAMILY_SESSION_KEY] = account.pk
    request.session[FAMILY_STARTED_KEY] = now
    request.session[FAMILY_SEEN_KEY] = now
    record(None, "family.signed_in", target=target_of(account))


def _locked_message() -> str:
    minutes = max(1, settings.LOGIN_COOL_OFF_SECONDS // 60)
    return _("Too many wrong tries. Wait %(minutes)d minutes and try again.") % {"minutes": minutes}


def sign_in(request: HttpRequest, username: str, passphrase: str) -> FamilyAccount:
    """Check the passphrase. Signs in unless TOTP is enrolled; then the code is still due."""
    address = client_address(request)
    throttle_name = _throttle_name(username)
    if locked_until(ThrottleKind.PASSWORD, throttle_name, address) is not None:
        raise FamilyAccountError(_locked_message())
    account = FamilyAccount.objects.filter(
        username=normalize_username(username), is_active=True
    ).first()
    matches = check_password(
        passphrase,
        account.passphrase_hash if account else _hash_of_nothing(settings.PASSWORD_HASHERS[0]),
    )
    if account is None or not matches:
        record(None, "family.sign_in_failed", target=throttle_name[:255], allowed=False)
        record_failure(ThrottleKind.PASSWORD, throttle_name, address)
        raise FamilyAccountError(_("That username and passphrase do not match."))
    clear_failures(ThrottleKind.PASSWORD, throttle_name, address)
    if account.totp_confirmed_at is not None:
        request.session[FAMILY_PENDING_KEY] = account.pk
        return account
    _start_session(request, account)
    return account


def confirm_passphrase(request: HttpRequest, account: FamilyAccount, passphrase: str) -> None:
    """Before changing how the family signs in: the passphrase again, under the same limit
    on wrong tries as signing in."""
    address = client_address(request)
    throttle_name = _throttle_name(account.username)
    if locked_until(ThrottleKind.PASSWORD, throttle_name, address) is not None:
        raise FamilyAccountError(_locked_message())
    if not check_password(passphrase, account.passphrase_hash):
        record(None, "family.passphrase_refused", target=target_of(account), allowed=False)
        record_failure(ThrottleKind.PASSWORD, throttle_name, address)
        raise FamilyAccountError(_("That passphrase is not right."))
    clear_failures(ThrottleKind.PASSWORD, throttle_name, address)


def pending_account(request: HttpRequest) -> FamilyAccount | None:
    account_id = request.session.get(FAMILY_PENDING_KEY)
    if account_id is None:
        return None
    return FamilyAccount.objects.filter(pk=account_id, is_active=True).first()


def totp_matches(account: FamilyAccount, code: str) -> bool:
    """A code from the current 30-second step or one either side, each step used once."""
    code = "".join(code.split())
    if not account.sealed_totp_secret or len(code) != 6 or not code.isdigit():
        return False
    try:
        totp = pyotp.TOTP(account.totp_secret)
    except UnsealError:
        # The field key changed (a restore without it): no app code can match any more, but
        # a recovery code still signs in, and the family can then set up the app again.
        logger.error("family account %s: its authenticator secret does not open", account.pk)
        return False
    current = int(time.time() // 30)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * 30), code):
            claimed = FamilyAccount.objects.filter(pk=account.pk, totp_last_step__lt=step).update(
                totp_last_step=step
            )
            return claimed == 1
    return False


def _app_secret_unreadable(account: FamilyAccount) -> bool:
    """An app secret is stored but does not open (sealed under a field key since lost)."""
    try:
        _secret = account.totp_secret
    except UnsealError:
        return True
    return False


def complete_sign_in_with_code(request: HttpRequest, code: str) -> FamilyAccount:
    account = pending_account(request)
    if account is None:
        raise FamilyAccountError(_("Start again: sign in with your passphrase."))
    address = client_address(request)
    throttle_name = _throttle_name(account.username)
    if locked_until(ThrottleKind.TOTP, throttle_name, address) is not None:
        raise FamilyAccountError(_locked_message())
    if totp_matches(account, code):
        pass
    elif use_recovery_code(account, code):
        record(None, "family.recovery_code_used", target=target_of(account))
    else:
        record(None, "family.code_failed", target=target_of(account), allowed=False)
        record_failure(ThrottleKind.TOTP, throttle_name, address)
        if _app_secret_unreadable(account):
            raise FamilyAccountError(
                _(
                    "Codes from your authenticator app cannot be checked at the moment. Sign "
                    "in with one of the recovery codes you kept on paper."
                )
            )
        raise FamilyAccountError(_("That code is not right. Check the time on your phone."))
    clear_failures(ThrottleKind.TOTP, throttle_name, address)
    _start_session(request, account)
    return account


def _codes_of(account: FamilyAccount) -> QuerySet[FamilyRecoveryCode]:
    return FamilyRecoveryCode.objects.filter(account=account)


def use_recovery_code(account: FamilyAccount, code: str) -> bool:
    """Spend one of the family's recovery codes; False if it is not one of theirs or used."""
    return spend_recovery_code(_codes_of(account), code)


def unused_recovery_code_count(account: FamilyAccount) -> int:
    return unused_recovery_codes(_codes_of(account))


def issue_recovery_codes(account: FamilyAccount) -> list[str]:
    """Replace the family's recovery codes with fresh ones; returns them to show once."""
    codes = replace_recovery_codes(
        _codes_of(account),
        lambda code_hash: FamilyRecoveryCode(account=account, code_hash=code_hash),
    )
    record(None, "family.recovery_codes_issued", target=target_of(account))
    return codes


def forget_authenticator(account: FamilyAccount) -> None:
    """For a new phone: drop the app's secret and the recovery codes; sign-in asks for the
    passphrase only until the family sets the app up again."""
    with transaction.atomic():
        account.sealed_totp_secret = ""
        account.totp_confirmed_at = None
        account.totp_last_step = -1  # the new app's codes start afresh
        account.save(update_fields=["sealed_totp_secret", "totp_confirmed_at", "totp_last_step"])
        _codes_of(account).delete()
    record(None, "family.totp_removed", target=target_of(account))


def start_totp(account: FamilyAccount) -> str:
    """The unconfirmed secret for the authenticator app (made once); its provisioning URI."""
    if account.totp_confirmed_at is None and not account.sealed_totp_secret:
        account.totp_secret = pyotp.random_base32(length=32)
        account.save(update_fields=["sealed_totp_secret"])
    return str(
        pyotp.TOTP(account.totp_secret).provisioning_uri(
            name=account.username, issuer_name=settings.MFA_ISSUER
        )
    )


def confirm_totp(account: FamilyAccount, code: str) -> list[str]:
    """Turn the app on; returns the recovery codes to show once."""
    if not totp_matches(account, code):
        raise FamilyAccountError(_("That code is not right. Check the time on your phone."))
    account.totp_confirmed_at = timezone.now()
    account.save(update_fields=["totp_confirmed_at"])
    record(None, "family.totp_enrolled", target=target_of(account))
    return issue_recovery_codes(account)


def sign_out(request: HttpRequest) -> None:
    account_id = request.session.get(FAMILY_SESSION_KEY)
    for key in (FAMILY_SESSION_KEY, FAMILY_PENDING_KEY, FAMILY_STARTED_KEY, FAMILY_SEEN_KEY):
        request.session.pop(key, None)
    if account_id is not None:
        request.session.cycle_key()
        record(None, "family.signed_out", target=f"family:{account_id}")
