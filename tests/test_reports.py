"""The reports page (/reports/) and its PDF: what each figure counts, who sees what,
and a constant number of queries. Every person here is fictional."""

import datetime as dt
import json
import os
import re
import shutil
import subprocess

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry, AuditEvent
from casework.models import BailRequest, Case, Event
from jobs.models import Job
from reports.figures import Period, Report, default_period
from reports.pseudonyms import pseudonym

from . import factories as f
from .conftest import run_jobs

# poppler-utils: reading the PDFs back is how these tests check them.
PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"

TODAY = timezone.localdate()
THIS_MONTH = TODAY.replace(day=1)
LAST_MONTH = (THIS_MONTH - dt.timedelta(days=1)).replace(day=1)


def period(province=None, start=LAST_MONTH, end=TODAY) -> Period:
    return Period(start=start, end=end, province=f.province(province) if province else None)


@pytest.fixture
def trend_world(own_case, other_case, far_case):
    """Events over two months, designed so people, events and cases differ."""
    a = own_case.accused.first()  # Sokha Vannak, Battambang
    b = other_case.accused.first()  # Dara Phirun, Battambang
    c = far_case.accused.first()  # Chanthy Kosal, Phnom Penh
    # Sokha summoned twice last month: one person, once in the month.
    f.make_event(own_case, Event.Kind.SUMMONED, accused=a, occurred_on=LAST_MONTH)
    f.make_event(own_case, Event.Kind.SUMMONED, accused=a, occurred_on=LAST_MONTH + dt.timedelta(3))
    # ...and again this month: once per month, once in the whole period.
    f.make_event(own_case, Event.Kind.SUMMONED, accused=a, occurred_on=THIS_MONTH)
    f.make_event(other_case, Event.Kind.SUMMONED, accused=b, occurred_on=THIS_MONTH)
    f.make_event(other_case, Event.Kind.QUESTIONED, accused=b, occurred_on=THIS_MONTH)
    f.make_event(far_case, Event.Kind.ARRESTED, accused=c, occurred_on=LAST_MONTH)
    f.make_event(far_case, Event.Kind.RELEASED_ON_BAIL, accused=c, occurred_on=THIS_MONTH)
    f.make_event(own_case, Event.Kind.RELEASED, accused=a, occurred_on=THIS_MONTH)
    # About the case, not a person: not counted among people.
    f.make_event(own_case, Event.Kind.SUMMONED, occurred_on=THIS_MONTH)
    # Before the period: not counted.
    f.make_event(own_case, Event.Kind.ARRESTED, accused=a, occurred_on=LAST_MONTH - dt.timedelta(1))
    return {"own": own_case, "other": other_case, "far": far_case}


def test_trend_counts_people_once_per_month_and_once_in_the_period(admin_user, trend_world):
    trend = Report(admin_user, period()).trend()
    months = {m["month"]: m for m in trend["months"]}
    assert [m["month"] for m in trend["months"]] == [LAST_MONTH, THIS_MONTH]
    last, this = months[LAST_MONTH], months[THIS_MONTH]
    assert (last["summoned"], last["questioned"], last["arrested"], last["released"]) == (
        1,
        0,
        1,
        0,
    )
    assert (this["summoned"], this["questioned"], this["arrested"], this["released"]) == (
        2,
        1,
        0,
        2,
    )
    # Sokha was summoned in both months: two month rows, one person in the period.
    assert trend["totals"] == {
        "summoned": 2,
        "questioned": 1,
        "arrested": 1,
        "released": 2,
        "died": 0,
    }


def test_trend_by_province(admin_user, trend_world):
    rows = {r["code"]: r for r in Report(admin_user, period()).trend_by_province()}
    assert rows["KH-2"]["summoned"] == 2 and rows["KH-2"]["released"] == 1
    assert rows["KH-12"]["arrested"] == 1 and rows["KH-12"]["released"] == 1


