"""django-auditlog's own migrations create ``auditlog_logentry`` even though
AUDITLOG_LOGENTRY_MODEL points at ``audit.AuditEntry``. The table stays empty;
its foreign keys to users and content types only get in the way of
TRUNCATE (test flushes, restore drills). Drop those keys, not the table, so
auditlog's later migrations still find it."""

from django.db import migrations

DROP_FOREIGN_KEYS = """
DO $$
DECLARE r record;
BEGIN
    IF to_regclass('auditlog_logentry') IS NULL THEN
        RETURN;
    END IF;
    FOR r IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'auditlog_logentry'::regclass AND contype = 'f'
    LOOP
        EXECUTE 'ALTER TABLE auditlog_logentry DROP CONSTRAINT ' || quote_ident(r.conname);
    END LOOP;
END $$;
"""


def detach(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP_FOREIGN_KEYS)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers"), ("auditlog", "0017_add_actor_email")]

    operations = [migrations.RunPython(detach, migrations.RunPython.noop)]
