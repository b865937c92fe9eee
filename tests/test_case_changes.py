"""Cases change shape (issue: the record follows the way cases unfold): co-accused
added and removed, charges per accused with their history, the case status following
events, hearings naming whom they concern, hearings left without an outcome."""

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import AuditEntry, AuditEvent
from casework import services
from casework.models import (
    Accused,
    AccusedCharge,
    Case,
    CaseStatus,
    Charge,
    Event,
    Hearing,
)
from reports.exports import case_rows

from . import factories as f


def past(days):
    return (timezone.localdate() - dt.timedelta(days=days)).isoformat()


def charges(*names):
    return list(Charge.objects.filter(name_en__in=names))


@pytest.fixture
def two_charges():
    return list(Charge.objects.order_by("pk")[:2])


# --- People added and removed -----------------------------------------------------------


def test_a_person_on_file_is_added_to_an_open_case(caseworker_client, caseworker, own_case):
    person = f.make_detainee("Later Arrested")
    f.add_accused(f.make_case("KH-2", caseworker=caseworker), person)  # in scope
    response = caseworker_client.post(
        f"/cases/{own_case.pk}/accused/new/",
        {"existing": person.pk, "custody_status": "police_custody"},
    )
    assert response.status_code == 302
    added = own_case.accused.get(detainee=person)
    assert added.custody_status == "police_custody"
    entry = AuditEntry.objects.filter(content_type__model="accused", object_id=added.pk).get()
    assert entry.actor == caseworker
    assert "Later Arrested" in caseworker_client.get(f"/cases/{own_case.pk}/").content.decode()


def test_a_person_outside_the_scope_cannot_be_added(caseworker_client, own_case, other_case):
    stranger = other_case.accused.first().detainee
    response = caseworker_client.post(
        f"/cases/{other_case.pk}/accused/new/", {"existing": stranger.pk}
    )
    assert response.status_code == 404  # the case itself is out of scope
    # On one's own case, a person out of scope is not a choice: a form error, nothing added.
    response = caseworker_client.post(
        f"/cases/{own_case.pk}/accused/new/",
        {"existing": stranger.pk, "custody_status": "at_liberty"},
    )
    assert response.status_code == 200
    assert "existing" in response.context["form"].errors
    assert not own_case.accused.filter(detainee=stranger).exists()


def test_a_new_person_added_later_gets_the_duplicate_warning(
    caseworker_client, caseworker, own_case
):
    elsewhere = f.make_case("KH-2", caseworker=caseworker)
    f.add_accused(elsewhere, f.make_detainee("Sokha Vannak"))  # on file, in another case
    url = f"/cases/{own_case.pk}/accused/new/"
    data = {"person-name_latin": "Sokha Vannak", "custody_status": "at_liberty"}
    response = caseworker_client.post(url, data)
    assert response.status_code == 200
    assert "may already be on file" in response.content.decode()
    assert own_case.accused.count() == 1
    # Confirmed as a different person, the new record is made.
    data["confirm_new"] = "on"
    assert caseworker_client.post(url, data).status_code == 302
    assert own_case.accused.count() == 2


def test_eight_people_are_entered_when_opening_a_case(caseworker_client):
    data = {
        "case-reference": "EIGHT-1",
        "case-province": f.province("KH-2").pk,
        "case-opened_on": past(0),
        "case-status": "charged",
        "extra-custody_status": "in_exile",
        "extra-confirm_new": "on",
        "person-TOTAL_FORMS": "1",
        "person-INITIAL_FORMS": "0",
    }
    for n in range(8):
        data[f"person-{n}-name_latin"] = f"Official Abroad {n + 1}"
        if n:
            # "Add another person" shows one more row, keeping what was typed.
            response = caseworker_client.post("/cases/new/", {**data, "add_person": "1"})
            assert response.status_code == 200
            assert response.context["people"].total_form_count() == n + 1
            data["person-TOTAL_FORMS"] = str(n + 1)
            assert f"Official Abroad {n}" in response.content.decode()
    assert caseworker_client.post("/cases/new/", data).status_code == 302
    case = Case.objects.get(reference="EIGHT-1")
    assert case.status == "charged"
    assert case.accused.count() == 8


