"""A trigram index on ``Detainee.name_keys`` for `q` search by spelling (issue 13).

`q` also matches each word's consonant skeleton as a whole word of ``name_keys``
(``querysets.name_word_pattern``: a regular expression such as ``[| ]tc[| ]``).
pg_trgm's GIN index answers regular expressions as it answers LIKE (migration
0005). PostgreSQL only; SQLite scans, as it does for every `q` search.
"""

from django.db import migrations

INDEXES = {
    "detainee_name_keys_trgm": 'casework_detainee USING gin ("name_keys" gin_trgm_ops)',
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
        ("casework", "0010_representation_end"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
