"""The audit chain under concurrent writers, on PostgreSQL (audit/linking.py).

Entries are linked as the last step of their transaction's commit, so a long
transaction no longer makes every other audited action wait; the chain still
never forks, a rolled-back entry leaves nothing behind, and the chain lock
cannot close a deadlock with record locks. These tests run real concurrent
transactions (threads, each with its own connection) and are bounded in time.
SQLite serialises writing transactions as a whole, so they do not apply there.
"""

import os
import random
import threading
import time
from collections import Counter

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from audit.chain import verify
from audit.log import record
from audit.models import AuditEntry, AuditEvent
from casework.models import Case, Hearing, Lawyer
from jobs import runner
from jobs.models import Job
from reports import importer

from . import factories as f

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent transactions on PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]

# The figures: 8 writers for 30 s, a 5,000-row import. CI runs them as they are
# (about four minutes); set these lower for a quick local run.
SOAK_SECONDS = float(os.environ.get("AUDIT_SOAK_SECONDS", "30"))
IMPORT_ROWS = int(os.environ.get("AUDIT_IMPORT_ROWS", "5000"))


def in_thread(target, *args):
    """Run ``target`` in a thread with its own connection; return (thread, outcome)."""
    outcome = {}

    def run():
        try:
            outcome["value"] = target(*args)
        except Exception as exc:  # asserted on by the test
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def waits_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