def test_a_person_arrested_in_two_provinces_counts_once_a_month_and_once_in_each(
    admin_user, caseworker
):
    person = f.make_detainee("Keo Sothea")
    battambang = f.make_case("KH-2", caseworker=caseworker, accused=[person])
    phnom_penh = f.make_case("KH-12", accused=[person])
    for case in (battambang, phnom_penh):
        f.make_event(case, Event.Kind.ARRESTED, accused=case.accused.get(), occurred_on=THIS_MONTH)
    report = Report(admin_user, period())
    this_month = {m["month"]: m for m in report.trend()["months"]}[THIS_MONTH]
    assert this_month["arrested"] == 1
    assert report.trend()["totals"]["arrested"] == 1
    rows = {r["code"]: r for r in report.trend_by_province()}
    assert rows["KH-2"]["arrested"] == 1 and rows["KH-12"]["arrested"] == 1
    assert rows["KH-2"]["values"] == [0, 0, 1, 0, 0]


def test_a_death_in_custody_counts_in_the_trend_by_month_and_province(admin_user, caseworker):
    case = f.make_case("KH-2", caseworker=caseworker)
    accused = f.add_accused(case, f.make_detainee("Ouk Rithy"))
    f.make_event(
        case,
        Event.Kind.DIED_IN_CUSTODY,
        accused=accused,
        occurred_on=THIS_MONTH,
        place="Provincial prison",
        stated_cause="Illness",
        examination=Event.Examination.NO,
    )
    report = Report(admin_user, period())
    assert report.trend()["totals"]["died"] == 1
    assert {m["month"]: m for m in report.trend()["months"]}[THIS_MONTH]["died"] == 1
    rows = {r["code"]: r for r in report.trend_by_province()}
    assert rows["KH-2"]["values"][-1] == 1


def test_coordinator_figures_leave_out_other_provinces(coordinator, trend_world):
    report = Report(coordinator, period())
    assert report.trend()["totals"]["arrested"] == 0  # the arrest was in Phnom Penh
    assert {r["code"] for r in report.trend_by_province()} == {"KH-2"}
    assert {r["code"] for r in report.custody_by_province()["rows"]} == {"KH-2"}


def test_province_narrows_every_figure(admin_user, trend_world):
    report = Report(admin_user, period("KH-12"))
    assert report.trend()["totals"] == {
        "summoned": 0,
        "questioned": 0,
        "arrested": 1,
        "released": 1,
        "died": 0,
    }
    assert report.opened()["cases"] == 1
    assert report.held_now()["summary"]["people"] == 0
    assert [r["code"] for r in report.attention()["rows"]] == ["KH-12"]


def test_people_cases_and_charges_are_counted_separately(admin_user, caseworker):
    person = f.make_detainee("Keo Sothea")
    other = f.make_detainee("Lim Bopha")
    first = f.make_case("KH-2", caseworker=caseworker, accused=[person, other])
    second = f.make_case("KH-2", caseworker=caseworker, accused=[person])
    first.charges.set([f.charge_pk(1), f.charge_pk(2)])
    second.charges.set([f.charge_pk(1)])
    opened = Report(admin_user, period()).opened()
    assert opened["cases"] == 2
    assert opened["people"] == 2  # Keo Sothea is in both cases: one person
    assert opened["charges"] == 3  # three charges laid: two in one case, one in the other
    by_charge = {row["pk"]: row for row in opened["charge_rows"]}
    assert by_charge[f.charge_pk(1)]["cases"] == 2 and by_charge[f.charge_pk(1)]["people"] == 2
    assert by_charge[f.charge_pk(2)]["cases"] == 1 and by_charge[f.charge_pk(2)]["people"] == 2


def test_cases_opened_before_the_period_are_not_counted(admin_user, caseworker):
    f.make_case("KH-2", caseworker=caseworker, opened_on=LAST_MONTH - dt.timedelta(days=1))
    assert Report(admin_user, period()).opened()["cases"] == 0


