"""Every state change about accounts: invitations, sign-in, second factor, throttling, sessions.

Views parse forms and call one function here; tests call these first.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
import segno
from django.conf import settings
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.db import IntegrityError, models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from amparo.accounts.middleware import SEEN_KEY, STARTED_KEY
from amparo.accounts.models import (
    Invitation,
    PartnerOrganization,
    RecoveryCode,
    SignInThrottle,
    ThrottleKind,
    TOTPDevice,
    User,
    UserSession,
)
from amparo.accounts.roles import Role
from amparo.audit.services import record
from amparo.hotline.sealed_fields import UnsealError
from amparo.web.policy import MFA_SESSION_KEY

logger = logging.getLogger(__name__)

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
RECOVERY_CODE_COUNT = 10
# 16 characters from 31 unambiguous ones: about 79 bits, beyond offline guessing of a SHA-256.
RECOVERY_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 16
# Whoever has the password may guess second-factor codes from many addresses; past this
# many wrong codes in one cool-off, from anywhere, the account's second step pauses.
MFA_FAILURES_PER_ACCOUNT = 50
# Not an address, so its throttle row counts failures from every address.
ANY_ADDRESS = "any address"
# Session key holding the SHA-256 of the enrolment secret this session was shown.
ENROL_SHOWN_KEY = "amparo_enrol_shown"


class AccountError(Exception):
    """A refusal a person can read and act on, in the language of the current request."""

    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = str(message)


class SignInRefused(AccountError):
    pass


class InvitationUnusable(AccountError):
    pass


# --- tokens and addresses -------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def address_key(address: str) -> str:
    """HMAC of a client address under the secret key: recognizable, never readable."""
    return hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()


def client_address(request: HttpRequest) -> str:
    # Behind a reverse proxy every request comes from the proxy; only a header that the
    # proxy itself overwrites (nginx: proxy_set_header X-Real-IP $remote_addr) is trusted,
    # and only when the operator names it. Anything else is set by whoever sends the request.
    header = settings.AMPARO_CLIENT_ADDRESS_HEADER
    if header and request.META.get(header):
        return str(request.META[header]).strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def normalize_username(username: str) -> str:
    return username.strip().lower()


# --- partner organizations ------------------------------------------------------------


def create_organization(actor: User, name: str) -> PartnerOrganization:
    organization = PartnerOrganization.objects.create(name=name.strip())
    record(actor, "organization.created", target=f"organization:{organization.pk}")
    return organization


# --- invitations ------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedInvitation:
    """An invitation and its token. The token exists only here, never in the database."""

    invitation: Invitation
    token: str

    @property
    def url(self) -> str:
        return settings.SITE_URL + reverse("accounts:invitation", args=[self.token])


def invite(
    created_by: User | None,
    role: Role | str,
    *,
    display_name: str = "",
    email: str = "",
    organization: PartnerOrganization | None = None,
    access_starts_at: datetime | None = None,
    access_ends_at: datetime | None = None,
    bootstrap: bool = False,
) -> IssuedInvitation:
    if access_starts_at and access_ends_at and access_ends_at <= access_starts_at:
        raise AccountError(_("The access window must end after it starts."))
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = Invitation.objects.create(
        token_hash=hash_token(token),
        display_name=display_name.strip(),
        email=email.strip(),
        role=str(role),
        organization=organization,
        access_starts_at=access_starts_at,
        access_ends_at=access_ends_at,
        bootstrap=bootstrap,
        created_by=created_by,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.INVITATION_LIFETIME_SECONDS),
    )
    record(
        created_by,
        "invitation.created",
        target=f"invitation:{invitation.pk}",
        detail=f"role={invitation.role}" + (" bootstrap" if bootstrap else ""),
    )
    return IssuedInvitation(invitation, token)


def coordinator_exists() -> bool:
    return User.objects.filter(role=Role.COORDINATOR).exists()


def issue_bootstrap_invitation() -> IssuedInvitation | None:
    """The first coordinator's invitation; None once any coordinator exists.

    Earlier bootstrap links are revoked: their tokens were never stored, so a new run
    must hand out a new link.
    """
    with transaction.atomic():
        if coordinator_exists():
            return None
        Invitation.objects.filter(
            bootstrap=True, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        return invite(None, Role.COORDINATOR, bootstrap=True)


def open_invitation(token: str) -> Invitation:
    invitation = Invitation.objects.filter(token_hash=hash_token(token)).first()
    if invitation is None:
        raise InvitationUnusable(_("This invitation link is not valid. Ask for a new one."))
    if invitation.accepted_at is not None:
        raise InvitationUnusable(_("This invitation has already been used. Sign in instead."))
    if invitation.revoked_at is not None:
        raise InvitationUnusable(_("This invitation was withdrawn. Ask for a new one."))
    if timezone.now() >= invitation.expires_at:
        raise InvitationUnusable(_("This invitation has expired. Ask for a new one."))
    if invitation.bootstrap and coordinator_exists():
        raise InvitationUnusable(_("A coordinator already exists. Ask them for an invitation."))
    return invitation


def revoke_invitation(actor: User, invitation: Invitation) -> bool:
    """Withdraw an open invitation; False (and nothing recorded) if it was used or withdrawn."""
    withdrawn = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if withdrawn != 1:
        return False
    record(actor, "invitation.revoked", target=f"invitation:{invitation.pk}")
    return True


def accept_invitation(token: str, username: str, password: str) -> User:
    """Create the invited person's account. Raises InvitationUnusable or ValidationError."""
    username = username.strip()
    with transaction.atomic():
        invitation = open_invitation(token)
        if User.objects.filter(username__iexact=username).exists():
            raise AccountError(_("That username is taken. Choose another."))
        user = User(
            username=username,
            display_name=invitation.display_name,
            email=invitation.email,
            role=invitation.role,
            organization=invitation.organization,
            access_starts_at=invitation.access_starts_at,
            access_ends_at=invitation.access_ends_at,
        )
        validate_password(password, user)
        user.set_password(password)
        user.save()
        # The conditional update makes the link single-use even if two people race.
        claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
            accepted_at=timezone.now(), accepted_by=user
        )
        if claimed != 1:
            raise InvitationUnusable(_("This invitation has already been used. Sign in instead."))
    record(user, "invitation.accepted", target=f"invitation:{invitation.pk}")
    return user


