from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "amparo.notify"
    label = "notify"
