"""Working out what importing the rows would do, row by row, without writing."""

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Role, User
from casework.models import (
    OPENED_IN_FUTURE,
    Accused,
    Case,
    CaseStatus,
    Charge,
    Court,
    CustodyStatus,
    Detainee,
    Province,
    Sex,
    fold,
)

from .columns import EXAMPLE_PREFIX, LABELS

# --- Looking values up -------------------------------------------------------


def _article(text: str) -> str:
    return re.sub(r"^art\.?", "", fold(text).replace(" ", ""))


class Lookups:
    """Reference data and the records the file names, fetched once per plan."""

    def __init__(self, user, rows: list[dict]):
        self.user = user
        self.provinces = {}
        for province in Province.objects.all():
            for key in (province.code.lower(), fold(province.name_en), fold(province.name_km)):
                if key:
                    self.provinces[key] = province
        self.courts = {}
        for court in Court.objects.all():
            for key in (fold(court.name_en), fold(court.name_km)):
                if key:
                    self.courts[key] = court
        self.charges = {}
        articles = defaultdict(list)
        for charge in Charge.objects.all():
            for key in (fold(charge.name_en), fold(charge.name_km)):
                if key:
                    self.charges[key] = charge
            articles[_article(charge.article)].append(charge)
        self.charges_by_article = {k: v[0] for k, v in articles.items() if len(v) == 1}
        self.statuses = _choice_map(CaseStatus)
        self.custody = _choice_map(CustodyStatus)
        self.sexes = _choice_map(Sex)

        references = {row.get("reference", "").strip() for row in rows} - {""}
        self.cases = {
            case.reference: case
            for case in Case.objects.visible_to(user)
            .filter(reference__in=references)
            .select_related("province", "court", "caseworker")
            .prefetch_related(
                "charges",
                Prefetch("accused", queryset=Accused.objects.select_related("detainee")),
            )
        }
        self.hidden_references = set(
            Case.objects.filter(reference__in=references - set(self.cases)).values_list(
                "reference", flat=True
            )
        )
        usernames = {row.get("caseworker", "").strip() for row in rows} - {""}
        self.caseworkers = {
            u.username: u
            for u in User.objects.filter(username__in=usernames).prefetch_related("provinces")
        }
        ids = set()
        for row in rows:
            value = row.get("person_id", "").strip()
            if value.isdigit():
                ids.add(int(value))
        self.people = {
            person.pk: person
            for person in Detainee.objects.visible_to(user)
            .filter(pk__in=ids)
            .select_related("home_province")
        }
        names = {row.get("name_latin", "").strip().lower() for row in rows} - {""}
        self.namesakes = defaultdict(list)
        for person in (
            Detainee.objects.visible_to(user)
            .annotate(lower_name=Lower("name_latin"))
            .filter(lower_name__in=names)
            .order_by("pk")[:1000]
        ):
            self.namesakes[fold(person.name_latin)].append(person)


def _choice_map(choices) -> dict:
    """A choice by its code, or by its label in English or Khmer, whatever the case."""
    mapping = {}
    for value, label in choices.choices:
        mapping[fold(value)] = value
        mapping[fold(value.replace("_", " "))] = value
        for language in ("en", "km"):
            with translation.override(language):
                mapping[fold(str(label))] = value
    return mapping


# --- Planning ----------------------------------------------------------------


@dataclass
class RowResult:
    number: int
    reference: str = ""
    name: str = ""
    case_text: str = ""
    person_text: str = ""
    accused_text: str = ""
    errors: list = field(default_factory=list)
    notes: list = field(default_factory=list)


@dataclass
class CasePlan:
    reference: str
    instance: Case | None
    first_row: int
    values: dict = field(default_factory=dict)  # field -> (value, shown as, row)
    charges: dict = field(default_factory=dict)  # charge pk -> Charge
    changes: list = field(default_factory=list)
    new_charges: list = field(default_factory=list)

    @property
    def action(self) -> str:
        if self.instance is None:
            return "create"
        return "update" if self.changes or self.new_charges else "unchanged"


@dataclass
class PersonPlan:
    key: tuple
    instance: Detainee | None
    first_row: int
    name_latin: str = ""
    values: dict = field(default_factory=dict)
    aliases: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    new_aliases: list = field(default_factory=list)
    rows: list = field(default_factory=list)

    @property
    def action(self) -> str:
        if self.instance is None:
            return "create"
        return "update" if self.changes or self.new_aliases else "unchanged"


@dataclass
class AccusedPlan:
    case: CasePlan
    person: PersonPlan
    custody_status: str
    row: int
    existing: Accused | None = None


