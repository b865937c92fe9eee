"""Every database constraint in casework/models.py refuses bad data.

Each row below builds one unsaved (or changed) object that breaks exactly one
rule. The database must refuse it (IntegrityError), and ``full_clean()``, which
the admin and the forms run, must report the rule's own message. A last test
checks that every constraint and unique column of the casework models has a
row here, so a new rule cannot ship untested. Every person is fictional.
"""

import datetime as dt

import pytest
from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from casework.models import (
    BailRequest,
    Case,
    Charge,
    Court,
    CustodyPeriod,
    Detainee,
    DetentionLimit,
    Event,
    Hearing,
    Lawyer,
    PossibleDuplicate,
    Province,
    Representation,
)

from . import factories as f

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def assert_database_refuses(obj):
    """The row never reaches the table: the database itself says no."""
    model = type(obj)
    before = model._default_manager.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        obj.save()
    assert model._default_manager.count() == before


def full_clean_messages(obj, exclude=None) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        obj.full_clean(exclude=exclude)
    return caught.value.message_dict


def _accused(**fields):
    return f.add_accused(f.make_case(), f.make_detainee("Mealea Sopheap"), **fields)


def _bail(**fields):
    """An unsaved request; its case is copied from the accused as save() would."""
    accused = _accused()
    return BailRequest(accused=accused, case=accused.case, court=f.court_of("KH-2"), **fields)


# --- Builders: each returns an object that breaks one rule -----------------


def duplicate_case_reference():
    f.make_case(reference="CW-2026-0042")
    return Case(reference="CW-2026-0042", province=f.province("KH-2"))


def empty_case_reference():
    return Case(reference="", province=f.province("KH-2"))


def bail_decided_before_filed():
    filed = timezone.localdate() - 5 * DAY
    return _bail(
        filed_on=filed,
        decision=BailRequest.Decision.DENIED,
        decided_on=filed - DAY,
    )


def bail_decided_without_date():
    return _bail(
        filed_on=timezone.localdate(),
        decision=BailRequest.Decision.GRANTED,
        decided_on=None,
    )


def bail_pending_with_date():
    return _bail(
        filed_on=timezone.localdate() - DAY,
        decision=BailRequest.Decision.PENDING,
        decided_on=timezone.localdate(),
    )


def bail_appealing_itself():
    bail = f.make_bail(_accused())
    bail.appeal_of = bail
    return bail


def hearing_held_without_outcome():
    case = f.make_case()
    return Hearing(
        case=case,
        court=case.court,
        kind=Hearing.Kind.TRIAL,
        scheduled_at=timezone.now() - DAY,
        status=Hearing.Status.HELD,
        outcome="",
    )


def custody_ended_before_started():
    started = timezone.now() - 10 * DAY
    limit = DetentionLimit.objects.get(code="pretrial-felony")
    return CustodyPeriod(
        accused=_accused(),
        limit=limit,
        started_at=started,
        ended_at=started - DAY,
        runs_out_at=limit.runs_out(started),
    )


def custody_order_before_arrest():
    started = timezone.now() - 10 * DAY
    limit = DetentionLimit.objects.get(code="pretrial-felony")
    return CustodyPeriod(
        accused=_accused(),
        limit=limit,
        started_at=started,
        custody_since=started + DAY,
        runs_out_at=limit.runs_out(started),
    )


def death_details_on_a_release():
    accused = _accused()
    return Event(
        case=accused.case,
        accused=accused,
        kind=Event.Kind.RELEASED,
        occurred_on=timezone.localdate(),
        stated_cause="Heart failure, said the police.",
    )


def representation_ending_before_start():
    since = timezone.localdate() - 10 * DAY
    return Representation(
        lawyer=f.make_lawyer("Keo Ratanak"),
        accused=_accused(),
        since=since,
        until=since - DAY,
        end_reason="withdrew",
    )


def representation_ended_without_reason():
    since = timezone.localdate() - 10 * DAY
    return Representation(
        lawyer=f.make_lawyer("Keo Ratanak"), accused=_accused(), since=since, until=since + DAY
    )


def person_merged_into_themselves():
    person = f.make_detainee("Mealea Sopheap")
    person.merged_into_id = person.pk
    return person


def duplicate_pair_twice():
    person, match = f.make_detainee("Mealea Sopheap"), f.make_detainee("Mealea Sopheab")
    PossibleDuplicate.objects.create(person=person, match=match)
    return PossibleDuplicate(person=person, match=match)


def duplicate_pair_of_one_person():
    person = f.make_detainee("Mealea Sopheap")
    return PossibleDuplicate(person=person, match=person)


def duplicate_representation():
    lawyer, accused = f.make_lawyer("Keo Ratanak"), _accused()
    since = timezone.localdate() - 3 * DAY
    f.represent(lawyer, accused, since=since)
    return Representation(lawyer=lawyer, accused=accused, since=since)


def same_person_accused_twice():
    accused = _accused()
    return type(accused)(case=accused.case, detainee=accused.detainee)


def birth_year_1850():
    return Detainee(name_latin="Heng Sovann", birth_year=1850)


