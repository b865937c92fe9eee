"""Reads that pages share: list querysets, the timeline, dashboard figures.

All of them start from ``visible_to(user)``.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import (
    Count,
    DateTimeField,
    F,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from .models import (
    Accused,
    AccusedCharge,
    BailRequest,
    Case,
    CustodyPeriod,
    Event,
    Hearing,
    Representation,
)

LIST_FIELDS = (
    "reference",
    "status",
    "opened_on",
    "updated_at",
    "province__name_en",
    "province__name_km",
    "caseworker__username",
    "caseworker__first_name",
    "caseworker__last_name",
)


def case_list_queryset(user):
    now = timezone.now()
    return (
        Case.objects.visible_to(user)
        .select_related("province", "caseworker")
        # What a list row shows: not the summary, nor the caseworker's whole account.
        .only(*LIST_FIELDS)
        .annotate(
            next_hearing=Subquery(
                Hearing.objects.filter(case=OuterRef("pk"), scheduled_at__gte=now)
                .exclude(status=Hearing.Status.CANCELLED)
                .order_by("scheduled_at")
                .values("scheduled_at")[:1]
            ),
            # The most urgent clock near or past its limit (None: no one flagged), so the
            # row says how far, not only that (issue 13: the clock row in the lists).
            flagged=Subquery(
                CustodyPeriod.objects.near_or_past_limit()
                .filter(case=OuterRef("pk"))
                .order_by("runs_out_at")
                .values("runs_out_at")[:1]
            ),
        )
        .prefetch_related(Prefetch("accused", queryset=_accused_names()))
        .order_by("-opened_on", "-pk")
    )


def _accused_names():
    """A list's accused: the names it shows, not every column of every person."""
    return (
        Accused.objects.select_related("detainee")
        .only("case_id", "detainee__name_latin", "detainee__name_khmer")
        .order_by("pk")
    )


def case_detail_queryset():
    return Case.objects.select_related("province", "court", "caseworker", "opened_by")


# The case page shows what is coming and the latest of what happened; the full
# timeline (/cases/<pk>/timeline/) pages through everything, the latest first.
TIMELINE_UPCOMING = 20
TIMELINE_RECENT = 50
TIMELINE_PAGE_SIZE = 50

# The timeline's sources, in the order that settles entries of the same moment.
_BAIL, _EVENT, _HEARING = 0, 1, 2


@dataclass
class TimelineItem:
    """One entry, with what the template shows worked out once here."""

    day: dt.date
    moment: dt.datetime | None  # hearings only: the others have a day, not a time
    kind: str  # "event", "hearing", "bail", "status"
    obj: object
    upcoming: bool = False
    when: str = ""  # the date (and time, for a hearing) as the reader's language writes it
    title: str = ""  # what happened: the hearing's or event's kind
    state: str = ""  # a hearing's status, a bail request's decision
    source: str = ""  # where an event is known from
    link: str = ""  # a hearing's edit page, a pending bail request's decision page


@dataclass
class CaseTimeline:
    """What the case page shows of the timeline, and what it leaves to the full one."""

    upcoming: list[TimelineItem]  # the soonest first
    recent: list[TimelineItem]  # the latest first
    total: int
    upcoming_total: int

    @property
    def upcoming_hidden(self) -> int:
        return max(self.upcoming_total - len(self.upcoming), 0)

    @property
    def older(self) -> int:
        """Past entries the case page leaves out."""
        return max(self.total - self.upcoming_total - len(self.recent), 0)

    @property
    def older_page(self) -> int:
        """The page of the full timeline where the entries the case page leaves out start."""
        return (self.upcoming_total + len(self.recent)) // TIMELINE_PAGE_SIZE + 1


