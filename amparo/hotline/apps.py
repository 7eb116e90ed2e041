from django.apps import AppConfig


class HotlineConfig(AppConfig):
    name = "amparo.hotline"
    label = "hotline"