def wait_until(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def chain_places() -> list[int]:
    return list(AuditEntry.objects.order_by("chain_seq").values_list("chain_seq", flat=True))


def test_an_open_transaction_does_not_hold_up_other_appenders(admin_user):
    """The old chain lock was held to the end of the writer's transaction: one import
    made every audited page wait. Now only the link, at commit, is serialised."""
    opened, release = threading.Event(), threading.Event()

    def long_transaction():
        with transaction.atomic():
            record(AuditEvent.IMPORT, actor=admin_user, model=Case, object_repr="long one")
            opened.set()
            assert release.wait(30)

    long_thread, long_outcome = in_thread(long_transaction)
    assert opened.wait(10)
    started = time.monotonic()
    record(AuditEvent.VIEW, actor=admin_user, obj=admin_user, object_repr="meanwhile")
    waited = time.monotonic() - started
    release.set()
    long_thread.join(30)

    assert "error" not in long_outcome
    assert waited < 3, f"an audited action waited {waited:.1f} s for another transaction"
    long_entry = AuditEntry.objects.get(object_repr="long one")
    meanwhile = AuditEntry.objects.get(object_repr="meanwhile")
    # Chained in commit order: the entry written first but committed last comes after.
    assert long_entry.pk < meanwhile.pk
    assert long_entry.chain_seq > meanwhile.chain_seq
    assert long_entry.prev_hash == meanwhile.entry_hash
    assert verify().ok


def test_a_rolled_back_entry_leaves_no_trace(admin_user):
    record(AuditEvent.VIEW, actor=admin_user, obj=admin_user, object_repr="before")
    with pytest.raises(RuntimeError), transaction.atomic():
        f.make_lawyer("Rolled Back Lawyer")
        record(AuditEvent.VIEW, actor=admin_user, obj=admin_user, object_repr="rolled back")
        raise RuntimeError("the change failed")
    record(AuditEvent.VIEW, actor=admin_user, obj=admin_user, object_repr="after")

    assert not Lawyer.objects.filter(name="Rolled Back Lawyer").exists()
    assert not AuditEntry.objects.filter(object_repr__in=["rolled back", "Rolled Back Lawyer"])
    places = chain_places()
    assert places == list(range(1, len(places) + 1))  # no gap where it would have been
    before, after = (AuditEntry.objects.get(object_repr=r) for r in ("before", "after"))
    assert after.prev_hash == before.entry_hash
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_link_request")
        assert cursor.fetchone()[0] == 0
    assert verify().ok


def test_an_entry_commits_with_its_change(admin_user):
    """Linked by the same commit that writes the change: both are there, or neither."""
    with transaction.atomic():
        lawyer = f.make_lawyer("Committed Together")
        entry = AuditEntry.objects.get(object_id=lawyer.pk, content_type__model="lawyer")
        assert entry.chain_seq is None  # not linked before the commit
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.chain_seq is not None and entry.entry_hash
    assert verify().ok


def test_concurrent_appenders_do_not_fork_the_chain():
    threads, per_thread = 6, 15
    start = threading.Barrier(threads)

    def append(n):
        start.wait(timeout=10)
        for i in range(per_thread):
            with transaction.atomic():  # several entries per transaction, some alone
                lawyer = f.make_lawyer(f"Concurrent Lawyer {n}-{i}")
                if i % 2:
                    lawyer.organisation = "Legal aid"
                    lawyer.save()

    running = [in_thread(append, n) for n in range(threads)]
    for thread, _outcome in running:
        thread.join(60)

    assert [outcome.get("error") for _thread, outcome in running] == [None] * threads
    entries = threads * per_thread + threads * (per_thread // 2)
    assert AuditEntry.objects.count() == entries
    assert chain_places() == list(range(1, entries + 1))
    assert AuditEntry.objects.values("prev_hash").distinct().count() == entries
    assert verify().ok


def test_the_chain_lock_cannot_close_a_deadlock_with_a_row_lock(admin_user, own_case):
    """A holds a case row FOR UPDATE (an edit) and is still to commit; B, committing,
    checks its new hearing's foreign key to that case and waits for A. Had B taken the
    chain lock before that check, A's commit would wait for B: a deadlock. The link
    comes after every check of the transaction, so B simply waits for A."""
    a_locked, a_release = threading.Event(), threading.Event()
    b_pid = {}

    def edit_case():
        with transaction.atomic():
            case = Case.objects.select_for_update().get(pk=own_case.pk)
            record(AuditEvent.VIEW, actor=admin_user, obj=case)
            a_locked.set()
            assert a_release.wait(30)
            case.summary = "Edited while a hearing was logged"
            case.save()

    def log_hearing():
        b_pid["pid"] = backend_pid()
        with transaction.atomic():
            record(AuditEvent.VIEW, actor=admin_user, obj=own_case)  # queued before the FK
            f.make_hearing(own_case, days_from_now=9)

    a_thread, a_outcome = in_thread(edit_case)
    assert a_locked.wait(10)
    b_thread, b_outcome = in_thread(log_hearing)
    # B is at its commit, waiting for A's row lock (the deferred foreign-key check).
    assert wait_until(lambda: "pid" in b_pid and waits_on_a_lock(b_pid["pid"]))
    a_release.set()
    a_thread.join(30)
    b_thread.join(30)

    assert "error" not in a_outcome, a_outcome.get("error")
    assert "error" not in b_outcome, b_outcome.get("error")
    assert Hearing.objects.filter(case=own_case).count() == 2
    assert verify().ok


def _client(user):
    from .conftest import _client_for

    client = _client_for(user)
    client.raise_request_exception = False
    return client


def _hearing_post(case, n):
    when = timezone.localtime() + timezone.timedelta(days=3, minutes=n)
    return {
        "kind": "trial",
        "scheduled_at": when.strftime("%Y-%m-%dT%H:%M"),
        "court": case.court_id,
        "status": "scheduled",
        "notes": f"Hearing {n}",
    }


def test_eight_writers_on_the_same_cases_see_no_error_and_lose_no_update(
    caseworker, coordinator, own_case, capsys
):
    """Eight people edit the same two cases, log hearings and open the case pages for
    SOAK_SECONDS: no deadlock or server error reaches anyone, every save reported as
    done is on file exactly once, and the chain verifies."""
    second = f.make_case("KH-2", caseworker=caseworker, reference="BTB-0009")
    cases = [own_case, second]
    clients = [_client(caseworker if n % 2 else coordinator) for n in range(8)]
    close_old_connections()
    initial = {case.pk: Case.objects.get(pk=case.pk).version for case in cases}
    deadline = time.monotonic() + SOAK_SECONDS

    def work(n):
        rng = random.Random(n)
        tally = Counter()
        i = 0
        while time.monotonic() < deadline:
            i += 1
            case = rng.choice(cases)
            action = rng.choice(["edit", "edit", "hearing", "view"])
            close_old_connections()  # as the server does around each request
            if action == "edit":
                form = clients[n].get(f"/cases/{case.pk}/edit/")
                if form.status_code != 200:
                    tally[f"edit-form {form.status_code}"] += 1
                    continue
                # What the browser posts back (with the base the form was opened with).
                response = clients[n].post(
                    f"/cases/{case.pk}/edit/", {**f.form_data(form), "summary": f"w{n} #{i}"}
                )
                key = {302: "edit saved", 200: "edit refused as stale"}.get(
                    response.status_code, f"edit {response.status_code}"
                )
                tally[(key, case.pk) if response.status_code == 302 else key] += 1
            elif action == "hearing":
                response = clients[n].post(
                    f"/cases/{case.pk}/hearings/new/", _hearing_post(case, n * 10000 + i)
                )
                tally[
                    "hearing saved"
                    if response.status_code == 302
                    else f"hearing {response.status_code}"
                ] += 1
            else:
                response = clients[n].get(f"/cases/{case.pk}/")
                tally[
                    "view" if response.status_code == 200 else f"view {response.status_code}"
                ] += 1
        return tally

    running = [in_thread(work, n) for n in range(8)]
    for thread, _outcome in running:
        thread.join(SOAK_SECONDS + 120)
    assert [outcome.get("error") for _thread, outcome in running] == [None] * 8
    tally = sum((outcome["value"] for _thread, outcome in running), Counter())

    with capsys.disabled():  # the figures, in CI's output
        print(f"\n8 writers for {SOAK_SECONDS:.0f} s: {dict(sorted(map(_flat, tally.items())))}")
    failures = {key: n for key, n in tally.items() if isinstance(key, str) and key[-3:].isdigit()}
    assert failures == {}, f"errors reached the users: {failures} (all: {dict(tally)})"
    for case in cases:
        saved = tally[("edit saved", case.pk)]
        # Every save reported as done raised the version by exactly one: none lost.
        assert Case.objects.get(pk=case.pk).version == initial[case.pk] + saved
    assert Hearing.objects.filter(notes__startswith="Hearing ").count() == tally["hearing saved"]
    assert tally["hearing saved"] > 0 and sum(tally[("edit saved", case.pk)] for case in cases) > 0
    assert verify().ok


def _flat(item):
    key, n = item
    return (f"{key[0]}, case {key[1]}" if isinstance(key, tuple) else key, n)


def _import_rows(count: int) -> list[dict]:
    return [
        {
            "_row": n + 2,
            "_extra": False,
            "reference": f"LOAD-{n:05d}",
            "province": "KH-2",
            "status": "summoned",
            "opened_on": "2026-03-02",
            "name_latin": f"Fictional Loadtest Person {n}",
            "birth_year": "1980",
        }
        for n in range(count)
    ]


def _page_seconds(client, url) -> float:
    close_old_connections()
    started = time.monotonic()
    response = client.get(url)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    return elapsed


def test_case_pages_answer_while_an_import_job_runs(admin_user, caseworker, own_case, capsys):
    """The issue's measure: a case page opened during a 1,500-row import waited 29.7 s.
    AUDIT_IMPORT_ROWS sets the import's size (the issue's 5,000 by default).
    Every page opened while the import's transaction is open answers within about a
    second of its usual time."""
    rows = _import_rows(IMPORT_ROWS)
    plan = importer.plan_import(rows, admin_user)
    assert plan.ok, plan.counts()
    client = _client(caseworker)
    url = f"/cases/{own_case.pk}/"
    usual = sorted(_page_seconds(client, url) for _ in range(5))[2]

    job = runner.start(
        Job.Kind.IMPORT,
        user=admin_user,
        params={"name": "load.csv", "sha256": "0" * 64, "plan": plan.digest(), "rows": rows},
    )
    done = threading.Event()

    def run_import():  # as a worker runs the job it claimed
        try:
            runner.run(str(job.pk))
        finally:
            done.set()

    thread, outcome = in_thread(run_import)
    during = []
    time.sleep(0.3)  # the import's transaction is open and writing
    while not done.is_set() and len(during) < 40:
        during.append(_page_seconds(client, url))
        time.sleep(0.1)
    thread.join(900)

    assert "error" not in outcome, outcome.get("error")
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert Case.objects.filter(reference__startswith="LOAD-").count() == len(rows)
    assert during, "the import finished before a page could be opened"
    during.sort()
    with capsys.disabled():  # the figures, in CI's output
        print(
            f"\n{len(rows)}-row import: case page usual {usual:.3f} s; during it, {len(during)} "
            f"opened, median {during[len(during) // 2]:.3f} s, max {during[-1]:.3f} s"
        )
    assert during[-1] < usual + 1.0, f"usual {usual:.2f} s, during the import {during}"
    assert verify().ok
