"""Seal every family's stored TOTP secret with the field key.

The column is renamed to `sealed_totp_secret` and widened for the sealed form; each
plaintext base32 secret is then sealed (AES-256-GCM, associated data naming the account's
id). An empty value (no authenticator begun) stays empty. Reversible: migrating back opens
each sealed secret with the same field key, so going back needs the key that sealed them.
A value already in the sealed format is left alone, so nothing is sealed twice.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

from amparo.hotline.sealed_fields import SEALED_PREFIX, seal, unseal


def _context(account_id: int) -> str:
    # The same associated data as amparo.preparedness.models.totp_secret_context, fixed
    # here so that a later change to the model cannot change what this migration wrote.
    return f"preparedness.familyaccount.totp_secret:account:{account_id}"


def seal_secrets(apps: Any, schema_editor: Any) -> None:
    account_model = apps.get_model("preparedness", "FamilyAccount")
    rows = account_model.objects.using(schema_editor.connection.alias)
    for account in rows.exclude(sealed_totp_secret="").only("pk", "sealed_totp_secret").iterator():
        if account.sealed_totp_secret.startswith(SEALED_PREFIX):
            continue
        rows.filter(pk=account.pk).update(
            sealed_totp_secret=seal(_context(account.pk), account.sealed_totp_secret)
        )


def open_secrets(apps: Any, schema_editor: Any) -> None:
    account_model = apps.get_model("preparedness", "FamilyAccount")
    rows = account_model.objects.using(schema_editor.connection.alias)
    for account in rows.exclude(sealed_totp_secret="").only("pk", "sealed_totp_secret").iterator():
        if not account.sealed_totp_secret.startswith(SEALED_PREFIX):
            continue
        rows.filter(pk=account.pk).update(
            sealed_totp_secret=unseal(_context(account.pk), account.sealed_totp_secret)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("preparedness", "0002_alert_retries"),
    ]

    operations = [
        migrations.RenameField(
            model_name="familyaccount",
            old_name="totp_secret",
            new_name="sealed_totp_secret",
        ),
        migrations.AlterField(
            model_name="familyaccount",
            name="sealed_totp_secret",
            field=models.CharField(blank=True, max_length=128),
        ),
        migrations.RunPython(seal_secrets, open_secrets),
    ]
