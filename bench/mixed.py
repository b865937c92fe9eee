"""The mixed-load figure: the case list and a case page while background jobs run.

gunicorn (as ``make serve`` starts it) and two job workers (``manage.py jobs_worker``)
run against the benchmark database. The two pages are timed one request after
another, first on the idle server, then while an import job (updating
``MIXED_IMPORT_ROWS`` cases, so the data keeps its size) and an export job of every
case (1,000,000 at size M) run. The figure is each page's p95 under load against
idle; the target is at most twice (issue 14).
"""

import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.db import connection

from . import serve

ROOT = Path(__file__).resolve().parent.parent
IMPORT_ROWS = {"S": 300, "M": 2000, "L": 5000}
# Pages timed on the idle server, and the most timed while the jobs run.
IDLE_REQUESTS = 40
MAX_SECONDS = {"S": 60, "M": 300, "L": 600}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _import_rows(count: int) -> list[dict]:
    """Rows that change the title of existing cases (their first accused named, as a
    row must), so the import writes without changing the data's size."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.reference, d.name_latin FROM casework_case c
            JOIN LATERAL (SELECT detainee_id FROM casework_accused a WHERE a.case_id = c.id
                          ORDER BY a.id LIMIT 1) a ON true
            JOIN casework_detainee d ON d.id = a.detainee_id
            ORDER BY c.id LIMIT %s
            """,
            [count],
        )
        found = cursor.fetchall()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    return [
        {"_row": n + 2, "_extra": False, "reference": ref, "title": f"Mixed load {stamp}",
         "name_latin": name}  # fmt: skip
        for n, (ref, name) in enumerate(found)
    ]


def _start_jobs(admin, size: str) -> list:
    from jobs import runner
    from jobs.models import Job
    from reports import importer

    rows = _import_rows(int(os.environ.get("MIXED_IMPORT_ROWS", IMPORT_ROWS[size])))
    plan = importer.plan_import(rows, admin)
    writes = sum(n for key, n in plan.counts().items() if "unchanged" not in key)
    started = [
        runner.start(
            Job.Kind.IMPORT,
            user=admin,
            params={"name": "mixed-load.csv", "sha256": "0" * 64, "plan": plan.digest(),
                    "writes": writes, "rows": rows},  # fmt: skip
        ),
        runner.start(
            Job.Kind.EXPORT,
            user=admin,
            params={"what": "case", "format": "csv", "query": "", "anonymised": False},
        ),
    ]
    return started


def _time(opener, url: str, headers: dict) -> float:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own server
    started = time.perf_counter()
    with opener.open(request, timeout=120) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
    return (time.perf_counter() - started) * 1000


def measure(*, size: str, cookie: str, admin, case_list: str, case_page: str, log=print) -> dict:
    from jobs.models import Job

    port = serve._free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_POOL": "1",
        "BIND": f"127.0.0.1:{port}",
        "JOB_FILES_DIR": str(serve.LOGS / "job-files"),  # bench/data: not committed
        "EXPORT_JOB_ROWS": "0",
    }
    serve.LOGS.mkdir(exist_ok=True)
    server_log = (serve.LOGS / "mixed.log").open("w")
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    processes = [
        subprocess.Popen(  # noqa: S603 - fixed commands
            command, cwd=ROOT, env=env, start_new_session=True, stdout=server_log, stderr=server_log
        )
        for command in (
            [gunicorn, "--config", str(serve.CONFIG), "config.wsgi"],
            [sys.executable, "manage.py", "jobs_worker", "--verbosity", "0"],
            [sys.executable, "manage.py", "jobs_worker", "--verbosity", "0"],
        )
    ]
    base = f"http://127.0.0.1:{port}"
    headers = {"Cookie": cookie, "X-Forwarded-Proto": "https", "Host": "127.0.0.1"}
    opener = urllib.request.build_opener(serve._NoRedirect)
    pages = {"case list": base + case_list, "case page": base + case_page}
    try:
        deadline = time.time() + 60
        while True:
            try:
                if serve._get(base + "/healthz", {"X-Forwarded-Proto": "https"}) == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                return {"error": "gunicorn did not answer /healthz within 60 s"}
            time.sleep(0.3)
        for url in pages.values():  # warm the workers
            for _ in range(5):
                _time(opener, url, headers)
        idle = {name: [_time(opener, url, headers) for _ in range(IDLE_REQUESTS)]
                for name, url in pages.items()}  # fmt: skip
        jobs = _start_jobs(admin, size)
        loaded = {name: [] for name in pages}
        running_seen = False
        stop_at = time.time() + MAX_SECONDS[size]
        while time.time() < stop_at:
            ids = [job.pk for job in jobs]
            states = set(Job.objects.filter(pk__in=ids).values_list("status", flat=True))
            if states <= {"done", "failed"}:
                break
            if "running" in states:
                running_seen = True
                for name, url in pages.items():
                    loaded[name].append(_time(opener, url, headers))
            else:
                time.sleep(0.2)
        outcome = {j.kind: Job.objects.get(pk=j.pk) for j in jobs}
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        server_log.close()
    result = {"pages": {}, "jobs": {}}
    for name in pages:
        during = loaded[name]
        result["pages"][name] = {
            "idle_p95_ms": _p95(idle[name]),
            "idle_median_ms": statistics.median(idle[name]),
            "load_p95_ms": _p95(during) if during else None,
            "load_median_ms": statistics.median(during) if during else None,
            "load_requests": len(during),
        }
    for kind, job in outcome.items():
        took = (job.finished_at - job.started_at).total_seconds() if job.finished_at else None
        result["jobs"][kind] = {"status": job.status, "seconds": took, "result": job.result}
    if not running_seen:
        result["error"] = "the jobs finished before a page could be timed under load"
    log(
        "bench:   mixed load: "
        + "; ".join(
            f"{name} p95 {p['idle_p95_ms']:.0f} ms idle, "
            + (f"{p['load_p95_ms']:.0f} ms under load ({p['load_requests']} requests)"
               if p["load_p95_ms"] is not None else "not timed under load")  # fmt: skip
            for name, p in result["pages"].items()
        )
    )
    return result
