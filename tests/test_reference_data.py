"""The reference data the migrations load, and the legal clocks built on it.

Code of Criminal Procedure (2007): police custody 48 hours (Art. 96), felony
pre-trial detention 6 months up to 18 in all (Art. 208), misdemeanour 4
months extendable once by 2 (Art. 209), immediate appearance 2 weeks (Art. 304).
"""

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import translation

from casework import reference
from casework.models import Charge, Court, CustodyPeriod, DetentionLimit, Province, add_months

from . import factories as f
from .factories import opened_form

pytestmark = pytest.mark.django_db

PHNOM_PENH = zoneinfo.ZoneInfo("Asia/Phnom_Penh")


def at(year, month, day, hour=9, minute=30):
    return dt.datetime(year, month, day, hour, minute, tzinfo=PHNOM_PENH)


def limit(code: str) -> DetentionLimit:
    return DetentionLimit.objects.get(code=code)


# --- Provinces --------------------------------------------------------------


def test_there_are_25_provinces_coded_kh_1_to_kh_25():
    codes = set(Province.objects.values_list("code", flat=True))
    assert codes == {f"KH-{n}" for n in range(1, 26)}


def test_every_province_has_an_english_and_a_khmer_name():
    for province in Province.objects.all():
        assert province.name_en.strip(), province.code
        assert province.name_km.strip(), province.code
        # Khmer script lives in U+1780..U+17FF.
        assert any("\u1780" <= char <= "\u17ff" for char in province.name_km), province.code
    assert Province.objects.values("name_en").distinct().count() == 25
    assert Province.objects.values("name_km").distinct().count() == 25


def test_kh_2_is_battambang_and_kh_12_the_capital():
    battambang = Province.objects.get(code="KH-2")
    assert battambang.name_en == "Battambang"
    assert battambang.name_km == "បាត់ដំបង"
    assert Province.objects.get(code="KH-12").name_en == "Phnom Penh"


def test_a_province_shows_its_name_in_the_readers_language():
    battambang = Province.objects.get(code="KH-2")
    with translation.override("en"):
        assert str(battambang) == "Battambang"
    with translation.override("km"):
        assert str(battambang) == "បាត់ដំបង"


# --- Courts -----------------------------------------------------------------


def test_each_province_has_one_court_of_first_instance():
    first_instance = Court.objects.filter(level=Court.Level.FIRST_INSTANCE)
    assert first_instance.count() == 25
    assert set(first_instance.values_list("province__code", flat=True)) == {
        f"KH-{n}" for n in range(1, 26)
    }
    for court in first_instance:
        assert court.name_en and court.name_km, court.pk


def test_battambang_and_phnom_penh_courts_are_named():
    assert f.court_of("KH-2").name_en == "Battambang Provincial Court of First Instance"
    assert f.court_of("KH-12").name_en == "Phnom Penh Municipal Court of First Instance"


def test_the_national_courts_exist_without_a_province():
    appeal = Court.objects.get(level=Court.Level.APPEAL)
    supreme = Court.objects.get(level=Court.Level.SUPREME)
    assert appeal.name_en == "Appeal Court"
    assert supreme.name_en == "Supreme Court"
    assert appeal.province is None and supreme.province is None
    assert appeal.name_km and supreme.name_km
    assert Court.objects.count() == 27


# --- Charges ----------------------------------------------------------------


def test_the_shipped_charges_exist_with_their_articles():
    assert Charge.objects.count() == len(reference.CHARGES) > 0
    for charge in Charge.objects.all():
        assert charge.article.startswith("Art. "), charge.name_en
        assert charge.name_km, charge.name_en
    incitement = Charge.objects.get(name_en="Incitement to commit a felony")
    assert incitement.article == "Art. 494-495"
    assert str(incitement) == "Incitement to commit a felony (Art. 494-495)"


# --- Detention limits -------------------------------------------------------