def test_removing_a_person_keeps_their_history_and_updates_lists_and_exports(
    caseworker_client, caseworker, own_case
):
    second = f.add_accused(own_case, f.make_detainee("Wrongly Added"))
    f.make_event(own_case, accused=second, kind="arrested")
    url = f"/accused/{second.pk}/remove/"
    assert caseworker_client.post(url, {"reason": "", "on": past(0)}).status_code == 200
    response = caseworker_client.post(url, {"reason": "Added by mistake", "on": past(0)})
    assert response.status_code == 302
    assert Accused.all_objects.get(pk=second.pk).removed_reason == "Added by mistake"
    assert list(own_case.accused.all()) == [own_case.accused.first()]
    assert Event.objects.filter(accused=second, kind="arrested").exists()  # history kept
    body = caseworker_client.get(f"/cases/{own_case.pk}/").content.decode()
    assert 'id="removed-accused"' in body and "Added by mistake" in body
    listed = caseworker_client.get("/cases/").content.decode()
    assert "Wrongly Added" not in listed
    exported = " ".join(
        str(v) for row in case_rows(Case.objects.all(), anonymised=False) for v in row
    )
    assert "Wrongly Added" not in exported and "Sokha Vannak" in exported
    entry = AuditEntry.objects.filter(content_type__model="accused", object_id=second.pk)
    assert entry.filter(action=AuditEntry.Action.UPDATE, actor=caseworker).exists()


def test_the_last_person_of_a_case_cannot_be_removed(caseworker_client, own_case):
    only = own_case.accused.get()
    response = caseworker_client.post(
        f"/accused/{only.pk}/remove/", {"reason": "Case split", "on": past(0)}
    )
    assert response.status_code == 200
    assert "only person accused in this case" in response.content.decode()
    assert "Case split" in response.content.decode()  # what was typed is kept
    assert own_case.accused.count() == 1


def test_a_removed_person_added_again_comes_back_with_their_history(caseworker, own_case):
    second = services.accused_add(
        actor=caseworker, case=own_case, detainee=f.make_detainee("Back Again")
    )
    services.accused_remove(actor=caseworker, accused=second, reason="Split")
    again = services.accused_add(actor=caseworker, case=own_case, detainee=second.detainee)
    assert again.pk == second.pk and again.removed_on is None


# --- Charges per accused, with their history ---------------------------------------------


def test_case_charges_are_each_accuseds_and_a_dropped_one_stays_in_history(
    caseworker, own_case, two_charges
):
    one, other = two_charges
    second = services.accused_add(
        actor=caseworker, case=own_case, detainee=f.make_detainee("Co Accused"), charges=[]
    )
    services.case_update(actor=caseworker, case=own_case, charges=[one, other])
    for accused in own_case.accused.all():
        assert set(accused.standing_charges) == {one, other}
    services.accused_charge_record(
        actor=caseworker,
        step=AccusedCharge(accused=second, charge=other, step="dropped", on=timezone.localdate()),
    )
    second = Accused.objects.get(pk=second.pk)
    assert second.standing_charges == [one]
    assert set(own_case.charges.all()) == {one, other}  # the first accused still faces it
    first = own_case.accused.exclude(pk=second.pk).get()
    services.accused_charge_record(
        actor=caseworker,
        step=AccusedCharge(accused=first, charge=other, step="acquitted", on=timezone.localdate()),
    )
    assert list(own_case.charges.all()) == [one]  # "charges now"
    steps = AccusedCharge.objects.filter(accused=second).values_list("step", flat=True)
    assert list(steps) == ["charged", "charged", "dropped"]


def test_a_requalified_charge_ends_the_old_one(caseworker, own_case, two_charges):
    one, other = two_charges
    services.case_update(actor=caseworker, case=own_case, charges=[one])
    accused = own_case.accused.get()
    services.accused_charge_record(
        actor=caseworker,
        step=AccusedCharge(
            accused=accused,
            charge=other,
            step="requalified",
            requalified_from=one,
            on=timezone.localdate(),
        ),
    )
    assert Accused.objects.get(pk=accused.pk).standing_charges == [other]
    assert list(own_case.charges.all()) == [other]


def test_the_charge_page_refuses_bad_input_and_keeps_it(caseworker_client, own_case, two_charges):
    one, _other = two_charges
    accused = own_case.accused.get()
    url = f"/cases/{own_case.pk}/charges/new/"
    data = {"accused": accused.pk, "step": "requalified", "charge": one.pk, "on": past(0)}
    data["source"] = "Court order 12"
    response = caseworker_client.post(url, data)
    assert response.status_code == 200
    assert "Say which charge it was requalified from." in response.content.decode()
    assert "Court order 12" in response.content.decode()
    future = {**data, "step": "charged", "on": (timezone.localdate() + dt.timedelta(1)).isoformat()}
    assert "future" in caseworker_client.post(url, future).content.decode()
    assert caseworker_client.post(url, {**data, "step": "charged"}).status_code == 302


def test_charges_filter_reads_the_charges_standing_now(
    admin_client_, caseworker, own_case, two_charges
):
    one, _other = two_charges
    services.case_update(actor=caseworker, case=own_case, charges=[one])
    listed = admin_client_.get(f"/cases/?charge={one.pk}").context["page"].object_list
    assert own_case.pk in {c.pk for c in listed}
    services.accused_charge_record(
        actor=caseworker,
        step=AccusedCharge(
            accused=own_case.accused.get(), charge=one, step="dropped", on=timezone.localdate()
        ),
    )
    listed = admin_client_.get(f"/cases/?charge={one.pk}").context["page"].object_list
    assert own_case.pk not in {c.pk for c in listed}


