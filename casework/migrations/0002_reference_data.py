from django.db import migrations

from casework.reference import load


class Migration(migrations.Migration):
    dependencies = [("casework", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
