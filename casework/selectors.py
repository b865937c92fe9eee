"""Reads that pages share: list querysets, the timeline, dashboard figures.

All of them start from ``visible_to(user)``.
"""

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Subquery
from django.utils import timezone

from .models import (
    Accused,
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
            flagged=Exists(
                CustodyPeriod.objects.near_or_past_limit().filter(accused__case=OuterRef("pk"))
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


@dataclass
class TimelineItem:
    day: dt.date
    moment: dt.datetime | None
    kind: str  # "event", "hearing", "bail", "status"
    obj: object

    @property
    def sort_key(self):
        moment = self.moment or timezone.make_aware(dt.datetime.combine(self.day, dt.time.min))
        return (moment, self.kind)


def timeline(case: Case) -> list[TimelineItem]:
    """Events, hearings, bail requests and status changes in one chronological list.

    Three queries whatever the length of the case's history.
    """
    items = []
    events = Event.objects.filter(case=case).select_related("accused__detainee", "recorded_by")
    for event in events:
        kind = "status" if event.kind == Event.Kind.STATUS_CHANGED else "event"
        items.append(TimelineItem(event.occurred_on, None, kind, event))
    hearings = Hearing.objects.filter(case=case).select_related("court", "lawyer", "monitor")
    for hearing in hearings:
        local = timezone.localtime(hearing.scheduled_at)
        items.append(TimelineItem(local.date(), hearing.scheduled_at, "hearing", hearing))
    bails = BailRequest.objects.filter(case=case).select_related(
        "accused__detainee", "court", "filed_by"
    )
    for bail in bails:
        items.append(TimelineItem(bail.filed_on, None, "bail", bail))
    items.sort(key=lambda item: item.sort_key)
    return items


def accused_with_clocks(case: Case):
    open_periods = CustodyPeriod.objects.filter(ended_at__isnull=True).select_related("limit")
    current_reps = Representation.objects.filter(
        Q(until__isnull=True) | Q(until__gte=timezone.localdate())
    ).select_related("lawyer")
    return (
        case.accused.select_related("detainee")
        .prefetch_related(
            Prefetch("custody_periods", queryset=open_periods, to_attr="open_periods"),
            Prefetch("representations", queryset=current_reps, to_attr="current_reps"),
        )
        .order_by("pk")
    )


def near_limit_periods(user, days=None):
    return (
        CustodyPeriod.objects.visible_to(user)
        .near_or_past_limit(days)
        .select_related("accused__detainee", "accused__case__province", "limit")
        .order_by("runs_out_at")
    )


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
    return CustodyPeriod.objects.near_or_past_limit().values("accused__case_id")


def upcoming_hearings(user, days: int):
    return (
        Hearing.objects.visible_to(user)
        .upcoming(days)
        .select_related("case__province", "case__caseworker", "court", "lawyer")
        .order_by("scheduled_at")
    )


def case_history(case: Case, limit: int = 100):
    """Audit entries about the case and the rows that belong to it, newest first."""
    from django.contrib.contenttypes.models import ContentType

    from audit.models import AuditEntry

    related = {
        Case: [case.pk],
        Accused: list(case.accused.values_list("pk", flat=True)),
        Hearing: list(case.hearings.values_list("pk", flat=True)),
        BailRequest: list(case.bail_requests.values_list("pk", flat=True)),
        Event: list(case.events.values_list("pk", flat=True)),
    }
    condition = Q()
    for model, pks in related.items():
        if pks:
            content_type = ContentType.objects.get_for_model(model)
            condition |= Q(content_type=content_type, object_id__in=pks)
    return (
        AuditEntry.objects.filter(condition)
        .exclude(event="view")
        .select_related("actor", "content_type")
        .order_by("-id")[:limit]
    )


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
