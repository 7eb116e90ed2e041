"""Case documents uploaded before names were kept neutral: their names lose the long runs of
digits an A-number or a birth date is written in (amparo.hotline.documents.neutral_filename,
copied here as it was, so that this migration does not change if that function does).

The evidence store's own catalogue record of each such document (and any bundle or backup made
from it) keeps the name given at upload: evidence records are not rewritten after the fact.
Documents uploaded from now on reach the evidence store with the neutral name."""

import re

from django.db import migrations

NUMBER = re.compile(r"(?:\b[Aa][\W_]*)?\d(?:[\W_]*\d)*")


def neutral_names(apps, schema_editor):
    CaseDocument = apps.get_model("hotline", "CaseDocument")
    for document in CaseDocument.objects.only("pk", "filename").iterator():
        neutral = NUMBER.sub("…", document.filename)[:200]
        if neutral != document.filename:
            CaseDocument.objects.filter(pk=document.pk).update(filename=neutral)


class Migration(migrations.Migration):
    dependencies = [
        ("hotline", "0006_drop_a_number_last_digits"),
    ]

    operations = [
        migrations.RunPython(neutral_names, migrations.RunPython.noop),
    ]
