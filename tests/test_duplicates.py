"""Duplicates across scopes, without a leak (issue 13, point 8): a caseworker entering
a person who may be on file outside their scope is told only that a possible match is
on file elsewhere; the pair goes to the admins' review queue; an admin merge moves
every case, event and alias to the kept record, is recorded in the audit log, and is
undone from that record."""

import re

import pytest
from django.db import IntegrityError, transaction

from audit.models import AuditEntry, AuditEvent
from casework import services
from casework.models import Accused, Case, Detainee, Event, PossibleDuplicate

from . import factories as f
from .test_workspace import open_case_post

NOTICE = "A possible match for this person is on file elsewhere."


@pytest.fixture
def far_person(far_case):
    """Chanthy Kosal, accused in Phnom Penh: outside both caseworkers' and the
    coordinator's scope."""
    person = far_case.accused.get().detainee
    Detainee.objects.filter(pk=person.pk).update(birth_year=1985, aliases="Kosal Chanthy")
    person.refresh_from_db()
    return person


def _resubmit(client, response):
    """Press "Open the case" again on the page shown: what the browser posts back."""
    data = {}
    for key in ("form", "people", "extras"):
        data.update(f.form_data(response, key))
    return client.post("/cases/new/", data)


def test_a_cross_scope_duplicate_shows_only_the_neutral_notice(
    caseworker_client, caseworker, far_person
):
    cases_before = Case.objects.count()
    response = open_case_post(caseworker_client, name_latin="Chanthy Kossal", birth_year="1985")
    assert response.status_code == 200
    body = response.content.decode()
    assert NOTICE in body and "A coordinator or admin will review it." in body
    # Nothing identifying: no name, script, province, case or record number of theirs.
    for secret in (
        "Chanthy Kosal",
        "Kosal Chanthy",
        "ចន្ធី",
        "PNH-0001",
        f"/detainees/{far_person.pk}/",
    ):
        assert secret not in body, secret
    assert "may already be on file" not in body  # the in-scope warning lists names
    # The notice says that much and no more (the province lists are the form's own).
    notice = re.search(r'id="possible-match-elsewhere">(.*?)</div>', body, re.S).group(1)
    assert (
        re.sub(r"<[^>]+>|\s+", " ", notice).split()
        == (
            f"{NOTICE} A coordinator or admin will review it. Nothing was saved yet. Check the "
            "name, then press “Open the case” again to go on."
        ).split()
    )
    assert Case.objects.count() == cases_before  # nothing saved yet
    assert 'value="Chanthy Kossal"' in body  # what was typed is kept
    # Asking was a name search: recorded, with the words typed.
    entry = AuditEntry.objects.filter(event=AuditEvent.VIEW).latest("id")
    assert entry.additional_data == {"search": {"duplicate check": "Chanthy Kossal"}}

    response = _resubmit(caseworker_client, response)
    assert response.status_code == 302
    new = Case.objects.get(reference="NEW-0001").accused.get().detainee
    flag = PossibleDuplicate.objects.get()
    assert (flag.person, flag.match, flag.raised_by) == (new, far_person, caseworker)
    assert flag.status == "open"


def test_the_pair_appears_in_the_admin_queue_only(
    caseworker_client, coordinator_client, admin_client_, far_person
):
    _resubmit(caseworker_client, open_case_post(caseworker_client, name_latin="Chanthy Kossal"))
    flag = PossibleDuplicate.objects.get()
    response = admin_client_.get("/detainees/duplicates/")
    assert response.status_code == 200
    assert [p.pk for p in response.context["page"]] == [flag.pk]
    body = response.content.decode()
    assert "Chanthy Kossal" in body and "Chanthy Kosal" in body and "PNH-0001" in body
    assert f"keep={far_person.pk}&amp;merge={flag.person_id}" in body
    assert caseworker_client.get("/detainees/duplicates/").status_code == 403
    assert coordinator_client.get("/detainees/duplicates/").status_code == 403