def test_held_now_is_sorted_by_urgency_with_counts(admin_user, caseworker):
    case = f.make_case("KH-2", caseworker=caseworker)
    past = f.add_accused(case, f.make_detainee("Past Limit"), custody_status="pretrial_detention")
    near = f.add_accused(case, f.make_detainee("Near Limit"), custody_status="pretrial_detention")
    fresh = f.add_accused(case, f.make_detainee("Fresh Order"), custody_status="pretrial_detention")
    f.hold(past, days_ago=200)  # felony: 6 months
    f.hold(near, days_ago=175)
    f.hold(fresh, days_ago=3)
    ended = f.add_accused(case, f.make_detainee("Released Already"))
    f.hold(ended, days_ago=100, ended_at=timezone.now() - dt.timedelta(days=50))
    held = Report(admin_user, period()).held_now()
    names = [p.accused.detainee.name_latin for p in held["rows"]]
    assert names == ["Past Limit", "Near Limit", "Fresh Order"]
    assert held["summary"] == {"people": 3, "pretrial": 3, "past": 1, "near": 1, "orders": 3}
    assert held["rows"][0].days_held == 200


def test_bail_requests_by_court(admin_user, own_case, far_case):
    a, c = own_case.accused.first(), far_case.accused.first()
    day = LAST_MONTH + dt.timedelta(days=2)
    f.make_bail(a, filed_on=day, decision="denied", decided_on=day + dt.timedelta(3))
    f.make_bail(a, filed_on=day, decision="granted", decided_on=day + dt.timedelta(9))
    f.make_bail(a, filed_on=day, decision="pending")
    f.make_bail(c, filed_on=day, decision="withdrawn", decided_on=day)
    f.make_bail(c, filed_on=LAST_MONTH - dt.timedelta(days=5), decision="pending")  # before
    bail = Report(admin_user, period()).bail_by_court()
    rows = {r["court_id"]: r for r in bail["rows"]}
    btb = rows[own_case.court_id]
    assert (btb["filed"], btb["granted"], btb["denied"], btb["pending"]) == (3, 1, 1, 1)
    assert btb["people"] == 1
    assert rows[far_case.court_id]["withdrawn"] == 1
    assert bail["totals"]["filed"] == 4 and bail["totals"]["people"] == 2
    assert BailRequest.objects.count() == 5


def test_hearings_next_week_by_province_and_caseworker(admin_user, own_case, other_case, far_case):
    f.make_hearing(own_case, days_from_now=9)  # beyond 7 days: not counted
    f.make_hearing(own_case, days_from_now=1, status="cancelled")  # cancelled: not counted
    lawyer = f.make_lawyer()
    f.make_hearing(other_case, days_from_now=3, lawyer=lawyer)
    rows = Report(admin_user, period()).hearings_next_week()
    by = {(r["code"], r["case__caseworker__username"]): r for r in rows}
    assert by[("KH-2", "caseworker")]["hearings"] == 1
    assert by[("KH-2", "caseworker2")]["hearings"] == 2
    assert by[("KH-2", "caseworker2")]["no_lawyer"] == 1
    assert by[("KH-2", "caseworker2")]["cases"] == 1
    assert by[("KH-12", None)]["caseworker"] == ""


def test_caseload_and_cases_needing_attention(
    admin_user, caseworker, own_case, other_case, far_case
):
    f.represent(f.make_lawyer(), other_case.accused.first())
    Case.objects.filter(pk=far_case.pk).update(updated_at=timezone.now() - dt.timedelta(days=40))
    f.make_case("KH-2", caseworker=caseworker, status="closed")  # closed: not in the caseload
    report = Report(admin_user, period())
    caseload = {r["caseworker__username"]: r for r in report.caseload()}
    assert caseload["caseworker"]["cases"] == 1 and caseload["caseworker"]["held"] == 1
    assert caseload["caseworker2"]["no_lawyer"] == 0
    assert caseload[None]["stale"] == 1
    attention = report.attention()
    assert attention["totals"] == {"open": 3, "no_lawyer": 2, "stale": 1}


