"""Scope: the one place that decides what a user may see.

Every view, filter, form choice list, export and report starts from
``<Model>.objects.visible_to(user)``. See docs/permissions.md.
"""

import datetime as dt
import re

from django.conf import settings
from django.db import models
from django.db.models import Case as DbCase
from django.db.models import Exists, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone

from .names import search_terms, skeleton


def warning_cutoff(days: int | None = None, *, now=None) -> dt.datetime:
    """The one definition of "near the legal limit": the clock runs out before the end
    of the local day ``days`` from today (``DETENTION_WARNING_DAYS`` by default).

    Calendar days, as people read them: a clock running out late on day 14 shows
    "14 days left" and is flagged, on the case page, the lists, the dashboards, the
    reports and the exports alike (they all ask here).
    """
    days = settings.DETENTION_WARNING_DAYS if days is None else days
    last_day = timezone.localdate(now) + dt.timedelta(days=days + 1)
    return timezone.make_aware(dt.datetime.combine(last_day, dt.time.min))


# pg_trgm indexes words by their three-letter pieces: a term shorter than that has
# none inside a word, only at its start (after the space that pads each word).
SHORT_TERM = 3


def names_match(text: str, prefix: str = "", *, tolerant: bool = False) -> Q:
    """Every word of ``text`` appears in the person's folded names and aliases
    (``Detainee.search_text``: lower-case Latin, Khmer as typed, one space between words).

    A word of one or two letters must start a name word: "ly" finds Ly Sokha but not
    Sokhaly, and the Khmer family name ជា finds ជា ស្រីមុំ. Users search such short
    words as names; anywhere inside a word they match most people, and no trigram
    index can find them (migration 0005).

    ``tolerant``: a word also matches a name word spelled another way, the same
    consonant skeleton (casework/names.py) in ``Detainee.name_keys``: "Tuoch Visal",
    "Touch Vissal" and "Tuch Wisal" find Touch Visal, and ទូច finds Touch. The callers
    rank these below the literal matches (``search_rank``).
    """
    field = f"{prefix}search_text"
    condition = Q()
    for term in search_terms(text):
        if len(term) < SHORT_TERM:
            literal = Q(**{f"{field}__startswith": term}) | Q(**{f"{field}__contains": f" {term}"})
        else:
            literal = Q(**{f"{field}__contains": term})
        key = skeleton(term) if tolerant else ""
        if key:
            literal |= Q(**{f"{prefix}name_keys__regex": name_word_pattern(key)})
        condition &= literal
    return condition


def name_word_pattern(key: str) -> str:
    """One word's skeleton as a whole word of ``name_keys`` (``|tc vsl|``: words
    apart by a space, names by a bar). PostgreSQL answers it from the trigram index
    of migration 0011; SQLite runs Django's REGEXP over the rows, as it scans for
    LIKE."""
    return rf"[| ]{re.escape(key)}[| ]"


