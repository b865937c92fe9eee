"""The rows of the case and people exports: exactly the list's rows, as plain values.

The caller passes the list's own queryset (scoped, filtered and sorted by the
list's FilterSet). Rows are read with ``values()`` over ``iterator()`` in
chunks of ``CHUNK``; the accused and charges of a chunk of cases (the cases of
a chunk of people) come from one extra query per chunk, so memory stays flat
and the number of queries does not depend on the number of rows beyond one
per 2,000.

What an export never contains, anonymised or not: family contact and
whereabouts (``Detainee.SENSITIVE_FIELDS``), and the free-text notes and
summaries. Anonymised exports also drop names, aliases, birth dates, titles,
court case numbers and free-text roles, and replace every record number with a
pseudonym (``reports.pseudonyms``). docs/reports.md lists the columns.
"""

import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from operator import itemgetter

from django.db.models import BooleanField, DateTimeField, F, Func, Min, Q
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from casework.models import (
    IN_CUSTODY,
    Accused,
    Case,
    CaseStatus,
    CustodyStatus,
    Hearing,
    Sex,
)
from casework.selectors import flagged_case_ids

from .pseudonyms import pseudonym

CHUNK = 2000


def batched(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def local_name(row: dict, prefix: str, khmer: bool | None = None) -> str:
    """The reader's language for bilingual reference data read with values()."""
    if khmer is None:
        khmer = (get_language() or "").startswith("km")
    return _in_reader_language(row.get(f"{prefix}name_en"), row.get(f"{prefix}name_km"), khmer)


def _in_reader_language(name_en: str | None, name_km: str | None, khmer: bool) -> str:
    if khmer and name_km:
        return name_km
    return name_en or ""


class Labels:
    """Translated once per export, not once per row; names of reference data (charges)
    worked out once per export too."""

    def __init__(self):
        self.khmer = (get_language() or "").startswith("km")
        self.timezone = timezone.get_current_timezone()
        self.statuses = {value: str(label) for value, label in CaseStatus.choices}
        self.custody = {value: str(label) for value, label in CustodyStatus.choices}
        self.sexes = {value: str(label) for value, label in Sex.choices}
        self.yes, self.no = _("yes"), _("no")
        self._charges = {}

    def name(self, name_en: str | None, name_km: str | None) -> str:
        """As ``local_name``: the reader's language, English when there is no Khmer."""
        return _in_reader_language(name_en, name_km, self.khmer)

    def charge(self, charge_id: int, article: str, name_en: str, name_km: str) -> str:
        if (label := self._charges.get(charge_id)) is None:
            label = self._charges[charge_id] = f"{article} {self.name(name_en, name_km)}"
        return label

    def local(self, value):
        """A date-time read through ``LocalTime`` as naive local time (on databases where
        ``LocalTime`` leaves the moment as it is, converted here)."""
        if value is not None and value.tzinfo is not None:
            return value.astimezone(self.timezone).replace(tzinfo=None)
        return value


def _person_name(latin: str, khmer: str) -> str:
    return f"{latin} ({khmer})" if khmer else latin


def _staff_name(username: str | None, first_name: str | None, last_name: str | None) -> str:
    if not username:
        return ""
    return f"{first_name} {last_name}".strip() or username


class LocalTime(Func):
    """A moment as wall-clock time in ``tz``, without a zone (spreadsheets have none).

    PostgreSQL converts it (``AT TIME ZONE``): psycopg reads a naive timestamp in C, an
    aware one through Django's Python loader, several microseconds a value. Elsewhere the
    moment is returned as it is and ``Labels.local`` converts it.
    """

    output_field = DateTimeField()

    def __init__(self, field: str, tz):
        super().__init__(F(field))
        self.tz = tz

    def as_sql(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} AT TIME ZONE %s)", (*params, str(self.tz))


# --- Cases -----------------------------------------------------------------

