from django.apps import AppConfig


class PreparednessConfig(AppConfig):
    name = "amparo.preparedness"
    label = "preparedness"
