"""The staff roles of a network. A person holds exactly one."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Coordinator")
    TRAINER = "trainer", _("Trainer")
    OBSERVER = "observer", _("Observer")
    HOTLINE = "hotline", _("Hotline volunteer")
    ATTORNEY = "attorney", _("Attorney")