# (key, label, column width in XLSX). Keys name the columns in docs/reports.md.
CASE_COLUMNS = [
    ("reference", gettext_lazy("NGO reference"), 16),
    ("court_case_number", gettext_lazy("Court case number"), 18),
    ("title", gettext_lazy("Short title"), 30),
    ("province", gettext_lazy("Province"), 16),
    ("province_code", gettext_lazy("Province code"), 8),
    ("court", gettext_lazy("Court"), 30),
    ("status", gettext_lazy("Case status"), 18),
    ("opened_on", gettext_lazy("Opened on"), 12),
    ("caseworker", gettext_lazy("Caseworker"), 20),
    ("accused", gettext_lazy("Accused"), 40),
    ("accused_count", gettext_lazy("Number of accused"), 8),
    ("in_custody", gettext_lazy("Accused in custody"), 8),
    ("charges", gettext_lazy("Charges"), 40),
    ("next_hearing", gettext_lazy("Next hearing"), 17),
    ("near_limit", gettext_lazy("Someone near or past the legal limit"), 8),
    ("clocks", gettext_lazy("Legal clocks running"), 60),
    ("updated_at", gettext_lazy("Last update"), 17),
]
ANONYMISED_CASE_COLUMNS = [
    ("case", gettext_lazy("Case (pseudonym)"), 16),
    ("province", gettext_lazy("Province"), 16),
    ("province_code", gettext_lazy("Province code"), 8),
    ("court", gettext_lazy("Court"), 30),
    ("status", gettext_lazy("Case status"), 18),
    ("opened_on", gettext_lazy("Opened on"), 12),
    ("caseworker", gettext_lazy("Caseworker (pseudonym)"), 16),
    ("accused", gettext_lazy("Accused (pseudonyms)"), 40),
    ("accused_count", gettext_lazy("Number of accused"), 8),
    ("in_custody", gettext_lazy("Accused in custody"), 8),
    ("charges", gettext_lazy("Charges"), 40),
    ("next_hearing", gettext_lazy("Next hearing"), 17),
    ("near_limit", gettext_lazy("Someone near or past the legal limit"), 8),
    ("clocks", gettext_lazy("Legal clocks running"), 60),
    ("updated_at", gettext_lazy("Last update"), 17),
]
_CASE_FIELDS = (
    "pk",
    "reference",
    "court_case_number",
    "title",
    "status",
    "opened_on",
    "updated_at_local",
    "province_id",
    "province__code",
    "province__name_en",
    "province__name_km",
    "court_id",
    "court__name_en",
    "court__name_km",
    "caseworker_id",
    "caseworker__username",
    "caseworker__first_name",
    "caseworker__last_name",
)


def case_columns(anonymised: bool) -> list[tuple]:
    return ANONYMISED_CASE_COLUMNS if anonymised else CASE_COLUMNS


def case_rows(queryset, *, anonymised: bool) -> Iterator[tuple]:
    """One tuple of values per case, in the queryset's order.

    The list computes each row's next hearing and legal-limit flag with a correlated
    subquery; here the main query leaves them out, and ``_case_extras`` asks for the
    accused, charges and next hearings of each chunk of cases at once, by case id. The
    flag comes from the cases flagged, read once per export (a few percent of cases:
    ``casework.selectors.flagged_case_ids``). Date-times come out as naive local time
    (``LocalTime``).
    """
    labels = Labels()
    now = timezone.now()
    flagged = set(flagged_case_ids().order_by().values_list("case_id", flat=True))
    row_of = itemgetter(*(key for key, _label, _width in case_columns(anonymised)))
    rows = (
        queryset.prefetch_related(None)
        .annotate(updated_at_local=LocalTime("updated_at", labels.timezone))
        .values_list(*_CASE_FIELDS)
    )
    provinces, courts, staff = {}, {}, {}
    for chunk in batched(rows.iterator(chunk_size=CHUNK), CHUNK):
        ids = [row[0] for row in chunk]
        accused, charges, hearings = _case_extras(ids, labels, now)
        clocks = _case_clocks(ids, anonymised)
        for (pk, reference, court_case_number, title, status, opened_on, updated_at,
             province_id, province_code, province_en, province_km,
             court_id, court_en, court_km,
             caseworker_id, username, first_name, last_name) in chunk:  # fmt: skip
            if (province := provinces.get(province_id)) is None:
                province = provinces[province_id] = labels.name(province_en, province_km)
            if (court := courts.get(court_id)) is None:
                court = courts[court_id] = labels.name(court_en, court_km)
            people = accused.get(pk, ())
            values = {
                "province": province,
                "province_code": province_code,
                "court": court,
                "status": labels.statuses.get(status, status),
                "opened_on": opened_on,
                "accused_count": len(people),
                "in_custody": sum(1 for p in people if p[3] in IN_CUSTODY),
                "charges": charges.get(pk, ""),
                "next_hearing": hearings.get(pk),
                "near_limit": labels.yes if pk in flagged else labels.no,
                "clocks": " | ".join(clocks.get(pk, ())),
                "updated_at": labels.local(updated_at),
            }
            if anonymised:
                values["case"] = pseudonym("case", pk)
                values["caseworker"] = pseudonym("user", caseworker_id)
                values["accused"] = "; ".join(pseudonym("detainee", p[0]) for p in people)
            else:
                if (caseworker := staff.get(caseworker_id)) is None:
                    caseworker = staff[caseworker_id] = _staff_name(username, first_name, last_name)
                values["reference"] = reference
                values["court_case_number"] = court_case_number
                values["title"] = title
                values["caseworker"] = caseworker
                values["accused"] = "; ".join(_person_name(p[1], p[2]) for p in people)
            yield row_of(values)


