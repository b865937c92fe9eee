"""Linking audit entries into the chain at commit time, on PostgreSQL.

An entry is inserted unlinked (``chain_seq``, ``prev_hash`` and ``entry_hash``
empty, ``content_hash`` set). Two deferred constraint triggers then link it as
the very last step of its transaction's commit:

1. ``audit_link_queue`` (on the audit table, one event per entry written)
   puts one row into ``audit_link_request`` per transaction;
2. ``audit_link`` (on that table) takes the chain's advisory lock, reads the
   head, and links every entry of the transaction in id order.

Why two steps: PostgreSQL fires deferred events in the order they were queued,
and Django's foreign keys are deferred too. If the entries were linked by the
first trigger, a foreign-key check queued after an entry (a hearing saved after
the case's entry) would run *while the chain lock is held*, and could wait for a
row lock held by a transaction that is itself waiting for the chain lock: a
deadlock. Events queued while deferred events fire run in a later round, after
every check of the first, so the second trigger links once all of the
transaction's own checks are done. From taking the lock to committing, a
transaction waits for nothing else, so no cycle can pass through the chain lock.

The lock is held from the link to the end of the commit: a few milliseconds,
not the length of the transaction (docs/audit.md, "Linking at commit").
"""

from .models import CHAIN_LOCK_KEY, GENESIS_HASH

TABLE = "audit_auditentry"
REQUESTS = "audit_link_request"
# Set (for the transaction only) once this transaction has asked to be linked.
QUEUED_SETTING = "casework.audit_link_queued"

POSTGRES_UP = f"""
CREATE TABLE IF NOT EXISTS {REQUESTS} (id bigserial PRIMARY KEY);

CREATE OR REPLACE FUNCTION audit_link_queue() RETURNS trigger AS $$
BEGIN
    -- Entries arriving already linked (a restore, a bulk load) are kept as they are.
    IF NEW.entry_hash IS NULL
       AND coalesce(current_setting('{QUEUED_SETTING}', true), '') <> 'on' THEN
        PERFORM set_config('{QUEUED_SETTING}', 'on', true);
        INSERT INTO {REQUESTS} DEFAULT VALUES;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = public;

CREATE OR REPLACE FUNCTION audit_link() RETURNS trigger AS $$
DECLARE
    head_seq bigint;
    head_hash varchar(64);
    prev varchar(64);
    entry record;
BEGIN
    PERFORM pg_advisory_xact_lock({CHAIN_LOCK_KEY});
    SELECT chain_seq, entry_hash INTO head_seq, head_hash FROM {TABLE}
        WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1;
    IF head_seq IS NULL THEN
        head_seq := 0;
        head_hash := '{GENESIS_HASH}';
    END IF;
    -- Committed entries are all linked: the unlinked ones in sight are this transaction's.
    FOR entry IN SELECT id, content_hash FROM {TABLE}
                 WHERE chain_seq IS NULL AND entry_hash IS NULL ORDER BY id LOOP
        head_seq := head_seq + 1;
        prev := head_hash;
        -- As audit.models.link_hash.
        head_hash := encode(sha256(convert_to(
            prev || ':' || head_seq || ':' || entry.id || ':' || entry.content_hash,
            'UTF8')), 'hex');
        UPDATE {TABLE} SET chain_seq = head_seq, prev_hash = prev, entry_hash = head_hash
            WHERE id = entry.id;
    END LOOP;
    DELETE FROM {REQUESTS} WHERE id = NEW.id;
    PERFORM set_config('{QUEUED_SETTING}', '', true);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = public;

DROP TRIGGER IF EXISTS audit_link_queue ON {TABLE};
CREATE CONSTRAINT TRIGGER audit_link_queue AFTER INSERT ON {TABLE}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_link_queue();
DROP TRIGGER IF EXISTS audit_link ON {REQUESTS};
CREATE CONSTRAINT TRIGGER audit_link AFTER INSERT ON {REQUESTS}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_link();
"""

POSTGRES_DOWN = f"""
DROP TRIGGER IF EXISTS audit_link_queue ON {TABLE};
DROP TRIGGER IF EXISTS audit_link ON {REQUESTS};
DROP FUNCTION IF EXISTS audit_link_queue();
DROP FUNCTION IF EXISTS audit_link();
DROP TABLE IF EXISTS {REQUESTS};
"""


def link_pending(connection) -> None:
    """Link the entries this transaction wrote so far, now rather than at commit.

    For a check that runs inside the transaction that wrote entries (the tests,
    which never commit); a transaction that commits needs nothing of this.
    Outside a transaction, or on SQLite (linked as written), it does nothing.
    """
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS audit_link_queue, audit_link IMMEDIATE")
        cursor.execute("SET CONSTRAINTS audit_link_queue, audit_link DEFERRED")