@dataclass
class ImportPlan:
    rows: list
    cases: dict
    people: dict
    accused: list
    summary: dict | None = None

    @property
    def error_count(self) -> int:
        return sum(len(row.errors) for row in self.rows)

    @property
    def rows_with_errors(self) -> int:
        return sum(1 for row in self.rows if row.errors)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def counts(self) -> dict:
        """What the plan does, as counted when it was made (writing it changes the records)."""
        if self.summary is None:
            self.summary = self._count()
        return dict(self.summary)

    def _count(self) -> dict:
        cases = list(self.cases.values())
        people = list(self.people.values())
        return {
            "cases_created": sum(1 for c in cases if c.action == "create"),
            "cases_updated": sum(1 for c in cases if c.action == "update"),
            "cases_unchanged": sum(1 for c in cases if c.action == "unchanged"),
            "people_created": sum(1 for p in people if p.action == "create"),
            "people_updated": sum(1 for p in people if p.action == "update"),
            "people_unchanged": sum(1 for p in people if p.action == "unchanged"),
            "accused_added": sum(1 for a in self.accused if a.existing is None),
        }

    @property
    def changes_anything(self) -> bool:
        counts = self.counts()
        return any(
            counts[key]
            for key in (
                "cases_created",
                "cases_updated",
                "people_created",
                "people_updated",
                "accused_added",
            )
        )

    def digest(self) -> str:
        """What the plan would write, as a hash; the commit refuses a plan unlike the preview's."""
        summary = (
            [
                (
                    c.reference,
                    c.action,
                    [[str(x) for x in ch] for ch in c.changes],
                    sorted(ch.pk for ch in c.new_charges),
                )
                for c in self.cases.values()
            ]
            + [
                (
                    list(map(str, p.key)),
                    p.instance.pk if p.instance else None,
                    p.action,
                    [[str(x) for x in ch] for ch in p.changes],
                    p.new_aliases,
                )
                for p in self.people.values()
            ]
            + [
                (
                    a.case.reference,
                    list(map(str, a.person.key)),
                    a.custody_status,
                    a.existing.pk if a.existing else None,
                )
                for a in self.accused
            ]
        )
        return hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()


def plan_import(rows: list[dict], user) -> ImportPlan:
    """What importing ``rows`` would do, row by row; writes nothing."""
    lookups = Lookups(user, rows)
    plan = ImportPlan(rows=[], cases={}, people={}, accused=[])
    person_keys = {}  # (folded names, birth year) -> PersonPlan, for rows without a number
    pairs = {}  # (case reference, person key) -> row number
    for raw in rows:
        result = RowResult(number=raw["_row"])
        plan.rows.append(result)
        _plan_row(raw, result, plan, lookups, person_keys, pairs)
    by_number = {result.number: result for result in plan.rows}
    for case_plan in plan.cases.values():
        _check_caseworker(case_plan, by_number)
        _case_changes(case_plan)
    for person_plan in plan.people.values():
        _person_changes(person_plan)
    for result in plan.rows:
        _describe(result, plan)
    plan.counts()
    return plan


def _clean(raw: dict, key: str) -> str:
    return " ".join((raw.get(key) or "").split()) if key != "aliases" else raw.get(key) or ""


