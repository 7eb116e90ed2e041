from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("hotline", "0002_default_update_templates"),
    ]

    operations = [
        migrations.AlterField(
            model_name="intake",
            name="channel",
            field=models.CharField(
                choices=[
                    ("public_form", "Public form"),
                    ("call", "Hotline call"),
                    ("plan_activation", "Plan activation"),
                ],
                max_length=20,
            ),
        ),
    ]
