"""Lawyers (issue 13, point 6): a representation ends with its date and reason, the
lawyer's page lists their current and past cases in the user's scope, and "no lawyer"
counts and filters read current representations only."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry, AuditEvent
from casework.models import Case, Representation
from reports.figures import Period, Report

from . import factories as f
from .factories import opened_form

TODAY = timezone.localdate()


@pytest.fixture
def represented(own_case):
    """own_case's accused, represented by one lawyer since two months ago."""
    lawyer = f.make_lawyer("Meas Sophal", bar_number="BAKC-0101")
    rep = f.represent(lawyer, own_case.accused.first(), since=TODAY - dt.timedelta(days=60))
    return rep


def end_url(rep) -> str:
    return f"/representations/{rep.pk}/end/"


def end(client, rep, data):
    """Post the end form as a browser would: opened first, with the base it carries."""
    return client.post(end_url(rep), {**opened_form(client, end_url(rep)), **data})


def test_a_replaced_lawyer_no_longer_counts_as_current(
    caseworker_client, coordinator_client, admin_user, represented, own_case
):
    assert not Case.objects.without_lawyer().filter(pk=own_case.pk).exists()
    response = end(
        caseworker_client,
        represented,
        {"until": TODAY.isoformat(), "end_reason": "replaced", "end_note": "New lawyer chosen"},
    )
    assert response.status_code == 302
    represented.refresh_from_db()
    assert (represented.until, represented.end_reason) == (TODAY, "replaced")
    assert not represented.is_current
    # The one definition, and everything that reads it: queryset, filter, dashboard, report.
    assert Case.objects.without_lawyer().filter(pk=own_case.pk).exists()
    assert not Representation.objects.current().filter(pk=represented.pk).exists()
    listed = caseworker_client.get("/cases/?no_lawyer=on").context["page"]
    assert own_case.pk in [c.pk for c in listed]
    dashboard = coordinator_client.get("/")
    assert own_case.pk in [c.pk for c in dashboard.context["no_lawyer"]]
    [row] = [r for r in Report(admin_user, _period()).caseload() if r["cases"]]
    assert row["no_lawyer"] == 1
    page = caseworker_client.get(f"/cases/{own_case.pk}/").content.decode()
    assert "Replaced by another lawyer" in page  # shown among earlier lawyers


def _period() -> Period:
    return Period(start=TODAY - dt.timedelta(days=30), end=TODAY)


def test_ending_is_recorded_in_the_audit_log_with_the_actor(
    caseworker_client, caseworker, represented
):
    end(caseworker_client, represented, {"until": TODAY.isoformat(), "end_reason": "withdrew"})
    entry = AuditEntry.objects.filter(
        content_type__model="representation", object_id=represented.pk, event=AuditEvent.CHANGE
    ).latest("id")
    assert entry.actor == caseworker
    assert "until" in entry.changes_dict and "end_reason" in entry.changes_dict