def _plan_row(raw, result: RowResult, plan, lookups, person_keys, pairs):
    errors = result.errors
    reference = _clean(raw, "reference")
    name_latin = _clean(raw, "name_latin")
    result.reference, result.name = reference, name_latin
    if raw.get("_extra"):
        errors.append(_("This row has values beyond the last named column."))
    if not reference:
        errors.append(_("The NGO reference is empty."))
        return
    if reference.upper().startswith(EXAMPLE_PREFIX):
        errors.append(_("This is the template's example row: delete it before importing."))
        return
    if len(reference) > Case._meta.get_field("reference").max_length:
        errors.append(_("The NGO reference is longer than 40 characters."))
        return
    if reference in lookups.hidden_references:
        errors.append(
            _("The reference %(ref)s is used by a case you cannot see.") % {"ref": reference}
        )
        return

    case_values = _parse_case(raw, result, lookups)
    person_values = _parse_person(raw, result, lookups)
    custody = _choice(raw, "custody_status", lookups.custody, result)

    case_plan = plan.cases.get(reference)
    if case_plan is None:
        case_plan = CasePlan(reference, lookups.cases.get(reference), raw["_row"])
        plan.cases[reference] = case_plan
    _merge(case_plan.values, case_values, result, _("case %(ref)s") % {"ref": reference})
    for charge in case_values.pop("_charges", []):
        case_plan.charges[charge.pk] = charge
    if case_plan.instance is None and "province" not in case_plan.values:
        errors.append(_("A new case needs its province."))

    person_plan = _match_person(raw, result, plan, lookups, person_keys, case_plan, name_latin)
    if person_plan is None:
        return
    aliases = person_values.pop("_aliases", [])
    _merge(person_plan.values, person_values, result, name_latin)
    for alias in aliases:
        if fold(alias) not in {fold(a) for a in person_plan.aliases}:
            person_plan.aliases.append(alias)
    person_plan.rows.append(raw["_row"])

    pair = (reference, person_plan.key)
    if pair in pairs:
        errors.append(
            _("Row %(row)d already puts this person in case %(ref)s.")
            % {"row": pairs[pair], "ref": reference}
        )
        return
    pairs[pair] = raw["_row"]
    existing = None
    if case_plan.instance is not None and person_plan.instance is not None:
        existing = next(
            (
                a
                for a in case_plan.instance.accused.all()
                if a.detainee_id == person_plan.instance.pk
            ),
            None,
        )
    if existing is not None and custody and custody != existing.custody_status:
        result.notes.append(
            _(
                "The custody status on file is “%(now)s”; an import does not change it. Record "
                "what happened as an event on the case page."
            )
            % {"now": existing.get_custody_status_display()}
        )
    plan.accused.append(
        AccusedPlan(case_plan, person_plan, custody or CustodyStatus.UNKNOWN, raw["_row"], existing)
    )


def _merge(target: dict, values: dict, result: RowResult, what: str):
    """Values of one record given on several rows must agree."""
    for key, given in values.items():
        if key.startswith("_"):
            continue
        value, shown = given
        if key in target and target[key][0] != value:
            result.errors.append(
                _("%(field)s of %(what)s is “%(new)s” here but “%(old)s” on row %(row)d.")
                % {
                    "field": LABELS[key],
                    "what": what,
                    "new": shown,
                    "old": target[key][1],
                    "row": target[key][2],
                }
            )
            continue
        target.setdefault(key, (value, shown, result.number))


def _choice(raw, key, mapping, result):
    text = _clean(raw, key)
    if not text:
        return None
    value = mapping.get(fold(text))
    if value is None:
        result.errors.append(
            _("%(field)s “%(value)s” is not one Casework knows. Use one of: %(choices)s.")
            % {
                "field": LABELS[key],
                "value": text,
                "choices": ", ".join(sorted(set(mapping.values()))),
            }
        )
    return value


def _date(raw, key, result):
    text = _clean(raw, key)
    if not text:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        result.errors.append(
            _("%(field)s “%(value)s” is not a date written as YYYY-MM-DD (e.g. 2026-03-02).")
            % {"field": LABELS[key], "value": text}
        )
        return None


def _province(raw, key, lookups, result):
    text = _clean(raw, key)
    if not text:
        return None
    province = lookups.provinces.get(text.lower()) or lookups.provinces.get(fold(text))
    if province is None:
        result.errors.append(
            _(
                "%(field)s “%(value)s” is not a province Casework knows. Use the ISO code "
                "(e.g. KH-2) or the name as the app shows it (e.g. Battambang)."
            )
            % {"field": LABELS[key], "value": text}
        )
    return province


def _text(raw, key, model, field_name, result):
    text = _clean(raw, key)
    limit = model._meta.get_field(field_name).max_length
    if limit and len(text) > limit:
        result.errors.append(
            _("%(field)s is %(n)d characters long; at most %(max)d fit.")
            % {"field": LABELS[key], "n": len(text), "max": limit}
        )
        return ""
    return text


