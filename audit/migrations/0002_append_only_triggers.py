"""Refuse UPDATE and DELETE on the audit table, in the database itself."""

from django.db import migrations

from audit import triggers


def create_triggers(apps, schema_editor):
    triggers.create(schema_editor.connection, truncate=False)


def drop_triggers(apps, schema_editor):
    triggers.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