def test_no_lawyer_counts_open_cases_without_a_current_lawyer_once(
    admin_user, caseworker, coordinator
):
    lawyer = f.make_lawyer()
    # Two accused, both represented: one case with a lawyer, counted once.
    both = f.make_case("KH-2", caseworker=caseworker)
    for name in ["Keo Sothea", "Lim Bopha"]:
        f.represent(lawyer, f.add_accused(both, f.make_detainee(name)))
    # The lawyer stopped last month: no current lawyer.
    ended = f.make_case("KH-2", caseworker=caseworker)
    f.represent(
        lawyer,
        f.add_accused(ended),
        since=TODAY - dt.timedelta(days=90),
        until=TODAY - dt.timedelta(days=30),
    )
    # Represented until later this year: still current.
    until_later = f.make_case("KH-12", caseworker=caseworker)
    f.represent(lawyer, f.add_accused(until_later), until=TODAY + dt.timedelta(days=30))
    # No accused at all: nobody has a lawyer.
    f.make_case("KH-12", caseworker=caseworker)
    # Closed: not an open case, whatever its lawyers.
    f.make_case("KH-2", caseworker=caseworker, status="closed")

    report = Report(admin_user, period())
    [row] = report.caseload()
    assert (row["cases"], row["no_lawyer"]) == (4, 2)
    attention = {r["code"]: r for r in report.attention()["rows"]}
    assert (attention["KH-2"]["open"], attention["KH-2"]["no_lawyer"]) == (2, 1)
    assert (attention["KH-12"]["open"], attention["KH-12"]["no_lawyer"]) == (2, 1)
    assert report.attention()["totals"]["no_lawyer"] == 2

    # The coordinator (Battambang, Banteay Meanchey) sees Battambang's cases only.
    mine = Report(coordinator, period())
    assert [r["code"] for r in mine.attention()["rows"]] == ["KH-2"]
    assert mine.attention()["totals"] == {"open": 2, "no_lawyer": 1, "stale": 0}
    assert [(r["cases"], r["no_lawyer"]) for r in mine.caseload()] == [(2, 1)]


def test_caseload_counts_a_person_in_two_cases_once(admin_user, caseworker, caseworker2):
    person = f.make_detainee("Keo Sothea")
    f.make_case("KH-2", caseworker=caseworker, accused=[person])
    second = f.make_case("KH-6", caseworker=caseworker, accused=[person])
    f.add_accused(second, f.make_detainee("Lim Bopha"), custody_status="pretrial_detention")
    f.make_case("KH-2", caseworker=caseworker2, accused=[person])
    rows = {r["caseworker__username"]: r for r in Report(admin_user, period()).caseload()}
    assert (rows["caseworker"]["cases"], rows["caseworker"]["people"]) == (2, 2)
    assert rows["caseworker"]["held"] == 1
    assert (rows["caseworker2"]["cases"], rows["caseworker2"]["people"]) == (1, 1)
    # Most cases first.
    assert [r["caseworker__username"] for r in Report(admin_user, period()).caseload()] == [
        "caseworker",
        "caseworker2",
    ]


def test_default_period_is_the_last_twelve_months():
    start, end = default_period(dt.date(2026, 3, 15))
    assert (start, end) == (dt.date(2025, 4, 1), dt.date(2026, 3, 15))


# --- The page -------------------------------------------------------------------------


def test_caseworkers_get_403(caseworker_client, world_cases):
    assert caseworker_client.get("/reports/").status_code == 403
    assert caseworker_client.get("/reports/report.pdf").status_code == 403


@pytest.fixture
def world_cases(trend_world):
    return trend_world


def test_page_states_what_each_figure_counts(coordinator_client, world_cases):
    response = coordinator_client.get("/reports/")
    assert response.status_code == 200
    body = response.content.decode()
    for section in [
        "trend",
        "held",
        "custody",
        "bail",
        "hearings",
        "caseload",
        "attention",
        "charges",
    ]:
        assert f'id="{section}"' in body, section
    assert body.count('class="unit unit-people"') >= 5
    assert 'class="unit unit-cases"' in body and 'class="unit unit-charges"' in body


