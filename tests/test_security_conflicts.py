"""Two people editing the same record (casework/editing.py): a stale edit never
overwrites a field its editor did not change; a field both changed is shown side
by side and the editor chooses; what they typed is never lost.

Every versioned edit form is walked: case, person, hearing, bail decision; the
admin's forms too (tests/test_one_door.py).
"""

import datetime as dt
import html

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from casework.models import BailRequest, Case, Detainee, Hearing

from . import factories as f
from .factories import opened_form


def past(days):
    return (timezone.localdate() - dt.timedelta(days=days)).isoformat()


@pytest.fixture
def bailed(own_case):
    f.make_bail(own_case.accused.first(), filed_on=past(5))
    return own_case


def _url(form, case):
    if form == "case":
        return f"/cases/{case.pk}/edit/", Case, case.pk
    if form == "person":
        person = case.accused.first().detainee
        return f"/detainees/{person.pk}/edit/", Detainee, person.pk
    if form == "hearing":
        hearing = case.hearings.first()
        return f"/hearings/{hearing.pk}/edit/", Hearing, hearing.pk
    bail = BailRequest.objects.filter(accused__case=case).first()
    return f"/bail-requests/{bail.pk}/decide/", BailRequest, bail.pk


# form: (a field the first person changes, another field the second one changes)
DIFFERENT_FIELDS = {
    "case": ({"summary": "First editor's summary"}, {"sources": "Second editor's source"}),
    "person": ({"occupation": "Farmer"}, {"notes": "Second editor's note"}),
    "hearing": ({"outcome": "First editor's outcome"}, {"notes": "Second editor's note"}),
    "bail": (
        {"decision": "denied", "decided_on": past(1)},
        {"conditions": "Second editor's conditions"},
    ),
}

# form: (the first person's value, the second person's value of the same field)
SAME_FIELD = {
    "case": ({"summary": "First editor's summary"}, {"summary": "Second editor's summary"}),
    "person": ({"occupation": "First editor's job"}, {"occupation": "Second editor's job"}),
    "hearing": ({"notes": "First editor's note"}, {"notes": "Second editor's note"}),
    "bail": (
        {"decision": "denied", "decided_on": past(1), "reasons": "First editor's reasons"},
        {"decision": "denied", "decided_on": past(1), "reasons": "Second editor's reasons"},
    ),
}


@pytest.mark.parametrize("form", sorted(DIFFERENT_FIELDS))
def test_two_stale_edits_of_different_fields_both_survive(
    coordinator_client, caseworker_client, bailed, form
):
    url, model, pk = _url(form, bailed)
    first_opened = opened_form(coordinator_client, url)
    second_opened = opened_form(caseworker_client, url)
    first, second = DIFFERENT_FIELDS[form]
    assert coordinator_client.post(url, {**first_opened, **first}).status_code == 302
    response = caseworker_client.post(url, {**second_opened, **second})
    assert response.status_code == 302, response.context["form"].errors
    stored = model.objects.get(pk=pk)
    for name, value in {**first, **second}.items():
        got = getattr(stored, name)
        assert str(got) == value or (hasattr(got, "isoformat") and got.isoformat() == value)


@pytest.mark.parametrize("form", sorted(SAME_FIELD))
def test_two_edits_of_one_field_are_shown_side_by_side_and_nothing_is_saved(
    coordinator_client, caseworker_client, coordinator, bailed, form
):
    url, model, pk = _url(form, bailed)
    first_opened = opened_form(coordinator_client, url)
    second_opened = opened_form(caseworker_client, url)
    first, second = SAME_FIELD[form]
    assert coordinator_client.post(url, {**first_opened, **first}).status_code == 302
    version_after_first = model.objects.get(pk=pk).version

    response = caseworker_client.post(url, {**second_opened, **second})
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert 'id="conflict"' in body and "Someone else saved this record" in body
    field = next(name for name in second if "editor" in second[name])
    assert second[field] in body and first[field] in body  # yours and theirs, side by side
    assert coordinator.username in body or str(coordinator) in body  # who saved
    # The other person's changes only: nothing the second person alone typed is listed.
    changes = response.context["form"].conflict.changes
    assert {change.name for change in changes} <= set(first)
    assert model.objects.get(pk=pk).version == version_after_first  # nothing written