def _timeline_keys(case: Case):
    """(source, pk, day, at) of the case's timeline entries, the latest first: one
    UNION ALL query, which the callers cut with LIMIT/OFFSET.

    Only the keys: ``_timeline_items`` then reads the rows of the entries shown.
    ``day`` is a hearing's local date, ``at`` its time; the entries that have only a
    day (events, bail requests) have no ``at`` and count as the start of that day.
    Entries still to come therefore all come before those past.
    """
    # Hearings first: the union's columns take their types from the first query.
    hearings = Hearing.objects.filter(case=case).annotate(
        src=Value(_HEARING), key=F("pk"), day=TruncDate("scheduled_at"), at=F("scheduled_at")
    )
    no_time = Value(None, output_field=DateTimeField())
    events = Event.objects.filter(case=case).annotate(
        src=Value(_EVENT), key=F("pk"), day=F("occurred_on"), at=no_time
    )
    bails = BailRequest.objects.filter(case=case).annotate(
        src=Value(_BAIL), key=F("pk"), day=F("filed_on"), at=no_time
    )
    columns = ("src", "key", "day", "at")
    return (
        hearings.order_by()
        .values_list(*columns)
        .union(
            events.order_by().values_list(*columns),
            bails.order_by().values_list(*columns),
            all=True,
        )
        .order_by(F("day").desc(), F("at").desc(nulls_last=True), F("src").desc(), F("key").desc())
    )


def _timeline_counts(case: Case, now: dt.datetime) -> tuple[int, int]:
    """(all entries, entries still to come): one query, a row a source."""
    today = timezone.localdate(now)

    def count(model, upcoming: Q):
        return (
            model.objects.filter(case=case)
            .order_by()
            .values("case")
            .annotate(n=Count("pk"), up=Count("pk", filter=upcoming))
            .values_list("n", "up")
        )

    rows = list(
        count(Hearing, Q(scheduled_at__gte=now)).union(
            count(Event, Q(occurred_on__gt=today)),
            count(BailRequest, Q(filed_on__gt=today)),
            all=True,
        )
    )
    return sum(row[0] for row in rows), sum(row[1] for row in rows)


def _timeline_items(keys, now: dt.datetime) -> list[TimelineItem]:
    """The entries for these keys, in their order: a query a source (always three),
    and only the columns shown (a person's row is wide)."""
    wanted = {_BAIL: [], _EVENT: [], _HEARING: []}
    for src, pk, _day, _at in keys:
        wanted[src].append(pk)
    rows = {
        _HEARING: Hearing.objects.select_related("court", "lawyer", "monitor").only(
            "kind",
            "scheduled_at",
            "status",
            "outcome",
            "court__name_en",
            "court__name_km",
            "lawyer__name",
            "monitor__username",
            "monitor__first_name",
            "monitor__last_name",
        ),
        # The person's name alone, not their row and their accused row.
        _EVENT: Event.objects.only(
            "kind",
            "occurred_on",
            "occurred_time",
            "place",
            "stated_cause",
            "examination",
            "description",
            "source",
            "source_detail",
            "verified",
            "accused",
        ).annotate(person=F("accused__detainee__name_latin")),
        _BAIL: BailRequest.objects.only(
            "case",
            "filed_on",
            "decision",
            "decided_on",
            "grounds",
            "reasons",
            "conditions",
            "appeal_of",
        ).annotate(
            person=F("accused__detainee__name_latin"),
            # An appeal links to the decision it appeals, and that decision back to it.
            appealed_by=Subquery(
                BailRequest.objects.filter(appeal_of=OuterRef("pk")).order_by("pk").values("pk")[:1]
            ),
        ),
    }
    # A source with nothing shown is asked all the same (no row has pk 0), so that every
    # page runs the same queries whatever mix of entries it shows.
    found = {
        src: {obj.pk: obj for obj in rows[src].filter(pk__in=pks or [0])}
        for src, pks in wanted.items()
    }
    # The people each hearing concerns, when not everyone: one query, asked every time.
    people = defaultdict(list)
    for hearing_id, name in (
        Hearing.accused.through.objects.filter(hearing_id__in=wanted[_HEARING] or [0])
        .order_by("accused_id")
        .values_list("hearing_id", "accused__detainee__name_latin")
    ):
        people[hearing_id].append(name)
    for hearing in found[_HEARING].values():
        hearing.people = people.get(hearing.pk, [])
    today = timezone.localdate(now)
    items = []
    for src, pk, day, _at in keys:
        obj = found[src].get(pk)
        if obj is None:  # deleted since the keys were read
            continue
        if src == _HEARING:
            moment = obj.scheduled_at
            item = TimelineItem(day, moment, "hearing", obj, upcoming=moment >= now)
            item.when = date_format(timezone.localtime(moment), "DATETIME_FORMAT")
            item.title = obj.get_kind_display()
            item.state = obj.get_status_display()
            item.link = reverse("hearing_edit", args=[pk])
        elif src == _EVENT:
            kind = "status" if obj.kind == Event.Kind.STATUS_CHANGED else "event"
            item = TimelineItem(day, None, kind, obj, upcoming=day > today)
            item.title = obj.get_kind_display()
            item.source = obj.get_source_display()
            if obj.occurred_time is not None:
                item.when = date_format(obj.moment, "DATETIME_FORMAT")
        else:
            item = TimelineItem(day, None, "bail", obj, upcoming=day > today)
            item.state = obj.get_decision_display()
            if obj.decision == BailRequest.Decision.PENDING:
                item.link = reverse("bail_decide", args=[pk])
        if not item.when:
            item.when = date_format(day, "DATE_FORMAT")
        items.append(item)
    return items


