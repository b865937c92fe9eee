"""The three-way merge covers the records without a version too (casework/editing.py):
an admin form opened before a change made elsewhere (on a page, by a custody event)
and saved after it keeps that change, applies only what the admin changed, and shows
a field both changed side by side, saving nothing.

Each record: an event, a custody period, a representation, an accused, a lawyer and a
charge (reference data). The change "elsewhere" is made through the service the page or
the custody event calls.
"""

import dataclasses
import datetime as dt
import html
from collections.abc import Callable

import pytest
from django.utils import timezone

from casework import clocks, editing, services
from casework.models import (
    Accused,
    Charge,
    Event,
    Lawyer,
    Representation,
)

from . import factories as f
from .factories import opened_form

TODAY = timezone.localdate()


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def admin_url(obj) -> str:
    return f"/admin/casework/{obj._meta.model_name}/{obj.pk}/change/"


@dataclasses.dataclass
class Scenario:
    """``make`` the record; ``elsewhere`` changes it as the page would; then the stale
    admin form changes ``other`` (another field) or ``same`` (the field changed
    elsewhere); ``theirs``/``mine`` are what each side left stored, read back by
    ``read``."""

    make: Callable
    elsewhere: Callable
    theirs: dict
    other: dict
    other_stored: dict
    same: dict
    conflict: str


def _event(case):
    return f.make_event(
        case,
        kind=Event.Kind.THREATENED,
        accused=case.accused.first(),
        occurred_on=days_ago(3),
        description="Threatened at home",
        source=Event.Source.FAMILY,
    )


def _correct_description(actor, event):
    fresh = Event.objects.get(pk=event.pk)
    fresh.description = "Threatened at home by two police officers"
    services.event_update(actor=actor, event=fresh)


def _period(case):
    return case.accused.first().custody_periods.get(ended_at__isnull=True)


def _extend(actor, period):
    services.event_record(
        actor=actor,
        event=Event(
            case=period.accused.case,
            accused=period.accused,
            kind=Event.Kind.DETENTION_EXTENDED,
            occurred_on=TODAY,
        ),
    )


def _representation(case):
    return f.represent(f.make_lawyer("Meas Sophal"), case.accused.first(), since=days_ago(60))


def _end(actor, representation):
    services.representation_end(
        actor=actor,
        representation=Representation.objects.get(pk=representation.pk),
        until=TODAY,
        reason=Representation.EndReason.WITHDREW,
        note="Left the bar association",
    )


def _accused(case):
    return case.accused.first()


def _release_on_bail(actor, accused):
    services.event_record(
        actor=actor,
        event=Event(
            case=accused.case,
            accused=accused,
            kind=Event.Kind.RELEASED_ON_BAIL,
            occurred_on=TODAY,
        ),
    )


def _lawyer(case):
    return f.make_lawyer("Chea Dara", contact="012 111 222")


def _new_phone(actor, lawyer):
    fresh = Lawyer.objects.get(pk=lawyer.pk)
    fresh.contact = "097 333 444"
    services.lawyer_save(actor=actor, lawyer=fresh)


def _charge(case):
    return Charge.objects.order_by("pk").first()


def _rename_in_khmer(actor, charge):
    fresh = Charge.objects.get(pk=charge.pk)
    fresh.name_km = "ការញុះញង់ (កែ)"
    services.reference_save(actor=actor, instance=fresh)