def _case_extras(case_ids: list[int], labels: Labels, now) -> tuple[dict, dict, dict]:
    """The accused, charges and next hearing of a chunk of cases: three queries a chunk.

    The next hearing is the one the case list shows
    (``casework.selectors.case_list_queryset``): the first not cancelled from ``now``.
    """
    accused = defaultdict(list)
    for case_id, *person in (
        Accused.objects.filter(AnyOf("case_id", case_ids))
        .order_by("case_id", "pk")
        .values_list(
            "case_id",
            "detainee_id",
            "detainee__name_latin",
            "detainee__name_khmer",
            "custody_status",
        )
    ):
        accused[case_id].append(person)
    charges = defaultdict(list)
    for case_id, *charge in (
        Case.charges.through.objects.filter(AnyOf("case_id", case_ids))
        .order_by("case_id", "charge__article", "charge_id")
        .values_list(
            "case_id", "charge_id", "charge__article", "charge__name_en", "charge__name_km"
        )
    ):
        charges[case_id].append(labels.charge(*charge))
    hearings = (
        Hearing.objects.filter(AnyOf("case_id", case_ids), scheduled_at__gte=now)
        .exclude(status=Hearing.Status.CANCELLED)
        .order_by()
        .values("case_id")
        .annotate(next_hearing=Min(LocalTime("scheduled_at", labels.timezone)))
        .values_list("case_id", "next_hearing")
    )
    return (
        accused,
        {case_id: "; ".join(names) for case_id, names in charges.items()},
        {case_id: labels.local(when) for case_id, when in hearings},
    )


def _case_clocks(case_ids: list[int], anonymised: bool) -> dict[int, list[str]]:
    """The clock row of everyone held under a legal clock in a chunk of cases, as text
    (the pages' clock row, ``clock_text``): one query a chunk."""
    from casework.models import CustodyPeriod
    from casework.templatetags.casework import clock_text

    clocks = defaultdict(list)
    periods = (
        CustodyPeriod.objects.filter(AnyOf("case_id", case_ids), ended_at__isnull=True)
        .select_related("limit", "accused__detainee")
        .order_by("case_id", "runs_out_at", "pk")
    )
    for period in periods:
        person = period.accused.detainee
        if anonymised:
            name = pseudonym("detainee", person.pk)
        else:
            name = _person_name(person.name_latin, person.name_khmer)
        clocks[period.case_id].append(f"{name}: {clock_text(period)}")
    return clocks


class AnyOf(Func):
    """``field IN (ids)``; on PostgreSQL ``field = ANY(%s)`` with the ids as one array
    literal. With a placeholder per id, psycopg spends longer preparing a chunk's query
    than PostgreSQL spends answering it."""

    output_field = BooleanField()

    def __init__(self, field: str, ids: list[int]):
        super().__init__(F(field))
        self.ids = [int(pk) for pk in ids]

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"{sql} = ANY(%s::bigint[])", (*params, f"{{{','.join(map(str, self.ids))}}}")
        placeholders = ", ".join(["%s"] * len(self.ids))
        return f"{sql} IN ({placeholders})", (*params, *self.ids)


# --- People ------------------------------------------------------------------