def _parse_case(raw, result, lookups) -> dict:
    values = {}
    for key in ("court_case_number", "title"):
        text = _text(raw, key, Case, key, result)
        if text:
            values[key] = (text, text)
    province = _province(raw, "province", lookups, result)
    if province:
        values["province"] = (province, province.name_en)
    court_text = _clean(raw, "court")
    if court_text:
        court = lookups.courts.get(fold(court_text))
        if court is None:
            result.errors.append(
                _(
                    "Court “%(value)s” is not one Casework knows. Use the court's name as the "
                    "app lists it."
                )
                % {"value": court_text}
            )
        else:
            values["court"] = (court, court.name_en)
    status = _choice(raw, "status", lookups.statuses, result)
    if status:
        values["status"] = (status, status)
    opened = _date(raw, "opened_on", result)
    if opened:
        if opened > timezone.localdate():
            result.errors.append(OPENED_IN_FUTURE)  # the model's rule, in its words
        else:
            values["opened_on"] = (opened, opened.isoformat())
    username = _clean(raw, "caseworker")
    if username:
        worker = lookups.caseworkers.get(username)
        if worker is None or not worker.is_active or worker.role != Role.CASEWORKER:
            result.errors.append(
                _("“%(name)s” is not the user name of an active caseworker.") % {"name": username}
            )
        else:
            values["caseworker"] = (worker, username)
    charges = []
    for part in (raw.get("charges") or "").split(";"):
        part = " ".join(part.split())
        if not part:
            continue
        charge = lookups.charges.get(fold(part)) or lookups.charges_by_article.get(_article(part))
        if charge is None:
            result.errors.append(
                _(
                    "Charge “%(value)s” is not one Casework knows. Use the article (e.g. "
                    "Art. 453) or the charge's name."
                )
                % {"value": part}
            )
        else:
            charges.append(charge)
    values["_charges"] = charges
    return values


def _parse_person(raw, result, lookups) -> dict:
    values = {}
    name_latin = _clean(raw, "name_latin")
    if not name_latin and not _clean(raw, "person_id"):
        result.errors.append(_("The name in Latin script is empty."))
    elif len(name_latin) > Detainee._meta.get_field("name_latin").max_length:
        result.errors.append(_("The name in Latin script is longer than 200 characters."))
    for key in ("name_khmer", "affiliation", "former_role", "occupation"):
        text = _text(raw, key, Detainee, key, result)
        if text:
            values[key] = (text, text)
    sex = _choice(raw, "sex", lookups.sexes, result)
    if sex:
        values["sex"] = (sex, sex)
    year_text = _clean(raw, "birth_year")
    year = None
    if year_text:
        if not year_text.isdigit() or not 1900 <= int(year_text) <= 2100:
            result.errors.append(
                _("Year of birth “%(value)s” is not a year between 1900 and 2100.")
                % {"value": year_text}
            )
        else:
            year = int(year_text)
            values["birth_year"] = (year, year_text)
    born = _date(raw, "birth_date", result)
    if born:
        if year and born.year != year:
            result.errors.append(_("The date of birth is not in the year of birth given."))
        else:
            values["birth_date"] = (born, born.isoformat())
            values.setdefault("birth_year", (born.year, str(born.year)))
    province = _province(raw, "home_province", lookups, result)
    if province:
        values["home_province"] = (province, province.name_en)
    values["_aliases"] = [
        " ".join(a.split()) for a in (raw.get("aliases") or "").split(";") if a.strip()
    ]
    return values


def _match_person(raw, result, plan, lookups, person_keys, case_plan, name_latin):
    errors = result.errors
    number_text = _clean(raw, "person_id")
    year = _clean(raw, "birth_year")
    key_names = (fold(name_latin), fold(_clean(raw, "name_khmer")), year)
    instance = None
    if number_text:
        if not number_text.isdigit() or int(number_text) not in lookups.people:
            errors.append(_("There is no person number %(n)s on file.") % {"n": number_text})
            return None
        instance = lookups.people[int(number_text)]
        known = {fold(instance.name_latin), *(fold(a) for a in instance.alias_list)}
        if name_latin and fold(name_latin) not in known:
            errors.append(
                _("Person number %(n)s is “%(name)s” on file, not “%(given)s”: check the number.")
                % {"n": number_text, "name": instance.name_latin, "given": name_latin}
            )
            return None
        name_latin = name_latin or instance.name_latin
    elif not name_latin:
        return None
    elif case_plan.instance is not None:
        same = [
            a.detainee
            for a in case_plan.instance.accused.all()
            if fold(a.detainee.name_latin) == fold(name_latin)
        ]
        if len(same) > 1:
            errors.append(
                _("Case %(ref)s has %(n)d people called “%(name)s”: give the person number.")
                % {"ref": case_plan.reference, "n": len(same), "name": name_latin}
            )
            return None
        instance = same[0] if same else None
    if instance is not None:
        key = ("id", instance.pk)
        person_plan = plan.people.get(key)
        if person_plan is None:
            person_plan = PersonPlan(key, instance, raw["_row"], name_latin=instance.name_latin)
            plan.people[key] = person_plan
        person_keys.setdefault(key_names, person_plan)
        return person_plan
    person_plan = person_keys.get(key_names)
    if person_plan is None:
        person_plan = PersonPlan(("new", raw["_row"]), None, raw["_row"], name_latin=name_latin)
        plan.people[person_plan.key] = person_plan
        person_keys[key_names] = person_plan
        namesakes = lookups.namesakes.get(fold(name_latin), [])
        if namesakes:
            result.notes.append(
                _(
                    "Someone called “%(name)s” is already on file (person number %(ids)s). If it "
                    "is the same person, put the number in the person_id column."
                )
                % {"name": name_latin, "ids": ", ".join(str(p.pk) for p in namesakes[:5])}
            )
    return person_plan