def birth_year_2101():
    return Detainee(name_latin="Heng Sovann", birth_year=2101)


def detainee_without_name():
    return Detainee(name_latin="", name_khmer="ហេង សុវណ្ណ")


def limit_with_zero_initial():
    return DetentionLimit(code="test-zero", name_en="Test zero", unit="days", initial=0, maximum=10)


def limit_maximum_below_initial():
    return DetentionLimit(
        code="test-short", name_en="Test short", unit="months", initial=6, maximum=4
    )


def duplicate_limit_code():
    return DetentionLimit(
        code="police-custody", name_en="Another police custody", unit="hours", initial=1, maximum=1
    )


def first_instance_court_without_province():
    return Court(name_en="Test Court of First Instance", level=Court.Level.FIRST_INSTANCE)


def duplicate_court_name():
    return Court(name_en="Appeal Court", level=Court.Level.APPEAL)


def duplicate_charge_name():
    existing = Charge.objects.order_by("pk").first()
    return Charge(name_en=existing.name_en, article="Art. 999")


def duplicate_province_code():
    return Province(code="KH-2", name_en="Second Battambang")


def duplicate_bar_number():
    f.make_lawyer("Keo Ratanak", bar_number="BAKC-0815")
    return Lawyer(name="Lim Bopha", bar_number="BAKC-0815")


def lawyer_without_name():
    return Lawyer(name="")


BLANK = "This field cannot be blank."

# constraint (or Model.field for unique columns), builder, expected full_clean message
CASES = [
    ("Case.reference", duplicate_case_reference, "Case with this NGO reference already exists."),
    # An empty required field fails its own check first, and Django then skips the
    # constraints on that field: the form shows "cannot be blank" on the field.
    ("case_has_reference", empty_case_reference, BLANK),
    (
        "bail_decided_not_before_filed",
        bail_decided_before_filed,
        "The decision cannot come before the filing.",
    ),
    (
        "bail_decision_has_date",
        bail_decided_without_date,
        "A decided request needs its decision date; a pending one has none.",
    ),
    (
        "bail_decision_has_date",
        bail_pending_with_date,
        "A decided request needs its decision date; a pending one has none.",
    ),
    ("bail_not_appeal_of_itself", bail_appealing_itself, "A bail request cannot appeal itself."),
    (
        "hearing_held_has_outcome",
        hearing_held_without_outcome,
        "A hearing that was held needs its outcome.",
    ),
    (
        "custody_ends_after_start",
        custody_ended_before_started,
        "Custody cannot end before it starts.",
    ),
    (
        "custody_order_not_before_arrest",
        custody_order_before_arrest,
        "A detention order cannot come before the arrest it continues.",
    ),
    (
        "event_death_details_on_death",
        death_details_on_a_release,
        "The cause given by the authorities and the independent examination belong to a "
        "death in custody.",
    ),
    (
        "representation_ends_after_start",
        representation_ending_before_start,
        "A representation cannot end before it starts.",
    ),
    (
        "representation_end_has_reason",
        representation_ended_without_reason,
        "An ended representation needs its reason; a current one has none.",
    ),
    (
        "detainee_not_merged_into_itself",
        person_merged_into_themselves,
        "A person cannot be merged into themselves.",
    ),
    (
        "duplicate_pair_once",
        duplicate_pair_twice,
        "This pair is already in the review queue.",
    ),
    (
        "duplicate_not_itself",
        duplicate_pair_of_one_person,
        "A person cannot be merged into themselves.",
    ),
    (
        "representation_unique",
        duplicate_representation,
        "This lawyer already represents this person from that date.",
    ),
    (
        "accused_once_per_case",
        same_person_accused_twice,
        "This person is already accused in this case.",
    ),
    (
        "detainee_birth_year_plausible",
        birth_year_1850,
        "The year of birth must be between 1900 and 2100.",
    ),
    (
        "detainee_birth_year_plausible",
        birth_year_2101,
        "The year of birth must be between 1900 and 2100.",
    ),
    ("detainee_has_name", detainee_without_name, BLANK),
    (
        "limit_initial_positive",
        limit_with_zero_initial,
        "The initial period must be longer than zero.",
    ),
    (
        "limit_maximum_not_below_initial",
        limit_maximum_below_initial,
        "The maximum cannot be shorter than the initial period.",
    ),
    (
        "DetentionLimit.code",
        duplicate_limit_code,
        "Detention limit with this Code already exists.",
    ),
    (
        "court_first_instance_has_province",
        first_instance_court_without_province,
        "A court of first instance belongs to a province.",
    ),
    ("court_unique_name", duplicate_court_name, "Court with this Name (English) already exists."),
    (
        "charge_unique_name",
        duplicate_charge_name,
        "Charge with this Name (English) already exists.",
    ),
    (
        "Province.code",
        duplicate_province_code,
        "Province with this ISO 3166-2 code already exists.",
    ),
    (
        "Lawyer.bar_number",
        duplicate_bar_number,
        "Lawyer with this Bar registration number already exists.",
    ),
    ("lawyer_has_name", lawyer_without_name, BLANK),
]

