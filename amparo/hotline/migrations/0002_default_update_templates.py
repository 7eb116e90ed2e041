from django.db import migrations


def install(apps, schema_editor):
    from amparo.hotline.default_templates import DEFAULT_TEMPLATES

    UpdateTemplate = apps.get_model("hotline", "UpdateTemplate")
    for key, languages in DEFAULT_TEMPLATES.items():
        for language, text in languages.items():
            UpdateTemplate.objects.get_or_create(key=key, language=language, defaults=dict(text))


class Migration(migrations.Migration):
    dependencies = [("hotline", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
