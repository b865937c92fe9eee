"""The audit log is append-only and hash-chained: the database refuses edits,
and `verify_audit` names the entry where an intruder who got round that
(by dropping the triggers first) changed history."""

import datetime as dt
import re
import threading

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, ProtectedError

from audit.chain import verify
from audit.linking import link_pending
from audit.log import record
from audit.models import (
    HASHED_FIELDS,
    AppendOnlyError,
    AuditEntry,
    AuditEvent,
    content_digest,
    content_of,
    link_hash,
)
from casework.models import Lawyer

from . import factories as f

TABLE = AuditEntry._meta.db_table
# Columns an intruder would swap to pin one person's actions on another.
SWAPPABLE = ("object_pk", "object_id", "object_repr", "actor_id", "action", "event")


def make_entries(count: int = 4) -> list[AuditEntry]:
    """Entries written the ordinary way: auditlog's signals log each save."""
    for n in range(count):
        lawyer = f.make_lawyer(f"Chain Lawyer {n}")
        lawyer.organisation = f"Legal aid group {n}"
        lawyer.save()
    # The test's transaction never commits: link now, as a commit would.
    link_pending(connection)
    return list(AuditEntry.objects.order_by("chain_seq"))


def verify_audit(*args) -> str:
    out = []

    class Sink:
        def write(self, text):
            out.append(text)

        def flush(self):
            pass

    call_command("verify_audit", *args, stdout=Sink())
    return "".join(out)


def head_of(output: str) -> str:
    return re.search(r"^head ([0-9a-f]{64})$", output, re.MULTILINE).group(1)


