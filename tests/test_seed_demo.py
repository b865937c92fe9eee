"""`manage.py seed_demo`: fictional demo data that is consistent, repeatable and safe to rerun."""

import datetime as dt
import hashlib
import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, Q
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AuditEntry, AuditEvent
from casework.models import (
    Accused,
    BailRequest,
    Case,
    CustodyPeriod,
    CustodyStatus,
    Detainee,
    Event,
    Hearing,
    Lawyer,
    Representation,
    fold,
)
from casework.names import name_keys

from . import factories as f

PASSWORD = "a-long-demo-password-2026"
CASES = 60


def seed(*extra, cases=CASES, seed=7, password=PASSWORD) -> str:
    out = StringIO()
    args = ["--cases", str(cases), "--seed", str(seed), *extra]
    if password is not None:
        args += ["--password", password]
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db):
    return seed()


TABLES = [
    Detainee,
    Case,
    Case.charges.through,
    Accused,
    Lawyer,
    Representation,
    CustodyPeriod,
    Hearing,
    BailRequest,
    Event,
    User,
    User.provinces.through,
    AuditEntry,
]


def snapshot() -> tuple[dict, str]:
    """Row counts and a checksum over every column of every row the command may touch."""
    digest = hashlib.sha256()
    counts = {}
    for model in TABLES:
        columns = [field.attname for field in model._meta.concrete_fields]
        rows = list(model.objects.order_by("pk").values_list(*columns))
        counts[model._meta.label] = len(rows)
        digest.update(repr(rows).encode())
    return counts, digest.hexdigest()


# --- The data makes sense -------------------------------------------------------


def test_every_case_has_a_province_its_first_instance_court_and_an_accused(seeded):
    assert Case.objects.count() == CASES
    assert not Case.objects.filter(province__isnull=True).exists()
    assert not Case.objects.annotate(n=Count("accused")).filter(n=0).exists()
    for case in Case.objects.select_related("court"):
        assert case.court.level == "first_instance"
        assert case.court.province_id == case.province_id
        assert re.fullmatch(r"CW-\d{4}-\d{5}", case.reference)


def test_statuses_are_spread_and_a_share_of_cases_is_over(seeded):
    assert Case.objects.values("status").distinct().count() >= 5
    over = Case.objects.filter(status__in=["closed", "dismissed", "acquitted"]).count()
    assert 0.2 * CASES <= over <= 0.6 * CASES


def test_people_have_names_in_both_scripts(seeded):
    assert not Detainee.objects.filter(Q(name_latin="") | Q(name_khmer="")).exists()
    assert Detainee.objects.exclude(aliases="").exists()
    person = Detainee.objects.order_by("pk").first()
    assert Detainee.objects.search(person.name_khmer.split()[0]).filter(pk=person.pk).exists()


def test_bail_decision_follows_filing_and_pending_has_no_decision_date(seeded):
    assert BailRequest.objects.exists()
    assert not BailRequest.objects.filter(decided_on__lt=F("filed_on")).exists()
    assert not BailRequest.objects.filter(decision="pending", decided_on__isnull=False).exists()
    assert not BailRequest.objects.exclude(decision="pending").filter(decided_on=None).exists()


def test_bail_appeals_follow_a_denial_of_the_same_accused(seeded):
    appeals = BailRequest.objects.filter(appeal_of__isnull=False).select_related("appeal_of")
    assert appeals.exists()
    for appeal in appeals:
        assert appeal.appeal_of.accused_id == appeal.accused_id
        assert appeal.appeal_of.decision == "denied"
        assert appeal.filed_on >= appeal.appeal_of.decided_on


def test_columns_that_save_would_derive_are_filled(seeded):
    """bulk_create skips save(): the command must compute what save() would."""
    for person in Detainee.objects.all():
        assert person.search_text == fold(
            f"{person.name_latin} {person.name_khmer} {person.aliases}"
        )
        assert person.name_keys == name_keys(
            person.name_latin, person.name_khmer, *person.alias_list
        )
    for period in CustodyPeriod.objects.select_related("limit"):
        # As entered through a form: in local time (months run on the local calendar).
        started_at = timezone.localtime(period.started_at)
        assert period.runs_out_at == period.limit.runs_out(started_at, period.extensions)
        assert period.custody_since == period.started_at  # one period per custody here
    assert not BailRequest.objects.exclude(case=F("accused__case")).exists()


def test_someone_is_past_the_legal_limit_and_someone_near_it(seeded):
    past = CustodyPeriod.objects.past_limit()
    assert past.exists()
    assert CustodyPeriod.objects.near_or_past_limit().exclude(pk__in=past).exists()
    open_periods = CustodyPeriod.objects.open().select_related("accused")
    assert all(period.accused.in_custody for period in open_periods)


def test_arrests_have_times_of_day_and_a_few_only_a_date(seeded):
    """Issue 13: police custody counts in hours from the arrest's time of day."""
    arrests = Event.objects.filter(kind=Event.Kind.ARRESTED)
    assert arrests.filter(occurred_time__isnull=False).exists()
    assert CustodyPeriod.objects.filter(time_known=False).exists()
    for period in CustodyPeriod.objects.filter(time_known=False):
        assert timezone.localtime(period.custody_since).time() == dt.time(0, 0)


