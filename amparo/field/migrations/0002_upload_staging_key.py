from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("field", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="upload",
            name="staging_key",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
    ]
