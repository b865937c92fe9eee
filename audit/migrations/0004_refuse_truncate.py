"""Refuse TRUNCATE of the audit table on PostgreSQL: a statement-level trigger.

Row triggers (0002) do not see TRUNCATE, which empties the table at once. A
restore is unaffected: pg_restore loads the rows before it creates triggers.
"""

from django.db import migrations

from audit import triggers


def create(apps, schema_editor):
    triggers.create_truncate(schema_editor.connection)


def drop(apps, schema_editor):
    triggers.drop_truncate(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_detach_unused_auditlog_table")]

    operations = [migrations.RunPython(create, drop)]
