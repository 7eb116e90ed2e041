from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("preparedness", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="alertdelivery",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="alertdelivery",
            name="claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="alertdelivery",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="alertdelivery",
            name="state",
            field=models.CharField(
                choices=[
                    ("pending", "Waiting"),
                    ("sending", "Sending"),
                    ("sent", "Sent"),
                    ("retry", "Not sent yet, will be tried again"),
                    ("failed", "Not delivered"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AddIndex(
            model_name="alertdelivery",
            index=models.Index(fields=["state", "next_attempt_at"], name="delivery_due"),
        ),
    ]
