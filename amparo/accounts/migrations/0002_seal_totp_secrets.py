"""Seal every stored TOTP secret with the field key.

The column is renamed to `sealed_secret` and widened for the sealed form; each plaintext
base32 secret is then sealed (AES-256-GCM, associated data naming the owner's user id).
Reversible: migrating back opens each sealed secret with the same field key and stores it
in the clear again, so going back needs the key that sealed them. A row already in the
sealed format is left as it is, so running forward twice cannot seal a secret twice.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

from amparo.hotline.sealed_fields import SEALED_PREFIX, seal, unseal


def _context(user_id: int) -> str:
    # The same associated data as amparo.accounts.models.totp_secret_context, fixed here
    # so that a later change to the model cannot change what this migration wrote.
    return f"accounts.totpdevice.secret:user:{user_id}"


def seal_secrets(apps: Any, schema_editor: Any) -> None:
    device_model = apps.get_model("accounts", "TOTPDevice")
    rows = device_model.objects.using(schema_editor.connection.alias)
    for device in rows.only("pk", "user_id", "sealed_secret").iterator():
        if device.sealed_secret.startswith(SEALED_PREFIX) or device.sealed_secret == "":
            continue
        rows.filter(pk=device.pk).update(
            sealed_secret=seal(_context(device.user_id), device.sealed_secret)
        )


def open_secrets(apps: Any, schema_editor: Any) -> None:
    device_model = apps.get_model("accounts", "TOTPDevice")
    rows = device_model.objects.using(schema_editor.connection.alias)
    for device in rows.only("pk", "user_id", "sealed_secret").iterator():
        if not device.sealed_secret.startswith(SEALED_PREFIX):
            continue
        rows.filter(pk=device.pk).update(
            sealed_secret=unseal(_context(device.user_id), device.sealed_secret)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(
            model_name="totpdevice",
            old_name="secret",
            new_name="sealed_secret",
        ),
        migrations.AlterField(
            model_name="totpdevice",
            name="sealed_secret",
            field=models.CharField(max_length=128),
        ),
        migrations.RunPython(seal_secrets, open_secrets),
    ]