def test_the_migration_gives_the_case_charges_to_every_accused(transactional_db):
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    call_command("migrate", "casework", "0009_bail_grounds_apart", verbosity=0)
    old = (
        MigrationExecutor(connection)
        .loader.project_state(("casework", "0009_bail_grounds_apart"))
        .apps
    )
    Case_ = old.get_model("casework", "Case")
    Accused_ = old.get_model("casework", "Accused")
    province = old.get_model("casework", "Province").objects.get(code="KH-2")
    charge = old.get_model("casework", "Charge").objects.first()
    case = Case_.objects.create(reference="MIG-2", province=province, opened_on="2026-02-01")
    case.charges.add(charge)
    for name in ["Mig One", "Mig Two"]:
        person = old.get_model("casework", "Detainee").objects.create(name_latin=name)
        Accused_.objects.create(case=case, detainee=person)
    call_command("migrate", "casework", verbosity=0)
    steps = AccusedCharge.objects.filter(accused__case_id=case.pk)
    assert steps.count() == 2
    assert {(s.charge_id, s.step, s.on.isoformat()) for s in steps} == {
        (charge.pk, "charged", "2026-02-01")
    }


# --- The case status follows events -------------------------------------------------------


def test_the_status_each_event_and_hearing_kind_suggests_is_pinned():
    assert services.STATUS_SUGGESTED_BY_EVENT == {
        "summoned": "summoned",
        "questioned": "under_investigation",
        "arrested": "under_investigation",
        "charged": "charged",
        "pretrial_detention": "charged",
        "convicted": "convicted",
        "acquitted": "acquitted",
    }
    assert services.STATUS_SUGGESTED_BY_HEARING == {
        "questioning": "under_investigation",
        "trial": "on_trial",
        "appeal": "on_appeal",
    }


@pytest.mark.parametrize(("kind", "status"), sorted(services.STATUS_SUGGESTED_BY_EVENT.items()))
def test_the_event_form_offers_the_matching_status(caseworker_client, own_case, kind, status):
    own_case.status = "closed"
    own_case.save()
    form = caseworker_client.get(f"/cases/{own_case.pk}/events/new/?kind={kind}").context["form"]
    assert form.initial["case_status"] == status
    assert form.fields["case_status"].choices[0][0] == ""  # keeping it is one choice


def test_recording_an_arrest_with_the_offered_status_moves_the_case(caseworker_client, own_case):
    url = f"/cases/{own_case.pk}/events/new/"
    data = {"kind": "arrested", "occurred_on": past(0), "source": "lawyer"}
    assert caseworker_client.post(url, {**data, "case_status": ""}).status_code == 302
    own_case.refresh_from_db()
    assert own_case.status == CaseStatus.SUMMONED  # kept
    data["case_status"] = "under_investigation"
    assert caseworker_client.post(url, data).status_code == 302
    own_case.refresh_from_db()
    assert own_case.status == "under_investigation"
    assert Event.objects.filter(case=own_case, kind="status_changed").count() == 1


def test_opening_a_case_chooses_its_status(caseworker_client):
    form = caseworker_client.get("/cases/new/").context["form"]
    assert "status" in form.fields
    assert dict(form.fields["status"].choices).keys() >= {"summoned", "charged", "on_trial"}


# --- Hearings name whom they concern; hearings left without an outcome --------------------


def test_a_hearing_names_the_accused_it_concerns(caseworker_client, own_case):
    second = f.add_accused(own_case, f.make_detainee("Second Person"))
    data = {
        "kind": "bail",
        "scheduled_at": (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        "court": own_case.court_id,
        "status": "scheduled",
        "accused": [second.pk],
    }
    assert caseworker_client.post(f"/cases/{own_case.pk}/hearings/new/", data).status_code == 302
    hearing = Hearing.objects.get(case=own_case, kind="bail")
    assert list(hearing.accused.all()) == [second]
    body = caseworker_client.get(f"/cases/{own_case.pk}/").content.decode()
    assert "Concerns" in body and "Second Person" in body


def test_past_hearings_still_scheduled_are_in_what_needs_me(caseworker_client, own_case):
    stale = f.make_hearing(own_case, days_from_now=-3)
    held = f.make_hearing(own_case, days_from_now=-4, status="held", outcome="Adjourned")
    dashboard = caseworker_client.get("/").context
    shown = {h.pk for h in dashboard["no_outcome"]}
    assert stale.pk in shown and held.pk not in shown


def test_events_audit_the_status_they_move(caseworker, own_case):
    services.event_record(
        actor=caseworker,
        event=Event(case=own_case, kind="charged", occurred_on=timezone.localdate()),
        case_status="charged",
    )
    assert AuditEntry.objects.filter(
        event=AuditEvent.CHANGE, content_type__model="case", object_id=own_case.pk
    ).exists()