def drop_append_only_triggers():
    """What an intruder with the database owner's password does first.

    Inside a test's transaction the DDL is rolled back with everything else.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER audit_no_update ON {TABLE}")
            cursor.execute(f"DROP TRIGGER audit_no_delete ON {TABLE}")
        else:
            cursor.execute("DROP TRIGGER audit_no_update")
            cursor.execute("DROP TRIGGER audit_no_delete")


def raw(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def swap_rows(first: int, second: int):
    """Exchange two whole rows, hashes and all, keeping the ids in place.

    Row by row, because a single UPDATE would briefly hold two equal
    ``entry_hash`` values and the unique index refuses that.
    """
    raw(
        f"CREATE TEMPORARY TABLE audit_swap AS SELECT * FROM {TABLE} WHERE id IN (%s, %s)",
        [first, second],
    )
    raw(f"DELETE FROM {TABLE} WHERE id IN (%s, %s)", [first, second])
    raw(
        "UPDATE audit_swap SET id = CASE WHEN id = %s THEN %s ELSE %s END",
        [first, second, first],
    )
    raw(f"INSERT INTO {TABLE} SELECT * FROM audit_swap")
    raw("DROP TABLE audit_swap")


def swap_contents(first: int, second: int):
    """Exchange who did what between two rows, leaving each row's hashes where they were."""
    columns = ", ".join(SWAPPABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {TABLE} WHERE id = %s", [first])
        first_values = cursor.fetchone()
        cursor.execute(f"SELECT {columns} FROM {TABLE} WHERE id = %s", [second])
        second_values = cursor.fetchone()
    assignments = ", ".join(f"{column} = %s" for column in SWAPPABLE)
    raw(f"UPDATE {TABLE} SET {assignments} WHERE id = %s", [*second_values, first])
    raw(f"UPDATE {TABLE} SET {assignments} WHERE id = %s", [*first_values, second])


def rehash(entry: AuditEntry, previous: str) -> str:
    """Set one row's hashes as the application would have written them."""
    entry_hash = link_hash(previous, entry.chain_seq, entry.pk, content_digest(content_of(entry)))
    raw(
        f"UPDATE {TABLE} SET content_hash = %s, prev_hash = %s, entry_hash = %s WHERE id = %s",
        [content_digest(content_of(entry)), previous, entry_hash, entry.pk],
    )
    return entry_hash


def rehash_from(entry_id: int):
    """Recompute every hash from ``entry_id`` on: the chain checks out again."""
    start = AuditEntry.objects.get(pk=entry_id).chain_seq
    entries = list(AuditEntry.objects.filter(chain_seq__gte=start).order_by("chain_seq"))
    previous = (
        AuditEntry.objects.filter(chain_seq__lt=start)
        .order_by("-chain_seq")
        .values_list("entry_hash", flat=True)
        .first()
    ) or "0" * 64
    for entry in entries:
        previous = rehash(entry, previous)


# --- An intact log ---------------------------------------------------------


def test_verify_passes_on_an_intact_log_and_prints_the_head_hash(db):
    entries = make_entries()
    output = verify_audit()
    assert f"Audit log intact: {len(entries)} entries" in output
    assert head_of(output) == entries[-1].entry_hash


def test_each_entry_links_to_the_one_before(db):
    entries = make_entries()
    assert entries[0].prev_hash == "0" * 64
    for before, after in zip(entries[:-1], entries[1:], strict=True):
        assert after.prev_hash == before.entry_hash


def test_verify_passes_on_an_empty_log(db):
    output = verify_audit()
    assert "Audit log intact: 0 entries" in output
    assert head_of(output) == "0" * 64


def test_verify_passes_against_the_head_kept_outside(db):
    make_entries(2)
    kept = head_of(verify_audit())
    make_entries(2)
    assert "intact" in verify_audit("--expect-head", kept)


def test_expect_head_must_look_like_a_hash(db):
    with pytest.raises(CommandError, match="64-character"):
        verify_audit("--expect-head", "not-a-hash")


def test_hashed_content_reads_back_unchanged(db, admin_user):
    """What was hashed before saving equals what is read back: JSON, address, time."""
    lawyer = f.make_lawyer("Round Trip")
    written = AuditEntry.objects.create(
        event=AuditEvent.VIEW,
        action=AuditEntry.Action.ACCESS,
        content_type=ContentType.objects.get_for_model(Lawyer),
        object_pk=str(lawyer.pk),
        object_id=lawyer.pk,
        object_repr=str(lawyer),
        actor=admin_user,
        remote_addr="2001:DB8:0:0::7",
        additional_data={"filters": {"province": "KH-2", "q": "Sokha"}, "rows": 3},
    )
    read_back = AuditEntry.objects.get(pk=written.pk)
    assert content_of(read_back) == content_of(written)
    assert read_back.content_hash == content_digest(content_of(read_back))
    assert set(content_of(read_back)) == set(HASHED_FIELDS)
    assert verify().ok


# --- Tampering, after dropping the triggers ---------------------------------


def test_edited_entry_is_named(db):
    entries = make_entries()
    target = entries[3]
    drop_append_only_triggers()
    raw(f"UPDATE {TABLE} SET object_repr = %s WHERE id = %s", ["Someone else", target.pk])

    with pytest.raises(CommandError, match=rf"entry #{target.pk}: its content was altered"):
        verify_audit()


def test_edited_actor_is_named(db, admin_user, caseworker):
    entries = make_entries()
    target = entries[2]
    drop_append_only_triggers()
    raw(f"UPDATE {TABLE} SET actor_id = %s WHERE id = %s", [caseworker.pk, target.pk])

    with pytest.raises(CommandError, match=rf"entry #{target.pk}: its content was altered"):
        verify_audit()


def test_record_stores_dates_and_records_in_data_as_text(db, admin_user):
    """An export's filters come from a form's cleaned data: dates, provinces."""
    entry = record(
        AuditEvent.EXPORT,
        actor=admin_user,
        model=Lawyer,
        data={"filters": {"since": dt.date(2026, 1, 5), "province": f.province("KH-2")}},
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.additional_data == {"filters": {"since": "2026-01-05", "province": "Battambang"}}
    assert verify().ok


def test_edited_and_rehashed_entry_breaks_the_next_link(db):
    """Recomputing the edited row's own hash only moves the break one entry on."""
    entries = make_entries()
    target, following = entries[3], entries[4]
    drop_append_only_triggers()
    raw(f"UPDATE {TABLE} SET object_repr = %s WHERE id = %s", ["Someone else", target.pk])
    rehash(AuditEntry.objects.get(pk=target.pk), target.prev_hash)

    with pytest.raises(CommandError, match=rf"entry #{following.pk}: its link .* \(#{target.pk}\)"):
        verify_audit()


def test_deleted_entry_is_named_by_the_entry_after_it(db):
    entries = make_entries()
    removed, following = entries[3], entries[4]
    drop_append_only_triggers()
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [removed.pk])

    with pytest.raises(CommandError) as failure:
        verify_audit()
    message = str(failure.value)
    assert f"entry #{following.pk}" in message
    assert f"previous entry (#{entries[2].pk})" in message
    assert "removed" in message


def test_deleted_first_entry_is_caught(db):
    entries = make_entries()
    drop_append_only_triggers()
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [entries[0].pk])

    with pytest.raises(CommandError, match=rf"entry #{entries[1].pk}: its link"):
        verify_audit()


