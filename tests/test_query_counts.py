"""Every list, detail and dashboard page runs a constant number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.templatetags.audit_tags import _related_values
from casework import selectors
from casework.models import Event

from . import factories as f


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def populate(caseworker, n: int):
    lawyer = f.make_lawyer()
    for _ in range(n):
        case = f.make_case("KH-2", caseworker=caseworker)
        accused = f.add_accused(case, custody_status="pretrial_detention")
        f.hold(accused, days_ago=170)
        f.make_hearing(case, days_from_now=2, lawyer=lawyer)
        f.make_bail(accused, decision="pending", filed_on="2026-01-01")
        f.represent(lawyer, accused)
        case.charges.set([f.charge_pk(1), f.charge_pk(2)])


PAGES = ["/", "/cases/", "/cases/?province=KH-2&q=test", "/detainees/", "/hearings/", "/lawyers/"]


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("who", ["caseworker_client", "coordinator_client", "admin_client_"])
def test_list_queries_do_not_grow_with_rows(request, caseworker, url, who):
    client = request.getfixturevalue(who)
    populate(caseworker, 1)
    few = count_queries(client, url)
    populate(caseworker, 49)
    many = count_queries(client, url)
    assert few == many, f"{url}: {few} queries with 1 row, {many} with 50"


def grow_case(case, n: int):
    """n more days of history: a hearing, an event and a bail request each day, and a
    person accused, so every kind of entry is among the latest the case page shows."""
    accused = case.accused.first()
    today = timezone.localdate()
    start = case.hearings.filter(status="held").count()
    for i in range(start, start + n):
        day = today - dt.timedelta(days=i + 1)
        f.make_hearing(case, days_from_now=-i - 1, status="held", outcome="Adjourned")
        f.make_event(case, kind=Event.Kind.TRANSFERRED, accused=accused, occurred_on=day)
        f.make_bail(accused, decision="denied", filed_on=day, decided_on=day)
        f.add_accused(case)


@pytest.mark.parametrize("who", ["caseworker_client", "coordinator_client", "admin_client_"])
def test_case_page_queries_do_not_grow_with_timeline(request, own_case, who):
    client = request.getfixturevalue(who)
    url = f"/cases/{own_case.pk}/"
    # Caseworkers see no history panel (casework.access.can_see_history).
    names = _related_kinds if who != "caseworker_client" else lambda case: 0
    grow_case(own_case, 1)
    few = count_queries(client, url) - names(own_case)
    grow_case(own_case, 99)  # 300 entries, most of them left to the full timeline
    many = count_queries(client, url) - names(own_case)
    assert few == many


def _related_kinds(case) -> int:
    """The history panel names the records its changes point to: one query for each
    kind of record (court, person, caseworker...), whatever the number of entries."""
    entries = selectors.case_history(case)
    return len({model for entry in entries for model, _ in _related_values(entry)})


@pytest.mark.parametrize("number", ["1", "3", "99999"])  # not "page": pytest-playwright's
def test_full_timeline_queries_do_not_grow_with_timeline(caseworker_client, own_case, number):
    url = f"/cases/{own_case.pk}/timeline/?page={number}"
    grow_case(own_case, 1)
    few = count_queries(caseworker_client, url)
    grow_case(own_case, 99)
    assert count_queries(caseworker_client, url) == few


def test_person_page_queries_do_not_grow_with_cases(caseworker_client, caseworker, own_case):
    person = own_case.accused.first().detainee
    url = f"/detainees/{person.pk}/"

    def add_cases(n):
        for _ in range(n):
            case = f.make_case("KH-2", caseworker=caseworker)
            accused = f.add_accused(case, detainee=person)
            f.hold(accused)
            f.make_hearing(case)
            f.make_bail(accused)
            case.charges.set([f.charge_pk(1)])

    add_cases(1)
    few = count_queries(caseworker_client, url)
    add_cases(30)
    assert count_queries(caseworker_client, url) == few


# The reports page: (figures computed afresh, figures remembered; reports.figures). Afresh:
# session, user, two-factor device, whether the scope is past FIGURES_JOB_CASES (one
# query), the 13 figure queries, the province choices, the data version (read again when
# they are stored) and the figures looked up in the cache table, and stored twice, under
# the version and as the latest (each a savepoint, a count, a lookup, the insert, its
# release); choosing a province adds its lookup. Remembered: the figure queries are not
# run at all.
REPORT_QUERIES = {
    ("admin_client_", "/reports/"): (31, 6),
    ("admin_client_", "/reports/?province=KH-2"): (32, 7),
    ("coordinator_client", "/reports/"): (31, 6),
    ("coordinator_client", "/reports/?province=KH-2"): (32, 7),
}


@pytest.mark.parametrize("who, url", list(REPORT_QUERIES))
def test_reports_page_queries_are_pinned(request, caseworker, who, url):
    from reports.figures import forget_figures

    client = request.getfixturevalue(who)
    populate(caseworker, 1)
    forget_figures()  # as the commit of those writes does (the test's never commits)
    afresh, remembered = REPORT_QUERIES[who, url]
    if connection.vendor == "postgresql":
        afresh += 2  # parallel workers allowed while the figures are computed, then not
    assert (count_queries(client, url), count_queries(client, url)) == (afresh, remembered)
    populate(caseworker, 49)
    forget_figures()
    assert (count_queries(client, url), count_queries(client, url)) == (afresh, remembered)
