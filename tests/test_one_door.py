"""One door for every write (docs/architecture.md): the pages, the Django admin and
the importer save through casework.services, with the same rules, effects and audit
entries; an edit never overwrites what its editor did not change."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEntry, AuditEvent
from casework import services
from casework.admin import ServiceAdmin
from casework.models import (
    Accused,
    BailRequest,
    Case,
    CustodyPeriod,
    Detainee,
    Event,
    Hearing,
    Lawyer,
    Representation,
)
from casework.querysets import warning_cutoff
from casework.selectors import flagged_case_ids, near_limit_periods
from config import settings as config_settings
from config.settings import env_bool
from reports.figures import Period, Report

from . import factories as f
from .conftest import _client_for
from .factories import opened_form

ROOT = Path(__file__).resolve().parent.parent


def past(days):
    return (timezone.localdate() - dt.timedelta(days=days)).isoformat()


def admin_url(obj):
    return f"/admin/casework/{obj._meta.model_name}/{obj.pk}/change/"


# --- The admin's saves go through the services ---------------------------------------


def test_every_domain_admin_saves_and_deletes_through_the_services():
    methods = ["save_model", "save_formset", "save_related", "delete_model", "delete_queryset"]
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "casework":
            continue
        assert isinstance(model_admin, ServiceAdmin), model.__name__
        for name in methods:
            mine = getattr(type(model_admin), name)
            assert mine is not getattr(ModelAdmin, name), f"{model.__name__}.{name}"
            assert mine is getattr(ServiceAdmin, name), f"{model.__name__}.{name} overridden"


def test_an_admin_correction_survives_a_stale_page_form(admin_client_, caseworker_client, own_case):
    person = own_case.accused.first().detainee
    page = f"/detainees/{person.pk}/edit/"
    stale = opened_form(caseworker_client, page)
    in_admin = opened_form(admin_client_, admin_url(person), "adminform")
    response = admin_client_.post(admin_url(person), {**in_admin, "occupation": "Teacher"})
    assert response.status_code == 302
    assert caseworker_client.post(page, {**stale, "notes": "Seen in court"}).status_code == 302
    person.refresh_from_db()
    assert (person.occupation, person.notes) == ("Teacher", "Seen in court")
    assert person.version == 3  # the admin's save counts as a save


def test_a_page_edit_survives_a_stale_admin_form(admin_client_, caseworker_client, own_case):
    person = own_case.accused.first().detainee
    page = f"/detainees/{person.pk}/edit/"
    in_admin = opened_form(admin_client_, admin_url(person), "adminform")
    fresh = opened_form(caseworker_client, page)
    assert caseworker_client.post(page, {**fresh, "notes": "Seen in court"}).status_code == 302
    response = admin_client_.post(admin_url(person), {**in_admin, "occupation": "Teacher"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.occupation, person.notes) == ("Teacher", "Seen in court")


def test_the_admin_shows_a_conflict_side_by_side_and_saves_nothing(
    admin_client_, caseworker_client, own_case
):
    person = own_case.accused.first().detainee
    page = f"/detainees/{person.pk}/edit/"
    in_admin = opened_form(admin_client_, admin_url(person), "adminform")
    fresh = opened_form(caseworker_client, page)
    caseworker_client.post(page, {**fresh, "occupation": "Farmer"})
    response = admin_client_.post(admin_url(person), {**in_admin, "occupation": "Teacher"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="conflict"' in body and "Farmer" in body and "Teacher" in body
    person.refresh_from_db()
    assert person.occupation == "Farmer"


@pytest.mark.parametrize("decision", ["granted", "denied"])
def test_a_bail_decision_in_the_admin_has_the_pages_effect(
    admin_client_, caseworker_client, own_case, other_case, decision
):
    """The same decision entered in the admin (own_case) and on the page (other_case)."""
    results = []
    for case, client, url_of in [
        (own_case, admin_client_, admin_url),
        (other_case, None, lambda b: f"/bail-requests/{b.pk}/decide/"),
    ]:
        accused = case.accused.first()
        accused.custody_status = "pretrial_detention"
        accused.save()
        if not accused.custody_periods.exists():
            f.hold(accused, days_ago=20)
        bail = f.make_bail(accused, filed_on=past(5), grounds="Health")
        if client is None:
            client = _client_for(case.caseworker)
        key = "adminform" if client is admin_client_ else "form"
        data = {**opened_form(client, url_of(bail), key), "decision": decision}
        data["decided_on"] = past(1)
        assert client.post(url_of(bail), data).status_code == 302
        accused.refresh_from_db()
        bail.refresh_from_db()
        results.append(
            (
                accused.custody_status,
                accused.custody_periods.filter(ended_at__isnull=True).count(),
                Event.objects.filter(accused=accused, kind="released_on_bail").count(),
                bail.grounds,
            )
        )
    assert results[0] == results[1]
    released = decision == "granted"
    assert results[0] == (
        "released_on_bail" if released else "pretrial_detention",
        0 if released else 1,
        1 if released else 0,
        "Health",
    )


# --- The importer goes through the services -------------------------------------------


def test_an_import_writes_through_the_services(admin_client_, caseworker, monkeypatch):
    from .test_import import GOOD, confirm, csv_file, preview

    calls = []
    for name in ["case_create", "detainee_create", "accused_add"]:
        original = getattr(services, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(services, name, spy)
    response = preview(admin_client_, csv_file(GOOD))
    assert confirm(admin_client_, response).status_code == 302
    assert {"case_create", "detainee_create", "accused_add"} <= set(calls)
    assert Accused.objects.count() == calls.count("accused_add")


# --- Bail requests keep their history -------------------------------------------------


def test_bail_grounds_survive_the_decision_and_are_shown(caseworker_client, own_case):
    accused = own_case.accused.first()
    response = caseworker_client.post(
        f"/cases/{own_case.pk}/bail-requests/new/",
        {
            "accused": accused.pk,
            "filed_on": past(3),
            "court": own_case.court_id,
            "grounds": "Poor health, family in town",
        },
    )
    assert response.status_code == 302
    bail = BailRequest.objects.get(accused=accused)
    url = f"/bail-requests/{bail.pk}/decide/"
    form = opened_form(caseworker_client, url)
    assert form["reasons"] == ""  # the grounds are not offered as the court's reasons
    decided = {
        **form,
        "decision": "granted",
        "decided_on": past(1),
        "reasons": "No risk of flight",
        "conditions": "Report weekly",
    }
    assert caseworker_client.post(url, decided).status_code == 302
    bail.refresh_from_db()
    assert bail.grounds == "Poor health, family in town"
    assert (bail.reasons, bail.conditions) == ("No risk of flight", "Report weekly")
    for page in [f"/cases/{own_case.pk}/", f"/detainees/{accused.detainee_id}/"]:
        body = caseworker_client.get(page).content.decode()
        assert "Poor health, family in town" in body and "No risk of flight" in body, page


def test_an_appeal_links_to_the_decision_and_back(caseworker_client, own_case):
    accused = own_case.accused.first()
    first = f.make_bail(accused, filed_on=past(9), decision="denied", decided_on=past(8))
    appeal = f.make_bail(accused, filed_on=past(5), appeal_of=first)
    body = caseworker_client.get(f"/cases/{own_case.pk}/").content.decode()
    assert f'href="/cases/{own_case.pk}/#bail-{first.pk}"' in body
    assert f'href="/cases/{own_case.pk}/#bail-{appeal.pk}"' in body


def test_the_bail_migration_keeps_every_text(transactional_db):
    """0009: a pending request's single text becomes its grounds, a decided one's its
    reasons; rolled back, the texts come back to the one field."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    call_command("migrate", "casework", "0008_custodyperiod_case_required", verbosity=0)
    old = (
        MigrationExecutor(connection)
        .loader.project_state(("casework", "0008_custodyperiod_case_required"))
        .apps
    )
    Bail = old.get_model("casework", "BailRequest")
    Case_ = old.get_model("casework", "Case")
    Accused_ = old.get_model("casework", "Accused")
    province = old.get_model("casework", "Province").objects.get(code="KH-2")
    court = old.get_model("casework", "Court").objects.filter(province=province).first()
    person = old.get_model("casework", "Detainee").objects.create(name_latin="Mig Person")
    case = Case_.objects.create(reference="MIG-1", province=province)
    accused = Accused_.objects.create(case=case, detainee=person)
    Bail.objects.create(
        case=case, accused=accused, court=court, filed_on="2026-01-02", reasons="Grounds A"
    )
    Bail.objects.create(
        case=case,
        accused=accused,
        court=court,
        filed_on="2026-01-02",
        decision="denied",
        decided_on="2026-01-05",
        reasons="Reasons B",
    )
    call_command("migrate", "casework", verbosity=0)
    texts = set(BailRequest.objects.values_list("decision", "grounds", "reasons"))
    assert texts == {("pending", "Grounds A", ""), ("denied", "", "Reasons B")}


