from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from amparo.training.starter_course import load_starter_course


class Command(BaseCommand):
    help = 'Load the draft starter course "Observing lawfully" (en, es) once.'

    def handle(self, *args: Any, **options: Any) -> None:
        course, made = load_starter_course()
        if made:
            self.stdout.write(f"Loaded the starter course as draft course {course.pk}.")
        else:
            self.stdout.write(f"The starter course is already here (course {course.pk}).")