def test_swapped_rows_are_named(db):
    """Whole rows swapped, hashes and places too, under each other's numbers."""
    entries = make_entries()
    first, second = entries[2], entries[5]
    drop_append_only_triggers()
    swap_rows(first.pk, second.pk)
    assert AuditEntry.objects.get(pk=first.pk).entry_hash == second.entry_hash

    # In chain order the first row met is the one now numbered like the second.
    with pytest.raises(
        CommandError, match=rf"entry #{second.pk}: its number or its place in the chain"
    ):
        verify_audit()


def test_moved_entry_breaks_the_run_of_places(db):
    """An entry given another place in the chain, its own hashes recomputed."""
    entries = make_entries()
    target = entries[2]
    drop_append_only_triggers()
    raw(f"UPDATE {TABLE} SET chain_seq = chain_seq + 1000 WHERE id = %s", [target.pk])
    rehash(AuditEntry.objects.get(pk=target.pk), target.prev_hash)

    with pytest.raises(CommandError, match=rf"entry #{entries[3].pk}: its link"):
        verify_audit()


def test_entry_written_past_the_linking_trigger_is_named(db):
    last = make_entries(1)[-1]
    drop_append_only_triggers()
    raw(
        f"UPDATE {TABLE} SET chain_seq = NULL, prev_hash = NULL, entry_hash = NULL WHERE id = %s",
        [last.pk],
    )
    with pytest.raises(CommandError, match=rf"entry #{last.pk}: it is not linked"):
        verify_audit()


def test_swapped_contents_are_named(db, admin_user):
    entries = make_entries()
    first, second = entries[2], entries[5]
    drop_append_only_triggers()
    swap_contents(first.pk, second.pk)
    assert AuditEntry.objects.get(pk=first.pk).object_repr == second.object_repr

    with pytest.raises(CommandError, match=rf"entry #{first.pk}: its content was altered"):
        verify_audit()


def test_expect_head_catches_removal_of_the_last_entries(db):
    entries = make_entries()
    kept = head_of(verify_audit())  # e.g. last night's, kept on another machine
    drop_append_only_triggers()
    raw(f"DELETE FROM {TABLE} WHERE id >= %s", [entries[-2].pk])

    # The shorter chain is consistent in itself: only the kept head shows the loss.
    assert "intact" in verify_audit()
    with pytest.raises(CommandError, match="end of the log: the head hash kept outside"):
        verify_audit("--expect-head", kept)


def test_expect_head_catches_a_chain_recomputed_after_an_edit(db):
    entries = make_entries()
    kept = head_of(verify_audit())
    target = entries[2]
    drop_append_only_triggers()
    raw(f"UPDATE {TABLE} SET object_repr = %s WHERE id = %s", ["Someone else", target.pk])
    rehash_from(target.pk)

    # Without a secret the intruder can recompute every later hash...
    assert "intact" in verify_audit()
    # ...but cannot make the chain end in the hash kept outside the database.
    with pytest.raises(CommandError, match="head hash kept outside"):
        verify_audit("--expect-head", kept)


def test_verify_reports_the_last_intact_entry(db):
    entries = make_entries()
    drop_append_only_triggers()
    raw(f"UPDATE {TABLE} SET object_repr = %s WHERE id = %s", ["Someone else", entries[3].pk])

    verdict = verify()
    assert not verdict.ok
    assert verdict.entry_id == entries[3].pk
    assert verdict.checked == 3
    assert verdict.head_id == entries[2].pk
    assert verdict.head == entries[2].entry_hash


