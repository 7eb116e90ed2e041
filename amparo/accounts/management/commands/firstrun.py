"""Placeholder: prints nothing until the accounts work adds the first-coordinator link."""

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "On an empty database, print a one-time link that creates the first coordinator."

    def handle(self, *args: Any, **options: Any) -> None:
        return None