def test_coordinator_page_shows_only_their_provinces(coordinator_client, world_cases):
    body = coordinator_client.get("/reports/").content.decode()
    assert "Phnom Penh" not in body and "Chanthy" not in body
    assert "Sokha Vannak" in body  # held in pre-trial detention, in Battambang
    response = coordinator_client.get("/reports/?province=KH-12")
    assert "province" in response.context["form"].errors
    assert "figures" not in response.context
    assert "Chanthy" not in response.content.decode()


def test_admin_page_shows_every_province(admin_client_, world_cases):
    body = admin_client_.get("/reports/").content.decode()
    assert "Phnom Penh" in body and "Battambang" in body
    assert "/reports/report.pdf?" in body


def test_charts_read_json_and_vendored_scripts_with_no_inline_code(admin_client_, world_cases):
    body = admin_client_.get("/reports/").content.decode()
    assert '<script src="/static/vendor/chartjs/chart.umd.js" defer>' in body
    assert '<script src="/static/js/reports.js" defer>' in body
    for tag in re.findall(r"<script[^>]*>", body):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert " style=" not in body and "<style" not in body
    assert "cdn" not in body.lower()
    data = json.loads(
        re.search(r'id="chart-trend" type="application/json">(.*?)</script>', body).group(1)
    )
    assert [d["label"] for d in data["datasets"]] == [
        "Summoned",
        "Questioned",
        "Arrested",
        "Released",
        "Died in custody",
    ]
    assert len(data["labels"]) == 12
    custody = json.loads(
        re.search(r'id="chart-custody" type="application/json">(.*?)</script>', body).group(1)
    )
    assert custody["labels"] == ["Battambang", "Phnom Penh"]


@pytest.mark.parametrize(
    "query, message",
    [
        ("start=2026-05-01&end=2026-04-01", "The period ends before it starts."),
        ("start=2010-01-01&end=2026-01-01", "at most 60 months"),
        ("start=yesterday", "Enter a valid date."),
        ("province=XX", "Select a valid choice."),
    ],
)
def test_period_not_understood_is_a_form_error(admin_client_, world_cases, query, message):
    response = admin_client_.get(f"/reports/?{query}")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "figures" not in response.context
    assert admin_client_.get(f"/reports/report.pdf?{query}").status_code == 400


def _populate(caseworker, n: int):
    lawyer = f.make_lawyer()
    for _ in range(n):
        case = f.make_case("KH-2", caseworker=caseworker)
        case.charges.set([f.charge_pk(1), f.charge_pk(2)])
        accused = f.add_accused(case, custody_status="pretrial_detention")
        f.hold(accused, days_ago=170)
        f.make_hearing(case, days_from_now=2, lawyer=lawyer)
        f.make_bail(accused, decision="pending")
        f.represent(lawyer, accused)
        f.make_event(case, Event.Kind.ARRESTED, accused=accused)


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["admin_client_", "coordinator_client"])
@pytest.mark.parametrize("url", ["/reports/", "/reports/?province=KH-2"])
def test_page_queries_do_not_grow_with_rows(request, caseworker, who, url):
    client = request.getfixturevalue(who)
    _populate(caseworker, 1)
    committed()
    few = _queries(client, url)
    _populate(caseworker, 29)
    committed()  # the new rows retire the remembered figures
    assert _queries(client, url) == few


def _pdf_job_queries(client) -> int:
    """The queries of asking for the PDF and of the job that makes it."""
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/reports/report.pdf").status_code == 302
        run_jobs()
    assert Job.objects.latest("created_at").status == "done"
    return len(ctx.captured_queries)


def test_pdf_queries_do_not_grow_with_rows(admin_client_, caseworker):
    _populate(caseworker, 1)
    few = _pdf_job_queries(admin_client_)
    _populate(caseworker, 29)
    assert _pdf_job_queries(admin_client_) == few