def ranked(queryset, exact: Q):
    """Literal matches first, then the spelling variants, each in the list's order."""
    order = queryset.query.order_by or queryset.model._meta.ordering
    return queryset.annotate(
        search_rank=DbCase(
            When(exact, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("search_rank", *order)


def _role(user) -> str | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return "admin"
    return user.role


class CaseQuerySet(models.QuerySet):
    def visible_to(self, user):
        role = _role(user)
        if role == "admin":
            return self.all()
        if role == "coordinator":
            return self.filter(province__in=user.provinces.values("pk"))
        if role == "caseworker":
            # Their assigned cases, and the ones they opened until someone is assigned.
            return self.filter(Q(caseworker=user) | Q(caseworker__isnull=True, opened_by=user))
        return self.none()

    def open(self):
        from .models import OPEN_STATUSES

        return self.filter(status__in=OPEN_STATUSES)

    def matching(self, text: str):
        """`q` search: an accused's names or aliases contain every word of ``text`` (in
        either script, case- and accent-insensitively), or the reference or court number
        contains ``text``.

        Written as one set of case ids (a UNION) rather than an OR across tables, so that
        PostgreSQL answers each part from its trigram index (migration 0005) instead of
        testing every case in scope.
        """
        from .models import Accused, Case

        def cases(tolerant: bool):
            named = Accused.objects.order_by().filter(
                names_match(text, "detainee__", tolerant=tolerant)
            )
            return named.values("case_id").union(numbered.values("pk"))

        numbered = Case.objects.order_by().filter(
            Q(reference__icontains=text) | Q(court_case_number__icontains=text)
        )
        # Other spellings of the names too, after the literal matches (issue 13).
        return ranked(self.filter(pk__in=cases(tolerant=True)), Q(pk__in=cases(tolerant=False)))

    def without_lawyer(self):
        """Open or not, cases where no accused has a current lawyer (ended ones do not count)."""
        from .models import Representation

        current = Representation.objects.current().filter(accused__case=OuterRef("pk"))
        return self.filter(~Exists(current))

    def stale(self, days: int = 30):
        return self.filter(updated_at__lt=timezone.now() - dt.timedelta(days=days))

    def with_custody_near_limit(self, days: int | None = None):
        from .models import CustodyPeriod

        periods = CustodyPeriod.objects.near_or_past_limit(days).filter(case=OuterRef("pk"))
        return self.filter(Exists(periods))

    def with_custody_past_limit(self):
        from .models import CustodyPeriod

        return self.filter(Exists(CustodyPeriod.objects.past_limit().filter(case=OuterRef("pk"))))

    def with_hearing_within(self, days: int):
        from .models import Hearing

        now = timezone.now()
        upcoming = Hearing.objects.filter(
            case=OuterRef("pk"),
            scheduled_at__gte=now,
            scheduled_at__lte=now + dt.timedelta(days=days),
        ).exclude(status__in=["cancelled"])
        return self.filter(Exists(upcoming))


class _ThroughCaseQuerySet(models.QuerySet):
    """Objects that belong to a case are visible exactly when their case is."""

    case_path = "case"

    def visible_to(self, user):
        from .models import Case

        role = _role(user)
        if role == "admin":
            return self.all()
        if role is None:
            return self.none()
        return self.filter(**{f"{self.case_path}__in": Case.objects.visible_to(user).values("pk")})


class HearingQuerySet(_ThroughCaseQuerySet):
    def upcoming(self, days: int):
        now = timezone.now()
        return self.filter(
            scheduled_at__gte=now, scheduled_at__lte=now + dt.timedelta(days=days)
        ).exclude(status="cancelled")


class EventQuerySet(_ThroughCaseQuerySet):
    pass


class BailRequestQuerySet(_ThroughCaseQuerySet):
    def pending_longer_than(self, days: int):
        return self.filter(
            decision="pending", filed_on__lt=timezone.localdate() - dt.timedelta(days=days)
        )


class CustodyPeriodQuerySet(_ThroughCaseQuerySet):
    case_path = "case"

    def open(self):
        return self.filter(ended_at__isnull=True)

    def past_limit(self):
        return self.open().filter(runs_out_at__lt=timezone.now())

    def near_or_past_limit(self, days: int | None = None):
        return self.open().filter(runs_out_at__lt=warning_cutoff(days))


class DetaineeQuerySet(models.QuerySet):
    def visible_to(self, user):
        from .models import Accused, Case

        role = _role(user)
        if role == "admin":
            # A record merged into another is kept for the undo, out of sight.
            return self.on_file()
        if role is None:
            return self.none()
        accused = Accused.objects.filter(
            case__in=Case.objects.visible_to(user).values("pk")
        ).values("detainee")
        return self.filter(pk__in=accused)

    def on_file(self):
        """Every record but those merged into another (services.detainee_merge)."""
        return self.filter(merged_into__isnull=True)

    def likely_same_as(self, person):
        """Records that may be the same as ``person`` (saved or not): a name in either
        script matches the others' names and aliases, literally or by its consonant
        skeleton (casework/names.py), narrowed by birth year and home province when both
        are known. Not ``person`` itself, nor merged records."""
        from .names import fold, name_key

        variants = [n for n in (person.name_latin, person.name_khmer, *person.alias_list) if n]
        if not variants:
            return self.none()
        condition = Q()
        for name in variants:
            condition |= Q(search_text__contains=fold(name))
            key = name_key(name)
            if key:
                condition |= Q(name_keys__contains=f"|{key}|")
        qs = self.on_file().filter(condition)
        if person.pk:
            qs = qs.exclude(pk=person.pk)
        if person.birth_year:
            qs = qs.filter(
                Q(birth_year__isnull=True)
                | Q(birth_year__range=(person.birth_year - 1, person.birth_year + 1))
            )
        if person.home_province_id:
            qs = qs.filter(Q(home_province__isnull=True) | Q(home_province=person.home_province_id))
        return qs

    def elsewhere_for(self, user):
        """Records outside ``user``'s scope (nothing, for an admin): where a possible
        match may be known to exist, never shown (docs/permissions.md)."""
        visible = self.model._default_manager.visible_to(user)
        return self.on_file().exclude(pk__in=visible.values("pk"))

    def search(self, text: str):
        """Any part of any name or alias, in either script, case- and accent-insensitively;
        then other spellings of the same names (``names_match(tolerant=True)``), ranked
        after."""
        return ranked(self.filter(names_match(text, tolerant=True)), names_match(text))


class LawyerQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Caseworkers see the lawyers of their own cases; coordinators and admins the directory."""
        from .models import Case, Representation

        role = _role(user)
        if role in ("admin", "coordinator"):
            return self.all()
        if role is None:
            return self.none()
        representing = Representation.objects.filter(
            accused__case__in=Case.objects.visible_to(user).values("pk")
        ).values("lawyer")
        return self.filter(pk__in=representing)


class RepresentationQuerySet(_ThroughCaseQuerySet):
    case_path = "accused__case"

    def current(self, day=None):
        """The one definition of a current lawyer: not ended, or ending after ``day``
        (today). A representation ended on a day no longer counts from that day on."""
        day = day or timezone.localdate()
        return self.filter(Q(until__isnull=True) | Q(until__gt=day))

    def ended(self, day=None):
        day = day or timezone.localdate()
        return self.filter(until__lte=day)
