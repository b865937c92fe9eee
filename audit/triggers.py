"""The append-only triggers on the audit table, for PostgreSQL and SQLite.

Created by migration 0002; the TRUNCATE one (PostgreSQL has that statement,
SQLite does not) by migration 0004. Kept here so tests that must empty the database
(live-server tests on SQLite, where Django flushes with DELETE) can lift and
restore them, exactly as the migration writes them.
"""

TABLE = "audit_auditentry"

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    -- One update only: the linking trigger (audit/linking.py, so one level down)
    -- filling in the link of an entry its own transaction wrote, and nothing else.
    IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 AND OLD.entry_hash IS NULL
       AND OLD.chain_seq IS NULL AND NEW.chain_seq IS NOT NULL
       AND to_jsonb(NEW) - ARRAY['chain_seq', 'prev_hash', 'entry_hash']
           = to_jsonb(OLD) - ARRAY['chain_seq', 'prev_hash', 'entry_hash'] THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit log is append-only: % refused on {TABLE}', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_no_update ON {TABLE};
DROP TRIGGER IF EXISTS audit_no_delete ON {TABLE};
CREATE TRIGGER audit_no_update BEFORE UPDATE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
"""
# TRUNCATE empties a table without touching a row: row triggers do not see it.
POSTGRES_TRUNCATE_UP = f"""
DROP TRIGGER IF EXISTS audit_no_truncate ON {TABLE};
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
"""
POSTGRES_TRUNCATE_DOWN = f"DROP TRIGGER IF EXISTS audit_no_truncate ON {TABLE};"
POSTGRES_DOWN = f"""
DROP TRIGGER IF EXISTS audit_no_truncate ON {TABLE};
DROP TRIGGER IF EXISTS audit_no_update ON {TABLE};
DROP TRIGGER IF EXISTS audit_no_delete ON {TABLE};
DROP FUNCTION IF EXISTS audit_append_only();
"""
SQLITE_UP = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused on {TABLE}'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused on {TABLE}'); END;""",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS audit_no_update;", "DROP TRIGGER IF EXISTS audit_no_delete;"]


def _statements(vendor: str, up: bool) -> list[str]:
    if vendor == "postgresql":
        return [POSTGRES_UP if up else POSTGRES_DOWN]
    if vendor == "sqlite":
        return SQLITE_UP if up else SQLITE_DOWN
    raise NotImplementedError(f"No append-only trigger for {vendor}.")


def create(connection, *, truncate: bool = True):
    """Every trigger; ``truncate=False`` as migration 0002 left them (before 0004)."""
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, up=True):
            cursor.execute(statement)
        if truncate and connection.vendor == "postgresql":
            cursor.execute(POSTGRES_TRUNCATE_UP)


def create_truncate(connection):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(POSTGRES_TRUNCATE_UP)


def drop_truncate(connection):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(POSTGRES_TRUNCATE_DOWN)


def drop(connection):
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, up=False):
            cursor.execute(statement)