# --- Remembered figures --------------------------------------------------------------


def committed():
    """What the commit of the fixtures' writes would have run (the test's transaction
    never commits): the figures are retired once per transaction, after its commit."""
    hooks, connection.run_on_commit = connection.run_on_commit, []
    for _sids, func, _robust in hooks:
        func()


def test_page_shows_a_change_at_once_and_says_as_of_when(admin_client_, caseworker, world_cases):
    """Each change retires the remembered figures when it commits (the test's own
    transaction never does: the capture runs what a commit would)."""
    committed()

    def opened(client):
        return client.get("/reports/").context["figures"]["opened"]["cases"]

    before = opened(admin_client_)
    body = admin_client_.get("/reports/").content.decode()
    assert 'id="figures-as-of"' in body and "Figures as of" in body
    new = f.make_case("KH-2", caseworker=caseworker)
    assert len(connection.run_on_commit) == 1  # once per transaction, whatever it wrote
    committed()
    assert opened(admin_client_) == before + 1
    # A change to a case's charges counts too.
    case = Case.objects.get(reference="BTB-0001")
    charges = admin_client_.get("/reports/").context["figures"]["opened"]["charges"]
    case.charges.add(f.charge_pk(3))
    committed()
    assert admin_client_.get("/reports/").context["figures"]["opened"]["charges"] == charges + 1
    # And a deletion.
    new.delete()
    committed()
    assert opened(admin_client_) == before


def test_any_process_retires_the_figures_not_only_the_web_server():
    """A command or a worker that never imports the reports' pages still retires the
    remembered figures when it changes a record: the handlers connect when the app loads."""
    import sys

    probe = (
        "import django; django.setup()\n"
        "from django.db.models.signals import post_save\n"
        "print(any(r[0][0] == 'reports.figures.post_save' for r in post_save.receivers))\n"
    )
    out = subprocess.run(  # noqa: S603  (our interpreter, our fixed probe)
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"},
    )
    assert out.stdout.strip().splitlines()[-1] == "True", out.stderr


def test_figures_are_not_retired_by_a_change_that_rolls_back(
    admin_client_, caseworker, world_cases
):
    from django.db import transaction

    committed()
    before = admin_client_.get("/reports/").context["figures"]["opened"]["cases"]
    with pytest.raises(RuntimeError), transaction.atomic():
        f.make_case("KH-2", caseworker=caseworker)
        raise RuntimeError("the change failed")
    assert connection.run_on_commit == []
    assert admin_client_.get("/reports/").context["figures"]["opened"]["cases"] == before


def test_second_view_is_served_from_the_remembered_figures(admin_client_, world_cases):
    cold = _queries(admin_client_, "/reports/")
    warm = _queries(admin_client_, "/reports/")
    assert warm < cold - 10
    # Another province: other figures, computed afresh.
    assert _queries(admin_client_, "/reports/?province=KH-2") > warm + 10


def test_remembered_figures_are_never_shared_across_scopes(
    admin_client_, coordinator_client, world_cases
):
    from accounts.models import Role

    from .conftest import _client_for

    # Another user of the same role, with another province (made first: a new user moves
    # the data version on, which would hide a key shared between them).
    other = f.make_user("coordinator-pp", role=Role.COORDINATOR, provinces=["KH-12"])
    other_client = _client_for(other)
    assert "Phnom Penh" in admin_client_.get("/reports/").content.decode()
    body = coordinator_client.get("/reports/").content.decode()
    assert "Phnom Penh" not in body and "Chanthy" not in body
    body = other_client.get("/reports/").content.decode()
    assert "Phnom Penh" in body and "Sokha Vannak" not in body and "Battambang" not in body


def test_a_coordinators_new_province_shows_at_once(coordinator, coordinator_client, world_cases):
    committed()
    assert "Phnom Penh" not in coordinator_client.get("/reports/").content.decode()
    coordinator.provinces.add(f.province("KH-12"))
    committed()
    assert "Phnom Penh" in coordinator_client.get("/reports/").content.decode()