def test_ending_before_it_started_is_refused_with_the_input_kept(caseworker_client, represented):
    before = (represented.since - dt.timedelta(days=1)).isoformat()
    response = end(
        caseworker_client,
        represented,
        {"until": before, "end_reason": "dismissed", "end_note": "typo?"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "A representation cannot end before it starts." in body
    assert f'value="{before}"' in body and "typo?" in body
    represented.refresh_from_db()
    assert represented.until is None and represented.end_reason == ""


@pytest.mark.parametrize(
    "data, message",
    [
        ({"until": "", "end_reason": "withdrew"}, "This field is required."),
        ({"until": TODAY.isoformat(), "end_reason": ""}, "This field is required."),
        (
            {"until": (TODAY + dt.timedelta(days=3)).isoformat(), "end_reason": "withdrew"},
            "A representation cannot be ended in the future.",
        ),
        ({"until": "2026-02-31", "end_reason": "withdrew"}, "Enter a valid date."),
        ({"until": TODAY.isoformat(), "end_reason": "bored"}, "Select a valid choice."),
    ],
)
def test_bad_ends_are_refused_plainly(caseworker_client, represented, data, message):
    response = end(caseworker_client, represented, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    represented.refresh_from_db()
    assert represented.until is None


def test_the_rule_holds_in_the_database_too(represented):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Representation.objects.filter(pk=represented.pk).update(until=TODAY)  # no reason
    with pytest.raises(IntegrityError), transaction.atomic():
        Representation.objects.filter(pk=represented.pk).update(
            until=represented.since - dt.timedelta(days=1), end_reason="withdrew"
        )


def test_two_ends_of_one_representation_are_shown_side_by_side(
    caseworker_client, coordinator_client, coordinator, represented
):
    """The end form merges like any edit (casework/editing.py): a stale one never
    overwrites an end recorded meanwhile; a different reason is for its editor to choose."""
    url = end_url(represented)
    stale = opened_form(caseworker_client, url)
    first = {"until": TODAY.isoformat(), "end_reason": "withdrew", "end_note": "Moved away"}
    assert end(coordinator_client, represented, first).status_code == 302
    mine = {"until": TODAY.isoformat(), "end_reason": "replaced", "end_note": ""}
    response = caseworker_client.post(url, {**stale, **mine})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="conflict"' in body and str(coordinator) in body
    assert [row["name"] for row in response.context["form"].conflict_rows] == ["end_reason"]
    represented.refresh_from_db()
    assert (represented.end_reason, represented.end_note) == ("withdrew", "Moved away")
    retry = {**f.form_data(response), "conflict": "end_reason", "keep-end_reason": "mine"}
    assert caseworker_client.post(url, retry).status_code == 302
    represented.refresh_from_db()
    assert (represented.end_reason, represented.end_note) == ("replaced", "Moved away")


def test_ending_someone_elses_representation_is_404(caseworker2_client, represented):
    assert caseworker2_client.get(end_url(represented)).status_code == 404
    response = caseworker2_client.post(
        end_url(represented), {"until": TODAY.isoformat(), "end_reason": "withdrew"}
    )
    assert response.status_code == 404
    represented.refresh_from_db()
    assert represented.until is None


def test_lawyer_page_lists_current_and_past_cases_in_scope(
    caseworker_client, coordinator_client, admin_client_, caseworker, represented, far_case
):
    lawyer = represented.lawyer
    past_case = f.make_case("KH-2", caseworker=caseworker, reference="BTB-0099")
    f.represent(
        lawyer,
        f.add_accused(past_case, f.make_detainee("Nhem Ratha")),
        since=TODAY - dt.timedelta(days=400),
        until=TODAY - dt.timedelta(days=100),
        end_reason="case_closed",
    )
    f.represent(lawyer, far_case.accused.first())  # Phnom Penh: nobody here sees it but admins
    response = caseworker_client.get(f"/lawyers/{lawyer.pk}/")
    assert response.status_code == 200
    assert [r.accused.case.reference for r in response.context["current"]] == ["BTB-0001"]
    assert [r.accused.case.reference for r in response.context["past"]] == ["BTB-0099"]
    body = response.content.decode()
    assert "The case was closed" in body and "PNH-0001" not in body
    coordinator_view = coordinator_client.get(f"/lawyers/{lawyer.pk}/").content.decode()
    assert "BTB-0001" in coordinator_view and "PNH-0001" not in coordinator_view
    admin_view = admin_client_.get(f"/lawyers/{lawyer.pk}/")
    assert {r.accused.case.reference for r in admin_view.context["current"]} == {
        "BTB-0001",
        "PNH-0001",
    }
    entry = AuditEntry.objects.filter(event=AuditEvent.VIEW, object_id=lawyer.pk).latest("id")
    assert entry.content_type.model == "lawyer"


def test_a_caseworker_gets_404_for_a_lawyer_of_other_cases_only(caseworker_client, far_case):
    lawyer = f.make_lawyer()
    f.represent(lawyer, far_case.accused.first())
    assert caseworker_client.get(f"/lawyers/{lawyer.pk}/").status_code == 404


def test_lawyer_page_queries_do_not_grow_with_cases(caseworker_client, caseworker, represented):
    url = f"/lawyers/{represented.lawyer.pk}/"

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert caseworker_client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for _ in range(10):
        case = f.make_case("KH-2", caseworker=caseworker)
        accused = f.add_accused(case)
        f.represent(represented.lawyer, accused, since=TODAY - dt.timedelta(days=20))
        f.represent(
            represented.lawyer,
            accused,
            since=TODAY - dt.timedelta(days=90),
            until=TODAY - dt.timedelta(days=30),
        )
    assert count() == few
