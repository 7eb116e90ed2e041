from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "amparo.web"
    label = "web"

    def ready(self) -> None:
        from amparo.web import checks  # noqa: F401  (registers deployment checks)
