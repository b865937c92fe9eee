"""Indexes for the dashboards at scale (bench/README.md, issue 7).

Besides the partial indexes in Meta.indexes, one PostgreSQL-only covering index,
``case_scope``: every list of things that belong to a case (hearings, bail
requests, custody periods) checks ``case IN visible_to(user)`` case by case, and
without it each check reads the case's row, among a million wide ones (summary,
sources). With it the check is an index-only probe. On SQLite an INCLUDE is not
supported and the index would only repeat the primary key, so it is not created
there, and it is not in Meta.indexes, which both databases share.
"""

from django.conf import settings
from django.db import migrations, models

SCOPE_INDEX = (
    'CREATE INDEX IF NOT EXISTS "case_scope" ON "casework_case" ("id") '
    'INCLUDE ("province_id", "caseworker_id", "opened_by_id")'
)


def create_scope_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SCOPE_INDEX)


def drop_scope_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('DROP INDEX IF EXISTS "case_scope"')


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0005_trigram_search'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='custodyperiod',
            name='custody_open_runs_out',
        ),
        migrations.RemoveIndex(
            model_name='hearing',
            name='hearing_scheduled',
        ),
        migrations.AddIndex(
            model_name='bailrequest',
            index=models.Index(condition=models.Q(('decision', 'pending')), fields=['filed_on', 'id'], include=('case',), name='bail_pending_filed'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(condition=models.Q(('status__in', ('summoned', 'under_investigation', 'charged', 'on_trial', 'convicted', 'on_appeal'))), fields=['caseworker', 'updated_at'], include=('opened_by',), name='case_open_caseworker_updated'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(condition=models.Q(('caseworker__isnull', True)), fields=['opened_by', 'updated_at'], name='case_unassigned_opened_by'),
        ),
        migrations.AddIndex(
            model_name='custodyperiod',
            index=models.Index(condition=models.Q(('ended_at__isnull', True)), fields=['runs_out_at'], include=('accused',), name='custody_open_by_runs_out'),
        ),
        migrations.AddIndex(
            model_name='hearing',
            index=models.Index(fields=['scheduled_at'], include=('case', 'status'), name='hearing_scheduled'),
        ),
        migrations.RunPython(create_scope_index, drop_scope_index, elidable=False),
    ]
