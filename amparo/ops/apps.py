from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "amparo.ops"
    label = "ops"
    verbose_name = "Operations"