@pytest.mark.parametrize("choice", ["theirs", "mine"])
@pytest.mark.parametrize("form", sorted(SAME_FIELD))
def test_the_editor_chooses_theirs_or_theirs_is_kept_and_mine_applied(
    coordinator_client, caseworker_client, bailed, form, choice
):
    url, model, pk = _url(form, bailed)
    first_opened = opened_form(coordinator_client, url)
    second_opened = opened_form(caseworker_client, url)
    first, second = SAME_FIELD[form]
    coordinator_client.post(url, {**first_opened, **first})
    response = caseworker_client.post(url, {**second_opened, **second})
    field = next(name for name in second if "editor" in second[name])
    retry = f.form_data(response)
    retry["conflict"] = field
    # Without a choice, the form asks again and saves nothing.
    again = caseworker_client.post(url, retry)
    assert again.status_code == 200 and field in again.context["form"].errors
    retry[f"keep-{field}"] = choice
    assert caseworker_client.post(url, retry).status_code == 302
    expected = first[field] if choice == "theirs" else second[field]
    assert getattr(model.objects.get(pk=pk), field) == expected


def test_a_conflict_keeps_the_others_new_value_in_fields_only_they_changed(
    coordinator_client, caseworker_client, own_case
):
    """The reported loss: "save again" used to put back the old text the form still held."""
    url = f"/cases/{own_case.pk}/edit/"
    first_opened = opened_form(coordinator_client, url)
    second_opened = opened_form(caseworker_client, url)
    coordinator_client.post(
        url, {**first_opened, "summary": "New summary", "title": "Coordinator's title"}
    )
    response = caseworker_client.post(url, {**second_opened, "title": "Caseworker's title"})
    retry = f.form_data(response)
    assert retry["summary"] == "New summary"  # shown as now stored
    retry |= {"conflict": "title", "keep-title": "mine"}
    assert caseworker_client.post(url, retry).status_code == 302
    own_case.refresh_from_db()
    assert own_case.summary == "New summary"
    assert own_case.title == "Caseworker's title"


def test_a_form_without_its_base_is_refused_and_keeps_the_input(caseworker_client, own_case):
    url = f"/cases/{own_case.pk}/edit/"
    data = opened_form(caseworker_client, url)
    data.pop("base")
    response = caseworker_client.post(url, {**data, "summary": "Typed text"})
    assert response.status_code == 200
    assert "out of date" in response.content.decode()
    assert "Typed text" in response.content.decode()


def test_a_forged_base_is_refused(caseworker_client, own_case):
    url = f"/cases/{own_case.pk}/edit/"
    data = opened_form(caseworker_client, url)
    data["base"] = data["base"][:-3] + "abc"
    response = caseworker_client.post(url, {**data, "summary": "Typed text"})
    assert response.status_code == 200
    own_case.refresh_from_db()
    assert own_case.summary != "Typed text"


def test_stale_status_change_is_refused(coordinator_client, caseworker_client, own_case):
    opened = own_case.version
    post = {"status": "charged", "occurred_on": past(0), "version": opened}
    assert coordinator_client.post(f"/cases/{own_case.pk}/status/", post).status_code == 302
    post["status"] = "dismissed"
    response = caseworker_client.post(f"/cases/{own_case.pk}/status/", post, follow=True)
    assert "Someone else changed this case meanwhile" in response.content.decode()
    own_case.refresh_from_db()
    assert own_case.status == "charged"


def test_a_conflict_names_who_saved_from_the_audit_log(
    coordinator_client, caseworker_client, coordinator, own_case
):
    url = f"/cases/{own_case.pk}/edit/"
    first_opened = opened_form(coordinator_client, url)
    second_opened = opened_form(caseworker_client, url)
    coordinator_client.post(url, {**first_opened, "summary": "Theirs"})
    assert AuditEntry.objects.filter(object_id=own_case.pk, actor=coordinator).exists()
    response = caseworker_client.post(url, {**second_opened, "summary": "Mine"})
    editors = response.context["form"].conflict.editors
    assert [who for who, _when in editors] == [str(coordinator)]
