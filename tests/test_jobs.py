"""Background jobs (jobs/): exports past the threshold, the PDF report and imports
run on a worker; the page follows their progress; a job survives a worker's
death; the finished file is for the person who asked only, audited at each
download, and expires."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditEntry, AuditEvent
from jobs import kinds, runner
from jobs.models import Job
from reports import exports

from . import factories as f
from .conftest import _client_for, run_jobs


@pytest.fixture
def many_cases(caseworker, settings):
    settings.EXPORT_JOB_ROWS = 3  # a "big" export, for the test
    for n in range(7):
        f.make_case("KH-2", caseworker=caseworker, reference=f"JOB-{n:03d}")


def export_job(client, url="/cases/export.csv") -> Job:
    response = client.get(url)
    assert response.status_code == 302
    job = Job.objects.latest("created_at")
    assert response["Location"] == job.get_absolute_url()
    return job


def exports_recorded():
    return list(
        AuditEntry.objects.filter(event=AuditEvent.EXPORT)
        .order_by("id")
        .values_list("additional_data", flat=True)
    )


# --- An export past the threshold -----------------------------------------------------------


def test_a_small_export_is_still_sent_at_once(admin_client_, own_case):
    response = admin_client_.get("/cases/export.csv")
    assert response.status_code == 200 and response.streaming
    assert not Job.objects.exists()


@pytest.mark.parametrize("url, fmt", [("/cases/export.csv", "csv"), ("/cases/export.xlsx", "xlsx")])
def test_a_big_export_runs_as_a_job_and_offers_its_file(
    admin_client_, admin_user, many_cases, url, fmt
):
    job = export_job(admin_client_, url + "?province=KH-2")
    assert (job.kind, job.status, job.requested_by) == ("export", "queued", admin_user)
    page = admin_client_.get(job.get_absolute_url()).content.decode()
    assert "Waiting for a worker" in page and 'id="job-progress"' in page
    assert exports_recorded() == []  # nothing was exported yet

    run_jobs()

    job.refresh_from_db()
    assert job.status == "done" and job.result == {"rows": 7}
    assert (job.progress_done, job.progress_total) == (7, 7)
    state = admin_client_.get(f"/jobs/{job.pk}/status.json").json()
    assert state["finished"] and state["percent"] == 100
    assert state["file_url"] == f"/jobs/{job.pk}/file"
    # Recorded when it finished, with the rows it holds.
    finished = exports_recorded()[-1]
    assert finished["outcome"] == "complete" and finished["rows"] == 7
    assert finished["job"] == str(job.pk) and finished["filters"] == {"province": "KH-2"}

    download = admin_client_.get(state["file_url"])
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    if fmt == "csv":
        assert body.decode("utf-8-sig").count("JOB-") == 7
    downloaded = exports_recorded()[-1]
    assert downloaded["outcome"] == "downloaded" and downloaded["rows"] == 7


def test_the_page_follows_progress_without_reloading(admin_client_, many_cases):
    """The page draws the bar and loads the script that polls the JSON; the JSON says
    how far the job got (written by the worker's heartbeat)."""
    job = export_job(admin_client_)
    Job.objects.filter(pk=job.pk).update(status="running", progress_done=3, progress_total=7)
    page = admin_client_.get(job.get_absolute_url())
    body = page.content.decode()
    assert f'data-status-url="/jobs/{job.pk}/status.json"' in body
    assert '<script src="/static/js/job-progress.js"></script>' in body
    assert "<script>" not in body  # nothing inline: the CSP allows our files only
    state = admin_client_.get(f"/jobs/{job.pk}/status.json").json()
    assert (state["status"], state["done"], state["total"], state["percent"]) == (
        "running",
        3,
        7,
        42,
    )
    assert state["stage"] == "3 of 7 rows written." and state["file_url"] is None


def test_the_handler_reports_progress_as_it_writes(admin_user, many_cases, monkeypatch):
    monkeypatch.setattr(
        kinds, "_counting", lambda rows, progress, every=500: _every_row(rows, progress)
    )
    job = runner.start(
        Job.Kind.EXPORT,
        user=admin_user,
        params={"what": "case", "format": "csv", "query": "", "anonymised": False},
    )
    seen = []
    kinds.export(job, lambda done, total=None: seen.append((done, total)))
    assert seen[0] == (0, 7) and seen[-1] == (7, 7)
    assert [done for done, _ in seen[1:-1]] == list(range(1, 8))


def _every_row(rows, progress):
    for n, row in enumerate(rows, start=1):
        yield row
        progress(n)


def test_a_failed_job_is_recorded_as_failed(admin_client_, many_cases, monkeypatch):
    def broken(queryset, **kwargs):
        yield from []
        raise RuntimeError("disk full")

    job = export_job(admin_client_)
    monkeypatch.setattr(exports, "case_rows", broken)
    run_jobs()
    job.refresh_from_db()
    assert job.status == "failed" and job.error == "The job stopped on an unexpected error."
    assert not job.file_path
    failed = exports_recorded()[-1]
    assert failed["outcome"] == "failed" and failed["job"] == str(job.pk)
    state = admin_client_.get(f"/jobs/{job.pk}/status.json").json()
    assert state["finished"] and state["status"] == "failed" and "It failed" in state["stage"]


@pytest.mark.parametrize("url", ["/cases/export.csv", "/cases/export.xlsx"])
def test_an_export_job_cut_off_mid_way_is_recorded_incomplete_with_the_rows_written(
    admin_client_, many_cases, monkeypatch, url
):
    """The database gone at row 5 of 7: the entry says incomplete, 4 rows written of 7
    (exactly, not the last progress step), and no partial file is kept or offered."""
    from django.db import OperationalError

    original = exports.case_rows

    def cut_off(queryset, **kwargs):
        for n, row in enumerate(original(queryset, **kwargs), start=1):
            if n == 5:
                raise OperationalError("server closed the connection unexpectedly")
            yield row

    job = export_job(admin_client_, url)
    monkeypatch.setattr(exports, "case_rows", cut_off)
    run_jobs()
    job.refresh_from_db()
    assert job.status == "failed" and not job.file_path
    assert not list(runner.files_dir().glob(f"{job.pk}/*"))
    ended = exports_recorded()[-1]
    assert (ended["outcome"], ended["rows"], ended["expected"]) == ("incomplete", 4, 7)
    assert ended["file"] == "not kept" and ended["job"] == str(job.pk)


def test_the_list_of_jobs_shows_ones_own_only(admin_client_, admin_user, many_cases, db):
    from django.test.utils import CaptureQueriesContext

    mine = export_job(admin_client_)
    other = f.make_user("admin-2", role="admin")
    theirs = runner.start(Job.Kind.EXPORT, user=other, params={"what": "case", "format": "csv"})
    figures = runner.start(Job.Kind.FIGURES, user=admin_user, params={"query": ""})
    page = admin_client_.get("/jobs/")
    assert page.status_code == 200
    listed = [row["job"] for row in page.context["rows"]]
    assert listed == [mine]  # not another admin's, not the reports page's own
    assert theirs not in listed and figures not in listed
    body = page.content.decode()
    assert mine.get_absolute_url() in body and "Waiting for a worker" in body
    # Its file, once done, is offered from the list.
    run_jobs()
    body = admin_client_.get("/jobs/").content.decode()
    assert f'href="/jobs/{mine.pk}/file"' in body
    # The same queries however many jobs there are.
    with CaptureQueriesContext(connection) as one:
        admin_client_.get("/jobs/")
    for _n in range(4):
        export_job(admin_client_)
    with CaptureQueriesContext(connection) as five:
        admin_client_.get("/jobs/")
    assert len(five.captured_queries) == len(one.captured_queries)
    # The job's page and the import page lead to it.
    assert 'href="/jobs/"' in admin_client_.get(mine.get_absolute_url()).content.decode()
    assert 'href="/jobs/"' in admin_client_.get("/imports/").content.decode()


# --- A worker that dies ------------------------------------------------------------------


def _as_if_its_worker_died(job, minutes=30):
    Job.objects.filter(pk=job.pk).update(
        status="running",
        attempts=job.attempts + 1,
        heartbeat_at=timezone.now() - dt.timedelta(minutes=minutes),
    )


def test_a_job_whose_worker_died_runs_again(admin_client_, many_cases):
    job = export_job(admin_client_)
    _as_if_its_worker_died(job)
    assert runner.recover_lost() == 1
    job.refresh_from_db()
    assert job.status == "queued" and job.attempts == 1
    assert "stopped answering" in admin_client_.get(f"/jobs/{job.pk}/status.json").json()["stage"]
    run_jobs()
    job.refresh_from_db()
    assert job.status == "done" and job.attempts == 2 and job.result == {"rows": 7}


def test_a_job_still_giving_signs_of_life_is_left_alone(admin_client_, many_cases):
    job = export_job(admin_client_)
    Job.objects.filter(pk=job.pk).update(status="running", heartbeat_at=timezone.now())
    assert runner.recover_lost() == 0
    assert Job.objects.get(pk=job.pk).status == "running"


def test_a_job_that_keeps_losing_its_worker_ends_failed_not_lost(
    admin_client_, many_cases, settings
):
    settings.JOB_MAX_ATTEMPTS = 2
    job = export_job(admin_client_)
    for _ in range(2):
        job.refresh_from_db()
        _as_if_its_worker_died(job)
        runner.recover_lost()
    job.refresh_from_db()
    assert job.status == "failed" and "stopped answering" in job.error
    assert exports_recorded()[-1]["outcome"] == "failed"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="worker processes share PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_job_survives_its_worker_being_killed(admin_user, caseworker, settings, tmp_path):
    """A real worker process, killed (SIGKILL) in the middle of a job: the next worker
    to start puts the job back and finishes it."""
    for n in range(4):
        f.make_case("KH-2", caseworker=caseworker, reference=f"KILL-{n:03d}")
    job = runner.start(
        Job.Kind.EXPORT,
        user=admin_user,
        params={"what": "case", "format": "csv", "query": "", "anonymised": False},
    )
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "JOB_FILES_DIR": str(settings.JOB_FILES_DIR),
        "JOB_STALE_SECONDS": "2",
        "JOB_HEARTBEAT_SECONDS": "1",
        "CASEWORK_TESTING": "1",
    }
    worker = _worker(env, module="tests.slow_worker")  # one row a second
    try:
        assert _wait_for(lambda: Job.objects.get(pk=job.pk).progress_done >= 1, 60)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    assert Job.objects.get(pk=job.pk).status == "running"  # left behind by the dead worker

    time.sleep(2.5)  # silent past JOB_STALE_SECONDS
    second = _worker(env, "--batch")
    second.wait(120)
    job.refresh_from_db()
    assert job.status == "done", (job.status, job.error)
    assert job.attempts == 2 and job.result == {"rows": 4}