# --- accounts ---------------------------------------------------------------------------


def create_coordinator(username: str, password: str, display_name: str = "") -> User:
    """A coordinator made from the command line; they enrol TOTP at first sign-in."""
    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        raise AccountError(_("That username is taken. Choose another."))
    user = User(username=username, display_name=display_name, role=Role.COORDINATOR)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    record(None, "account.created", target=f"user:{user.pk}", detail="role=coordinator")
    return user


def set_active(actor: User, person: User, active: bool) -> None:
    if person.pk == actor.pk and not active:
        raise AccountError(_("You cannot disable your own account."))
    User.objects.filter(pk=person.pk).update(is_active=active)
    person.is_active = active
    if active:
        record(actor, "account.enabled", target=f"user:{person.pk}")
        return
    ended = end_sessions(person)
    record(actor, "account.disabled", target=f"user:{person.pk}", detail=f"sessions={ended}")


def set_access_window(
    actor: User, person: User, starts_at: datetime | None, ends_at: datetime | None
) -> None:
    if starts_at and ends_at and ends_at <= starts_at:
        raise AccountError(_("The access window must end after it starts."))
    now = timezone.now()
    if person.pk == actor.pk and (
        (starts_at is not None and now < starts_at) or (ends_at is not None and now >= ends_at)
    ):
        raise AccountError(_("You cannot close your own access; another coordinator can."))
    person.access_starts_at = starts_at
    person.access_ends_at = ends_at
    person.save(update_fields=["access_starts_at", "access_ends_at"])
    record(
        actor,
        "account.access_window_changed",
        target=f"user:{person.pk}",
        detail=f"starts={starts_at.isoformat() if starts_at else '-'} "
        f"ends={ends_at.isoformat() if ends_at else '-'}",
    )
    if not person.within_access_window():
        end_sessions(person)


