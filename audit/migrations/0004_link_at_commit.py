"""Link entries at commit time instead of holding a lock for the whole transaction.

New columns: ``chain_seq`` (the entry's place in the chain, which on PostgreSQL is
commit order, not id order) and ``content_hash``; the link columns may be empty
while the writing transaction is open. Entries already written keep their
hashes (a head hash kept outside the database still verifies) and get their
place in id order, the order they were chained in. See docs/audit.md.
"""

from django.conf import settings
from django.db import migrations, models

from audit import linking, triggers

TABLE = "audit_auditentry"


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER audit_no_update")
            cursor.execute(
                f"UPDATE {TABLE} a SET chain_seq = n.seq FROM "
                f"(SELECT id, row_number() OVER (ORDER BY id) AS seq FROM {TABLE}) n "
                "WHERE a.id = n.id"
            )
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER audit_no_update")
            cursor.execute(linking.POSTGRES_UP)
        else:
            # SQLite rebuilt the table for the new columns, and its triggers went with
            # the old one: number the entries, then put the triggers back.
            triggers.drop(connection)
            cursor.execute(f"SELECT id FROM {TABLE} ORDER BY id")
            ids = [row[0] for row in cursor.fetchall()]
            cursor.executemany(
                f"UPDATE {TABLE} SET chain_seq = %s WHERE id = %s",
                [(seq, entry_id) for seq, entry_id in enumerate(ids, start=1)],
            )
    # The PostgreSQL append-only function now lets the linking trigger fill in a link.
    triggers.create(connection)


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(linking.POSTGRES_DOWN)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_detach_unused_auditlog_table'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='auditentry',
            name='chain_seq',
            field=models.BigIntegerField(editable=False, null=True, unique=True, verbose_name='place in the chain'),
        ),
        migrations.AddField(
            model_name='auditentry',
            name='content_hash',
            field=models.CharField(editable=False, max_length=64, null=True, verbose_name='content hash'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='entry_hash',
            field=models.CharField(editable=False, max_length=64, null=True, unique=True, verbose_name='hash'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='prev_hash',
            field=models.CharField(editable=False, max_length=64, null=True, verbose_name='previous hash'),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(condition=models.Q(('chain_seq__isnull', True)), fields=['id'], name='audit_unlinked'),
        ),
        migrations.RunPython(forwards, backwards),
    ]
