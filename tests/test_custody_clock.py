"""The custody clock follows the law (issue 13, points 1, 2 and 10).

Police custody counts in hours from the arrest's time of day (Art. 96); a date alone
counts from the start of that day. A detention order's limit follows the accused's
charges (Art. 208 felony, Art. 209 misdemeanour) and is never a silent default;
custody is one clock from the arrest, bounded by the ceiling. A death in custody is
recorded with its details.
"""

import datetime as dt
import zoneinfo
from unittest import mock

import pytest
from django.utils import timezone

from casework import services
from casework.clocks import add_months
from casework.models import (
    NO_DERIVABLE_LIMIT,
    ORDER_BEFORE_ARREST,
    POLICE_EXTENSION_FELONY_ONLY,
    Charge,
    CustodyPeriod,
    DetentionLimit,
    Event,
)

from . import factories as f
from .factories import opened_form

pytestmark = pytest.mark.django_db

PHNOM_PENH = zoneinfo.ZoneInfo("Asia/Phnom_Penh")


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PHNOM_PENH)


def frozen(moment: dt.datetime):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def charge(classification: str) -> Charge:
    return Charge.objects.filter(classification=classification).first()


def charge_everyone(accused, charges):
    """Charges are each accused's: the case's charges, applied to everyone in it."""
    from casework import services

    services.case_update(actor=None, case=accused.case, charges=charges)


@pytest.fixture
def accused(caseworker):
    case = f.make_case("KH-2", caseworker=caseworker, reference="BTB-CLOCK")
    return f.add_accused(case, f.make_detainee("Chea Sopheap", name_khmer="ជា សុភាព"))


def record(client, accused, kind, day, time="", **extra):
    data = {
        "kind": kind,
        "accused": accused.pk,
        "occurred_on": day.isoformat(),
        "occurred_time": time,
        "source": "lawyer",
        **extra,
    }
    return client.post(f"/cases/{accused.case_id}/events/new/", data)


# --- Point 1: hours -----------------------------------------------------------


@pytest.mark.parametrize("hour", [6, 22])
def test_an_arrest_is_flagged_past_police_custody_at_its_own_hour(caseworker_client, accused, hour):
    day = timezone.localdate() - dt.timedelta(days=5)
    response = record(caseworker_client, accused, "arrested", day, f"{hour:02d}:00")
    assert response.status_code == 302
    period = accused.custody_periods.get()
    assert period.time_known
    deadline = at(day, hour) + dt.timedelta(hours=48)  # Art. 96
    assert period.runs_out_at == deadline
    with frozen(deadline - dt.timedelta(minutes=1)):
        assert not period.is_past_limit
        assert period.hours_left == 0
        assert not CustodyPeriod.objects.past_limit().filter(pk=period.pk).exists()
    with frozen(deadline + dt.timedelta(minutes=1)):
        assert period.is_past_limit
        assert CustodyPeriod.objects.past_limit().filter(pk=period.pk).exists()


def test_an_arrest_with_a_date_only_counts_from_the_start_of_that_day(caseworker_client, accused):
    day = timezone.localdate() - dt.timedelta(days=5)
    record(caseworker_client, accused, "arrested", day)
    period = accused.custody_periods.get()
    assert not period.time_known
    assert period.custody_since == at(day, 0)
    assert period.runs_out_at == at(day, 0) + dt.timedelta(hours=48)


def test_the_case_page_shows_hours_left_and_time_not_known(caseworker_client, accused):
    day = timezone.localdate() - dt.timedelta(days=1)
    record(caseworker_client, accused, "arrested", day)
    with frozen(at(day, 0) + dt.timedelta(hours=30)):
        page = caseworker_client.get(accused.case.get_absolute_url()).content.decode()
    assert "18 hours left" in page
    assert "time not known" in page


# --- Point 2: the limit follows the charges -------------------------------------


