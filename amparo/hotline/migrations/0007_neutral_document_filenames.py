"""Case documents uploaded before names were kept neutral: their names lose the long runs of
digits an A-number or a birth date is written in (amparo.hotline.documents.neutral_filename,
copied here as it was, so that this migration does not change if that function does)."""

import re

from django.db import migrations

LONG_NUMBER = re.compile(r"(?:[Aa][\s\-._]?)?(?<!\d)\d(?:[\s\-._/]?\d){6,}(?!\d)")


def neutral_names(apps, schema_editor):
    CaseDocument = apps.get_model("hotline", "CaseDocument")
    for document in CaseDocument.objects.only("pk", "filename").iterator():
        neutral = LONG_NUMBER.sub("…", document.filename)[:200]
        if neutral != document.filename:
            CaseDocument.objects.filter(pk=document.pk).update(filename=neutral)


class Migration(migrations.Migration):
    dependencies = [
        ("hotline", "0006_drop_a_number_last_digits"),
    ]

    operations = [
        migrations.RunPython(neutral_names, migrations.RunPython.noop),
    ]
