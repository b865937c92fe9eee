"""Trigram indexes for `q` search on PostgreSQL (bench/README.md).

Name search is ``search_text LIKE '%term%'`` on both databases, and reference
or court number search ``UPPER(col) LIKE UPPER('%term%')`` (icontains). A
B-tree cannot answer a pattern that starts with a wildcard; pg_trgm's GIN
indexes can, in Latin and Khmer script alike.

PostgreSQL only: on SQLite this migration does nothing and search scans, as
before. So the indexes are not in Meta.indexes, which both databases share,
and are written as SQL: Django's OpClass() needs django.contrib.postgres in
INSTALLED_APPS to be rendered inside an expression index.
"""

from django.db import migrations

INDEXES = {
    "detainee_search_trgm": 'casework_detainee USING gin ("search_text" gin_trgm_ops)',
    "case_reference_trgm": 'casework_case USING gin (UPPER("reference") gin_trgm_ops)',
    "case_court_number_trgm": 'casework_case USING gin (UPPER("court_case_number") gin_trgm_ops)',
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, target in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON {target}')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0004_list_and_dashboard_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