def _database_url() -> str:
    params = connection.settings_dict
    return f"postgres://{params['USER']}@{params['HOST']}:{params['PORT'] or 5432}/{params['NAME']}"


def _worker(env, *args, module=None):
    command = ["-m", module] if module else ["manage.py", "jobs_worker"]
    return subprocess.Popen(  # noqa: S603 (our interpreter, fixed arguments)
        [sys.executable, *command, "--interval", "0.2", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


# --- The finished file: for the person who asked, audited, expiring ---------------------------


@pytest.fixture
def finished(admin_client_, many_cases):
    job = export_job(admin_client_)
    run_jobs()
    job.refresh_from_db()
    return job


def test_another_admin_cannot_see_the_job_or_its_file(db, finished):
    other = _client_for(f.make_user("admin2", role="admin"))
    for url in (
        finished.get_absolute_url(),
        f"/jobs/{finished.pk}/status.json",
        f"/jobs/{finished.pk}/file",
    ):
        assert other.get(url).status_code == 404


def test_a_caseworker_cannot_see_the_job(caseworker_client, finished):
    assert caseworker_client.get(f"/jobs/{finished.pk}/file").status_code == 404


def test_the_requester_no_longer_allowed_to_export_is_refused_the_file(
    admin_client_, admin_user, finished
):
    admin_user.role = "coordinator"
    admin_user.save()
    downloads = len(exports_recorded())
    assert admin_client_.get(f"/jobs/{finished.pk}/file").status_code == 403
    assert len(exports_recorded()) == downloads  # nothing was sent, nothing recorded


def test_each_download_is_audited(admin_client_, admin_user, finished):
    before = len(exports_recorded())
    for _ in range(2):
        b"".join(admin_client_.get(f"/jobs/{finished.pk}/file").streaming_content)
    entries = AuditEntry.objects.filter(event=AuditEvent.EXPORT).order_by("-id")[:2]
    assert len(exports_recorded()) == before + 2
    assert all(
        e.actor == admin_user and e.additional_data["outcome"] == "downloaded" for e in entries
    )


def test_the_file_expires(admin_client_, finished, settings):
    path = runner.files_dir() / finished.file_path
    assert path.is_file() and oct(path.stat().st_mode & 0o777) == "0o600"
    Job.objects.filter(pk=finished.pk).update(
        file_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )

    assert admin_client_.get(f"/jobs/{finished.pk}/file").status_code == 404
    assert admin_client_.get(f"/jobs/{finished.pk}/status.json").json()["file_url"] is None
    assert runner.delete_expired_files() == 1
    assert not path.exists()
    finished.refresh_from_db()
    assert finished.file_path == "" and finished.status == "done"  # the record stays
    assert "no longer kept" in admin_client_.get(finished.get_absolute_url()).content.decode()


def test_files_are_kept_for_the_configured_hours(finished, settings):
    kept = finished.file_expires_at - finished.finished_at
    assert (
        dt.timedelta(hours=settings.JOB_FILES_HOURS - 1)
        < kept
        <= dt.timedelta(hours=settings.JOB_FILES_HOURS)
    )