PARAMS = [pytest.param(build, message, id=build.__name__) for _, build, message in CASES]


@pytest.mark.parametrize(("build", "message"), PARAMS)
def test_database_refuses(build, message):
    assert_database_refuses(build())


@pytest.mark.parametrize(("build", "message"), PARAMS)
def test_full_clean_reports_the_rules_message(build, message):
    obj = build()
    messages = full_clean_messages(obj)
    assert message in [text for texts in messages.values() for text in texts], messages


def test_constraint_messages_are_form_wide_or_on_their_field():
    """A rule a form can place is shown on its field (Model.clean, with the constraint's
    own wording); one it cannot, above the form; duplicates on the field itself."""
    messages = full_clean_messages(hearing_held_without_outcome())
    assert messages == {"outcome": ["A hearing that was held needs its outcome."]}
    messages = full_clean_messages(Lawyer(name="  "))
    assert NON_FIELD_ERRORS in messages or "name" in messages
    messages = full_clean_messages(duplicate_case_reference())
    assert messages["reference"] == ["Case with this NGO reference already exists."]


def test_every_constraint_and_unique_column_has_a_case():
    covered = {name for name, _, _ in CASES}
    expected = set()
    for model in apps.get_app_config("casework").get_models():
        expected.update(constraint.name for constraint in model._meta.constraints)
        expected.update(
            f"{model.__name__}.{field.name}"
            for field in model._meta.local_fields
            if field.unique and not field.primary_key
        )
    assert expected - covered == set(), "constraints without a test in this file"


# --- What the rules allow ---------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [lambda: Detainee(name_latin="   "), lambda: Lawyer(name="  ")],
    ids=["detainee", "lawyer"],
)
def test_a_name_of_spaces_is_refused_by_the_database(obj):
    # save() strips names, so the check constraint sees the empty string.
    assert_database_refuses(obj())


def test_full_clean_refuses_a_name_of_spaces():
    with pytest.raises(ValidationError):
        Detainee(name_latin="   ").full_clean()
    with pytest.raises(ValidationError):
        Lawyer(name="  ").full_clean()


def test_two_lawyers_without_bar_number_are_fine():
    first = f.make_lawyer("Keo Ratanak", bar_number="")
    second = f.make_lawyer("Lim Bopha", bar_number="")
    third = f.make_lawyer("Chea Dalin", bar_number=None)
    assert {first.bar_number, second.bar_number, third.bar_number} == {None}
    Lawyer(name="Sok Piseth", bar_number="").full_clean()


def test_bar_number_is_stripped_before_the_uniqueness_check():
    f.make_lawyer("Keo Ratanak", bar_number="BAKC-0815")
    assert_database_refuses(Lawyer(name="Lim Bopha", bar_number="  BAKC-0815 "))


def test_the_same_person_may_be_accused_in_two_cases():
    person = f.make_detainee("Mealea Sopheap")
    f.add_accused(f.make_case(), person)
    f.add_accused(f.make_case(), person)
    assert person.accusations.count() == 2


def test_birth_year_bounds_and_unknown_are_accepted():
    for year in (1900, 2100, None):
        f.make_detainee("Heng Sovann", birth_year=year)


def test_birth_date_sets_the_year_and_meets_the_same_rule():
    assert_database_refuses(Detainee(name_latin="Heng Sovann", birth_date=dt.date(1850, 5, 1)))
    person = f.make_detainee("Heng Sovann", birth_date=dt.date(1961, 5, 1))
    assert person.birth_year == 1961


def test_bail_decided_on_the_day_it_was_filed_is_fine():
    today = timezone.localdate()
    bail = f.make_bail(
        _accused(), filed_on=today, decision=BailRequest.Decision.DENIED, decided_on=today
    )
    bail.full_clean()


def test_national_courts_need_no_province():
    Court.objects.create(name_en="Test Special Chamber", level=Court.Level.APPEAL)


def test_hearings_not_held_need_no_outcome():
    case = f.make_case()
    for status in (Hearing.Status.SCHEDULED, Hearing.Status.POSTPONED, Hearing.Status.CANCELLED):
        f.make_hearing(case, status=status, outcome="")


def test_open_ended_custody_and_representation_are_fine():
    accused = _accused()
    f.hold(accused, ended_at=None)
    f.represent(f.make_lawyer(), accused, until=None)


def test_an_appeal_of_an_earlier_request_is_fine():
    accused = _accused()
    today = timezone.localdate()
    first = f.make_bail(
        accused,
        filed_on=today - 20 * DAY,
        decision=BailRequest.Decision.DENIED,
        decided_on=today - 15 * DAY,
    )
    appeal = f.make_bail(accused, filed_on=today - 10 * DAY, appeal_of=first)
    appeal.full_clean()


def test_custody_period_belongs_to_its_accuseds_case(own_case, other_case):
    accused = own_case.accused.first()
    period = f.hold(accused)
    assert period.case_id == own_case.pk
    # Saved again with an accused from another case, it follows the accused.
    period.accused = other_case.accused.first()
    period.save()
    period.refresh_from_db()
    assert period.case_id == other_case.pk