# --- One definition of "near or past the legal limit" ----------------------------------


def _period_running_out_in(case, days: int, hour: int = 23):
    accused = case.accused.first()
    period = accused.custody_periods.get(ended_at__isnull=True)
    day = timezone.localdate() + dt.timedelta(days=days)
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 30)))
    CustodyPeriod.objects.filter(pk=period.pk).update(runs_out_at=moment)
    period.refresh_from_db()
    return period


def _flag_everywhere(client, admin_user, case, period) -> dict:
    listed = client.get("/cases/?limit=near").context["page"].object_list
    report = Report(admin_user, Period(timezone.localdate(), timezone.localdate()))
    return {
        "case page badge": "badge-near" in client.get(f"/cases/{case.pk}/").content.decode(),
        "property": period.is_near_limit,
        "list filter": case.pk in {c.pk for c in listed},
        "dashboard": period.pk in {p.pk for p in near_limit_periods(admin_user)},
        "exports": case.pk in set(flagged_case_ids().values_list("case_id", flat=True)),
        "reports": report.held_now()["summary"]["near"] == 1,
    }


@pytest.mark.parametrize(
    ("days", "setting", "flagged"),
    [
        (13, 14, True),
        (14, 14, True),
        (15, 14, False),
        (7, 7, True),
        (8, 7, False),
    ],
)
def test_the_near_limit_cut_off_is_the_same_everywhere(
    admin_client_, admin_user, own_case, settings, days, setting, flagged
):
    settings.DETENTION_WARNING_DAYS = setting
    period = _period_running_out_in(own_case, days)
    seen = _flag_everywhere(admin_client_, admin_user, own_case, period)
    assert seen == dict.fromkeys(seen, flagged)