# --- The database refuses edits ---------------------------------------------


def test_database_refuses_raw_update(db):
    entry = make_entries(1)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(f"UPDATE {TABLE} SET object_repr = %s WHERE id = %s", ["Someone else", entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).object_repr == entry.object_repr


def test_database_refuses_raw_delete(db):
    entry = make_entries(1)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(f"DELETE FROM {TABLE} WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_database_refuses_queryset_update_and_delete(db):
    make_entries(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.update(object_repr="Someone else")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.all().delete()
    assert not AuditEntry.objects.filter(object_repr="Someone else").exists()


def test_saving_an_existing_entry_is_refused(db):
    entry = make_entries(1)[0]
    entry.object_repr = "Someone else"
    with pytest.raises(AppendOnlyError):
        entry.save()


def test_deleting_an_entry_is_refused(db):
    entry = make_entries(1)[0]
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_deleting_a_user_with_entries_is_refused(db, admin_user):
    """People leave the NGO; their entries stay. Deactivate the account instead."""
    record(AuditEvent.LOGIN, actor=admin_user, obj=admin_user)
    with pytest.raises(ProtectedError), transaction.atomic():
        admin_user.delete()


# --- Concurrent appenders ---------------------------------------------------


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="PostgreSQL-specific: SQLite serialises every write to the database, "
    "so appenders cannot race there; PostgreSQL relies on the advisory lock.",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_appenders_do_not_fork_the_chain():
    threads, per_thread = 4, 10
    start = threading.Barrier(threads)
    errors = []

    def append(n):
        try:
            start.wait(timeout=10)
            for i in range(per_thread):
                f.make_lawyer(f"Concurrent Lawyer {n}-{i}")
        except Exception as exc:  # reported below, with the thread's traceback lost
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert errors == []
    assert Lawyer.objects.count() == threads * per_thread
    assert AuditEntry.objects.count() == threads * per_thread
    forks = AuditEntry.objects.values("prev_hash").annotate(n=Count("id")).filter(n__gt=1)
    assert list(forks) == []
    assert verify().ok
    assert "intact" in verify_audit()


# Every stored field of an entry is covered by its hash: the chain's own columns aside,
# changing any one of them (the triggers dropped) is named by verify_audit.
CHAIN_COLUMNS = {"id", "chain_seq", "prev_hash", "entry_hash", "content_hash"}
STORED_FIELDS = [
    field.name for field in AuditEntry._meta.concrete_fields if field.name not in CHAIN_COLUMNS
]


def _tampered(field, entry, caseworker):
    kind = field.get_internal_type()
    current = getattr(entry, field.attname)
    if field.name == "actor":
        return caseworker.pk if current != caseworker.pk else None
    if field.name == "content_type":
        return next(ct.pk for ct in ContentType.objects.all() if ct.pk != current)
    if kind == "DateTimeField":
        return current + dt.timedelta(hours=1)
    if kind == "JSONField":
        return '{"tampered": true}'
    if kind in ("BigIntegerField", "PositiveSmallIntegerField", "PositiveIntegerField"):
        return (current or 0) + 1
    if kind == "GenericIPAddressField":
        return "10.9.9.9" if current != "10.9.9.9" else "10.9.9.8"
    return "tampered"


def test_the_hash_covers_every_stored_field_listed():
    assert {"changes", "timestamp", "actor", "event", "additional_data"} <= set(STORED_FIELDS)


@pytest.mark.parametrize("name", STORED_FIELDS)
def test_changing_any_stored_field_is_named(db, caseworker, name):
    entries = make_entries()
    target = entries[2]
    field = AuditEntry._meta.get_field(name)
    value = _tampered(field, target, caseworker)
    cast = (
        "::jsonb"
        if connection.vendor == "postgresql" and field.get_internal_type() == "JSONField"
        else ""
    )
    drop_append_only_triggers()
    raw(f"UPDATE {TABLE} SET {field.column} = %s{cast} WHERE id = %s", [value, target.pk])

    with pytest.raises(CommandError, match=rf"entry #{target.pk}"):
        verify_audit()
