"""Small builders for test data. Every person here is fictional."""

import datetime as dt
import itertools

from django.utils import timezone

from accounts.models import Role, User
from casework.models import (
    Accused,
    BailRequest,
    Case,
    Charge,
    Court,
    CustodyPeriod,
    Detainee,
    DetentionLimit,
    Event,
    Hearing,
    Lawyer,
    Province,
    Representation,
)

_counter = itertools.count(1)


def shipped_charges(*positions: int) -> list[int]:
    """Ids of the shipped charges by position (1: the first by id). A transactional
    test's flush reloads the reference data, and the ids then move on (PostgreSQL does
    not restart them), so tests name charges by position, not by id."""
    ids = list(Charge.objects.order_by("pk").values_list("pk", flat=True))
    return [ids[n - 1] for n in positions]


def province(code: str) -> Province:
    return Province.objects.get(code=code)


def court_of(code: str) -> Court:
    return Court.objects.get(province__code=code, level="first_instance")


def make_user(username: str, role: str = Role.CASEWORKER, provinces=(), **extra) -> User:
    user = User.objects.create_user(
        username=username, password="a-long-test-password", role=role, **extra
    )
    if provinces:
        user.provinces.set(Province.objects.filter(code__in=provinces))
    return user


def make_detainee(name: str = "", **fields) -> Detainee:
    n = next(_counter)
    fields.setdefault("name_latin", name or f"Test Person {n}")
    return Detainee.objects.create(**fields)


def make_case(province_code: str = "KH-2", caseworker=None, accused=(), **fields) -> Case:
    n = next(_counter)
    fields.setdefault("reference", f"T-{n:05d}")
    fields.setdefault("court", court_of(province_code))
    case = Case.objects.create(province=province(province_code), caseworker=caseworker, **fields)
    for person in accused:
        Accused.objects.create(case=case, detainee=person)
    return case


def add_accused(case: Case, detainee=None, **fields) -> Accused:
    return Accused.objects.create(case=case, detainee=detainee or make_detainee(), **fields)


def make_hearing(case: Case, days_from_now: int = 3, **fields) -> Hearing:
    fields.setdefault("kind", Hearing.Kind.TRIAL)
    fields.setdefault("court", case.court)
    fields.setdefault("scheduled_at", timezone.now() + dt.timedelta(days=days_from_now))
    return Hearing.objects.create(case=case, **fields)


def make_bail(accused: Accused, **fields) -> BailRequest:
    fields.setdefault("court", accused.case.court)
    fields.setdefault("filed_on", timezone.localdate() - dt.timedelta(days=10))
    return BailRequest.objects.create(accused=accused, **fields)


def make_lawyer(name: str = "", **fields) -> Lawyer:
    n = next(_counter)
    return Lawyer.objects.create(name=name or f"Lawyer {n}", **fields)


def represent(lawyer: Lawyer, accused: Accused, **fields) -> Representation:
    if fields.get("until"):
        fields.setdefault("end_reason", Representation.EndReason.WITHDREW)
    return Representation.objects.create(lawyer=lawyer, accused=accused, **fields)


def hold(accused: Accused, limit_code: str = "pretrial-felony", days_ago: int = 30, **fields):
    fields.setdefault("started_at", timezone.now() - dt.timedelta(days=days_ago))
    return CustodyPeriod.objects.create(
        accused=accused, limit=DetentionLimit.objects.get(code=limit_code), **fields
    )


def make_event(case: Case, kind: str = Event.Kind.ARRESTED, **fields) -> Event:
    fields.setdefault("occurred_on", timezone.localdate())
    return Event.objects.create(case=case, kind=kind, **fields)


def form_data(response, key: str = "form") -> dict:
    """What a browser posts back from the form on ``response``, untouched: every field
    as rendered, the hidden version and the base the form was opened with included."""

    form = response.context[key]
    if hasattr(form, "management_form"):  # a formset: its management form and each form
        data = _fields_data(form.management_form)
        for each in form:
            data.update(_fields_data(each))
        return data
    return _fields_data(getattr(form, "form", form))  # the admin's AdminForm wraps its form


def _fields_data(form) -> dict:
    from django import forms

    data = {}
    for bound in form:
        widget, value = bound.field.widget, bound.value()
        if isinstance(widget, forms.MultiWidget):  # the admin's date and time, posted apart
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            for suffix, sub, part in zip(widget.widgets_names, widget.widgets, parts, strict=True):
                shown = sub.format_value(part)
                data[bound.html_name + suffix] = "" if shown is None else str(shown)
            continue
        if isinstance(widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
            continue
        shown = widget.format_value(value)
        if isinstance(widget, forms.SelectMultiple | forms.CheckboxSelectMultiple):
            data[bound.html_name] = [str(v) for v in shown or []]
        elif isinstance(shown, list):
            data[bound.html_name] = shown[0] if shown else ""
        else:
            data[bound.html_name] = "" if shown is None else str(shown)
    return data


def opened_form(client, url: str, key: str = "form") -> dict:
    """Open an edit page as its user would, and return what its form would post."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return form_data(response, key)


def charge_pk(n: int) -> int:
    """The n-th charge of the reference data (1-based, in id order): ids are not fixed,
    since a test that empties the database reloads the reference data with new ones."""
    return Charge.objects.order_by("pk").values_list("pk", flat=True)[n - 1]