CHOICE_LABELS = {"status": CaseStatus, "sex": Sex}


def _display(value, key: str = "") -> str:
    if value is None or value == "":
        return "—"
    if key in CHOICE_LABELS:
        return str(dict(CHOICE_LABELS[key].choices).get(value, value))
    if hasattr(value, "name_en"):
        return value.name_en
    return str(value)


def _check_caseworker(case_plan: CasePlan, by_number: dict):
    """As the assign form: a caseworker only takes cases in a province they work in."""
    if "caseworker" not in case_plan.values:
        return
    worker, username, row = case_plan.values["caseworker"]
    if "province" in case_plan.values:
        province = case_plan.values["province"][0]
    elif case_plan.instance is not None:
        province = case_plan.instance.province
    else:
        return  # already an error: a new case without its province
    if province.pk not in {p.pk for p in worker.provinces.all()}:
        by_number[row].errors.append(
            _("%(name)s does not work in %(province)s, so cannot be assigned this case.")
            % {"name": username, "province": province.name}
        )


def _case_changes(case_plan: CasePlan):
    case = case_plan.instance
    if case is None:
        case_plan.new_charges = list(case_plan.charges.values())
        return
    for key, (value, _shown, _row) in case_plan.values.items():
        current = getattr(case, key)
        if current != value:
            case_plan.changes.append((key, _display(current, key), _display(value, key)))
    have = {charge.pk for charge in case.charges.all()}
    case_plan.new_charges = [c for pk, c in case_plan.charges.items() if pk not in have]


def _person_changes(person_plan: PersonPlan):
    person = person_plan.instance
    if person is None:
        own = fold(person_plan.name_latin)
        person_plan.new_aliases = [a for a in person_plan.aliases if fold(a) != own]
        return
    for key, (value, _shown, _row) in person_plan.values.items():
        current = getattr(person, key)
        if current != value:
            person_plan.changes.append((key, _display(current, key), _display(value, key)))
    have = {fold(a) for a in person.alias_list} | {fold(person.name_latin)}
    person_plan.new_aliases = [a for a in person_plan.aliases if fold(a) not in have]


def _changes_text(changes, extra=()) -> str:
    parts = [f"{LABELS[key]}: {old} → {new}" for key, old, new in changes]
    return "; ".join([*parts, *extra])


def _describe(result: RowResult, plan: ImportPlan):
    """The row's outcome in plain words, for the preview."""
    if result.errors:
        return
    accused = next((a for a in plan.accused if a.row == result.number), None)
    if accused is None:
        return
    case_plan, person_plan = accused.case, accused.person
    if case_plan.first_row != result.number:
        result.case_text = _("Same case as row %(row)d.") % {"row": case_plan.first_row}
    elif case_plan.action == "create":
        result.case_text = _("New case.")
    elif case_plan.action == "update":
        extra = (
            [_("charges added: %(c)s") % {"c": ", ".join(str(c) for c in case_plan.new_charges)}]
            if case_plan.new_charges
            else []
        )
        result.case_text = _("Case on file, changed: %(changes)s.") % {
            "changes": _changes_text(case_plan.changes, extra)
        }
    else:
        result.case_text = _("Case on file, unchanged.")
    if person_plan.first_row != result.number:
        result.person_text = _("Same person as row %(row)d.") % {"row": person_plan.first_row}
    elif person_plan.action == "create":
        result.person_text = _("New person.")
    elif person_plan.action == "update":
        extra = (
            [_("aliases added: %(a)s") % {"a": ", ".join(person_plan.new_aliases)}]
            if person_plan.new_aliases
            else []
        )
        result.person_text = _("Person number %(n)d, changed: %(changes)s.") % {
            "n": person_plan.instance.pk,
            "changes": _changes_text(person_plan.changes, extra),
        }
    else:
        result.person_text = _("Person number %(n)d, unchanged.") % {"n": person_plan.instance.pk}
    if accused.existing is None:
        result.accused_text = _("Added to the case.")
    else:
        result.accused_text = _("Already in the case.")
