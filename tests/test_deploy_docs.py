"""docs/deploy.md and docs/backup.md hold the blocks the deploy rehearsal runs
(scripts/deploy_rehearsal.py; CI runs the rehearsal itself against PostgreSQL)."""

import importlib.util
import re

import pytest

from .test_settings import BASE_DIR

spec = importlib.util.spec_from_file_location(
    "deploy_rehearsal", BASE_DIR / "scripts" / "deploy_rehearsal.py"
)
rehearsal = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rehearsal)

BLOCKS = [
    (rehearsal.DEPLOY, "roles"),
    (rehearsal.DEPLOY, "env"),
    (rehearsal.DEPLOY, "env-owner"),
    (rehearsal.DEPLOY, "build"),
    (rehearsal.DEPLOY, "migrate"),
    (rehearsal.DEPLOY, "audit-rights"),
    (rehearsal.DEPLOY, "healthz"),
    (rehearsal.DEPLOY, "admin"),
    (rehearsal.BACKUP, "backup-setup"),
    (rehearsal.BACKUP, "cron"),
    (rehearsal.BACKUP, "restore"),
]


@pytest.mark.parametrize("page, name", BLOCKS, ids=[n for _, n in BLOCKS])
def test_every_step_the_rehearsal_runs_is_on_the_page(page, name):
    assert rehearsal.block(page, name).strip()


def test_the_roles_come_before_the_migration_and_name_no_table():
    text = rehearsal.DEPLOY.read_text()
    assert text.index("rehearsal:roles") < text.index("rehearsal:migrate")
    assert text.index("rehearsal:migrate") < text.index("rehearsal:audit-rights")
    roles = rehearsal.block(rehearsal.DEPLOY, "roles")
    assert "audit_auditentry" not in roles and "ALL TABLES" not in roles
    assert "CREATEDB" in roles  # the nightly drill restores into a scratch database


def test_the_migration_runs_as_the_owner_and_serve_never_migrates():
    assert 'DATABASE_URL="$OWNER_DATABASE_URL"' in rehearsal.block(rehearsal.DEPLOY, "migrate")
    assert "OWNER_DATABASE_URL=" in rehearsal.block(rehearsal.DEPLOY, "env-owner")
    assert "OWNER_DATABASE_URL" not in rehearsal.block(rehearsal.DEPLOY, "env")


def test_the_cron_entry_is_one_line_that_loads_the_owner_and_keeps_the_dump():
    lines = [line for line in rehearsal.block(rehearsal.BACKUP, "cron").splitlines()]
    entries = [line for line in lines if line and not line.startswith("#")]
    assert len(entries) == 1 and not entries[0].endswith("\\")
    entry = entries[0]
    assert re.match(r"^\S+ \S+ \S+ \S+ \S+ casework ", entry)
    assert ". ./.env.owner" in entry and '"$OWNER_DATABASE_URL"' in entry
    assert "--keep /var/backups/casework/" in entry and "\\%F" in entry


def test_the_totp_codes_are_the_authenticator_apps():
    # RFC 6238's SHA-1 test vector (8 digits there; the app shows the last 6).
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert rehearsal.totp(secret, 59) == "287082"