def test_remembered_figures_are_kept_per_language(admin_client_, world_cases):
    english = admin_client_.get("/reports/").context["figures"]["trend"]["months"][-1]["label"]
    khmer = admin_client_.get("/reports/", HTTP_ACCEPT_LANGUAGE="km").context["figures"]
    assert khmer["trend"]["months"][-1]["label"] != english


# --- Figures of a large scope: a background job -----------------------------------------


@pytest.fixture
def large_scope(settings, world_cases):
    """Three cases count as "many" for these tests (FIGURES_JOB_CASES)."""
    settings.FIGURES_JOB_CASES = 2
    committed()
    return world_cases


def _figures_jobs():
    return list(Job.objects.filter(kind=Job.Kind.FIGURES).order_by("created_at"))


def test_a_large_scope_has_its_figures_computed_by_a_job(admin_client_, admin_user, large_scope):
    first = admin_client_.get("/reports/")
    assert first.status_code == 200
    assert first.context["figures"] is None  # none yet: nothing computed in the request
    (job,) = _figures_jobs()
    assert (job.status, job.requested_by) == ("queued", admin_user)
    body = first.content.decode()
    assert "The figures are being computed" in body
    assert f'data-status-url="/jobs/{job.pk}/status.json"' in body
    assert 'data-reload-when-done="1"' in body and "js/job-progress.js" in body
    # Opened again while it waits: the same job, not another.
    admin_client_.get("/reports/")
    assert _figures_jobs() == [job]

    run_jobs()
    job.refresh_from_db()
    assert job.status == "done"
    state = admin_client_.get(f"/jobs/{job.pk}/status.json").json()
    assert state["finished"] and state["stage"] == "The figures are ready."
    shown = admin_client_.get("/reports/")
    assert shown.context["figures"]["opened"]["cases"] == 3 and shown.context["figures_current"]
    assert "being computed" not in shown.content.decode()
    assert len(_figures_jobs()) == 1  # served from what the job computed


def test_after_a_change_the_latest_figures_show_while_new_ones_are_computed(
    admin_client_, caseworker, large_scope
):
    admin_client_.get("/reports/")
    run_jobs()
    assert admin_client_.get("/reports/").context["figures"]["opened"]["cases"] == 3
    f.make_case("KH-2", caseworker=caseworker)
    committed()

    stale = admin_client_.get("/reports/")
    # The figures it has, said to be older, while a job computes new ones.
    assert stale.context["figures"]["opened"]["cases"] == 3
    assert not stale.context["figures_current"]
    body = stale.content.decode()
    assert "Newer figures are being computed" in body and "records may have changed" in body
    assert _figures_jobs()[-1].status == "queued"

    run_jobs()
    fresh = admin_client_.get("/reports/")
    assert fresh.context["figures"]["opened"]["cases"] == 4 and fresh.context["figures_current"]


def test_a_small_scope_is_computed_in_the_request(admin_client_, world_cases, settings):
    settings.FIGURES_JOB_CASES = 3  # exactly as many cases as the scope has: not "large"
    response = admin_client_.get("/reports/")
    assert response.context["figures"]["opened"]["cases"] == 3
    assert _figures_jobs() == []


def test_each_person_follows_their_own_figures_job(
    admin_client_, coordinator, coordinator_client, large_scope, settings
):
    """A job is only its requester's (404 for anyone else), so each one asking gets theirs;
    a coordinator's job computes their scope only."""
    settings.FIGURES_JOB_CASES = 1  # the coordinator sees two cases
    admin_client_.get("/reports/")
    coordinator_client.get("/reports/")
    admin_job, coordinator_job = _figures_jobs()
    assert coordinator_job.requested_by == coordinator
    assert coordinator_client.get(f"/jobs/{admin_job.pk}/status.json").status_code == 404
    run_jobs()
    body = coordinator_client.get("/reports/").content.decode()
    assert "Battambang" in body and "Phnom Penh" not in body