def case_timeline(
    case: Case, *, upcoming: int = TIMELINE_UPCOMING, recent: int = TIMELINE_RECENT
) -> CaseTimeline:
    """The case page's timeline: the next ``upcoming`` entries, the soonest first, and
    the latest ``recent`` past ones, the latest first, with how many there are in all.

    Five queries whatever the length of the case: the counts; the keys of the entries
    shown, cut in the database (the entries to come lead the latest-first order, so
    the shown ones are one slice of it); their rows, a query a source.
    """
    now = timezone.now()
    total, upcoming_total = _timeline_counts(case, now)
    skip = max(upcoming_total - upcoming, 0)
    keys = list(_timeline_keys(case)[skip : upcoming_total + recent])
    items = _timeline_items(keys, now)
    soon = [item for item in items if item.upcoming]
    soon.reverse()
    return CaseTimeline(
        upcoming=soon,
        recent=[item for item in items if not item.upcoming],
        total=total,
        upcoming_total=upcoming_total,
    )


def timeline_page(case: Case, number, per_page: int = TIMELINE_PAGE_SIZE):
    """One page of the case's whole timeline, the latest first: a count, the page's
    keys, the page's rows. ``number`` as the request gave it: one that is not a number
    gives the first page, one past the end the last (Paginator.get_page)."""
    now = timezone.now()
    page = Paginator(_timeline_keys(case), per_page).get_page(number)
    page.object_list = _timeline_items(list(page.object_list), now)
    return page


def accused_with_clocks(case: Case):
    open_periods = CustodyPeriod.objects.filter(ended_at__isnull=True).select_related("limit")
    current_reps = Representation.objects.current().select_related("lawyer")
    return (
        case.accused.select_related("detainee")
        .prefetch_related(
            Prefetch("custody_periods", queryset=open_periods, to_attr="open_periods"),
            Prefetch("representations", queryset=current_reps, to_attr="current_reps"),
            Prefetch(
                "charge_steps",
                queryset=AccusedCharge.objects.select_related("charge", "requalified_from"),
            ),
            Prefetch(
                "representations",
                queryset=Representation.objects.ended()
                .select_related("lawyer")
                .order_by("-until", "pk"),
                to_attr="past_reps",
            ),
        )
        .order_by("pk")
    )


def removed_accused(case: Case):
    """People taken off the case, with why: kept on file, shown apart."""
    return (
        Accused.all_objects.filter(case=case, removed_on__isnull=False)
        .select_related("detainee")
        .order_by("removed_on", "pk")
    )


def first_rows(queryset, limit: int):
    """The first ``limit`` rows of an ordered queryset: their ids first, then the rows.

    The ids come from an index alone, checked against the user's scope case by case
    until ``limit`` are found; only those rows are read, with what they join. Read
    whole, PostgreSQL fetches every row it checks, most of them out of scope for a
    caseworker (bench/README.md). The rows keep the queryset's select_related and
    .only(), not its annotations or prefetches: add those to the result.
    """
    ids = queryset.values("pk")[:limit]
    # The rows by id alone: repeating the scope and filters here would let PostgreSQL
    # join every matching row again before narrowing to these ids.
    related = queryset.query.select_related
    rows = queryset.model._default_manager.filter(pk__in=ids)
    if isinstance(related, dict):
        rows.query.select_related = related
    elif related:
        rows = rows.select_related()
    rows.query.deferred_loading = queryset.query.deferred_loading  # .only() / .defer()
    return rows.order_by(*(queryset.query.order_by or queryset.model._meta.ordering))