SCENARIOS = {
    "event": Scenario(
        make=_event,
        elsewhere=_correct_description,
        theirs={"description": "Threatened at home by two police officers"},
        other={"source_detail": "Phone call with the sister"},
        other_stored={"source_detail": "Phone call with the sister"},
        same={"description": "Threatened at home (admin's wording)"},
        conflict="description",
    ),
    "custody period": Scenario(
        make=_period,
        elsewhere=_extend,
        theirs={"extensions": 1},
        other={"order_reference": "ORDER-2026-17"},
        other_stored={"order_reference": "ORDER-2026-17"},
        same={"extensions": "2"},
        conflict="extensions",
    ),
    "representation": Scenario(
        make=_representation,
        elsewhere=_end,
        theirs={"until": TODAY, "end_reason": "withdrew", "end_note": "Left the bar association"},
        other={"since": days_ago(90).isoformat()},
        other_stored={"since": days_ago(90)},
        same={"until": TODAY.isoformat(), "end_reason": "dismissed"},
        conflict="end_reason",
    ),
    "accused": Scenario(
        make=_accused,
        elsewhere=_release_on_bail,
        theirs={"custody_status": "released_on_bail"},
        other={"added_on": days_ago(100).isoformat()},
        other_stored={"added_on": days_ago(100)},
        same={"custody_status": "at_liberty"},
        conflict="custody_status",
    ),
    "lawyer": Scenario(
        make=_lawyer,
        elsewhere=_new_phone,
        theirs={"contact": "097 333 444"},
        other={"organisation": "Legal Aid of Cambodia"},
        other_stored={"organisation": "Legal Aid of Cambodia"},
        same={"contact": "089 555 666"},
        conflict="contact",
    ),
    "charge": Scenario(
        make=_charge,
        elsewhere=_rename_in_khmer,
        theirs={"name_km": "ការញុះញង់ (កែ)"},
        other={"article": "Art. 495 (as amended)"},
        other_stored={"article": "Art. 495 (as amended)"},
        same={"name_km": "ឈ្មោះថ្មី"},
        conflict="name_km",
    ),
}


def _stored(obj, names) -> dict:
    fresh = type(obj)._base_manager.get(pk=obj.pk)
    return {name: getattr(fresh, name) for name in names}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_stale_admin_form_keeps_a_change_made_elsewhere(
    admin_client_, caseworker, own_case, name
):
    scenario = SCENARIOS[name]
    obj = scenario.make(own_case)
    stale = opened_form(admin_client_, admin_url(obj), "adminform")
    scenario.elsewhere(caseworker, obj)
    assert _stored(obj, scenario.theirs) == scenario.theirs

    response = admin_client_.post(admin_url(obj), {**stale, **scenario.other})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert _stored(obj, scenario.theirs) == scenario.theirs  # theirs kept
    assert _stored(obj, scenario.other_stored) == scenario.other_stored  # mine applied


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_field_both_changed_is_shown_side_by_side_and_nothing_is_saved(
    admin_client_, caseworker, own_case, name
):
    scenario = SCENARIOS[name]
    obj = scenario.make(own_case)
    stale = opened_form(admin_client_, admin_url(obj), "adminform")
    scenario.elsewhere(caseworker, obj)
    before = _stored(obj, [f.name for f in obj._meta.concrete_fields])

    typed = {**scenario.other, **scenario.same}
    response = admin_client_.post(admin_url(obj), {**stale, **typed})
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert 'id="conflict"' in body and "Someone else saved this record" in body
    form = response.context["adminform"].form
    assert [row["name"] for row in form.conflict_rows] == [scenario.conflict]
    assert [who for who, _when in form.conflict.editors] == [str(caseworker)]
    # Nothing saved: not the conflicting field, not the other field the admin changed.
    assert _stored(obj, before) == before
    # What the admin typed is still in the form; theirs is beside it.
    for field, value in typed.items():
        assert str(form[field].value()) == str(value), field
    row = form.conflict_rows[0]
    assert row["theirs"] == editing.display(type(obj)._base_manager.get(pk=obj.pk), row["name"])