def test_an_admin_can_mark_a_pair_as_two_people(
    caseworker_client, admin_client_, admin_user, far_person
):
    _resubmit(caseworker_client, open_case_post(caseworker_client, name_latin="Chanthy Kossal"))
    flag = PossibleDuplicate.objects.get()
    response = admin_client_.post("/detainees/duplicates/", {"dismiss": flag.pk})
    assert response.status_code == 302
    flag.refresh_from_db()
    assert (flag.status, flag.resolved_by) == ("dismissed", admin_user)
    assert list(admin_client_.get("/detainees/duplicates/").context["page"]) == []
    assert admin_client_.post("/detainees/duplicates/", {"dismiss": "x"}).status_code == 404


def test_no_notice_for_a_name_in_scope_or_nobody_elsewhere(caseworker_client, own_case):
    response = open_case_post(caseworker_client, name_latin="Mao Piseth")
    assert response.status_code == 302
    assert not PossibleDuplicate.objects.exists()


def test_an_admin_sees_the_match_itself_not_the_notice(admin_client_, far_person):
    response = open_case_post(admin_client_, name_latin="Chanthy Kosal")
    body = response.content.decode()
    assert "may already be on file" in body and NOTICE not in body


def test_editing_a_name_into_a_match_elsewhere_raises_the_pair(
    caseworker_client, caseworker, own_case, far_person
):
    person = own_case.accused.get().detainee
    data = f.opened_form(caseworker_client, f"/detainees/{person.pk}/edit/")
    data["name_latin"] = "Chanthy Kosal"
    response = caseworker_client.post(f"/detainees/{person.pk}/edit/", data, follow=True)
    assert NOTICE in response.content.decode()
    assert PossibleDuplicate.objects.filter(person=person, match=far_person).exists()


# --- Merge and undo -------------------------------------------------------------


@pytest.fixture
def pair(caseworker, far_person):
    """The same person entered twice: in Phnom Penh (kept) and in Battambang."""
    case = f.make_case("KH-2", caseworker=caseworker, reference="BTB-0777")
    entered = f.make_detainee(
        "Chanthy Kossal",
        name_khmer="ចន្ធី កុសល",
        aliases="Kossal",
        family_contact="Brother, 011 222 333",
        sex="male",
    )
    accused = f.add_accused(case, entered, custody_status="pretrial_detention")
    f.hold(accused, days_ago=20)
    f.make_event(case, kind=Event.Kind.ARRESTED, accused=accused)
    PossibleDuplicate.objects.create(person=entered, match=far_person)
    return far_person, entered, case


def merge(client, keep, merge_):
    return client.post("/detainees/merge/", {"keep": keep.pk, "merge": merge_.pk})


def test_merge_moves_every_case_event_and_alias_and_is_recorded(
    admin_client_, admin_user, caseworker_client, pair
):
    kept, entered, case = pair
    response = merge(admin_client_, kept, entered)
    assert response.status_code == 302 and response["Location"] == f"/detainees/{kept.pk}/"
    kept.refresh_from_db()
    entered.refresh_from_db()
    assert entered.merged_into == kept
    assert set(kept.accusations.values_list("case__reference", flat=True)) == {
        "PNH-0001",
        "BTB-0777",
    }
    accused = case.accused.get()
    assert accused.detainee == kept
    assert accused.events.get().kind == "arrested" and accused.custody_periods.exists()
    assert set(kept.alias_list) == {"Kosal Chanthy", "Chanthy Kossal", "Kossal"}
    # What the kept record lacked is filled from the merged one.
    assert (kept.name_khmer, kept.family_contact, kept.sex) == (
        "ចន្ធី កុសល",
        "Brother, 011 222 333",
        "male",
    )
    assert PossibleDuplicate.objects.get().status == "merged"
    entry = AuditEntry.objects.filter(event=AuditEvent.MERGE).get()
    assert entry.actor == admin_user and entry.object_id == kept.pk
    assert entry.additional_data["merge"]["accused"] == [accused.pk]
    # The merged record is out of every list; the caseworker's case shows the kept person.
    assert admin_client_.get(f"/detainees/{entered.pk}/").status_code == 404
    names = [p.pk for p in admin_client_.get("/detainees/").context["page"]]
    assert entered.pk not in names and kept.pk in names
    page = caseworker_client.get(f"/cases/{case.pk}/").content.decode()
    assert f"/detainees/{kept.pk}/" in page
    # The caseworker sees the person, with their own case only.
    person = caseworker_client.get(f"/detainees/{kept.pk}/")
    assert [a.case.reference for a in person.context["accusations"]] == ["BTB-0777"]