def reset_mfa(actor: User, person: User) -> None:
    """Remove the authenticator and recovery codes; the person enrols again at sign-in."""
    TOTPDevice.objects.filter(user=person).delete()
    RecoveryCode.objects.filter(user=person).delete()
    ended = end_sessions(person)
    record(actor, "mfa.reset", target=f"user:{person.pk}", detail=f"sessions={ended}")


def has_confirmed_totp(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def access_window_message(user: User) -> str | Promise | None:
    now = timezone.now()
    if user.access_starts_at and now < user.access_starts_at:
        return _("Your access has not started yet. It opens on %(date)s (UTC).") % {
            "date": f"{user.access_starts_at:%Y-%m-%d %H:%M}"
        }
    if user.access_ends_at and now >= user.access_ends_at:
        return _("Your access ended on %(date)s (UTC). Ask your coordinator to extend it.") % {
            "date": f"{user.access_ends_at:%Y-%m-%d %H:%M}"
        }
    return None


# --- throttling -------------------------------------------------------------------------


def _cool_off() -> timedelta:
    return timedelta(seconds=settings.LOGIN_COOL_OFF_SECONDS)


def locked_until(kind: ThrottleKind, username: str, address: str) -> datetime | None:
    row = SignInThrottle.objects.filter(
        kind=kind,
        username=normalize_username(username),
        address_hmac=address_key(address),
        locked_until__gt=timezone.now(),
    ).first()
    return row.locked_until if row else None


def record_failure(
    kind: ThrottleKind, username: str, address: str, *, limit: int | None = None
) -> bool:
    """Count one failure for this pair; True when this failure starts a lockout."""
    now = timezone.now()
    with transaction.atomic():
        row, _created = SignInThrottle.objects.select_for_update().get_or_create(
            kind=kind,
            username=normalize_username(username),
            address_hmac=address_key(address),
            defaults={"first_failure_at": now},
        )
        if now - row.first_failure_at >= _cool_off():
            row.failures = 0
            row.first_failure_at = now
            row.locked_until = None
        row.failures += 1
        starts_lockout = row.failures >= (limit or settings.LOGIN_FAILURE_LIMIT) and (
            row.locked_until is None or row.locked_until <= now
        )
        if starts_lockout:
            row.locked_until = now + _cool_off()
        row.save()
    return starts_lockout


@dataclass(frozen=True)
class Attempt:
    """An attempt counted before it is checked: `locked_until` refuses it outright."""

    locked_until: datetime | None = None
    # True when this attempt, if it fails, is the one that starts the lockout.
    last_allowed: bool = False


def reserve_attempt(kind: ThrottleKind, username: str, address: str) -> Attempt:
    """Count an attempt as a failure before the slow check, so parallel requests all see it.

    A success clears the count; a failure needs nothing more, as it is already counted.
    """
    now = timezone.now()
    with transaction.atomic():
        row, _created = SignInThrottle.objects.select_for_update().get_or_create(
            kind=kind,
            username=normalize_username(username),
            address_hmac=address_key(address),
            defaults={"first_failure_at": now},
        )
        if row.locked_until is not None and row.locked_until > now:
            return Attempt(locked_until=row.locked_until)
        if now - row.first_failure_at >= _cool_off():
            row.failures = 0
            row.first_failure_at = now
            row.locked_until = None
        row.failures += 1
        last_allowed = row.failures >= settings.LOGIN_FAILURE_LIMIT
        if last_allowed:
            row.locked_until = now + _cool_off()
        row.save()
    return Attempt(last_allowed=last_allowed)


def clear_failures(kind: ThrottleKind, username: str, address: str) -> None:
    SignInThrottle.objects.filter(
        kind=kind, username=normalize_username(username), address_hmac=address_key(address)
    ).delete()


def _locked_message(until: datetime) -> str:
    minutes = max(1, int((until - timezone.now()).total_seconds() + 59) // 60)
    return str(
        _(
            "Too many failed attempts from this device. Try again in %(minutes)d minutes, "
            "or ask your coordinator for help."
        )
        % {"minutes": minutes}
    )


# --- sessions ---------------------------------------------------------------------------


def _track_session(request: HttpRequest, user: User, previous_key: str | None) -> None:
    key = request.session.session_key
    if key is None:
        request.session.save()
        key = request.session.session_key
    assert key is not None
    if previous_key:
        UserSession.objects.filter(session_key=previous_key).delete()
    UserSession.objects.update_or_create(session_key=key, defaults={"user": user})


def cycle_session(request: HttpRequest) -> None:
    """A new session key at each privilege step, so a planted key gains nothing."""
    previous = request.session.session_key
    request.session.cycle_key()
    user = request.user
    assert isinstance(user, User)
    _track_session(request, user, previous)


def end_sessions(user: User, *, keep_key: str | None = None) -> int:
    """End every session of this person (except `keep_key`); returns how many."""
    tracked = UserSession.objects.filter(user=user)
    if keep_key:
        tracked = tracked.exclude(session_key=keep_key)
    keys = list(tracked.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(session_key__in=keys).delete()
    return len(keys)


def end_sessions_by_coordinator(actor: User, person: User) -> int:
    ended = end_sessions(person)
    record(actor, "sessions.ended", target=f"user:{person.pk}", detail=f"sessions={ended}")
    return ended


def end_own_session(request: HttpRequest, tracked_id: int) -> bool:
    user = request.user
    assert isinstance(user, User)
    tracked = UserSession.objects.filter(user=user, pk=tracked_id).first()
    if tracked is None:
        return False
    Session.objects.filter(session_key=tracked.session_key).delete()
    tracked.delete()
    record(request, "sessions.ended", target=f"user:{user.pk}", detail="own session")
    return True


def active_sessions(user: User) -> list[UserSession]:
    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    return list(UserSession.objects.filter(user=user, session_key__in=live))


def sign_out(request: HttpRequest) -> None:
    key = request.session.session_key
    if request.user.is_authenticated:
        record(request, "sign_out")
    logout(request)
    if key:
        UserSession.objects.filter(session_key=key).delete()


# --- sign-in ------------------------------------------------------------------------------


def sign_in_with_password(request: HttpRequest, username: str, password: str) -> User:
    """The password step. On success the person is signed in with MFA still pending."""
    address = client_address(request)
    target = f"username:{normalize_username(username)}"[:255]
    attempt = reserve_attempt(ThrottleKind.PASSWORD, username, address)
    if attempt.locked_until is not None:
        record(request, "sign_in.refused", target=target, allowed=False, detail="locked out")
        raise SignInRefused(_locked_message(attempt.locked_until))
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, User):
        record(request, "sign_in.failed", target=target, allowed=False)
        if attempt.last_allowed:
            record(request, "sign_in.locked_out", target=target, allowed=False)
        raise SignInRefused(_("That username and password do not match an active account."))
    clear_failures(ThrottleKind.PASSWORD, username, address)
    refusal = access_window_message(user)
    if refusal is not None:
        record(user, "sign_in.refused", target=target, allowed=False, detail="outside window")
        raise SignInRefused(refusal)
    begin_session(request, user)
    return user


def begin_session(request: HttpRequest, user: User) -> None:
    """Sign the person in with the second factor still to come."""
    previous = request.session.session_key
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    now = int(time.time())
    request.session[STARTED_KEY] = now
    request.session[SEEN_KEY] = now
    request.session[MFA_SESSION_KEY] = False
    # An enrolment begun before this sign-in (in a planted session, say) does not carry over.
    request.session.pop(ENROL_SHOWN_KEY, None)
    _track_session(request, user, previous)


def _complete_mfa(request: HttpRequest, user: User, how: str) -> None:
    request.session[MFA_SESSION_KEY] = True
    cycle_session(request)
    clear_failures(ThrottleKind.TOTP, user.username, client_address(request))
    record(request, "mfa.succeeded", target=f"user:{user.pk}", detail=how)
    record(request, "sign_in.succeeded", target=f"user:{user.pk}")


# --- TOTP ---------------------------------------------------------------------------------


class CodeCheck(enum.Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    REPLAYED = "replayed"
    # The stored secret does not open (sealed under a field key since lost): no code can match.
    UNREADABLE = "unreadable"


def start_enrolment(user: User) -> TOTPDevice:
    """The person's unconfirmed authenticator, made on first visit to the enrol page."""
    device, _created = TOTPDevice.objects.get_or_create(
        user=user, defaults={"secret": pyotp.random_base32(length=32)}
    )
    return device


def _shown(device: TOTPDevice) -> str:
    """What a session that was shown this device's secret keeps of it: its hash ("" for a
    secret sealed under a field key since lost, which no session can be shown again)."""
    try:
        return hash_token(device.secret)
    except UnsealError:
        return ""


def start_enrolment_in_session(request: HttpRequest) -> TOTPDevice:
    """The unconfirmed authenticator, with a secret shown to this session only.

    A secret another session saw (someone who has only the password, say) is replaced,
    so the person never enrols an authenticator whose secret someone else copied.
    """
    user = request.user
    assert isinstance(user, User)
    device = start_enrolment(user)
    if device.confirmed_at is None and request.session.get(ENROL_SHOWN_KEY) != _shown(device):
        device.secret = pyotp.random_base32(length=32)
        TOTPDevice.objects.filter(pk=device.pk, confirmed_at__isnull=True).update(
            sealed_secret=device.sealed_secret
        )
        request.session[ENROL_SHOWN_KEY] = hash_token(device.secret)
    return device


def provisioning_uri(device: TOTPDevice) -> str:
    return str(
        pyotp.TOTP(device.secret).provisioning_uri(
            name=device.user.username, issuer_name=settings.MFA_ISSUER
        )
    )


def qr_code_data_uri(text: str) -> str:
    return str(segno.make(text, error="m").svg_data_uri(scale=5, border=4))


def grouped_secret(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def ascii_digits(code: str) -> str:
    # Phones set to Arabic or Persian type digits such as ٣; the code means the same.
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in code)


def check_totp(device: TOTPDevice, code: str, at: float | None = None) -> CodeCheck:
    """Accept a code from the current step or one either side, each step only once."""
    code = ascii_digits("".join(code.split()))
    if len(code) != TOTP_DIGITS or not (code.isascii() and code.isdigit()):
        return CodeCheck.WRONG
    try:
        totp = pyotp.TOTP(device.secret)
    except UnsealError:
        logger.error("user %s: the authenticator secret does not open", device.user_id)
        return CodeCheck.UNREADABLE
    current = int((time.time() if at is None else at) // TOTP_STEP_SECONDS)
    matched = next(
        (
            step
            for step in (current - 1, current, current + 1)
            if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code)
        ),
        None,
    )
    if matched is None:
        return CodeCheck.WRONG
    # A conditional update, so two requests racing with one code cannot both win.
    claimed = TOTPDevice.objects.filter(pk=device.pk, last_used_step__lt=matched).update(
        last_used_step=matched
    )
    if claimed != 1:
        return CodeCheck.REPLAYED
    device.last_used_step = matched
    return CodeCheck.ACCEPTED


def _refuse_if_mfa_locked(request: HttpRequest, user: User) -> None:
    here = locked_until(ThrottleKind.TOTP, user.username, client_address(request))
    until = here or locked_until(ThrottleKind.TOTP, user.username, ANY_ADDRESS)
    if until is not None:
        record(request, "mfa.refused", target=f"user:{user.pk}", allowed=False, detail="locked")
        raise SignInRefused(_locked_message(until))


def _mfa_failure(request: HttpRequest, user: User, check: CodeCheck) -> SignInRefused:
    if check is CodeCheck.REPLAYED:
        record(request, "mfa.totp_replay_refused", target=f"user:{user.pk}", allowed=False)
        message = _("That code has already been used. Wait for the next code and enter it.")
    elif check is CodeCheck.UNREADABLE:
        # Not a wrong code, but counted like one: a recovery code is the way in now.
        record(request, "mfa.secret_unreadable", target=f"user:{user.pk}", allowed=False)
        message = _(
            "Codes from your authenticator app cannot be checked at the moment. Sign "
            "in with one of your recovery codes, or ask a coordinator to reset your "
            "second factor."
        )
    else:
        record(request, "mfa.failed", target=f"user:{user.pk}", allowed=False)
        message = _("That code is not right. Check the time on your phone and try again.")
    if record_failure(ThrottleKind.TOTP, user.username, client_address(request)):
        record(request, "mfa.locked_out", target=f"user:{user.pk}", allowed=False)
    if record_failure(
        ThrottleKind.TOTP, user.username, ANY_ADDRESS, limit=MFA_FAILURES_PER_ACCOUNT
    ):
        record(request, "mfa.locked_out", target=f"user:{user.pk}", allowed=False, detail="all")
    return SignInRefused(message)


def confirm_enrolment(request: HttpRequest, code: str) -> list[str]:
    """Confirm the authenticator with a code; returns recovery codes to show once."""
    user = request.user
    assert isinstance(user, User)
    _refuse_if_mfa_locked(request, user)
    device = TOTPDevice.objects.filter(user=user, confirmed_at__isnull=True).first()
    shown = request.session.get(ENROL_SHOWN_KEY)
    if device is None or not shown or shown != _shown(device):
        raise SignInRefused(_("Start again: open the set-up page for a new code."))
    check = check_totp(device, code)
    if check is not CodeCheck.ACCEPTED:
        raise _mfa_failure(request, user, check)
    device.confirmed_at = timezone.now()
    device.save(update_fields=["confirmed_at"])
    request.session.pop(ENROL_SHOWN_KEY, None)
    record(request, "mfa.enrolled", target=f"user:{user.pk}")
    codes = issue_recovery_codes(user)
    _complete_mfa(request, user, "enrolment")
    return codes


def verify_second_factor(request: HttpRequest, code: str) -> None:
    """A TOTP code (six digits) or a recovery code completes sign-in."""
    user = request.user
    assert isinstance(user, User)
    _refuse_if_mfa_locked(request, user)
    compact = "".join(code.split())
    if compact.isdigit():
        device = TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
        check = check_totp(device, compact) if device else CodeCheck.WRONG
        if check is not CodeCheck.ACCEPTED:
            raise _mfa_failure(request, user, check)
        _complete_mfa(request, user, "totp")
        return
    if not use_recovery_code(user, compact):
        raise _mfa_failure(request, user, CodeCheck.WRONG)
    record(request, "mfa.recovery_code_used", target=f"user:{user.pk}")
    _complete_mfa(request, user, "recovery code")


# --- recovery codes -----------------------------------------------------------------------


def normalize_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _format_recovery_code(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _new_recovery_codes() -> dict[str, str]:
    """Fresh single-use codes: each code's SHA-256 (to store) and the code as shown once."""
    raw_codes: set[str] = set()
    while len(raw_codes) < RECOVERY_CODE_COUNT:
        raw_codes.add(
            "".join(
                secrets.choice(RECOVERY_CODE_ALPHABET) for _position in range(RECOVERY_CODE_LENGTH)
            )
        )
    return {hash_token(raw): _format_recovery_code(raw) for raw in sorted(raw_codes)}


# The mechanism below serves every kind of account: `held` is one account's codes (staff
# `RecoveryCode`s or a family's `FamilyRecoveryCode`s, each with `code_hash` and `used_at`).


def replace_recovery_codes(held: QuerySet[Any], make: Callable[[str], models.Model]) -> list[str]:
    """Drop the codes in `held` and store fresh ones, `make(code_hash)` building each row;
    returns the codes to show once."""
    codes = _new_recovery_codes()
    with transaction.atomic():
        held.delete()
        held.model._default_manager.bulk_create(make(code_hash) for code_hash in codes)
    return sorted(codes.values())


def spend_recovery_code(held: QuerySet[Any], code: str) -> bool:
    """Use one unused code of `held` matching the typed `code`; False if none does."""
    normalized = normalize_recovery_code(code)
    if len(normalized) != RECOVERY_CODE_LENGTH:
        return False
    used = held.filter(code_hash=hash_token(normalized), used_at__isnull=True).update(
        used_at=timezone.now()
    )
    return used == 1


def unused_recovery_codes(held: QuerySet[Any]) -> int:
    return held.filter(used_at__isnull=True).count()


def issue_recovery_codes(user: User) -> list[str]:
    """Replace the person's recovery codes with fresh ones; returns them to show once."""
    return replace_recovery_codes(
        RecoveryCode.objects.filter(user=user),
        lambda code_hash: RecoveryCode(user=user, code_hash=code_hash),
    )


def regenerate_recovery_codes(request: HttpRequest) -> list[str]:
    user = request.user
    assert isinstance(user, User)
    codes = issue_recovery_codes(user)
    record(request, "mfa.recovery_codes_regenerated", target=f"user:{user.pk}")
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    return spend_recovery_code(RecoveryCode.objects.filter(user=user), code)


def unused_recovery_code_count(user: User) -> int:
    return unused_recovery_codes(RecoveryCode.objects.filter(user=user))


# --- password -----------------------------------------------------------------------------


def reserve_password_check(request: HttpRequest) -> Attempt:
    """Before checking the current password inside a session: the sign-in budget applies."""
    user = request.user
    assert isinstance(user, User)
    attempt = reserve_attempt(ThrottleKind.PASSWORD, user.username, client_address(request))
    if attempt.locked_until is not None:
        record(request, "account.password_change_refused", target=f"user:{user.pk}", allowed=False)
        raise SignInRefused(_locked_message(attempt.locked_until))
    return attempt


def settle_password_check(request: HttpRequest, attempt: Attempt, *, correct: bool) -> None:
    """A right current password clears the count; a wrong one stays counted and is recorded."""
    user = request.user
    assert isinstance(user, User)
    if correct:
        clear_failures(ThrottleKind.PASSWORD, user.username, client_address(request))
        return
    target = f"user:{user.pk}"
    record(request, "account.password_change_failed", target=target, allowed=False)
    if attempt.last_allowed:
        record(request, "sign_in.locked_out", target=target, allowed=False)


def change_password(request: HttpRequest, new_password: str) -> int:
    """Set a new password, keep this session (with a new key), end every other one."""
    user = request.user
    assert isinstance(user, User)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    previous = request.session.session_key
    update_session_auth_hash(request, user)
    _track_session(request, user, previous)
    ended = end_sessions(user, keep_key=request.session.session_key)
    record(request, "account.password_changed", target=f"user:{user.pk}", detail=f"ended={ended}")
    return ended


# --- demo -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    totp_secret: str


def create_demo_accounts() -> list[DemoAccount]:
    """One enrolled account per role and a partner organization. Only for DEBUG instances."""
    if not settings.DEBUG:
        raise AccountError(_("Demo accounts are made only when DEBUG is on."))
    organization, _created = PartnerOrganization.objects.get_or_create(
        name="Demo Legal Services (demo only)"
    )
    accounts: list[DemoAccount] = []
    for role in Role:
        username = f"demo-{role.value}"
        password = "-".join(secrets.token_hex(3) for _group in range(4))
        try:
            user, _created = User.objects.get_or_create(username=username, defaults={"role": role})
        except IntegrityError:  # pragma: no cover - a concurrent run made it
            user = User.objects.get(username=username)
        user.role = role
        user.display_name = f"Demo {role.label}"
        user.is_active = True
        user.organization = organization if role == Role.ATTORNEY else None
        user.set_password(password)
        user.save()
        secret = pyotp.random_base32(length=32)
        TOTPDevice.objects.update_or_create(
            user=user,
            defaults={"secret": secret, "confirmed_at": timezone.now(), "last_used_step": -1},
        )
        accounts.append(DemoAccount(username, password, str(role.value), secret))
    return accounts