def test_a_misdemeanour_only_order_gets_art_209_and_cannot_pass_6_months(
    caseworker_client, accused
):
    charge_everyone(accused, [charge("misdemeanour")])
    day = timezone.localdate() - dt.timedelta(days=40)
    record(caseworker_client, accused, "arrested", day, "10:00")
    response = record(caseworker_client, accused, "pretrial_detention", day + dt.timedelta(days=2))
    assert response.status_code == 302
    period = accused.custody_periods.get(ended_at__isnull=True)
    assert period.limit.code == "pretrial-misdemeanour"
    assert period.limit.article == "Art. 209"
    since = at(day, 10)
    assert period.custody_since == since
    assert period.runs_out_at == add_months(since, 4)
    assert period.ceiling_at == add_months(since, 6)
    # One extension of 2 months reaches the 6-month ceiling; a second is refused.
    response = record(caseworker_client, accused, "detention_extended", timezone.localdate())
    assert response.status_code == 302
    period.refresh_from_db()
    assert period.extensions == 1
    assert period.runs_out_at == period.ceiling_at
    response = record(caseworker_client, accused, "detention_extended", timezone.localdate())
    assert response.status_code == 200
    assert "No further extension is allowed" in response.context["form"].errors["kind"][0]
    period.refresh_from_db()
    assert period.extensions == 1
    assert Event.objects.filter(kind="detention_extended").count() == 1


def test_a_felony_among_the_charges_gets_art_208(accused):
    charge_everyone(accused, [charge("misdemeanour"), charge("felony")])
    assert services.derive_limit(accused).code == "pretrial-felony"