def test_merge_is_undone_from_the_audit_logs_record(admin_client_, admin_user, pair):
    kept, entered, case = pair
    merge(admin_client_, kept, entered)
    entry = AuditEntry.objects.get(event=AuditEvent.MERGE)
    log = admin_client_.get("/audit/").content.decode()
    assert f"/detainees/merge/undo/?entry={entry.pk}" in log
    assert admin_client_.get(f"/detainees/merge/undo/?entry={entry.pk}").status_code == 200

    response = admin_client_.post("/detainees/merge/undo/", {"entry": entry.pk})
    assert response.status_code == 302
    kept.refresh_from_db()
    entered.refresh_from_db()
    assert entered.merged_into is None
    assert case.accused.get().detainee == entered
    assert list(kept.accusations.values_list("case__reference", flat=True)) == ["PNH-0001"]
    assert kept.alias_list == ["Kosal Chanthy"]
    assert (kept.name_khmer, kept.family_contact, kept.sex) == ("ចន្ធី កុសល", "", "unknown")
    assert PossibleDuplicate.objects.get().status == "open"
    undone = AuditEntry.objects.get(event=AuditEvent.MERGE_UNDONE)
    assert undone.actor == admin_user and undone.additional_data["undoes"] == entry.pk
    # Once only.
    again = admin_client_.post("/detainees/merge/undo/", {"entry": entry.pk})
    assert again.status_code == 200
    assert "This merge was already undone." in again.content.decode()
    assert AuditEntry.objects.filter(event=AuditEvent.MERGE_UNDONE).count() == 1


def test_undo_keeps_what_was_changed_since_the_merge(admin_user, pair):
    kept, entered, _case = pair
    entry = services.detainee_merge(actor=admin_user, kept=kept, merged=entered)
    kept.refresh_from_db()
    kept.family_contact = "Changed after the merge"
    kept.save()
    services.detainee_merge_undo(actor=admin_user, entry=entry)
    kept.refresh_from_db()
    assert kept.family_contact == "Changed after the merge"


