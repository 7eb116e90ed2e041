"""Timeline steps say where a merge put them.

`merged_case` marks the step a merge records on the surviving case (it was an English note,
"merged case N into this one", which a Spanish or Arabic reader saw as it was); existing such
notes become the field, and the page says it in the reader's language. `from_case` marks the
steps a merge brought over from the absorbed case; merges made before this migration did not
record it, so their steps stay unmarked."""

import re

import django.db.models.deletion
from django.db import migrations, models

MERGE_NOTE = re.compile(r"^merged case (\d+) into this one$")


def notes_to_field(apps, schema_editor):
    StatusEvent = apps.get_model("hotline", "StatusEvent")
    Case = apps.get_model("hotline", "Case")
    for step in StatusEvent.objects.filter(note__startswith="merged case ").only("pk", "note"):
        match = MERGE_NOTE.match(step.note)
        if match and Case.objects.filter(pk=int(match.group(1))).exists():
            StatusEvent.objects.filter(pk=step.pk).update(
                merged_case_id=int(match.group(1)), note=""
            )


def field_to_notes(apps, schema_editor):
    StatusEvent = apps.get_model("hotline", "StatusEvent")
    for step in StatusEvent.objects.exclude(merged_case=None).only("pk", "merged_case_id"):
        StatusEvent.objects.filter(pk=step.pk).update(
            note=f"merged case {step.merged_case_id} into this one"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("hotline", "0007_neutral_document_filenames"),
    ]

    operations = [
        migrations.AddField(
            model_name="statusevent",
            name="from_case",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="hotline.case",
            ),
        ),
        migrations.AddField(
            model_name="statusevent",
            name="merged_case",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="hotline.case",
            ),
        ),
        migrations.RunPython(notes_to_field, field_to_notes),
    ]
