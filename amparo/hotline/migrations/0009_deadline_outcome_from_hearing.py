"""A bond appeal deadline named the hearing's outcome in a description written when it was
recorded, in the language of whoever recorded it ("Bond denied", "Fianza negada"), which every
later reader then saw. The page now names the outcome from the hearing, in the reader's
language; the written copies, on deadlines whose hearing has an outcome, are cleared."""

from django.db import migrations


def clear_written_outcomes(apps, schema_editor):
    Deadline = apps.get_model("hotline", "Deadline")
    Deadline.objects.filter(kind="bond_appeal", hearing__isnull=False).exclude(
        hearing__bond_outcome=""
    ).update(description="")


class Migration(migrations.Migration):
    dependencies = [
        ("hotline", "0008_timeline_merge_origin"),
    ]

    operations = [
        migrations.RunPython(clear_written_outcomes, migrations.RunPython.noop),
    ]