@pytest.mark.parametrize("choice", ["theirs", "mine"])
def test_the_admin_chooses_and_saves(admin_client_, caseworker, own_case, choice):
    representation = _representation(own_case)
    url = admin_url(representation)
    stale = opened_form(admin_client_, url, "adminform")
    _end(caseworker, representation)
    response = admin_client_.post(
        url, {**stale, "until": TODAY.isoformat(), "end_reason": "dismissed"}
    )
    retry = f.form_data(response, "adminform")
    retry |= {"conflict": "end_reason", "keep-end_reason": choice}
    response = admin_client_.post(url, retry)
    assert response.status_code == 302, response.context["adminform"].form.errors
    representation.refresh_from_db()
    assert representation.end_reason == ("withdrew" if choice == "theirs" else "dismissed")
    assert representation.end_note == "Left the bar association"  # theirs, never lost


def test_a_merged_custody_period_recomputes_its_clock(admin_client_, caseworker, own_case):
    period = _period(own_case)
    stale = opened_form(admin_client_, admin_url(period), "adminform")
    _extend(caseworker, period)
    response = admin_client_.post(admin_url(period), {**stale, "place_held": "Prey Sar"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    period.refresh_from_db()
    assert (period.extensions, period.place_held) == (1, "Prey Sar")
    assert period.runs_out_at == clocks.runs_out(period.limit, period.custody_since, 1)


def test_a_stale_accused_form_does_not_put_the_person_back_in_custody(
    admin_client_, caseworker, own_case
):
    accused = _accused(own_case)
    stale = opened_form(admin_client_, admin_url(accused), "adminform")
    assert stale["custody_status"] == "pretrial_detention"
    _release_on_bail(caseworker, accused)
    response = admin_client_.post(admin_url(accused), {**stale, "removed_reason": ""})
    assert response.status_code == 302, response.context["adminform"].form.errors
    accused = Accused.objects.get(pk=accused.pk)
    assert accused.custody_status == "released_on_bail"
    assert not accused.custody_periods.filter(ended_at__isnull=True).exists()


# --- The services merge under their lock (a save racing the form's own check) ---------


SERVICE_EDITS = {
    "event_update": (
        _event,
        _correct_description,
        "description",
        lambda actor, obj: services.event_update(actor=actor, event=obj, base=obj._base),
    ),
    "custody_period_update": (
        _period,
        _extend,
        "extensions",
        lambda actor, obj: services.custody_period_update(actor=actor, period=obj, base=obj._base),
    ),
    "representation_update": (
        _representation,
        _end,
        "end_note",
        lambda actor, obj: services.representation_update(
            actor=actor, representation=obj, base=obj._base
        ),
    ),
    "accused_update": (
        _accused,
        _release_on_bail,
        "custody_status",
        lambda actor, obj: services.accused_update(actor=actor, accused=obj, base=obj._base),
    ),
    "lawyer_save": (
        _lawyer,
        _new_phone,
        "contact",
        lambda actor, obj: services.lawyer_save(actor=actor, lawyer=obj, base=obj._base),
    ),
    "reference_save": (
        _charge,
        _rename_in_khmer,
        "name_km",
        lambda actor, obj: services.reference_save(actor=actor, instance=obj, base=obj._base),
    ),
}

SERVICE_VALUES = {
    "description": "Mine",
    "extensions": 2,
    "end_note": "Mine",
    "custody_status": "at_liberty",
    "contact": "Mine",
    "name_km": "Mine",
}


@pytest.mark.parametrize("name", sorted(SERVICE_EDITS))
def test_the_service_refuses_a_field_both_changed(admin_user, caseworker, own_case, name):
    make, elsewhere, field, save = SERVICE_EDITS[name]
    obj = make(own_case)
    obj = type(obj)._base_manager.get(pk=obj.pk)
    names = [f.name for f in obj._meta.concrete_fields if f.editable and not f.primary_key]
    obj._base = editing.snapshot(obj, names)
    elsewhere(caseworker, obj)
    before = _stored(obj, names)
    setattr(obj, field, SERVICE_VALUES[field])
    with pytest.raises(editing.ConflictError) as refused:
        save(admin_user, obj)
    assert refused.value.merge.conflicts == {field}
    assert _stored(obj, names) == before