def test_a_death_in_custody_is_recorded_with_its_details(seeded):
    deaths = Event.objects.filter(kind=Event.Kind.DIED_IN_CUSTODY)
    assert deaths.exists()
    for death in deaths.select_related("accused"):
        assert death.accused.custody_status == CustodyStatus.DECEASED
        assert death.place and death.stated_cause and death.examination


def test_pretrial_limits_follow_the_charges(seeded):
    from casework import services

    periods = CustodyPeriod.objects.filter(limit__code__startswith="pretrial-")
    for period in periods.select_related("accused__case", "limit"):
        derived = services.derive_limit(period.accused)
        if derived is not None:
            assert period.limit == derived


def test_some_people_are_in_hiding_and_some_in_exile(seeded):
    assert Accused.objects.filter(custody_status=CustodyStatus.IN_HIDING).exists()
    assert Accused.objects.filter(custody_status=CustodyStatus.IN_EXILE).exists()
    assert Accused.objects.filter(custody_status=CustodyStatus.PRETRIAL).exists()


def test_officials_abroad_are_charged_together(seeded):
    in_exile = Count("accused", filter=Q(accused__custody_status=CustodyStatus.IN_EXILE))
    cases = Case.objects.annotate(n=Count("accused"), exiled=in_exile)
    assert cases.filter(n__gte=5, exiled=F("n")).exists()


def test_hearings_past_and_upcoming_and_cases_without_lawyer(seeded):
    assert Hearing.objects.upcoming(45).exists()
    assert Hearing.objects.filter(status="held").exclude(outcome="").exists()
    assert Hearing.objects.filter(status__in=["postponed", "cancelled"]).exists()
    assert Case.objects.without_lawyer().exists()
    assert Representation.objects.exists()
    assert Event.objects.filter(verified=True).exists()
    assert Event.objects.filter(verified=False).exists()


# --- Demo users -------------------------------------------------------------------


def test_demo_users_exist_with_their_roles_and_provinces(seeded):
    roles = dict(User.objects.filter(username__startswith="demo-").values_list("username", "role"))
    assert roles == {
        "demo-admin": Role.ADMIN,
        "demo-coordinator": Role.COORDINATOR,
        "demo-caseworker": Role.CASEWORKER,
        "demo-caseworker2": Role.CASEWORKER,
    }
    coordinator = User.objects.get(username="demo-coordinator")
    codes = set(coordinator.provinces.values_list("code", flat=True))
    assert {"KH-2", "KH-6", "KH-12"} == codes
    assert User.objects.get(username="demo-admin").is_staff


def test_caseworkers_hold_cases_of_their_province_and_a_few_stay_unassigned(seeded):
    for username, code in [("demo-caseworker", "KH-2"), ("demo-caseworker2", "KH-6")]:
        user = User.objects.get(username=username)
        assigned = Case.objects.filter(caseworker=user)
        assert assigned.exists()
        assert set(assigned.values_list("province__code", flat=True)) == {code}
        assert set(Case.objects.visible_to(user)) >= set(assigned)
    assert Case.objects.filter(caseworker__isnull=True).exists()


def test_password_given_is_accepted(seeded):
    for username in ["demo-admin", "demo-coordinator", "demo-caseworker", "demo-caseworker2"]:
        assert authenticate(username=username, password=PASSWORD) is not None


def test_without_password_a_random_one_is_printed_and_works(db):
    out = seed(password=None, cases=0)
    printed = re.search(r"Password for the new demo users: (\S+)", out).group(1)
    assert authenticate(username="demo-caseworker", password=printed) is not None


def test_weak_password_is_refused(db):
    with pytest.raises(CommandError, match="--password"):
        seed(password="short")
    assert not User.objects.exists()


# --- Running it again -------------------------------------------------------------


def test_running_twice_with_the_same_arguments_changes_nothing(seeded):
    before = snapshot()
    out = seed()
    assert "nothing added" in out
    assert snapshot() == before


def test_one_summary_audit_entry_instead_of_one_per_row(seeded):
    seed()
    entries = AuditEntry.objects.filter(event=AuditEvent.COMMAND)
    assert entries.count() == 1
    assert entries.get().additional_data == {"command": "seed_demo", "cases": CASES, "seed": 7}
    detainee_type = ContentType.objects.get_for_model(Detainee)
    assert not AuditEntry.objects.filter(content_type=detainee_type).exists()


def test_if_empty_does_nothing_when_any_case_exists(db):
    f.make_case("KH-2", reference="REAL-0001")
    out = seed("--if-empty")
    assert "nothing was done" in out
    assert Case.objects.count() == 1
    assert not User.objects.exists()


def test_if_empty_fills_an_empty_database(db):
    seed("--if-empty", cases=5)
    assert Case.objects.count() == 5


def test_zero_cases_makes_only_the_users(db):
    seed(cases=0)
    assert User.objects.count() == 4
    assert not Case.objects.exists()


# --- Bad arguments ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cases", "-5"], "between 0 and 2000000"),
        (["--cases", "2000001"], "between 0 and 2000000"),
        (["--cases", "abc"], "whole number"),
        (["--seed", "x"], "whole number"),
    ],
)
def test_bad_arguments_raise_a_command_error(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", *args, stdout=StringIO())
    assert not Case.objects.exists()


def test_bad_values_passed_as_keywords_raise_a_command_error(db):
    with pytest.raises(CommandError, match="whole number"):
        call_command("seed_demo", cases="abc", stdout=StringIO())
