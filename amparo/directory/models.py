"""What partner attorneys cover: languages, places, courts, facilities, specialties, capacity."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amparo.hotline.models import language_name


class Specialty(models.TextChoices):
    DETENTION = "detention", _("Detention and custody")
    BOND = "bond", _("Bond hearings")
    REMOVAL = "removal", _("Removal defense")
    ASYLUM = "asylum", _("Asylum")
    APPEALS = "appeals", _("Appeals")
    CRIMINAL_IMMIGRATION = "crimmigration", _("Criminal-immigration")
    FAMILY = "family", _("Family and children")


class AttorneyProfile(models.Model):
    """One attorney's coverage. Lists are stored one item a line, compared case-insensitively."""

    attorney = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="directory_profile"
    )
    languages = models.TextField(_("languages"), blank=True)
    counties = models.TextField(_("counties"), blank=True)
    courts = models.TextField(_("immigration courts"), blank=True)
    facilities = models.TextField(_("detention facilities"), blank=True)
    specialties = models.TextField(_("specialties"), blank=True)
    capacity = models.PositiveIntegerField(_("cases they can take at once"), default=0)
    accepting = models.BooleanField(_("accepting new cases"), default=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["attorney__username"]

    def __str__(self) -> str:
        return f"directory profile of user {self.attorney_id}"

    @staticmethod
    def items(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if line.strip()]

    def language_list(self) -> list[str]:
        return self.items(self.languages)

    def county_list(self) -> list[str]:
        return self.items(self.counties)

    def court_list(self) -> list[str]:
        return self.items(self.courts)

    def facility_list(self) -> list[str]:
        return self.items(self.facilities)

    def specialty_list(self) -> list[str]:
        return self.items(self.specialties)

    def language_names(self) -> list[str]:
        """The languages by name, in the reader's language (the lists keep codes)."""
        return [language_name(code) for code in self.language_list()]

    def specialty_names(self) -> list[str]:
        labels = dict(Specialty.choices)
        return [str(labels.get(code, code)) for code in self.specialty_list()]
