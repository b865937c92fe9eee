"""Pages measured in-process with Django's test Client, and the references.

Every scenario is timed round-robin (one sample of each, then the next round),
so a neighbour's test suite slowing the machine for a while slows every figure
alike and the ratios stay fair. Query counts come from a separate pass under
CaptureQueriesContext, which would otherwise add its own cost to the timings.
"""

import statistics
import time
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db import connection
from django.db.backends.signals import connection_created
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve

from . import data

NOT_AVAILABLE = "not available yet"
SLOW_SECONDS = 5
SLOW_SAMPLES = 5


@dataclass
class Scenario:
    key: str
    label: str
    run: object  # () -> None; raises on a wrong answer
    samples: list = field(default_factory=list)
    queries: int | None = None
    slowest_sql: list = field(default_factory=list)
    unavailable: str | None = None
    note: str = ""
    max_samples: int = 10**6
    cpu: list = field(default_factory=list)  # this process's CPU time per sample (ms)
    sql_ms: float | None = None  # the queries' own time, in the counting pass

    @property
    def cpu_ms(self):
        return statistics.median(self.cpu) if self.cpu else None

    @property
    def median_ms(self):
        return statistics.median(self.samples) if self.samples else None

    @property
    def p95_ms(self):
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def url_available(path: str) -> bool:
    try:
        resolve(path.split("?")[0])
    except Resolver404:
        return False
    return True


# --- Who is signed in -----------------------------------------------------


def verified_client(user) -> Client:
    """A signed-in client that has passed the second factor, as after a real sign-in."""
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    client.force_login(user)
    if "django_otp" in settings.INSTALLED_APPS:
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=user, name="bench").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    response = client.get("/", secure=True)
    if response.status_code != 200:
        raise RuntimeError(
            f"bench: signed in as {user.username}, / answers {response.status_code} "
            f"({response.get('Location', '')}); cannot measure pages"
        )
    return client


def personas():
    from accounts.models import User

    users = {
        "admin": User.objects.get(username="bench-admin"),
        "coordinator": User.objects.get(username="bench-coordinator"),
        "caseworker": User.objects.get(username=f"bench-cw-{data.CASEWORKER_PROVINCE.lower()}-01"),
    }
    return users, {role: verified_client(user) for role, user in users.items()}


# --- What is measured -----------------------------------------------------


@dataclass
class Subjects:
    """The rows the scenarios point at, found once per run."""

    province_code: str
    province_id: int
    status: str
    rows: int
    long_case: int
    long_timeline: int
    short_case: int
    short_timeline: int
    latin: str
    khmer: str
    dossier_person: int
    coordinator_open: int


def find_subjects() -> Subjects:
    from casework.models import OPEN_STATUSES, Province

    province = Province.objects.get(code="KH-12")
    status = "closed"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM casework_case WHERE province_id = %s AND status = %s",
            [province.pk, status],
        )
        rows = cursor.fetchone()[0]
        cursor.execute(
            """
            SELECT h.case_id, count(*) FROM casework_hearing h
            GROUP BY h.case_id ORDER BY count(*) DESC, h.case_id LIMIT 1
            """
        )
        long_case, _ = cursor.fetchone()
        # A short case of the same shape: accused, custody, a hearing, bail and an event,
        # so every query the long one runs, the short one runs too.
        cursor.execute(
            """
            SELECT c.id FROM casework_case c
            WHERE c.id IN (SELECT case_id FROM casework_bailrequest
                           ORDER BY id LIMIT 2000)
              AND (SELECT count(*) FROM casework_hearing h WHERE h.case_id = c.id) BETWEEN 1 AND 3
              AND EXISTS (SELECT 1 FROM casework_event e WHERE e.case_id = c.id)
              AND EXISTS (SELECT 1 FROM casework_custodyperiod p JOIN casework_accused a
                          ON a.id = p.accused_id WHERE a.case_id = c.id AND p.ended_at IS NULL)
              AND EXISTS (SELECT 1 FROM casework_representation r JOIN casework_accused a
                          ON a.id = r.accused_id WHERE a.case_id = c.id)
            ORDER BY c.id LIMIT 1
            """
        )
        found = cursor.fetchone()
        short_case = found[0] if found else long_case + 1

        def timeline(case_id):
            cursor.execute(
                "SELECT (SELECT count(*) FROM casework_hearing WHERE case_id = %s)"
                " + (SELECT count(*) FROM casework_event WHERE case_id = %s)"
                " + (SELECT count(*) FROM casework_bailrequest WHERE case_id = %s)",
                [case_id, case_id, case_id],
            )
            return cursor.fetchone()[0]

        # The person whose dossier is printed: in the most cases.
        cursor.execute(
            "SELECT detainee_id FROM casework_accused GROUP BY detainee_id "
            "ORDER BY count(*) DESC, detainee_id LIMIT 1"
        )
        dossier_person = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM casework_case c JOIN casework_province p "
            "ON p.id = c.province_id WHERE p.code = ANY(%s) AND c.status = ANY(%s)",
            [data.COORDINATOR_PROVINCES, [str(s) for s in OPEN_STATUSES]],
        )
        coordinator_open = cursor.fetchone()[0]
        return Subjects(
            province_code=province.code,
            province_id=province.pk,
            status=status,
            rows=rows,
            long_case=long_case,
            long_timeline=timeline(long_case),
            short_case=short_case,
            short_timeline=timeline(short_case),
            # A common family name with a given name: hundreds of people, as in real searches.
            latin="Chea Sreymom",
            khmer="ជា ស្រីមុំ",
            dossier_person=dossier_person,
            coordinator_open=coordinator_open,
        )