def near_limit_periods(user, days=None, limit: int = 50):
    periods = (
        CustodyPeriod.objects.visible_to(user)
        .near_or_past_limit(days)
        .select_related("accused__detainee", "accused__case__province", "limit")
        .order_by("runs_out_at", "pk")
    )
    return first_rows(periods, limit)


def caseload(user):
    """Open cases per caseworker, in the user's scope, with those near or past the limit.

    Counted per caseworker id from the index alone, then named: grouping hundreds of
    thousands of rows by four user columns would cost more than the count itself.
    """
    counts = (
        Case.objects.visible_to(user)
        .open()
        .order_by()
        .values("caseworker_id")
        .annotate(
            cases=Count("id"),
            # The cases with someone near or past the limit, found once from the custody
            # side (a few percent of cases), not asked of every open case in turn.
            flagged=Count("id", filter=Q(pk__in=flagged_case_ids())),
        )
    )
    rows = list(counts)
    names = {
        user["id"]: user
        for user in get_user_model()
        .objects.filter(pk__in=[row["caseworker_id"] for row in rows if row["caseworker_id"]])
        .values("id", "username", "first_name", "last_name")
    }
    for row in rows:
        person = names.get(row["caseworker_id"], {})
        row["caseworker__id"] = row["caseworker_id"]
        for field in ("username", "first_name", "last_name"):
            row[f"caseworker__{field}"] = person.get(field)
    return sorted(rows, key=lambda row: -row["cases"])


def flagged_case_ids():
    """Ids of the cases where someone's custody is near or past the legal limit."""
    return CustodyPeriod.objects.near_or_past_limit().values("case_id")


def hearings_without_outcome(user, limit: int = 50):
    """Past hearings still "scheduled": someone must say whether they were held."""
    hearings = (
        Hearing.objects.visible_to(user)
        .filter(status=Hearing.Status.SCHEDULED, scheduled_at__lt=timezone.now())
        .select_related("case", "court")
        .only("kind", "scheduled_at", "case__reference", "court__name_en", "court__name_km")
        .order_by("-scheduled_at", "-pk")
    )
    return first_rows(hearings, limit)


def upcoming_hearings(user, days: int, limit: int = 50):
    hearings = (
        Hearing.objects.visible_to(user)
        .upcoming(days)
        .select_related("case__province", "case__caseworker", "court")
        # What the dashboards show of each, not every case's summary and sources.
        .only(
            "kind",
            "scheduled_at",
            "status",
            "lawyer_id",
            "case__reference",
            "case__province__code",
            "case__province__name_en",
            "case__province__name_km",
            "case__caseworker__username",
            "case__caseworker__first_name",
            "case__caseworker__last_name",
            "court__name_en",
            "court__name_km",
        )  # fmt: skip
        .order_by("scheduled_at", "pk")
    )
    return first_rows(hearings, limit)


def case_history(case: Case, limit: int = 100):
    """Audit entries about the case and the rows that belong to it, newest first.

    One query, a UNION ALL of one part a kind of row, each reading the audit index
    (content type, object id) for the case's own rows found by a subquery: not the
    ids of every hearing and event of a long case, fetched first and sent back.
    """
    from django.contrib.contenttypes.models import ContentType

    from audit.models import AuditEntry

    entries = (
        AuditEntry.objects.exclude(event="view")
        .select_related("actor", "content_type")
        .defer("serialized_data")  # a snapshot of the row: the panel shows the changes
        .order_by()
    )
    parts = [
        entries.filter(content_type=ContentType.objects.get_for_model(Case), object_id=case.pk)
    ]
    for model in (Accused, Hearing, BailRequest, Event):
        parts.append(
            entries.filter(
                content_type=ContentType.objects.get_for_model(model),
                object_id__in=model.objects.filter(case=case).values("pk"),
            )
        )
    return parts[0].union(*parts[1:], all=True).order_by("-id")[:limit]


def detainee_list_queryset(user):
    """The people list's rows (as /detainees/ builds them), for exports.

    ``case_count`` counts only the cases the user may see.
    """
    from django.db.models.functions import Coalesce

    from .models import Detainee

    case_count = (
        Accused.objects.filter(
            detainee=OuterRef("pk"), case__in=Case.objects.visible_to(user).values("pk")
        )
        .order_by()
        .values("detainee")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Detainee.objects.visible_to(user)
        .select_related("home_province")
        .annotate(case_count=Coalesce(Subquery(case_count), 0))
        .order_by("name_latin", "pk")
    )