def test_the_filter_label_says_the_cut_off_applied(admin_client_, settings):
    settings.DETENTION_WARNING_DAYS = 7
    body = admin_client_.get("/cases/").content.decode()
    assert "within 7 days of the legal limit" in body
    assert "within 14 days" not in body


def test_the_cut_off_is_the_end_of_the_local_day():
    cutoff = timezone.localtime(warning_cutoff(3))
    assert cutoff.time() == dt.time(0, 0)
    assert cutoff.date() == timezone.localdate() + dt.timedelta(days=4)


# --- Settings refuse typos -------------------------------------------------------------


@pytest.mark.parametrize("typed", ["ture", "y", "enabled", "2"])
def test_a_mistyped_boolean_is_refused(monkeypatch, typed):
    monkeypatch.setattr(config_settings, "TEST_RUNNER_PROCESS", False)  # read it, as in production
    monkeypatch.setenv("CASEWORK_TEST_SWITCH", typed)
    with pytest.raises(ImproperlyConfigured, match="CASEWORK_TEST_SWITCH"):
        env_bool("CASEWORK_TEST_SWITCH")


@pytest.mark.parametrize(
    ("typed", "value"), [("1", True), ("Yes", True), ("off", False), ("", True)]
)
def test_accepted_spellings(monkeypatch, typed, value):
    monkeypatch.setattr(config_settings, "TEST_RUNNER_PROCESS", False)  # read it, as in production
    monkeypatch.setenv("CASEWORK_TEST_SWITCH", typed)
    assert env_bool("CASEWORK_TEST_SWITCH", default=True) is value


@pytest.mark.parametrize("variable", ["SECURE_SSL_REDIRECT", "TWO_FACTOR_ENFORCED", "DEBUG"])
def test_a_mistyped_security_switch_stops_the_start(variable):
    env = {"PATH": os.environ["PATH"], "HOME": str(ROOT)}
    env |= {"DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings", variable: "ture"}
    run = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert variable in run.stderr and "'ture'" in run.stderr


# --- Every service leaves its audit entry ----------------------------------------------


def _latest_change(obj):
    return (
        AuditEntry.objects.filter(
            event=AuditEvent.CHANGE,
            content_type__model=obj._meta.model_name,
            object_id=obj.pk,
        )
        .order_by("-id")
        .first()
    )


def _bail(case):
    return f.make_bail(case.accused.first(), filed_on=past(4))