def test_the_four_legal_limits_ship_with_the_code_defaults():
    rows = {
        row["code"]: row
        for row in DetentionLimit.objects.values(
            "code", "article", "unit", "initial", "extension", "max_extensions", "maximum"
        )
    }
    assert rows == {
        "police-custody": {
            "code": "police-custody",
            "article": "Art. 96",
            "unit": "hours",
            "initial": 48,
            "extension": 24,
            "max_extensions": 1,
            "maximum": 72,
        },
        "pretrial-felony": {
            "code": "pretrial-felony",
            "article": "Art. 208",
            "unit": "months",
            "initial": 6,
            "extension": 6,
            "max_extensions": None,
            "maximum": 18,
        },
        "pretrial-misdemeanour": {
            "code": "pretrial-misdemeanour",
            "article": "Art. 209",
            "unit": "months",
            "initial": 4,
            "extension": 2,
            "max_extensions": 1,
            "maximum": 6,
        },
        "immediate-appearance": {
            "code": "immediate-appearance",
            "article": "Art. 304",
            "unit": "days",
            "initial": 14,
            "extension": 0,
            "max_extensions": 0,
            "maximum": 14,
        },
    }
    for row in DetentionLimit.objects.all():
        assert row.name_en and row.name_km, row.code


@pytest.mark.parametrize(
    ("code", "extensions", "expected"),
    [
        # Art. 96: 48 hours, one extension of 24 for a felony, never more.
        ("police-custody", 0, at(2026, 3, 3, 9, 30)),
        ("police-custody", 1, at(2026, 3, 4, 9, 30)),
        ("police-custody", 5, at(2026, 3, 4, 9, 30)),
        # Art. 208: 6 months, extendable by 6, 18 months in all.
        ("pretrial-felony", 0, at(2026, 9, 1)),
        ("pretrial-felony", 1, at(2027, 3, 1)),
        ("pretrial-felony", 2, at(2027, 9, 1)),
        ("pretrial-felony", 7, at(2027, 9, 1)),
        # Art. 209: 4 months, extendable once by 2.
        ("pretrial-misdemeanour", 0, at(2026, 7, 1)),
        ("pretrial-misdemeanour", 1, at(2026, 9, 1)),
        ("pretrial-misdemeanour", 3, at(2026, 9, 1)),
        # Art. 304: two weeks, no extension.
        ("immediate-appearance", 0, at(2026, 3, 15)),
        ("immediate-appearance", 2, at(2026, 3, 15)),
    ],
)
def test_limit_runs_out(code, extensions, expected):
    assert limit(code).runs_out(at(2026, 3, 1), extensions) == expected


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (at(2025, 8, 31), 6, at(2026, 2, 28)),
        (at(2023, 8, 31), 6, at(2024, 2, 29)),  # leap year
        (at(2026, 10, 31), 4, at(2027, 2, 28)),
        (at(2026, 1, 31), 1, at(2026, 2, 28)),
        (at(2026, 3, 31), 6, at(2026, 9, 30)),
        (at(2026, 11, 15), 4, at(2027, 3, 15)),  # across the new year
        (at(2026, 12, 31), 12, at(2027, 12, 31)),
        (at(2026, 5, 10), 0, at(2026, 5, 10)),
    ],
)
def test_months_are_calendar_months_clamped_to_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_month_end_clamping_applies_to_the_felony_clock():
    assert limit("pretrial-felony").runs_out(at(2025, 8, 31)) == at(2026, 2, 28)
    assert limit("pretrial-misdemeanour").runs_out(at(2025, 10, 31)) == at(2026, 2, 28)


def test_the_maximum_caps_extensions_even_when_unlimited_in_number():
    felony = limit("pretrial-felony")
    assert felony.max_extensions is None
    assert felony.runs_out(at(2026, 1, 1), 100) == at(2027, 7, 1)


def test_runs_out_keeps_the_time_and_time_zone():
    start = at(2026, 3, 1, 23, 45)
    result = limit("police-custody").runs_out(start)
    assert result == at(2026, 3, 3, 23, 45)
    assert result.tzinfo == start.tzinfo


