from django.apps import AppConfig


class FieldConfig(AppConfig):
    name = "amparo.field"
    label = "field"