SERVICE_CALLS = {
    "case_update": lambda actor, case: (
        services.case_update(actor=actor, case=_set(case, summary="New summary")),
        case,
        "summary",
    ),
    "case_change_status": lambda actor, case: (
        services.case_change_status(
            actor=actor, case=case, status="charged", occurred_on=timezone.localdate()
        ),
        case,
        "status",
    ),
    "case_assign": lambda actor, case: (
        services.case_assign(actor=actor, case=case, caseworker=None),
        case,
        "caseworker",
    ),
    "detainee_update": lambda actor, case: (
        services.detainee_update(
            actor=actor, detainee=_set(case.accused.first().detainee, occupation="Farmer")
        ),
        case.accused.first().detainee,
        "occupation",
    ),
    "hearing_update": lambda actor, case: (
        services.hearing_update(actor=actor, hearing=_set(case.hearings.first(), notes="N")),
        case.hearings.first(),
        "notes",
    ),
    "hearing_record": lambda actor, case: _created(
        services.hearing_record(
            actor=actor,
            hearing=Hearing(case=case, court=case.court, kind="trial", scheduled_at=timezone.now()),
        ),
        "kind",
    ),
    "bail_file": lambda actor, case: _created(
        services.bail_file(
            actor=actor,
            bail=BailRequest(
                accused=case.accused.first(), court=case.court, filed_on=timezone.localdate()
            ),
        ),
        "filed_on",
    ),
    "bail_decide": lambda actor, case: (
        services.bail_decide(
            actor=actor,
            bail=_set(_bail(case), decision="denied", decided_on=timezone.localdate()),
        ),
        BailRequest.objects.filter(case=case).first(),
        "decision",
    ),
    "event_record": lambda actor, case: _created(
        services.event_record(
            actor=actor,
            event=Event(case=case, kind="threatened", occurred_on=timezone.localdate()),
        ),
        "kind",
    ),
    "accused_add": lambda actor, case: _created(
        services.accused_add(actor=actor, case=case, detainee=f.make_detainee("Added One")),
        "detainee",
    ),
    "lawyer_assign": lambda actor, case: _created(
        services.lawyer_assign(
            actor=actor,
            representation=Representation(
                lawyer=Lawyer(name="New Lawyer"), accused=case.accused.first()
            ),
        ),
        "lawyer",
    ),
    "representation_end": lambda actor, case: (
        services.representation_end(
            actor=actor,
            representation=f.represent(f.make_lawyer(), case.accused.first()),
            until=timezone.localdate(),
            reason="withdrew",
        ),
        Representation.objects.latest("pk"),
        "until",
    ),
}


def _set(obj, **values):
    for name, value in values.items():
        setattr(obj, name, value)
    return obj


def _created(obj, field):
    return obj, obj, field


@pytest.mark.parametrize("name", sorted(SERVICE_CALLS))
def test_every_service_leaves_an_entry_with_actor_object_and_changes(coordinator, own_case, name):
    _result, obj, field = SERVICE_CALLS[name](coordinator, own_case)
    entry = _latest_change(obj)
    assert entry is not None, name
    assert entry.actor == coordinator
    assert entry.object_id == obj.pk
    assert field in entry.changes_dict, entry.changes_dict


def test_deleting_in_the_admin_leaves_an_entry(admin_client_, admin_user, own_case):
    hearing = own_case.hearings.first()
    url = f"/admin/casework/hearing/{hearing.pk}/delete/"
    assert admin_client_.post(url, {"post": "yes"}).status_code == 302
    entry = AuditEntry.objects.filter(content_type__model="hearing", object_id=hearing.pk).latest(
        "id"
    )
    assert entry.action == AuditEntry.Action.DELETE and entry.actor == admin_user


# --- Sensitive reads --------------------------------------------------------------------


# Not "page": pytest-playwright's fixture would make it a browser test that flushes the
# database (and the reference data would come back with new ids for the tests after it).
@pytest.mark.parametrize("address", ["/detainees/{pk}/", "/detainees/{pk}/edit/"])
def test_pages_showing_family_contact_leave_a_view_entry(
    caseworker_client, caseworker, own_case, address
):
    person = own_case.accused.first().detainee
    response = caseworker_client.get(address.format(pk=person.pk))
    assert "Sister, 012 000 111" in response.content.decode()
    entry = AuditEntry.objects.filter(event=AuditEvent.VIEW, object_id=person.pk).latest("id")
    assert entry.actor == caseworker and entry.content_type.model == "detainee"


