from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "amparo.training"
    label = "training"
