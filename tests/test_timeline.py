"""A case's timeline: the case page shows what comes next and the latest entries, the
full timeline (/cases/<pk>/timeline/) pages through all of them."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry
from casework.models import Event
from casework.selectors import TIMELINE_PAGE_SIZE, TIMELINE_RECENT, TIMELINE_UPCOMING

from . import factories as f

TODAY = timezone.localdate()


def add_past_events(case, n: int) -> list[str]:
    """n events, one a day going back from yesterday; their markers, the latest first."""
    markers = []
    for i in range(n):
        marker = f"[entry {i:03d}]"
        f.make_event(
            case,
            kind=Event.Kind.THREATENED,
            occurred_on=TODAY - dt.timedelta(days=i + 1),
            description=marker,
        )
        markers.append(marker)
    return markers


def markers_in(body: str) -> list[str]:
    return re.findall(r"\[(?:entry|hearing) \d{3}\]", body)


def test_long_timeline_shows_the_latest_entries_and_links_to_the_rest(caseworker_client, own_case):
    markers = add_past_events(own_case, TIMELINE_RECENT + 15)
    response = caseworker_client.get(f"/cases/{own_case.pk}/")
    body = response.content.decode()
    # The latest ones, the latest first; none of the 15 oldest.
    assert markers_in(body) == markers[:TIMELINE_RECENT]
    # own_case has one hearing to come: it leads, under its own heading.
    assert "Coming up" in body
    assert body.index("Coming up") < body.index(markers[0])
    # 15 older entries, on page 2 of the full timeline (1 to come + 50 before them).
    older = re.search(
        r'href="(/cases/\d+/timeline/\?page=\d+)"[^>]*>\s*Show 15 older entries', body
    )
    assert older, "a link to the older entries"
    assert older.group(1) == f"/cases/{own_case.pk}/timeline/?page=2"
    assert "The whole timeline: 66 entries" in body
    page = caseworker_client.get(older.group(1)).content.decode()
    assert markers[TIMELINE_RECENT] in page  # the first entry the case page left out


def test_short_timeline_has_no_link_to_more(caseworker_client, own_case):
    add_past_events(own_case, 3)
    body = caseworker_client.get(f"/cases/{own_case.pk}/").content.decode()
    assert len(markers_in(body)) == 3
    assert "older entr" not in body and "/timeline/" not in body


def test_empty_timeline_says_how_to_start_it(caseworker_client, own_case):
    own_case.hearings.all().delete()
    body = caseworker_client.get(f"/cases/{own_case.pk}/").content.decode()
    assert "Nothing recorded yet" in body
    body = caseworker_client.get(f"/cases/{own_case.pk}/timeline/").content.decode()
    assert "Nothing recorded yet" in body


def test_case_page_shows_the_soonest_hearings_and_counts_the_later_ones(
    caseworker_client, own_case
):
    own_case.hearings.all().delete()
    for i in range(TIMELINE_UPCOMING + 4):
        f.make_hearing(own_case, days_from_now=i + 1, notes="", outcome=f"[hearing {i:03d}]")
    add_past_events(own_case, 2)
    body = caseworker_client.get(f"/cases/{own_case.pk}/").content.decode()
    shown = markers_in(body)
    # The soonest first, then the past, the latest first.
    assert shown == [f"[hearing {i:03d}]" for i in range(TIMELINE_UPCOMING)] + [
        "[entry 000]",
        "[entry 001]",
    ]
    assert "4 more entries scheduled later" in body


def test_full_timeline_pages_through_everything_the_latest_first(caseworker_client, own_case):
    own_case.hearings.all().delete()
    markers = add_past_events(own_case, 2 * TIMELINE_PAGE_SIZE + 7)
    seen = []
    for number in (1, 2, 3):
        response = caseworker_client.get(f"/cases/{own_case.pk}/timeline/?page={number}")
        assert response.status_code == 200
        body = response.content.decode()
        assert f"Page {number} of 3" in body
        assert "107 entries" in body
        seen += markers_in(body)
    assert seen == markers  # each entry once, in order


def test_full_timeline_shows_every_kind_of_entry(caseworker_client, own_case):
    accused = own_case.accused.first()
    f.make_bail(accused, decision="pending", filed_on=TODAY - dt.timedelta(days=3))
    f.make_hearing(own_case, days_from_now=-2, status="held", outcome="Witnesses heard")
    f.make_event(own_case, kind=Event.Kind.TRANSFERRED, accused=accused, description="Moved")
    body = caseworker_client.get(f"/cases/{own_case.pk}/timeline/").content.decode()
    for text in ("Bail request", "record decision", "Witnesses heard", "Transferred", "Moved"):
        assert text in body, text
    # The hearing to come (own_case's) leads, then the past, the latest first.
    assert body.index("Coming up") < body.index("Transferred") < body.index("Witnesses heard")
    assert body.index("Witnesses heard") < body.index("Bail request")


@pytest.mark.parametrize(
    "number, shown",  # not "page": pytest-playwright's
    [("abc", 1), ("0", 2), ("-1", 2), ("99999", 2), ("2.5", 1), ("", 1)],
)
def test_bad_page_numbers_get_a_page_not_an_error(caseworker_client, own_case, number, shown):
    add_past_events(own_case, TIMELINE_PAGE_SIZE + 5)
    response = caseworker_client.get(f"/cases/{own_case.pk}/timeline/?page={number}")
    assert response.status_code == 200
    assert re.search(r"Page [12] of 2", response.content.decode())
    # Not a number: the first page; out of range: the last (Paginator.get_page).
    assert response.context["page"].number == shown
    assert f"Page {shown} of 2" in response.content.decode()


def test_full_timeline_outside_scope_does_not_exist(
    caseworker_client, coordinator_client, far_case
):
    url = f"/cases/{far_case.pk}/timeline/"
    assert caseworker_client.get(url).status_code == 404
    assert coordinator_client.get(url).status_code == 404
    assert caseworker_client.get("/cases/999999/timeline/").status_code == 404


def test_opening_the_full_timeline_is_recorded_as_a_view_of_the_case(
    caseworker_client, caseworker, own_case
):
    views = AuditEntry.objects.filter(
        event="view", content_type__model="case", object_id=own_case.pk, actor=caseworker
    )
    before = views.count()
    caseworker_client.get(f"/cases/{own_case.pk}/timeline/?page=1")
    assert views.count() == before + 1


def test_hearings_lawyer_and_monitor_are_shown_without_a_query_each(
    caseworker_client, caseworker, own_case
):
    """The entries read only some columns of a hearing's lawyer and monitor: what they
    show of them must be among those, or each entry runs a query more."""
    caseworker.first_name, caseworker.last_name = "Dara", "Monitor"
    caseworker.save()

    def add_hearings(n):
        for i in range(n):
            f.make_hearing(
                own_case,
                days_from_now=-i - 1,
                lawyer=f.make_lawyer(f"Counsel {i:03d}"),
                monitor=caseworker,
            )

    def queries(url):
        with CaptureQueriesContext(connection) as ctx:
            response = caseworker_client.get(url)
        assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    for url in (f"/cases/{own_case.pk}/", f"/cases/{own_case.pk}/timeline/"):
        own_case.hearings.all().delete()
        add_hearings(1)
        few, body = queries(url)
        assert "Counsel 000" in body and "Dara Monitor" in body
        add_hearings(10)
        many, _ = queries(url)
        assert few == many, url