def _page(client, url, expect=200):
    def run():
        response = client.get(url, secure=True)
        if response.status_code != expect:
            raise RuntimeError(f"{url} answered {response.status_code}, expected {expect}")
        if getattr(response, "streaming", False):
            for _ in response.streaming_content:
                pass

    return run


R1_SQL = """
SELECT c.id, c.reference, p.name_en, c.status, c.opened_on,
    u.username, u.first_name, u.last_name,
    (SELECT h.scheduled_at FROM casework_hearing h
      WHERE h.case_id = c.id AND h.scheduled_at >= now() AND h.status <> 'cancelled'
      ORDER BY h.scheduled_at LIMIT 1) AS next_hearing,
    EXISTS (SELECT 1 FROM casework_custodyperiod cp
            JOIN casework_accused a ON a.id = cp.accused_id
            WHERE a.case_id = c.id AND cp.ended_at IS NULL
              AND cp.runs_out_at < now() + interval '14 days') AS flagged,
    (SELECT string_agg(d.name_latin || coalesce(' ' || nullif(d.name_khmer, ''), ''), ', '
                       ORDER BY a.id)
       FROM casework_accused a JOIN casework_detainee d ON d.id = a.detainee_id
      WHERE a.case_id = c.id) AS accused
FROM (SELECT id, reference, province_id, status, opened_on, caseworker_id
        FROM casework_case
       WHERE province_id = %s AND status = %s
       ORDER BY opened_on DESC, id DESC
       LIMIT 50) c
JOIN casework_province p ON p.id = c.province_id
LEFT JOIN accounts_user u ON u.id = c.caseworker_id
ORDER BY c.opened_on DESC, c.id DESC
"""


def r1_reference(url_args: dict, subjects: Subjects):
    """The near-limit reference: the list's 50 rows and every column it shows, one SQL,
    raw psycopg on a connection kept open (psycopg prepares it after five runs)."""
    conn = psycopg.connect(**url_args, autocommit=True)

    def run():
        rows = conn.execute(R1_SQL, [subjects.province_id, subjects.status]).fetchall()
        if len(rows) != min(50, subjects.rows):
            raise RuntimeError(f"R1 returned {len(rows)} rows")

    return run, conn