def test_merging_a_person_into_themselves_is_refused(admin_client_, pair):
    kept, _entered, _case = pair
    response = merge(admin_client_, kept, kept)
    assert response.status_code == 200
    body = response.content.decode()
    assert "A person cannot be merged into themselves." in body
    assert f'value="{kept.pk}"' in body  # the input is kept
    assert not AuditEntry.objects.filter(event=AuditEvent.MERGE).exists()
    kept.refresh_from_db()
    assert kept.merged_into is None
    # The rule holds in the database too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Detainee.objects.filter(pk=kept.pk).update(merged_into=kept.pk)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"keep": "", "merge": "1"}, "This field is required."),
        ({"keep": "abc", "merge": "1"}, "Enter a whole number."),
        ({"keep": "999999", "merge": "1"}, "No person on file has this number."),
        ({"keep": "99999999999999999999", "merge": "1"}, "less than or equal to"),
    ],
)
def test_bad_merge_input_is_refused_plainly(admin_client_, data, message, db):
    response = admin_client_.post("/detainees/merge/", data)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_merging_two_accused_of_one_case_folds_them_into_one(admin_client_, admin_user, pair):
    kept, entered, case = pair
    survivor = f.add_accused(case, kept)  # at liberty, no clock: the kept record's row
    duplicate = case.accused.get(detainee=entered)
    period = duplicate.custody_periods.get()
    hearing = f.make_hearing(case)
    hearing.accused.set([duplicate])
    bail = f.make_bail(duplicate)
    lawyer_for = f.represent(f.make_lawyer("Sok Dara"), duplicate)
    steps = set(duplicate.charge_steps.values_list("pk", flat=True))
    response = merge(admin_client_, kept, entered)
    assert response.status_code == 302
    # One person in the case: the kept record's row, with everything the other had.
    assert list(case.accused.all()) == [survivor]
    survivor.refresh_from_db()
    assert survivor.custody_status == "pretrial_detention"  # the clock came with its custody
    assert survivor.open_period() == period
    assert [e.kind for e in survivor.events.all()] == ["arrested"]
    assert list(hearing.accused.all()) == [survivor]
    assert list(survivor.bail_requests.all()) == [bail]
    assert list(survivor.representations.all()) == [lawyer_for]
    assert steps <= set(survivor.charge_steps.values_list("pk", flat=True))
    duplicate = Accused.all_objects.get(pk=duplicate.pk)
    assert duplicate.removed_on is not None and duplicate.removed_reason.startswith("Merged")
    assert duplicate.detainee == entered
    entry = AuditEntry.objects.get(event=AuditEvent.MERGE)
    [folded] = entry.additional_data["merge"]["folded"]
    assert (folded["from"], folded["into"]) == (duplicate.pk, survivor.pk)
    page = admin_client_.get(f"/cases/{case.pk}/").content.decode()
    assert "Past the legal limit" not in page and "Held 20 days" in page

    # Undone from the audit log: each record back where it was.
    services.detainee_merge_undo(actor=admin_user, entry=entry)
    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    assert duplicate.removed_on is None and duplicate.removed_reason == ""
    assert set(case.accused.all()) == {survivor, duplicate}
    assert survivor.custody_status == "at_liberty" and survivor.open_period() is None
    assert duplicate.open_period() == period
    assert list(hearing.accused.all()) == [duplicate]
    assert list(duplicate.bail_requests.all()) == [bail]
    assert list(duplicate.representations.all()) == [lawyer_for]
    assert set(duplicate.charge_steps.values_list("pk", flat=True)) == steps
    assert [e.kind for e in duplicate.events.all()] == ["arrested"]


def test_merging_two_accused_of_one_case_each_with_a_clock_is_refused(admin_client_, pair):
    kept, entered, case = pair
    f.hold(f.add_accused(case, kept, custody_status="pretrial_detention"), days_ago=5)
    response = merge(admin_client_, kept, entered)
    assert response.status_code == 200
    assert "Both records have a custody clock running in case BTB-0777" in (
        response.content.decode()
    )
    entered.refresh_from_db()
    assert entered.merged_into is None
    assert case.accused.count() == 2


def test_only_admins_merge(caseworker_client, coordinator_client, coordinator, pair):
    kept, entered, _case = pair
    for client in (caseworker_client, coordinator_client):
        assert merge(client, kept, entered).status_code == 403
        assert client.get("/detainees/merge/undo/").status_code == 403
    with pytest.raises(services.PermissionDenied):
        services.detainee_merge(actor=coordinator, kept=kept, merged=entered)
    entered.refresh_from_db()
    assert entered.merged_into is None


def test_an_undo_waits_for_a_later_merge_of_the_kept_record(admin_user, pair, caseworker):
    kept, entered, _case = pair
    first = services.detainee_merge(actor=admin_user, kept=kept, merged=entered)
    third = f.make_detainee("Chanthy Kosal")
    f.add_accused(f.make_case("KH-6", caseworker=caseworker), third)
    later = services.detainee_merge(actor=admin_user, kept=third, merged=kept)
    with pytest.raises(services.ValidationError, match="undo that later merge first"):
        services.detainee_merge_undo(actor=admin_user, entry=first)
    services.detainee_merge_undo(actor=admin_user, entry=later)
    services.detainee_merge_undo(actor=admin_user, entry=first)
    entered.refresh_from_db()
    assert entered.merged_into is None and entered.accusations.count() == 1
