"""TRUNCATE of the audit table is refused on PostgreSQL (a statement-level trigger,
audit/migrations/0004_refuse_truncate.py), and a dump still restores with it."""

import secrets
import shutil
import subprocess

import pytest
from django.db import DatabaseError, connection, transaction

from audit.log import record_command
from audit.models import AuditEntry
from audit.triggers import TABLE

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's; CI runs both"
    ),
]


def _truncate(sql):
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE"), transaction.atomic():
        with connection.cursor() as cursor:
            # Run the foreign-key checks of the rows just written now: TRUNCATE
            # refuses a table with checks still pending, whatever the triggers say.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(sql)


def test_truncate_of_the_audit_table_is_refused():
    record_command("test")
    _truncate(f"TRUNCATE {TABLE}")
    assert AuditEntry.objects.count() == 1


def test_truncate_reaching_it_by_cascade_is_refused_too():
    record_command("test")
    _truncate("TRUNCATE accounts_user CASCADE")
    assert AuditEntry.objects.count() == 1


def _url(name: str) -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


@pytest.mark.skipif(not shutil.which("pg_restore"), reason="needs postgresql-client")
def test_a_dump_restores_with_the_trigger_and_the_copy_refuses_truncate(tmp_path):
    dump, copy = tmp_path / "audit.dump", f"cw_truncate_test_{secrets.token_hex(4)}"
    source = _url(connection.settings_dict["NAME"])
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", source], check=True)  # noqa: S603,S607
    psql(_url("postgres"), f'CREATE DATABASE "{copy}"')
    try:
        command = ["pg_restore", "--exit-on-error", "--no-owner", "--no-acl"]
        restored = subprocess.run(  # noqa: S603
            [*command, f"--dbname={_url(copy)}", str(dump)], capture_output=True, text=True
        )
        assert restored.returncode == 0, restored.stderr
        refused = psql(_url(copy), f"TRUNCATE {TABLE}")
        assert refused.returncode != 0
        assert "append-only: TRUNCATE refused" in refused.stderr
    finally:
        psql(_url("postgres"), f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


def psql(url, sql):
    return subprocess.run(["psql", url, "-c", sql], capture_output=True, text=True)  # noqa: S603,S607