@pytest.mark.parametrize("url", ["/cases/?q=Sokha", "/detainees/?q=Sokha", "/lawyers/?q=Sokha"])
def test_a_search_is_recorded_with_its_words(caseworker_client, caseworker, own_case, url):
    caseworker_client.get(url)
    entry = AuditEntry.objects.filter(event=AuditEvent.VIEW).latest("id")
    assert entry.actor == caseworker
    assert entry.additional_data == {"search": {"q": "Sokha"}}
    assert entry.object_id is None  # about the table: never in a record's history panel


def test_a_search_in_the_admin_is_recorded(admin_client_, admin_user):
    admin_client_.get("/admin/casework/detainee/?q=Vannak")
    entry = AuditEntry.objects.filter(event=AuditEvent.VIEW).latest("id")
    assert entry.additional_data == {"search": {"admin": "Vannak"}}


def _autocomplete(client, term, model="accused", field="detainee"):
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "casework", "model_name": model, "field_name": field, "term": term},
    )
    assert response.status_code == 200
    return response


def _autocomplete_entries():
    return list(
        AuditEntry.objects.filter(
            event=AuditEvent.VIEW, additional_data__search__has_key="admin autocomplete"
        ).order_by("id")
    )


def test_typing_into_an_admin_autocomplete_is_one_entry_per_field_a_minute(
    admin_client_, admin_user, own_case, monkeypatch
):
    """select2 asks at every keystroke: "Vannak" typed was six search entries."""
    from django.core.cache.backends import db as db_cache

    before = AuditEntry.objects.count()
    for n in range(1, 7):
        _autocomplete(admin_client_, "Vannak"[:n])
    _autocomplete(admin_client_, "")  # opening the list searches nothing: no entry
    (entry,) = _autocomplete_entries()
    assert AuditEntry.objects.count() == before + 1
    assert entry.actor == admin_user and entry.object_id is None
    assert entry.content_type.model == "detainee"
    assert entry.additional_data == {
        "search": {"admin autocomplete": "V", "field": "casework.accused.detainee"}
    }
    # Another field has its own minute.
    _autocomplete(admin_client_, "BTB", model="hearing", field="case")
    assert [e.additional_data["search"]["field"] for e in _autocomplete_entries()] == [
        "casework.accused.detainee",
        "casework.hearing.case",
    ]
    # A minute later, the field's next lookup is recorded again.
    later = timezone.now() + dt.timedelta(seconds=61)
    monkeypatch.setattr(db_cache, "tz_now", lambda: later)
    _autocomplete(admin_client_, "Sokha")
    assert _autocomplete_entries()[-1].additional_data["search"]["admin autocomplete"] == "Sokha"
    # The changelist's search box is still recorded at every search.
    for _ in range(2):
        admin_client_.get("/admin/casework/detainee/?q=Vannak")
    searches = AuditEntry.objects.filter(additional_data__search__admin="Vannak")
    assert searches.count() == 2


def test_each_admin_has_their_own_autocomplete_minute(admin_client_, admin_user, own_case):
    other = f.make_user("admin2", role=Role.ADMIN)
    _autocomplete(admin_client_, "Sok")
    _autocomplete(_client_for(other), "Sok")
    assert [e.actor for e in _autocomplete_entries()] == [admin_user, other]


def test_a_rule_reads_the_same_in_the_admin_and_the_pages(
    admin_client_, caseworker_client, own_case
):
    hearing = own_case.hearings.first()
    message = "A hearing in the future cannot have been held yet."
    page = f"/hearings/{hearing.pk}/edit/"
    data = {**opened_form(caseworker_client, page), "status": "held", "outcome": "x"}
    assert message in caseworker_client.post(page, data).content.decode()
    data = {**opened_form(admin_client_, admin_url(hearing), "adminform")}
    data |= {"status": "held", "outcome": "x"}
    assert message in admin_client_.post(admin_url(hearing), data).content.decode()


def test_case_and_detainee_lists_are_unchanged_by_a_refused_admin_save(admin_client_, own_case):
    """A refused admin save writes nothing: the service's transaction is the admin's."""
    count = Case.objects.count(), Detainee.objects.count()
    response = admin_client_.post(
        "/admin/casework/detainee/add/", {"name_latin": "   ", "sex": "unknown"}
    )
    assert response.status_code == 200
    assert (Case.objects.count(), Detainee.objects.count()) == count