def scenarios(clients, users, subjects: Subjects, url_args: dict):
    from audit.log import history_for
    from casework.models import Case
    from casework.selectors import case_history

    admin, coordinator, caseworker = clients["admin"], clients["coordinator"], clients["caseworker"]
    listing = f"/cases/?province={subjects.province_code}&status={subjects.status}"
    long_case = Case.objects.get(pk=subjects.long_case)
    r1, r1_conn = r1_reference(url_args, subjects)

    def history_one_case():
        entries = history_for(long_case)
        if entries is None:
            raise RuntimeError("no history")

    def history_case_and_rows():
        list(case_history(long_case))

    items = [
        Scenario("r1", "R1: the list's 50 rows, raw psycopg, one SQL", r1),
        Scenario("list_p1", "Case list, 50 rows, province + status (admin)", _page(admin, listing)),
        Scenario(
            "list_p1000",
            "Same list, page 1,000",
            _page(admin, listing + "&page=1000"),
            note="" if subjects.rows >= 50_000 else "fewer rows at this size: the last page",
        ),
        Scenario(
            "list_coord",
            "Case list, same filter (coordinator)",
            _page(coordinator, listing),
        ),
        Scenario(
            "admin_changelist",
            "Django admin changelist, same filter",
            _page(
                admin,
                f"/admin/casework/case/?province__id__exact={subjects.province_id}"
                f"&status__exact={subjects.status}",
            ),
        ),
        Scenario(
            "q_latin",
            f"q search, Latin «{subjects.latin}»",
            _page(admin, f"/cases/?q={subjects.latin}"),
        ),
        Scenario(
            "q_khmer",
            f"q search, Khmer «{subjects.khmer}»",
            _page(admin, f"/cases/?q={subjects.khmer}"),
        ),
        Scenario(
            "people_q_latin",
            "People list q search, Latin",
            _page(admin, f"/detainees/?q={subjects.latin}"),
        ),
        Scenario(
            "case_long",
            f"Case page, timeline of {subjects.long_timeline} entries",
            _page(admin, f"/cases/{subjects.long_case}/"),
        ),
        Scenario(
            "case_short",
            f"Case page, timeline of {subjects.short_timeline} entries",
            _page(admin, f"/cases/{subjects.short_case}/"),
        ),
        Scenario("dash_coord", "Coordinator dashboard (3 big provinces)", _page(coordinator, "/")),
        Scenario("dash_cw", "Caseworker dashboard", _page(caseworker, "/")),
        Scenario("dash_admin", "Admin dashboard (every province)", _page(admin, "/")),
        Scenario("history", "One case's audit history (audit.log.history_for)", history_one_case),
        Scenario(
            "case_history",
            "Case page history panel (selectors.case_history, case + its rows)",
            history_case_and_rows,
        ),
        Scenario("audit", "Admin's audit view /audit/", _page(admin, "/audit/")),
    ]
    reports = Scenario(
        "reports", "Reports page /reports/ (figures remembered)", _page(admin, "/reports/")
    )
    reports_page = _page(admin, "/reports/")

    def figures_by_job():
        """What a worker does for the page: run the figures jobs waiting (jobs/kinds.py)."""
        from jobs import runner
        from jobs.models import Job

        waiting = Job.objects.filter(kind=Job.Kind.FIGURES, status=Job.Status.QUEUED)
        for pk in list(waiting.values_list("pk", flat=True)):
            runner.run(str(pk))

    def reports_after_a_change():
        """The page right after a change: past FIGURES_JOB_CASES it shows the latest
        figures and starts (or follows) a job. The data version is put back after, so the
        other scenarios' figures stay current."""
        from django.core.cache import cache

        from reports import figures

        version = figures._data_version()
        cache.set(figures._VERSION_KEY, time.time_ns(), timeout=None)  # never used before
        try:
            reports_page()
        finally:
            cache.set(figures._VERSION_KEY, version, timeout=None)

    def reports_recomputed():
        from django.core.cache import cache

        from reports import figures

        cache.set(figures._VERSION_KEY, time.time_ns(), timeout=None)  # never used before
        reports_page()
        figures_by_job()

    reports_cold = Scenario(
        "reports_cold",
        "Reports page /reports/ after a change (the latest figures shown, a job computes new ones)",
        reports_after_a_change,
    )
    reports_job = Scenario(
        "reports_job",
        "Reports figures recomputed after a change: the page, then the job a worker runs",
        reports_recomputed,
    )
    if not url_available("/reports/"):
        reports.unavailable = reports_cold.unavailable = NOT_AVAILABLE
        reports_job.unavailable = NOT_AVAILABLE
    else:
        reports_page()  # the page asks for the figures, a worker computes them
        figures_by_job()
    items += [reports, reports_cold, reports_job]
    return items, r1_conn


def statement_timeout(seconds: int) -> None:
    """Stop any one query of the measured pages after ``seconds``: a page that slow is
    reported with its error instead of holding up the whole run."""

    def apply(connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = '{int(seconds)}s'")

    connection_created.connect(apply, weak=False)
    if connection.connection is not None:
        apply(connection)


def measure(items, *, rounds: int, warmup: int = 3, log=print):
    live = [s for s in items if s.unavailable is None]
    for s in live:
        started = time.perf_counter()
        try:
            for _ in range(warmup):
                started = time.perf_counter()
                s.run()
                if time.perf_counter() - started > SLOW_SECONDS:
                    # Seconds a sample: a few samples say enough, and keep the run short.
                    s.max_samples = SLOW_SAMPLES
                    s.note = f"{SLOW_SAMPLES} samples: over {SLOW_SECONDS} s each"
                    break
        except Exception as exc:  # a page under construction: say so, measure the rest
            took = time.perf_counter() - started
            s.unavailable = f"error: {exc}"[:200] + f" after {took:.0f} s"
            log(f"bench:   {s.key}: {s.unavailable}")
    live = [s for s in items if s.unavailable is None]
    started = time.perf_counter()
    for n in range(rounds):
        for s in live:
            if len(s.samples) >= s.max_samples:
                continue
            t0, c0 = time.perf_counter_ns(), time.process_time_ns()
            s.run()
            s.samples.append((time.perf_counter_ns() - t0) / 1e6)
            s.cpu.append((time.process_time_ns() - c0) / 1e6)
        if n == 0:
            per_round = time.perf_counter() - started
            log(f"bench:   one round of {len(live)} scenarios: {per_round:.1f} s")
    for s in live:
        if s.key == "r1":
            s.queries = 1
            continue
        with CaptureQueriesContext(connection) as ctx:
            s.run()
        s.queries = len(ctx.captured_queries)
        s.sql_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
        s.slowest_sql = sorted(
            ({"ms": float(q["time"]) * 1000, "sql": q["sql"][:2000]} for q in ctx.captured_queries),
            key=lambda q: -q["ms"],
        )[:5]
    return items