def test_a_custom_limit_in_days_with_capped_extensions():
    custom = DetentionLimit.objects.create(
        code="test-days",
        name_en="Test limit",
        unit=DetentionLimit.Unit.DAYS,
        initial=10,
        extension=5,
        max_extensions=3,
        maximum=20,
    )
    start = at(2026, 3, 1)
    assert custom.runs_out(start, 1) == at(2026, 3, 16)
    assert custom.runs_out(start, 2) == at(2026, 3, 21)  # 10 + 2 x 5 = 20, the maximum
    assert custom.runs_out(start, 3) == at(2026, 3, 21)  # 25 capped at 20


# --- Custody clocks follow the limits ----------------------------------------


def _period(code="pretrial-felony", **fields):
    accused = f.add_accused(f.make_case("KH-2"), f.make_detainee("Rath Sreymom"))
    return f.hold(accused, limit_code=code, started_at=at(2026, 1, 10), **fields)


def test_a_custody_period_computes_its_clock_on_save():
    period = _period(extensions=1)
    assert period.runs_out_at == at(2027, 1, 10)
    period.extensions = 2
    period.save()
    assert period.runs_out_at == at(2027, 7, 10)


def _limit_form(limit: DetentionLimit, **changes) -> dict:
    data = {
        "name_en": limit.name_en,
        "name_km": limit.name_km,
        "code": limit.code,
        "article": limit.article,
        "unit": limit.unit,
        "initial": limit.initial,
        "extension": limit.extension,
        "max_extensions": "" if limit.max_extensions is None else limit.max_extensions,
        "maximum": limit.maximum,
    }
    data.update(changes)
    return data


def test_editing_a_limit_in_the_admin_moves_open_custody_clocks(admin_client_):
    open_period = _period()
    closed_period = _period(ended_at=at(2026, 2, 1))
    other_limit = _period(code="pretrial-misdemeanour")
    assert open_period.runs_out_at == at(2026, 7, 10)

    felony = limit("pretrial-felony")
    url = reverse("admin:casework_detentionlimit_change", args=[felony.pk])
    opened = opened_form(admin_client_, url, "adminform")
    response = admin_client_.post(url, {**opened, **_limit_form(felony, initial=4)})
    assert response.status_code == 302, response.context["adminform"].form.errors

    open_period.refresh_from_db()
    closed_period.refresh_from_db()
    other_limit.refresh_from_db()
    assert open_period.runs_out_at == at(2026, 5, 10)
    # A custody that has ended keeps the clock it ran under.
    assert closed_period.runs_out_at == at(2026, 7, 10)
    assert other_limit.runs_out_at == at(2026, 5, 10)  # misdemeanour: untouched, 4 months


def test_an_invalid_limit_edit_is_refused_and_clocks_stay(admin_client_):
    period = _period()
    felony = limit("pretrial-felony")
    url = reverse("admin:casework_detentionlimit_change", args=[felony.pk])
    opened = opened_form(admin_client_, url, "adminform")
    response = admin_client_.post(url, {**opened, **_limit_form(felony, initial=24)})
    assert response.status_code == 200
    assert "The maximum cannot be shorter than the initial period." in response.content.decode()
    period.refresh_from_db()
    felony.refresh_from_db()
    assert felony.initial == 6
    assert period.runs_out_at == at(2026, 7, 10)


def test_past_and_near_limit_follow_the_clock():
    accused = f.add_accused(f.make_case("KH-2"), f.make_detainee("Rath Sreymom"))
    long_held = f.hold(accused, days_ago=200)  # felony: 6 months have passed
    nearly = f.hold(accused, days_ago=175)
    recent = f.hold(accused, days_ago=10)
    assert long_held.is_past_limit and not long_held.is_near_limit
    assert nearly.is_near_limit and not nearly.is_past_limit
    assert not recent.is_past_limit and not recent.is_near_limit
    assert list(CustodyPeriod.objects.past_limit()) == [long_held]
    assert set(CustodyPeriod.objects.near_or_past_limit()) == {long_held, nearly}
