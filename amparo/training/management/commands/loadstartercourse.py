from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand
from amparo.training.starter_course import load_starter_course


class Command(TranslatedCommand):
    help = gettext_lazy('Load the draft starter course "Observing lawfully" (en, es) once.')

    def handle(self, *args: Any, **options: Any) -> None:
        course, made = load_starter_course()
        if made:
            message = _("Loaded the starter course as draft course %(number)s.")
        else:
            message = _("The starter course is already here (course %(number)s).")
        self.stdout.write(message % {"number": course.pk})
