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

from django.db.models import Q
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from casework.models import IN_CUSTODY, Accused, Case, CaseStatus, CustodyStatus, Sex

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
    name_km = row.get(f"{prefix}name_km")
    if khmer and name_km:
        return name_km
    return row.get(f"{prefix}name_en") or ""


class Labels:
    """Translated once per export, not once per row."""

    def __init__(self):
        self.khmer = (get_language() or "").startswith("km")
        self.statuses = {value: str(label) for value, label in CaseStatus.choices}
        self.custody = {value: str(label) for value, label in CustodyStatus.choices}
        self.sexes = {value: str(label) for value, label in Sex.choices}
        self.yes, self.no = _("yes"), _("no")


def _person_name(latin: str, khmer: str) -> str:
    return f"{latin} ({khmer})" if khmer else latin


def _staff_name(row: dict, prefix: str) -> str:
    if not row.get(f"{prefix}username"):
        return ""
    full = f"{row[f'{prefix}first_name']} {row[f'{prefix}last_name']}".strip()
    return full or row[f"{prefix}username"]


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
    ("updated_at", gettext_lazy("Last update"), 17),
]
_CASE_FIELDS = (
    "pk",
    "reference",
    "court_case_number",
    "title",
    "province__code",
    "province__name_en",
    "province__name_km",
    "court__name_en",
    "court__name_km",
    "status",
    "opened_on",
    "caseworker_id",
    "caseworker__username",
    "caseworker__first_name",
    "caseworker__last_name",
    "next_hearing",
    "flagged",
    "updated_at",
)


def case_columns(anonymised: bool) -> list[tuple]:
    return ANONYMISED_CASE_COLUMNS if anonymised else CASE_COLUMNS


def case_rows(queryset, *, anonymised: bool) -> Iterator[list]:
    """One list of values per case, in the queryset's order."""
    labels = Labels()
    keys = [key for key, _label, _width in case_columns(anonymised)]
    rows = queryset.prefetch_related(None).values(*_CASE_FIELDS)
    for chunk in batched(rows.iterator(chunk_size=CHUNK), CHUNK):
        accused, charges = _case_extras([row["pk"] for row in chunk], labels)
        for row in chunk:
            people = accused.get(row["pk"], ())
            values = {
                "province": local_name(row, "province__", labels.khmer),
                "province_code": row["province__code"],
                "court": local_name(row, "court__", labels.khmer),
                "status": labels.statuses.get(row["status"], row["status"]),
                "opened_on": row["opened_on"],
                "accused_count": len(people),
                "in_custody": sum(1 for p in people if p["custody_status"] in IN_CUSTODY),
                "charges": charges.get(row["pk"], ""),
                "next_hearing": row["next_hearing"],
                "near_limit": labels.yes if row["flagged"] else labels.no,
                "updated_at": row["updated_at"],
            }
            if anonymised:
                values["case"] = pseudonym("case", row["pk"])
                values["caseworker"] = pseudonym("user", row["caseworker_id"])
                values["accused"] = "; ".join(
                    pseudonym("detainee", p["detainee_id"]) for p in people
                )
            else:
                values["reference"] = row["reference"]
                values["court_case_number"] = row["court_case_number"]
                values["title"] = row["title"]
                values["caseworker"] = _staff_name(row, "caseworker__")
                values["accused"] = "; ".join(
                    _person_name(p["detainee__name_latin"], p["detainee__name_khmer"])
                    for p in people
                )
            yield [values[key] for key in keys]


def _case_extras(case_ids: list[int], labels: Labels) -> tuple[dict, dict]:
    """The accused and the charges of a chunk of cases: two queries per chunk."""
    accused = defaultdict(list)
    for row in (
        Accused.objects.filter(case_id__in=case_ids)
        .order_by("case_id", "pk")
        .values(
            "case_id",
            "detainee_id",
            "detainee__name_latin",
            "detainee__name_khmer",
            "custody_status",
        )
    ):
        accused[row["case_id"]].append(row)
    charges = defaultdict(list)
    through = Case.charges.through.objects.filter(case_id__in=case_ids).order_by(
        "case_id", "charge__article", "charge_id"
    )
    for row in through.values("case_id", "charge__article", "charge__name_en", "charge__name_km"):
        name = local_name(row, "charge__", labels.khmer)
        charges[row["case_id"]].append(f"{row['charge__article']} {name}")
    return accused, {case_id: "; ".join(names) for case_id, names in charges.items()}


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
