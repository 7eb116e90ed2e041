"""People, their roles, the partner organizations attorneys belong to, and what signs them in."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amparo.accounts.roles import Role
from amparo.hotline.sealed_fields import seal, unseal


def totp_secret_context(user_id: int) -> str:
    """Associated data for a sealed TOTP secret: it opens only on its owner's device row."""
    return f"accounts.totpdevice.secret:user:{user_id}"


class PartnerOrganization(models.Model):
    """A legal-service provider whose attorneys work with the network."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    # One free-form name: many names do not split into first and last.
    display_name = models.CharField(_("name"), max_length=200, blank=True)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    organization = models.ForeignKey(
        PartnerOrganization,
        verbose_name=_("partner organization"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    preferred_language = models.CharField(_("preferred language"), max_length=8, blank=True)
    access_starts_at = models.DateTimeField(_("access starts"), null=True, blank=True)
    access_ends_at = models.DateTimeField(_("access ends"), null=True, blank=True)

    def within_access_window(self, at: datetime | None = None) -> bool:
        now = at or timezone.now()
        if self.access_starts_at and now < self.access_starts_at:
            return False
        return not (self.access_ends_at and now >= self.access_ends_at)

    @property
    def name_for_display(self) -> str:
        return self.display_name or self.username


class Invitation(models.Model):
    """A single-use link that lets one person create their account.

    Only a SHA-256 of the link's token is stored, so a copy of the database cannot be
    used to accept an invitation.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("email address"), blank=True)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    organization = models.ForeignKey(
        PartnerOrganization,
        verbose_name=_("partner organization"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    access_starts_at = models.DateTimeField(_("access starts"), null=True, blank=True)
    access_ends_at = models.DateTimeField(_("access ends"), null=True, blank=True)
    # The first coordinator's invitation, made by `amparo firstrun`, has no inviter.
    bootstrap = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.role})"

    def is_open(self, at: datetime | None = None) -> bool:
        now = at or timezone.now()
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at


class TOTPDevice(models.Model):
    """A person's authenticator app. Unconfirmed until they type a code it shows.

    The base32 secret is stored only sealed (AES-256-GCM under the field key, with the
    owner's user id as associated data, so a sealed secret copied onto another person's
    row does not open). `secret` reads and writes it in the clear; set `user` first.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    sealed_secret = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The newest 30-second step ever accepted; a code from that step or earlier is a replay.
    last_used_step = models.BigIntegerField(default=-1)

    def __str__(self) -> str:
        return f"authenticator of user {self.user_id}"

    @property
    def secret(self) -> str:
        return unseal(totp_secret_context(self.user_id), self.sealed_secret)

    @secret.setter
    def secret(self, value: str) -> None:
        if self.user_id is None:
            raise ValueError("a TOTP secret is sealed for its owner: set the user first")
        self.sealed_secret = seal(totp_secret_context(self.user_id), value)


class RecoveryCode(models.Model):
    """A single-use code for when the authenticator is lost. Stored as a SHA-256 only."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "code_hash"], name="recovery_code_unique")
        ]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of user {self.user_id}"


class ThrottleKind(models.TextChoices):
    PASSWORD = "password", _("password")
    TOTP = "totp", _("second factor")


class SignInThrottle(models.Model):
    """Failed attempts for one (username, address) pair.

    The address is kept only as an HMAC under the secret key, so the table holds no
    addresses; it still lets the same pair be recognized.
    """

    kind = models.CharField(max_length=16, choices=ThrottleKind.choices)
    username = models.CharField(max_length=150)
    address_hmac = models.CharField(max_length=64)
    failures = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "username", "address_hmac"], name="sign_in_throttle_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} throttle for {self.username}"


class UserSession(models.Model):
    """Which server-side sessions belong to whom, so they can be ended without a scan."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tracked_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"session of user {self.user_id}"
