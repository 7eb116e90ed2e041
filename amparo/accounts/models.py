"""People, their roles and the partner organizations attorneys belong to."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amparo.accounts.roles import Role


class PartnerOrganization(models.Model):
    """A legal-service provider whose attorneys work with the network."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
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