def test_a_failed_figures_job_is_tried_again_on_the_next_view(
    admin_client_, large_scope, monkeypatch
):
    from reports import figures as report_figures

    admin_client_.get("/reports/")

    def broken(user, period):
        raise RuntimeError("database went away")

    monkeypatch.setattr(report_figures, "compute_figures", broken)
    run_jobs()
    (failed,) = _figures_jobs()
    failed.refresh_from_db()
    assert failed.status == "failed"
    # Nothing was read out: no export entry for it.
    assert not AuditEntry.objects.filter(event=AuditEvent.EXPORT).exists()
    body = admin_client_.get("/reports/").content.decode()
    assert "The figures are being computed" in body
    assert [job.status for job in _figures_jobs()] == ["failed", "queued"]


# --- The PDF ------------------------------------------------------------------------------


def report_pdf(client, url):
    """Ask for the PDF (a job), let a worker make it, and download it from the job."""
    asked = client.get(url)
    assert asked.status_code == 302
    job = Job.objects.latest("created_at")
    assert asked["Location"] == job.get_absolute_url()
    run_jobs()
    state = client.get(f"/jobs/{job.pk}/status.json").json()
    assert state["status"] == "done", state
    return client.get(state["file_url"])


def pdf_text(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    content = b"".join(response.streaming_content) if response.streaming else response.content
    out = subprocess.run(  # noqa: S603  (our fixed command, the PDF on stdin)
        [PDFTOTEXT, "-layout", "-", "-"], input=content, capture_output=True, check=True
    )
    return out.stdout.decode()


def test_report_pdf_has_the_figures_and_is_audited(admin_client_, admin_user, world_cases):
    start = LAST_MONTH.isoformat()
    response = report_pdf(admin_client_, f"/reports/report.pdf?start={start}&province=KH-2")
    assert response.status_code == 200
    text = pdf_text(response)
    for expected in [
        "Casework report",
        "Summoned, questioned, arrested, released and died in custody, per month",
        "Held now under a legal clock",
        "Sokha Vannak",
        "សុខា វណ្ណៈ",
        "BTB-0001",
        "Bail requests filed in the period, by court",
        "Caseload per caseworker",
        "CONFIDENTIAL",
    ]:
        assert expected in text, expected
    assert "Chanthy" not in text and "Phnom Penh" not in text
    # Recorded when the job made it, then again at the download.
    made, downloaded = AuditEntry.objects.filter(event=AuditEvent.EXPORT).order_by("id")
    assert downloaded.additional_data["outcome"] == "downloaded"
    entry = made
    assert entry.actor == admin_user and entry.content_type.model == "case"
    assert entry.additional_data == {
        "format": "pdf",
        "filters": {
            "report": "figures",
            "start": start,
            "end": TODAY.isoformat(),
            "province": "KH-2",
        },
        "rows": 1,
        "anonymised": False,
        "outcome": "complete",
        "job": str(Job.objects.get().pk),
    }


def test_anonymised_report_pdf_names_no_one(admin_client_, world_cases):
    text = pdf_text(report_pdf(admin_client_, "/reports/report.pdf?anonymised=1"))
    person = world_cases["own"].accused.first()
    assert pseudonym("detainee", person.detainee_id) in text
    for name in ["Sokha", "សុខា", "BTB-0001", "Dara", "Chanthy", "caseworker2", "admin"]:
        assert name not in text, name
    made = AuditEntry.objects.filter(event=AuditEvent.EXPORT).earliest("id")
    assert made.additional_data["anonymised"] is True


def test_nav_links(admin_client_, coordinator_client, caseworker_client, world_cases):
    admin = admin_client_.get("/").content.decode()
    assert 'href="/reports/"' in admin and 'href="/imports/"' in admin
    coordinator = coordinator_client.get("/").content.decode()
    assert 'href="/reports/"' in coordinator and 'href="/imports/"' not in coordinator
    caseworker = caseworker_client.get("/").content.decode()
    assert 'href="/reports/"' not in caseworker
