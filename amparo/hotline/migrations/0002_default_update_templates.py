from django.db import migrations


def install(apps, schema_editor):
    from amparo.hotline.default_templates import install_default_templates

    install_default_templates(apps.get_model("hotline", "UpdateTemplate"))


class Migration(migrations.Migration):
    dependencies = [("hotline", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
