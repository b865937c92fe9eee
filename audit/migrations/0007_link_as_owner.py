"""Linking runs as the table's owner (SECURITY DEFINER): the app's role may not UPDATE
the audit table (docs/deploy.md revokes it), yet its commits must link their entries.
The functions only fill in an entry's own link, as audit_append_only() allows."""

from django.db import migrations


def as_owner(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name in ("audit_link_queue", "audit_link"):
            cursor.execute(
                f"ALTER FUNCTION {name}() SECURITY DEFINER SET search_path = public"
            )


def as_caller(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name in ("audit_link_queue", "audit_link"):
            cursor.execute(f"ALTER FUNCTION {name}() SECURITY INVOKER RESET search_path")


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_merge_20261205_0231")]

    operations = [migrations.RunPython(as_owner, as_caller)]