DETAINEE_COLUMNS = [
    ("person_id", gettext_lazy("Person number"), 10),
    ("name_latin", gettext_lazy("Name (Latin script)"), 26),
    ("name_khmer", gettext_lazy("Name (Khmer script)"), 26),
    ("aliases", gettext_lazy("Other spellings and aliases"), 26),
    ("sex", gettext_lazy("Sex"), 10),
    ("birth_year", gettext_lazy("Year of birth"), 8),
    ("birth_date", gettext_lazy("Date of birth"), 12),
    ("home_province", gettext_lazy("Home province"), 16),
    ("home_province_code", gettext_lazy("Province code"), 8),
    ("affiliation", gettext_lazy("Political affiliation"), 20),
    ("former_role", gettext_lazy("Former role"), 24),
    ("occupation", gettext_lazy("Occupation"), 18),
    ("place_held", gettext_lazy("Where held"), 20),
    ("case_count", gettext_lazy("Number of cases"), 8),
    ("cases", gettext_lazy("Cases"), 30),
    ("custody", gettext_lazy("Custody status"), 30),
]
ANONYMISED_DETAINEE_COLUMNS = [
    ("person", gettext_lazy("Person (pseudonym)"), 16),
    ("sex", gettext_lazy("Sex"), 10),
    ("birth_year", gettext_lazy("Year of birth"), 8),
    ("home_province", gettext_lazy("Home province"), 16),
    ("home_province_code", gettext_lazy("Province code"), 8),
    ("affiliation", gettext_lazy("Political affiliation"), 20),
    ("occupation", gettext_lazy("Occupation"), 18),
    ("case_count", gettext_lazy("Number of cases"), 8),
    ("cases", gettext_lazy("Cases (pseudonyms)"), 30),
    ("custody", gettext_lazy("Custody status"), 30),
]
_DETAINEE_FIELDS = (
    "pk",
    "name_latin",
    "name_khmer",
    "aliases",
    "sex",
    "birth_year",
    "birth_date",
    "home_province__code",
    "home_province__name_en",
    "home_province__name_km",
    "affiliation",
    "former_role",
    "occupation",
    "place_held",
    "case_count",
)


def detainee_columns(anonymised: bool) -> list[tuple]:
    return ANONYMISED_DETAINEE_COLUMNS if anonymised else DETAINEE_COLUMNS


def detainee_rows(queryset, *, user, anonymised: bool) -> Iterator[list]:
    labels = Labels()
    keys = [key for key, _label, _width in detainee_columns(anonymised)]
    rows = queryset.prefetch_related(None).values(*_DETAINEE_FIELDS)
    for chunk in batched(rows.iterator(chunk_size=CHUNK), CHUNK):
        cases = _detainee_cases(user, [row["pk"] for row in chunk])
        for row in chunk:
            mine = cases.get(row["pk"], ())
            values = {
                "sex": labels.sexes.get(row["sex"], row["sex"]),
                "birth_year": row["birth_year"],
                "home_province": local_name(row, "home_province__", labels.khmer),
                "home_province_code": row["home_province__code"] or "",
                "affiliation": row["affiliation"],
                "occupation": row["occupation"],
                "case_count": row["case_count"],
                "custody": "; ".join(
                    dict.fromkeys(labels.custody[c["custody_status"]] for c in mine)
                ),
            }
            if anonymised:
                values["person"] = pseudonym("detainee", row["pk"])
                values["cases"] = "; ".join(pseudonym("case", c["case_id"]) for c in mine)
            else:
                values["person_id"] = row["pk"]
                values["name_latin"] = row["name_latin"]
                values["name_khmer"] = row["name_khmer"]
                values["aliases"] = "; ".join(
                    a.strip() for a in row["aliases"].replace(",", "\n").splitlines() if a.strip()
                )
                values["birth_date"] = row["birth_date"]
                values["former_role"] = row["former_role"]
                values["place_held"] = row["place_held"]
                values["cases"] = "; ".join(c["case__reference"] for c in mine)
            yield [values[key] for key in keys]


def _detainee_cases(user, detainee_ids: list[int]) -> dict:
    """The cases (in the user's scope) of a chunk of people: one query per chunk."""
    cases = defaultdict(list)
    accusations = (
        Accused.objects.filter(
            Q(detainee_id__in=detainee_ids),
            case__in=Case.objects.visible_to(user).values("pk"),
        )
        .order_by("detainee_id", "case__opened_on", "case_id")
        .values("detainee_id", "case_id", "case__reference", "custody_status")
    )
    for row in accusations:
        cases[row["detainee_id"]].append(row)
    return cases
