"""The figures partners ask for (DOMAIN.md, "Figures people ask for"), in SQL.

Every figure starts from the user's scope (``visible_to(user)``), is narrowed
to one province when one is chosen (the case's province), and is one
aggregate query: the page runs the same number of queries for ten cases or a
hundred thousand. Python only loops over aggregated rows (months, provinces,
courts, caseworkers), never over cases or people.

Each figure says what it counts, because the numbers differ:

- **people**: a person counts once however many cases or events they have
  (``COUNT(DISTINCT detainee)``);
- **cases**: one legal matter, whatever the number of accused;
- **charges**: one charge laid in one case (a case with three charges counts three);
- **requests** (bail) and **hearings**: each one.
"""

import datetime as dt
import time
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import Case as DbCase
from django.db.models import CharField, Count, F, Q, Value, When
from django.db.models.functions import TruncMonth
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import dateformat, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from casework.models import (
    IN_CUSTODY,
    OPEN_STATUSES,
    Accused,
    BailRequest,
    Case,
    Charge,
    CustodyPeriod,
    CustodyStatus,
    Event,
    Hearing,
    Province,
    Representation,
)
from casework.querysets import warning_cutoff

from .exports import local_name

# The monthly trend: which events count as "summoned", "questioned", …
TREND = {
    "summoned": (_("Summoned"), [Event.Kind.SUMMONED]),
    "questioned": (_("Questioned"), [Event.Kind.QUESTIONED]),
    "arrested": (_("Arrested"), [Event.Kind.ARRESTED]),
    "released": (_("Released"), [Event.Kind.RELEASED, Event.Kind.RELEASED_ON_BAIL]),
    # Deaths in custody are counted with the rest (issue 13): the figure partners ask first.
    "died": (_("Died in custody"), [Event.Kind.DIED_IN_CUSTODY]),
}
# Custody status by province: every status but "at liberty" and "unknown",
# which would dwarf the others in a chart (the table shows all people too).
CHART_STATUSES = [
    CustodyStatus.POLICE_CUSTODY,
    CustodyStatus.PRETRIAL,
    CustodyStatus.SERVING_SENTENCE,
    CustodyStatus.RELEASED_ON_BAIL,
    CustodyStatus.IN_HIDING,
    CustodyStatus.IN_EXILE,
    CustodyStatus.DECEASED,
]
DECISIONS = [
    BailRequest.Decision.GRANTED,
    BailRequest.Decision.DENIED,
    BailRequest.Decision.PENDING,
    BailRequest.Decision.WITHDRAWN,
]
STALE_DAYS = 30
HEARING_DAYS = 7
# People listed by name in "held now"; the counts above the list cover everyone.
HELD_LIST_LIMIT = 200
MAX_MONTHS = 60


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    province: object = None  # a Province, or None for every province in scope

    def months(self) -> list[dt.date]:
        months, month = [], self.start.replace(day=1)
        while month <= self.end:
            months.append(month)
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return months


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last twelve months, this one included."""
    today = today or timezone.localdate()
    start = today.replace(day=1)
    for _month in range(11):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    return start, today


def _province_row(row: dict, prefix: str) -> dict:
    return {"code": row[f"{prefix}code"], "name": local_name(row, prefix), **row}


def _staff(row: dict, prefix: str = "caseworker__") -> str:
    if not row.get(f"{prefix}id"):
        return ""
    full = f"{row[f'{prefix}first_name']} {row[f'{prefix}last_name']}".strip()
    return f"{full} ({row[f'{prefix}username']})" if full else row[f"{prefix}username"]


class Report:
    """All figures for one user, period and province. Each property is one query."""

    def __init__(self, user, period: Period):
        self.user = user
        self.period = period
        self.now = timezone.now()
        scope = Case.objects.visible_to(user)
        # An admin's scope is every case (``visible_to`` adds no condition): then rows
        # need no "case in scope" test at all, which at a million cases would make
        # PostgreSQL hash every case id for each figure.
        self.everything = not scope.query.where
        self.scope_ids = scope.values("pk")
        cases = scope
        if period.province is not None:
            cases = cases.filter(province=period.province)
        self.cases = cases

    def _in_scope(self, queryset, path: str = "case"):
        """Rows that belong to a case in scope (and in the chosen province)."""
        if self.period.province is not None:
            queryset = queryset.filter(**{f"{path}__province": self.period.province})
        if not self.everything:
            queryset = queryset.filter(**{f"{path}__in": self.scope_ids})
        return queryset

    # --- In the period -----------------------------------------------------

    def _events(self):
        return self._in_scope(Event.objects.all()).filter(
            occurred_on__gte=self.period.start,
            occurred_on__lte=self.period.end,
            kind__in=[kind for _label, kinds in TREND.values() for kind in kinds],
        )

    @cached_property
    def _trend_counts(self) -> dict:
        """The four trend figures per month, per province and for the whole period, in one
        query: each event of the period is joined to its person and province once, and
        counted three ways (the same person is counted once in each month, province and
        in the period; COUNT(DISTINCT) per grouping, so never summed across groupings)."""
        kind_group = DbCase(
            *[When(kind__in=kinds, then=Value(key)) for key, (_label, kinds) in TREND.items()],
            output_field=CharField(),
        )
        events = (
            self._events()
            .filter(accused__isnull=False)  # events about a case, not a person: no one to count
            .order_by()
            .values(
                month=TruncMonth("occurred_on"),
                grp=kind_group,
                person=F("accused__detainee_id"),
                province=F("case__province_id"),
            )
        )
        inner, params = events.query.sql_with_params()
        q = connection.ops.quote_name
        counts = ", ".join(
            f"COUNT(DISTINCT CASE WHEN e.grp = %s THEN e.person END) AS {q(key)}" for key in TREND
        )
        count_params = list(TREND)
        province = Province._meta.db_table
        sql = f"""
            WITH e AS ({inner})
            SELECT 'month' AS axis, e.month AS month, NULL AS code, NULL AS name_en,
                NULL AS name_km, {counts}
            FROM e GROUP BY e.month
            UNION ALL
            SELECT 'province', NULL, p.code, p.name_en, p.name_km, {counts}
            FROM e INNER JOIN {q(province)} p ON p.id = e.province
            GROUP BY p.code, p.name_en, p.name_km
            UNION ALL
            SELECT 'total', NULL, NULL, NULL, NULL, {counts} FROM e
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *count_params * 3])
            columns = [col[0] for col in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        prefix = "case__province__"
        result = {"months": {}, "provinces": [], "totals": dict.fromkeys(TREND, 0)}
        for row in rows:
            values = {key: row[key] for key in TREND}
            if row["axis"] == "month":
                result["months"][_as_date(row["month"])] = values
            elif row["axis"] == "province":
                names = {f"{prefix}{k}": row[k] for k in ("code", "name_en", "name_km")}
                result["provinces"].append({**names, **values})
            else:
                result["totals"] = values
        result["provinces"].sort(key=lambda row: row[f"{prefix}name_en"])
        return result

    def trend(self) -> dict:
        """People summoned, questioned, arrested, released per month (people)."""
        by_month = self._trend_counts["months"]
        totals = self._trend_counts["totals"]
        months = []
        for month in self.period.months():
            row = by_month.get(month, {})
            counts = {key: row.get(key, 0) for key in TREND}
            months.append(
                {
                    "month": month,
                    "label": dateformat.format(month, "M Y"),
                    **counts,
                    "values": list(counts.values()),
                }
            )
        return {
            "series": [{"key": key, "label": label} for key, (label, _kinds) in TREND.items()],
            "months": months,
            "totals": totals,
            "total_values": [totals[key] for key in TREND],
        }

    def trend_by_province(self) -> list[dict]:
        """The same four figures for the whole period, one row per province (people)."""
        prefix = "case__province__"
        return [
            {**_province_row(row, prefix), "values": [row[key] for key in TREND]}
            for row in self._trend_counts["provinces"]
        ]

    def opened(self) -> dict:
        """Cases opened in the period, the people accused in them, and the charges laid."""
        opened = self.cases.filter(opened_on__gte=self.period.start, opened_on__lte=self.period.end)
        figures = opened.aggregate(
            cases=Count("pk", distinct=True), people=Count("accused__detainee", distinct=True)
        )
        figures["charges"] = Case.charges.through.objects.filter(
            case__in=opened.values("pk")
        ).count()
        figures["charge_rows"] = list(
            Charge.objects.filter(case__in=opened.values("pk"))
            .values("pk", "article", "name_en", "name_km")
            .annotate(
                cases=Count("case", distinct=True),
                people=Count("case__accused__detainee", distinct=True),
            )
            .order_by("-cases", "article")
        )
        for row in figures["charge_rows"]:
            row["name"] = local_name(row, "")
        return figures

    def bail_by_court(self) -> dict:
        """Bail requests filed in the period, by court, and what became of them (requests)."""
        requests = self._in_scope(BailRequest.objects.all()).filter(
            filed_on__gte=self.period.start, filed_on__lte=self.period.end
        )
        counts = {
            "filed": Count("pk"),
            **{str(d): Count("pk", filter=Q(decision=d)) for d in DECISIONS},
            "people": Count("accused__detainee", distinct=True),
        }
        rows = list(
            requests.values("court_id", "court__name_en", "court__name_km")
            .annotate(**counts)
            .order_by("-filed", "court__name_en")
        )
        for row in rows:
            row["name"] = local_name(row, "court__")
        return {"rows": rows, "totals": requests.aggregate(**counts)}

    # --- Now (the period does not apply) -------------------------------------

    def _open_periods(self):
        return self._in_scope(CustodyPeriod.objects.open(), "case")

    def held_now(self) -> dict:
        """People held now under a legal clock, most urgent first (people)."""
        warn = warning_cutoff(now=self.now)
        person = "accused__detainee"
        summary = self._open_periods().aggregate(
            people=Count(person, distinct=True),
            pretrial=Count(person, distinct=True, filter=Q(limit__code__startswith="pretrial")),
            past=Count(person, distinct=True, filter=Q(runs_out_at__lt=self.now)),
            near=Count(
                person, distinct=True, filter=Q(runs_out_at__gte=self.now, runs_out_at__lt=warn)
            ),
            orders=Count("pk"),
        )
        rows = list(
            self._open_periods()
            .select_related("accused__detainee", "accused__case__province", "limit")
            .order_by("runs_out_at", "pk")[:HELD_LIST_LIMIT]
        )
        return {
            "summary": summary,
            "rows": rows,
            "limit": HELD_LIST_LIMIT,
            "warning_days": settings.DETENTION_WARNING_DAYS,  # the cut-off counted as "near"
        }

    def custody_by_province(self) -> dict:
        """Where the accused stand today, by the province of their case (people)."""
        prefix = "case__province__"
        counts = {
            str(status): Count("detainee", distinct=True, filter=Q(custody_status=status))
            for status in CHART_STATUSES
        }
        rows = (
            self._in_scope(Accused.objects.all())
            .values(f"{prefix}code", f"{prefix}name_en", f"{prefix}name_km")
            .annotate(
                **counts,
                held=Count("detainee", distinct=True, filter=Q(custody_status__in=IN_CUSTODY)),
                people=Count("detainee", distinct=True),
            )
            .order_by(f"{prefix}name_en")
        )
        labels = dict(CustodyStatus.choices)
        return {
            "statuses": [{"key": str(s), "label": labels[s]} for s in CHART_STATUSES],
            "rows": [
                {**_province_row(row, prefix), "values": [row[str(s)] for s in CHART_STATUSES]}
                for row in rows
            ],
        }

    def hearings_next_week(self) -> list[dict]:
        """Hearings in the next 7 days by province and caseworker (hearings)."""
        prefix = "case__province__"
        rows = (
            self._in_scope(Hearing.objects.upcoming(HEARING_DAYS))
            .values(
                f"{prefix}code",
                f"{prefix}name_en",
                f"{prefix}name_km",
                "case__caseworker__id",
                "case__caseworker__username",
                "case__caseworker__first_name",
                "case__caseworker__last_name",
            )
            .annotate(
                hearings=Count("pk"),
                cases=Count("case", distinct=True),
                no_lawyer=Count("pk", filter=Q(lawyer__isnull=True)),
            )
            .order_by(f"{prefix}name_en", "case__caseworker__username")
        )
        result = []
        for row in rows:
            row = _province_row(row, prefix)
            row["caseworker"] = _staff(row, "case__caseworker__")
            result.append(row)
        return result

    # Open cases are counted per (caseworker, province) from the case table alone, and
    # the ones someone has a current lawyer in from the representations: each case is in
    # exactly one such group, so sums by caseworker or by province count every case once,
    # and "no lawyer" is open minus represented. (A NOT IN over every current
    # representation, tested for each of half a million open cases, ran for minutes.)

    def _open_cases(self):
        return self.cases.filter(status__in=OPEN_STATUSES)

    @cached_property
    def _open_counts(self) -> list[dict]:
        """Open and stale cases per caseworker and province (cases)."""
        stale = self.now - dt.timedelta(days=STALE_DAYS)
        return list(
            self._open_cases()
            .order_by()
            .values("caseworker_id", "province__code", "province__name_en", "province__name_km")
            .annotate(open=Count("pk"), stale=Count("pk", filter=Q(updated_at__lt=stale)))
        )

    @cached_property
    def _represented(self) -> dict:
        """Open cases where someone has a current lawyer, per (caseworker, province code)."""
        case = "accused__case"
        current = Representation.objects.current()
        rows = (
            self._in_scope(current, case)
            .filter(**{f"{case}__status__in": OPEN_STATUSES})
            .order_by()
            .values(caseworker_id=F(f"{case}__caseworker_id"), code=F(f"{case}__province__code"))
            .annotate(n=Count(case, distinct=True))
        )
        return {(row["caseworker_id"], row["code"]): row["n"] for row in rows}

    def _with_no_lawyer(self, row: dict) -> int:
        return row["open"] - self._represented.get((row["caseworker_id"], row["province__code"]), 0)

    def caseload(self) -> list[dict]:
        """Open cases per caseworker, with the people in them and what needs doing (cases)."""
        totals: dict = {}
        for row in self._open_counts:
            total = totals.setdefault(
                row["caseworker_id"], {"cases": 0, "no_lawyer": 0, "stale": 0}
            )
            total["cases"] += row["open"]
            total["stale"] += row["stale"]
            total["no_lawyer"] += self._with_no_lawyer(row)
        people = (
            self._open_cases()
            .order_by()
            .values(
                "caseworker__id",
                "caseworker__username",
                "caseworker__first_name",
                "caseworker__last_name",
            )
            .annotate(
                people=Count("accused__detainee", distinct=True),
                held=Count(
                    "accused__detainee",
                    distinct=True,
                    filter=Q(accused__custody_status__in=IN_CUSTODY),
                ),
            )
        )
        result = []
        for row in people:
            row.update(totals.get(row["caseworker__id"], {"cases": 0, "no_lawyer": 0, "stale": 0}))
            row["caseworker"] = _staff(row)
            result.append(row)
        result.sort(
            key=lambda row: (
                -row["cases"],
                row["caseworker__username"] is None,
                row["caseworker__username"] or "",
            )
        )
        return result

    def attention(self) -> dict:
        """Open cases with no lawyer, or no update in 30 days, by province (cases)."""
        prefix = "province__"
        keys = ("open", "no_lawyer", "stale")
        by_province: dict = {}
        for row in self._open_counts:
            province = by_province.get(row[f"{prefix}code"])
            if province is None:
                province = by_province[row[f"{prefix}code"]] = {
                    **_province_row({k: v for k, v in row.items() if k.startswith(prefix)}, prefix),
                    **dict.fromkeys(keys, 0),
                }
            province["open"] += row["open"]
            province["stale"] += row["stale"]
            province["no_lawyer"] += self._with_no_lawyer(row)
        rows = sorted(by_province.values(), key=lambda row: row[f"{prefix}name_en"])
        # Each case is in one province: these sums count every case once.
        totals = {key: sum(row[key] for row in rows) for key in keys}
        return {"rows": rows, "totals": totals}

    def all(self) -> dict:
        return {
            "trend": self.trend(),
            "trend_by_province": self.trend_by_province(),
            "opened": self.opened(),
            "bail": self.bail_by_court(),
            "held": self.held_now(),
            "custody": self.custody_by_province(),
            "hearings": self.hearings_next_week(),
            "caseload": self.caseload(),
            "attention": self.attention(),
        }


def _as_date(value) -> dt.date:
    if isinstance(value, str):  # SQLite, read back from raw SQL
        return dt.date.fromisoformat(value[:10])
    return value.date() if isinstance(value, dt.datetime) else value


def chart_data(figures: dict) -> dict:
    """What the two charts draw, as plain JSON (labels already translated)."""
    trend = figures["trend"]
    custody = figures["custody"]
    return {
        "trend": {
            "labels": [m["label"] for m in trend["months"]],
            "datasets": [
                {"label": str(s["label"]), "data": [m[s["key"]] for m in trend["months"]]}
                for s in trend["series"]
            ],
        },
        "custody": {
            "labels": [row["name"] for row in custody["rows"]],
            "datasets": [
                {"label": str(s["label"]), "data": [row[s["key"]] for row in custody["rows"]]}
                for s in custody["statuses"]
            ],
        },
    }


# --- Remembered figures ----------------------------------------------------------------
#
# At a million cases the figures take seconds to compute (custody by province alone reads
# every accused), so the reports page keeps them for FIGURES_SECONDS, keyed on whose scope,
# which period, province and language. Any change to the records they count (a save or
# delete of a casework model, a case's charges, a user's role or provinces) moves the data
# version on, so the next view computes them afresh; the page says when the figures it
# shows were computed. Writes that bypass signals (QuerySet.update, bulk_create) are
# caught by the time limit alone. The cache is in the database (settings.CACHES), so the
# version and the figures are the same for every worker and server.
#
# Past FIGURES_JOB_CASES cases in the scope, figures out of date are not computed in the
# request: a background job computes them (jobs/kinds.py) while the page shows the latest
# ones it has, says they may be older, and reloads itself when the job is done.

FIGURES_SECONDS = 300
# The latest figures of a scope, shown (and said to be older) while newer ones are computed.
LATEST_SECONDS = 7 * 24 * 3600
_VERSION_KEY = "reports:figures:version"
_WATCHED_APPS = {"casework", "accounts"}


def _data_version() -> int:
    version = cache.get(_VERSION_KEY)
    if version is None:
        # Start from the clock, not 0, so a version key evicted from the cache can never
        # come back to a number that older figures were stored under.
        cache.add(_VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(_VERSION_KEY, 0)
    return version


def forget_figures() -> None:
    """Every remembered figure is out of date from now on."""
    _data_version()
    try:
        cache.incr(_VERSION_KEY)
    except ValueError:  # evicted in between: a fresh version is just as new
        cache.set(_VERSION_KEY, time.time_ns(), timeout=None)


def _data_changed(sender, **kwargs):
    if sender._meta.app_label not in _WATCHED_APPS:
        return
    if sender.__module__ == "__fake__":
        return  # a migration's historical model: no figures are remembered yet
    if kwargs.get("action", "post_").startswith("pre_"):  # m2m_changed fires before and after
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # signing in changes no figure
    _forget_figures_after_commit()


def _forget_figures_after_commit() -> None:
    """Move the version on once the change is committed, once per transaction.

    Not inside the writer's transaction: the version is one row that every write
    would otherwise lock until its commit, making all writers wait for each other and
    closing deadlocks with record locks (docs/audit.md, "No one waits"). After the
    commit is also right: figures computed before the new version was written are
    retired by it, whichever committed data they saw.
    """
    pending = getattr(connection, "run_on_commit", None) or []
    if any(func is forget_figures for _sids, func, *_rest in pending):
        return
    transaction.on_commit(forget_figures)


for _name, _signal in [
    ("post_save", post_save),
    ("post_delete", post_delete),
    ("m2m_changed", m2m_changed),
]:
    _signal.connect(_data_changed, dispatch_uid=f"reports.figures.{_name}")


def _scope_key(report: Report) -> str:
    # Everything is the same for every admin; otherwise the scope is this user's (their
    # role and provinces are user records: changing them moves the data version on).
    return "all" if report.everything else f"user-{report.user.pk}"


def _with_parallel_workers(compute):
    """Run ``compute`` with PostgreSQL's default cost of starting parallel workers:
    the app's connections make it dear, so that a page's small queries run without
    them (config/settings.py), but the figures aggregate every case in scope."""
    if connection.vendor != "postgresql":
        return compute()
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('parallel_setup_cost', '1000', false)")
    try:
        return compute()
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET parallel_setup_cost")  # to the connection's own
        except DatabaseError:
            pass  # a failed transaction refuses it; its own error is the one to see


def _base_key(report: Report) -> str:
    period = report.period
    return ":".join(
        [
            "reports:figures",
            _scope_key(report),
            period.start.isoformat(),
            period.end.isoformat(),
            period.province.code if period.province is not None else "",
            get_language() or "",
        ]
    )


def compute_figures(user, period: Period) -> tuple[dict, dt.datetime]:
    """Compute the figures now and remember them, under the data version they were
    computed from, and as the latest for their scope (shown while newer ones are
    computed). The version is read first: a change committed meanwhile moves it on,
    so these figures are never taken for newer than they are."""
    report = Report(user, period)
    base, version = _base_key(report), _data_version()
    computed = (_with_parallel_workers(report.all), report.now)
    cache.set(f"{base}:v{version}", computed, FIGURES_SECONDS)
    cache.set(f"{base}:latest", computed, LATEST_SECONDS)
    return computed


def cached_figures(user, period: Period) -> tuple[dict, dt.datetime]:
    """``Report(user, period).all()``, remembered; and when it was computed."""
    report = Report(user, period)
    remembered = cache.get(f"{_base_key(report)}:v{_data_version()}")
    return remembered if remembered is not None else compute_figures(user, period)


@dataclass
class Shown:
    """What the reports page shows: the figures (or none yet), when they were computed,
    whether they count the records as they are now, and the job computing newer ones."""

    figures: dict | None
    computed_at: dt.datetime | None
    current: bool
    job: object = None


def _large(report: Report) -> bool:
    """More cases in the scope than a request should count (``FIGURES_JOB_CASES``): one
    query that stops at the limit, asked only when the figures are out of date."""
    limit = settings.FIGURES_JOB_CASES
    return report.cases.order_by()[limit : limit + 1].exists()


def figures_for(user, period: Period, query: str) -> Shown:
    """The reports page's figures. Up to date ones when remembered; else, for a small
    scope, computed in the request; for a large one (``FIGURES_JOB_CASES``) computed by
    a background job (jobs/kinds.py), the page showing the latest figures it has
    meanwhile, saying so, and reloading when the job is done. ``query`` is the page's
    query string, from which the job builds the same period."""
    report = Report(user, period)
    base = _base_key(report)
    remembered = cache.get(f"{base}:v{_data_version()}")
    if remembered is not None:
        return Shown(*remembered, current=True)
    if not _large(report):
        return Shown(*compute_figures(user, period), current=True)
    figures, computed_at = cache.get(f"{base}:latest") or (None, None)
    return Shown(figures, computed_at, current=False, job=_computing(user, base, query))


def _computing(user, base: str, query: str):
    """This user's job computing these figures: the one already queued or running, or
    a new one. One at a time per person and scope, however often the page is opened."""
    from jobs import runner
    from jobs.models import Job

    marker = f"{base}:job:{user.pk}"
    job_id = cache.get(marker)
    job = Job.objects.of(user).filter(pk=job_id).first() if job_id else None
    if job is None or job.finished:
        job = runner.start(Job.Kind.FIGURES, user=user, params={"query": query})
        cache.set(marker, str(job.pk), LATEST_SECONDS)
    return job