@pytest.mark.parametrize("classes", [[], ["petty_offence"], ["misdemeanour", ""]])
def test_an_order_without_a_derivable_limit_asks_for_one(caseworker_client, accused, classes):
    charges = []
    for n, classification in enumerate(classes):
        if classification:
            charges.append(charge(classification))
        else:
            charges.append(Charge.objects.create(name_en=f"Unclassified {n}", article="Art. 1"))
    charge_everyone(accused, charges)
    assert services.derive_limit(accused) is None
    day = timezone.localdate() - dt.timedelta(days=3)
    response = record(
        caseworker_client, accused, "pretrial_detention", day, "14:30", description="Order 12"
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["limit"] == [str(NO_DERIVABLE_LIMIT)]
    assert form["description"].value() == "Order 12"  # what was typed is kept
    assert not accused.custody_periods.exists()
    assert not Event.objects.filter(kind="pretrial_detention").exists()
    # Choosing the limit saves it.
    felony = DetentionLimit.objects.get(code="pretrial-felony")
    response = record(caseworker_client, accused, "pretrial_detention", day, limit=felony.pk)
    assert response.status_code == 302
    assert accused.custody_periods.get().limit == felony


def test_the_derived_limit_is_shown_before_saving(caseworker_client, accused):
    charge_everyone(accused, [charge("misdemeanour")])
    page = caseworker_client.get(f"/cases/{accused.case_id}/events/new/").content.decode()
    assert "Chea Sopheap" in page
    assert "Art. 209, 6 months at most" in page


def test_the_service_refuses_an_order_without_a_limit_too(caseworker, accused):
    event = Event(
        case=accused.case,
        accused=accused,
        kind="pretrial_detention",
        occurred_on=timezone.localdate(),
    )
    with pytest.raises(services.ValidationError):
        services.event_record(actor=caseworker, event=event)
    assert not Event.objects.exists()


def test_a_second_order_continues_days_held(caseworker_client, accused):
    charge_everyone(accused, [charge("felony")])
    arrest = timezone.localdate() - dt.timedelta(days=100)
    record(caseworker_client, accused, "arrested", arrest, "06:00")
    record(caseworker_client, accused, "pretrial_detention", arrest + dt.timedelta(days=2))
    record(caseworker_client, accused, "detention_extended", arrest + dt.timedelta(days=60))
    record(caseworker_client, accused, "pretrial_detention", arrest + dt.timedelta(days=90))
    periods = list(accused.custody_periods.order_by("started_at"))
    assert len(periods) == 3
    current = accused.custody_periods.get(ended_at__isnull=True)
    assert current.started_at == at(arrest + dt.timedelta(days=90), 0)
    assert current.custody_since == at(arrest, 6)
    assert current.days_held in (99, 100)  # from the arrest, not from the second order
    assert current.extensions == 1  # the same limit: its extension carries on
    assert current.runs_out_at == f.DetentionLimit.objects.get(code="pretrial-felony").runs_out(
        at(arrest, 6), 1
    )
    assert current.ceiling_at == add_months(at(arrest, 6), 18)


def test_an_order_dated_before_the_arrest_is_refused(caseworker_client, accused):
    charge_everyone(accused, [charge("felony")])
    arrest = timezone.localdate() - dt.timedelta(days=10)
    record(caseworker_client, accused, "arrested", arrest, "22:00")
    response = record(
        caseworker_client,
        accused,
        "pretrial_detention",
        arrest - dt.timedelta(days=1),
        description="typo",
    )
    assert response.status_code == 200
    assert response.context["form"].errors["occurred_on"] == [str(ORDER_BEFORE_ARREST)]
    assert response.context["form"]["description"].value() == "typo"
    # Earlier the same day, with a time: before the arrest too.
    response = record(caseworker_client, accused, "pretrial_detention", arrest, "21:00")
    assert response.context["form"].errors["occurred_on"] == [str(ORDER_BEFORE_ARREST)]
    # The same day without a time: accepted, continuing from the arrest.
    response = record(caseworker_client, accused, "pretrial_detention", arrest)
    assert response.status_code == 302
    current = accused.custody_periods.get(ended_at__isnull=True)
    assert current.started_at == at(arrest, 22)
    assert accused.custody_periods.count() == 2


def test_the_database_refuses_an_order_before_its_arrest(accused):
    from django.db import IntegrityError, transaction

    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        f.hold(accused, started_at=now - dt.timedelta(days=2), custody_since=now)


def test_an_extension_past_the_felony_ceiling_is_refused(caseworker, accused):
    charge_everyone(accused, [charge("felony")])
    period = f.hold(accused, days_ago=400, extensions=2)
    assert period.runs_out_at == period.ceiling_at  # 6 + 2 × 6 = 18 months (Art. 208)
    event = Event(
        case=accused.case,
        accused=accused,
        kind="detention_extended",
        occurred_on=timezone.localdate(),
    )
    with pytest.raises(services.ValidationError) as refused:
        services.event_record(actor=caseworker, event=event)
    assert "kind" in refused.value.message_dict
    period.refresh_from_db()
    assert period.extensions == 2


def test_an_admin_edit_past_the_ceiling_is_refused(admin_user, accused):
    period = f.hold(accused, "pretrial-misdemeanour", days_ago=10)
    period.extensions = 2
    with pytest.raises(services.ValidationError) as refused:
        services.custody_period_update(actor=admin_user, period=period)
    assert "extensions" in refused.value.message_dict


# --- Point 10: death in custody ---------------------------------------------------


def test_a_death_in_custody_is_recorded_with_its_details(caseworker_client, accused):
    charge_everyone(accused, [charge("felony")])
    other_case = f.make_case("KH-2", reference="BTB-OTHER")
    elsewhere = f.add_accused(other_case, accused.detainee, custody_status="pretrial_detention")
    f.hold(elsewhere, days_ago=20)
    day = timezone.localdate() - dt.timedelta(days=2)
    record(caseworker_client, accused, "arrested", day - dt.timedelta(days=1), "08:00")
    response = record(
        caseworker_client,
        accused,
        "died_in_custody",
        day,
        "03:15",
        place="Police station, Battambang",
        stated_cause="Heart attack, said the police",
        examination="requested",
    )
    assert response.status_code == 302
    death = Event.objects.get(kind="died_in_custody")
    assert death.place == "Police station, Battambang"
    assert death.get_examination_display() == "Requested, not (yet) done"
    accused.refresh_from_db()
    elsewhere.refresh_from_db()
    assert accused.custody_status == elsewhere.custody_status == "deceased"
    assert not CustodyPeriod.objects.filter(ended_at__isnull=True).exists()
    page = caseworker_client.get(accused.case.get_absolute_url()).content.decode()
    assert "Heart attack, said the police" in page
    assert "Police station, Battambang" in page
    # Recorded once.
    response = record(caseworker_client, accused, "died_in_custody", day)
    assert response.status_code == 200
    assert "already recorded" in response.context["form"].errors["accused"][0]


def test_a_death_names_the_person_and_its_details_belong_to_a_death(caseworker_client, accused):
    day = timezone.localdate()
    response = caseworker_client.post(
        f"/cases/{accused.case_id}/events/new/",
        {"kind": "died_in_custody", "occurred_on": day.isoformat(), "source": "family"},
    )
    assert "accused" in response.context["form"].errors
    response = record(caseworker_client, accused, "released", day, stated_cause="x")
    assert "stated_cause" in response.context["form"].errors
    assert not Event.objects.exists()


def test_pretrial_detention_set_by_hand_in_the_admin_follows_the_charges(admin_client_, accused):
    url = f"/admin/casework/accused/{accused.pk}/change/"
    data = {**opened_form(admin_client_, url, "adminform"), "custody_status": "pretrial_detention"}
    response = admin_client_.post(url, data)
    assert response.status_code == 200  # refused with the form, not a 500
    assert "record the detention order on the case page" in response.content.decode()
    accused.refresh_from_db()
    assert accused.custody_status == "at_liberty"
    charge_everyone(accused, [charge("misdemeanour")])
    assert admin_client_.post(url, data).status_code == 302
    assert accused.custody_periods.get().limit.code == "pretrial-misdemeanour"


def test_a_detention_order_added_in_the_admin_without_a_derivable_limit_is_refused(
    admin_client_, accused
):
    data = {
        "case": accused.case_id,
        "accused": accused.pk,
        "kind": "pretrial_detention",
        "occurred_on": timezone.localdate().isoformat(),
        "source": "court",
        "examination": "",
    }
    response = admin_client_.post("/admin/casework/event/add/", data)
    assert response.status_code == 200
    assert "record the detention order on the case page" in response.content.decode()
    assert not Event.objects.exists()
    charge_everyone(accused, [charge("felony")])
    assert admin_client_.post("/admin/casework/event/add/", data).status_code == 302
    assert accused.custody_periods.get().limit.code == "pretrial-felony"


def test_an_arrest_at_a_time_still_to_come_today_is_refused(caseworker_client, accused):
    now = timezone.localtime()
    with frozen(now.replace(hour=10, minute=0)):
        response = record(caseworker_client, accused, "arrested", now.date(), "11:00")
        assert response.status_code == 200
        assert "occurred_time" in response.context["form"].errors
        assert (
            record(caseworker_client, accused, "arrested", now.date(), "09:30").status_code == 302
        )
    assert accused.custody_periods.get().custody_since == at(now.date(), 9, 30)


# --- Art. 96: police custody is extended for a felony only ----------------------


def test_a_police_custody_extension_without_a_felony_on_file_is_refused_on_the_form(
    caseworker_client, accused
):
    arrest = timezone.localdate() - dt.timedelta(days=1)
    record(caseworker_client, accused, "arrested", arrest, "08:00")
    # No charge on file yet (the usual case at police custody): refused, and why.
    response = record(caseworker_client, accused, "detention_extended", timezone.localdate())
    assert response.status_code == 200
    assert response.context["form"].errors["kind"] == [str(POLICE_EXTENSION_FELONY_ONLY)]
    # A misdemeanour is no felony either.
    charge_everyone(accused, [charge("misdemeanour")])
    response = record(caseworker_client, accused, "detention_extended", timezone.localdate())
    assert response.context["form"].errors["kind"] == [str(POLICE_EXTENSION_FELONY_ONLY)]
    period = accused.custody_periods.get()
    assert period.extensions == 0
    assert period.runs_out_at == at(arrest, 8) + dt.timedelta(hours=48)
    assert not Event.objects.filter(kind="detention_extended").exists()
    # With a felony standing, the one extension of 24 hours is allowed.
    charge_everyone(accused, [charge("felony")])
    response = record(caseworker_client, accused, "detention_extended", timezone.localdate())
    assert response.status_code == 302
    period.refresh_from_db()
    assert period.extensions == 1
    assert period.runs_out_at == at(arrest, 8) + dt.timedelta(hours=72)


def test_the_service_refuses_a_police_custody_extension_without_a_felony(caseworker, accused):
    charge_everyone(accused, [charge("misdemeanour")])
    period = f.hold(accused, "police-custody", days_ago=1)
    with pytest.raises(services.ValidationError) as refused:
        services._apply_custody_change(
            caseworker, accused, "detention_extended", timezone.localdate(), record_event=False
        )
    assert refused.value.messages == [str(POLICE_EXTENSION_FELONY_ONLY)]
    period.refresh_from_db()
    assert period.extensions == 0


def test_an_admin_edit_extending_police_custody_needs_a_felony(admin_user, accused):
    period = f.hold(accused, "police-custody", days_ago=1)
    period.extensions = 1
    with pytest.raises(services.ValidationError) as refused:
        services.custody_period_update(actor=admin_user, period=period)
    assert refused.value.message_dict["extensions"] == [str(POLICE_EXTENSION_FELONY_ONLY)]
    charge_everyone(accused, [charge("felony")])
    services.custody_period_update(actor=admin_user, period=period)
    period.refresh_from_db()
    assert period.extensions == 1
    # An extension already granted stays editable when the felony is later dropped.
    charge_everyone(accused, [charge("misdemeanour")])
    period.place_held = "Police station, Battambang"
    services.custody_period_update(actor=admin_user, period=period)
    period.refresh_from_db()
    assert period.place_held == "Police station, Battambang"


def test_a_pretrial_extension_does_not_need_a_felony(caseworker_client, accused):
    # Art. 209: a misdemeanour's detention is extended once; the Art. 96 rule is police custody's.
    charge_everyone(accused, [charge("misdemeanour")])
    f.hold(accused, "pretrial-misdemeanour", days_ago=100)
    response = record(caseworker_client, accused, "detention_extended", timezone.localdate())
    assert response.status_code == 302


# --- Art. 208/209: custody held earlier in the case counts toward the ceiling ------


def rearrested(client, accused, *, first_arrest=300, released=200, arrest=20):
    """Arrested, ordered held, released, arrested again and ordered held again, in this
    case: days ago from today."""
    today = timezone.localdate()
    record(client, accused, "arrested", today - dt.timedelta(days=first_arrest), "08:00")
    record(client, accused, "pretrial_detention", today - dt.timedelta(days=first_arrest - 2))
    record(client, accused, "released", today - dt.timedelta(days=released))
    record(client, accused, "arrested", today - dt.timedelta(days=arrest), "10:00")
    response = record(client, accused, "pretrial_detention", today - dt.timedelta(days=arrest - 1))
    assert response.status_code == 302
    return accused.custody_periods.get(ended_at__isnull=True)


def test_a_rearrest_in_the_same_case_counts_the_days_held_before(caseworker_client, accused):
    charge_everyone(accused, [charge("misdemeanour")])
    period = rearrested(caseworker_client, accused)
    today = timezone.localdate()
    since = at(today - dt.timedelta(days=20), 10)
    assert period.custody_since == since  # days held count from the new arrest
    assert period.days_held in (19, 20)
    # 8:00 on day -300 to the start of day -200: 99 days and 16 hours, counted as 100.
    assert period.held_before == 100
    # Art. 209: 6 months in all for the case; 100 days are spent, so the ceiling comes
    # 100 days earlier, before the new order's own 4 months.
    assert period.ceiling_at == add_months(since, 6) - dt.timedelta(days=100)
    assert period.runs_out_at == period.ceiling_at < add_months(since, 4)
    # An extension cannot carry the clock past the ceiling: refused on the form.
    response = record(caseworker_client, accused, "detention_extended", today)
    assert response.status_code == 200
    assert "No further extension is allowed" in response.context["form"].errors["kind"][0]
    # The clock row says why the ceiling is earlier.
    page = caseworker_client.get(accused.case.get_absolute_url()).content.decode()
    assert "includes 100 days held earlier in this case" in page


def test_days_held_before_can_put_a_person_past_the_limit(caseworker_client, accused):
    charge_everyone(accused, [charge("felony")])
    # About 17 months held before the release (Art. 208: 18 in all), then held again
    # for 40 days: past the limit, and listed so, from the stored runs-out moment.
    period = rearrested(caseworker_client, accused, first_arrest=560, released=45, arrest=40)
    assert period.held_before == 515
    assert period.is_past_limit
    assert CustodyPeriod.objects.past_limit().filter(pk=period.pk).exists()


def test_police_custody_alone_before_is_not_counted(caseworker_client, accused):
    charge_everyone(accused, [charge("felony")])
    today = timezone.localdate()
    record(caseworker_client, accused, "arrested", today - dt.timedelta(days=30), "08:00")
    record(caseworker_client, accused, "released", today - dt.timedelta(days=29))
    record(caseworker_client, accused, "arrested", today - dt.timedelta(days=10), "09:00")
    police = accused.custody_periods.get(ended_at__isnull=True)
    # Art. 96: police custody is per arrest, 48 hours from this one.
    assert police.held_before == 0
    assert police.runs_out_at == at(today - dt.timedelta(days=10), 9) + dt.timedelta(hours=48)
    record(caseworker_client, accused, "pretrial_detention", today - dt.timedelta(days=9))
    period = accused.custody_periods.get(ended_at__isnull=True)
    assert period.held_before == 0  # no detention order held the person the first time
    assert period.ceiling_at == add_months(at(today - dt.timedelta(days=10), 9), 18)


def test_custody_in_another_case_is_not_counted(caseworker_client, accused):
    charge_everyone(accused, [charge("felony")])
    other_case = f.make_case("KH-2", reference="BTB-ELSEWHERE")
    elsewhere = f.add_accused(other_case, accused.detainee)
    f.hold(elsewhere, days_ago=300, ended_at=timezone.now() - dt.timedelta(days=100))
    record(caseworker_client, accused, "pretrial_detention", timezone.localdate())
    assert accused.custody_periods.get().held_before == 0


def test_correcting_or_deleting_an_earlier_clock_moves_the_later_one(
    caseworker_client, admin_user, accused
):
    charge_everyone(accused, [charge("misdemeanour")])
    period = rearrested(caseworker_client, accused)
    before = accused.custody_periods.filter(custody_since__lt=period.custody_since)
    earlier = before.order_by("-ended_at")[0]  # the order released on day -200
    earlier.ended_at -= dt.timedelta(days=10)
    services.custody_period_update(actor=admin_user, period=earlier)
    period.refresh_from_db()
    assert period.held_before == 90
    assert period.runs_out_at == add_months(period.custody_since, 6) - dt.timedelta(days=90)
    for old in before:
        services.record_delete(actor=admin_user, instance=old)
    period.refresh_from_db()
    assert period.held_before == 0
    assert period.runs_out_at == add_months(period.custody_since, 4)


def test_the_export_row_says_days_held_earlier(caseworker_client, accused):
    from casework.templatetags.casework import clock_text

    charge_everyone(accused, [charge("misdemeanour")])
    period = rearrested(caseworker_client, accused)
    assert clock_text(period).endswith(", includes 100 days held earlier in this case")


def test_the_migration_counts_days_held_before_on_file(caseworker_client, accused):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("casework.migrations.0015_custody_held_before")
    charge_everyone(accused, [charge("misdemeanour")])
    period = rearrested(caseworker_client, accused)
    expected = (period.held_before, period.runs_out_at)
    # As stored before the migration: no days held before, the order's own term.
    CustodyPeriod.objects.filter(pk=period.pk).update(
        held_before=0, runs_out_at=add_months(period.custody_since, 4)
    )
    migration.forward(apps, None)
    period.refresh_from_db()
    assert (period.held_before, period.runs_out_at) == expected
