"""The writes: one function per action, each in a transaction, taking the actor.

Model changes are written to the audit log by django-auditlog's signals; the
actor comes from the request (auditlog's middleware) or from ``acting_as``.
Edits of records people work on together check a version number, so the
second of two concurrent saves is refused instead of silently overwriting.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import acting_as

from . import access
from .models import (
    IN_CUSTODY,
    Accused,
    BailRequest,
    Case,
    CustodyPeriod,
    CustodyStatus,
    Detainee,
    DetentionLimit,
    Event,
    Hearing,
    Representation,
)


class ConflictError(Exception):
    """Someone else saved the record after this form was opened."""

    def __init__(self, current, changed_fields: list[str]):
        self.current = current
        self.changed_fields = changed_fields
        super().__init__("stale version")


def _save_versioned(instance, *, expected_version: int | None, fields: list[str]):
    """Save ``instance`` if nobody saved it since ``expected_version`` was read."""
    model = type(instance)
    current = model.objects.select_for_update().get(pk=instance.pk)
    if expected_version is not None and current.version != expected_version:
        changed = [
            (model._meta.get_field(f).verbose_name, getattr(current, f))
            for f in fields
            if getattr(current, f) != getattr(instance, f)
        ]
        raise ConflictError(current, changed)
    instance.version = current.version + 1
    instance.save()
    return instance


# --- Cases ----------------------------------------------------------------


@transaction.atomic
def case_open(
    *,
    actor,
    case: Case,
    charges=(),
    detainees=(),
    new_detainee: Detainee | None = None,
    custody_status: str = CustodyStatus.AT_LIBERTY,
) -> Case:
    """Open a case with its accused: existing people, a new person, or both."""
    with acting_as(actor):
        case.opened_by = actor
        if case.caseworker_id is None and actor.is_caseworker:
            case.caseworker = actor
        case.save()
        case.charges.set(charges)
        people = list(detainees)
        if new_detainee is not None:
            new_detainee.save()
            people.append(new_detainee)
        for person in people:
            Accused.objects.create(case=case, detainee=person, custody_status=custody_status)
    return case


@transaction.atomic
def case_update(*, actor, case: Case, expected_version: int, charges=None) -> Case:
    with acting_as(actor):
        fields = [
            "reference",
            "court_case_number",
            "title",
            "court",
            "province",
            "opened_on",
            "summary",
            "sources",
        ]
        _save_versioned(case, expected_version=expected_version, fields=fields)
        if charges is not None:
            case.charges.set(charges)
    return case


@transaction.atomic
def case_change_status(
    *,
    actor,
    case: Case,
    status: str,
    occurred_on: dt.date,
    note: str = "",
    expected_version: int | None = None,
) -> Case:
    old = case.get_status_display()
    with acting_as(actor):
        case.status = status
        _save_versioned(case, expected_version=expected_version, fields=["status"])
        Event.objects.create(
            case=case,
            kind=Event.Kind.STATUS_CHANGED,
            occurred_on=occurred_on,
            description=_("From %(old)s to %(new)s. %(note)s")
            % {"old": old, "new": case.get_status_display(), "note": note},
            source=Event.Source.MONITOR,
            verified=True,
            recorded_by=actor,
        )
    return case


@transaction.atomic
def case_assign(*, actor, case: Case, caseworker) -> Case:
    if not access.can_assign(actor):
        raise PermissionDenied
    with acting_as(actor):
        case.caseworker = caseworker
        case.version += 1
        case.save(update_fields=["caseworker", "version", "updated_at"])
    return case


# --- Hearings -------------------------------------------------------------


def _check_held_not_future(hearing: Hearing):
    if hearing.status == Hearing.Status.HELD and hearing.scheduled_at > timezone.now():
        raise ValidationError({"status": _("A hearing in the future cannot have been held yet.")})


@transaction.atomic
def hearing_record(*, actor, hearing: Hearing) -> Hearing:
    _check_held_not_future(hearing)
    with acting_as(actor):
        hearing.save()
        _touch(hearing.case)
    return hearing


@transaction.atomic
def hearing_update(*, actor, hearing: Hearing, expected_version: int) -> Hearing:
    _check_held_not_future(hearing)
    with acting_as(actor):
        _save_versioned(
            hearing,
            expected_version=expected_version,
            fields=[
                "kind",
                "court",
                "scheduled_at",
                "status",
                "lawyer",
                "monitor",
                "outcome",
                "notes",
            ],
        )
        _touch(hearing.case)
    return hearing


# --- Bail -----------------------------------------------------------------


@transaction.atomic
def bail_file(*, actor, bail: BailRequest) -> BailRequest:
    with acting_as(actor):
        bail.save()
        _touch(bail.accused.case)
    return bail


@transaction.atomic
def bail_decide(*, actor, bail: BailRequest, expected_version: int) -> BailRequest:
    """Record the court's decision; a grant releases the accused on bail."""
    if bail.decided_on and bail.decided_on < bail.filed_on:
        raise ValidationError({"decided_on": _("The decision cannot come before the filing.")})
    with acting_as(actor):
        _save_versioned(
            bail, expected_version=expected_version, fields=["decision", "decided_on", "reasons"]
        )
        if bail.decision == BailRequest.Decision.GRANTED:
            _apply_custody_change(
                actor,
                bail.accused,
                Event.Kind.RELEASED_ON_BAIL,
                bail.decided_on,
                description=bail.reasons,
                source=Event.Source.COURT,
            )
        _touch(bail.accused.case)
    return bail


# --- Custody and case events ------------------------------------------------

# What each event does to the accused's custody status (None: unchanged).
STATUS_AFTER = {
    Event.Kind.ARRESTED: CustodyStatus.POLICE_CUSTODY,
    Event.Kind.PRETRIAL_DETENTION: CustodyStatus.PRETRIAL,
    Event.Kind.RELEASED_ON_BAIL: CustodyStatus.RELEASED_ON_BAIL,
    Event.Kind.RELEASED: CustodyStatus.AT_LIBERTY,
    Event.Kind.ACQUITTED: CustodyStatus.AT_LIBERTY,
    Event.Kind.CONVICTED: CustodyStatus.SERVING_SENTENCE,
    Event.Kind.WENT_INTO_HIDING: CustodyStatus.IN_HIDING,
    Event.Kind.LEFT_COUNTRY: CustodyStatus.IN_EXILE,
    Event.Kind.DIED_IN_CUSTODY: CustodyStatus.DECEASED,
}

# The clock each event starts (Code of Criminal Procedure, 2007).
CLOCK_STARTED_BY = {
    Event.Kind.ARRESTED: "police-custody",  # Art. 96
}


@transaction.atomic
def event_record(
    *, actor, event: Event, limit: DetentionLimit | None = None, place_held: str = ""
) -> Event:
    """Record a dated fact; custody events also move the person's status and clock."""
    with acting_as(actor):
        event.recorded_by = actor
        event.full_clean()
        event.save()
        if event.accused_id:
            _apply_custody_change(
                actor,
                event.accused,
                event.kind,
                event.occurred_on,
                limit=limit,
                place_held=place_held,
                record_event=False,
            )
        _touch(event.case)
    return event


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)))


def _apply_custody_change(
    actor,
    accused: Accused,
    kind: str,
    day: dt.date,
    *,
    limit: DetentionLimit | None = None,
    place_held: str = "",
    description: str = "",
    source: str = Event.Source.OTHER,
    record_event: bool = True,
):
    if record_event:
        Event.objects.create(
            case=accused.case,
            accused=accused,
            kind=kind,
            occurred_on=day,
            description=description,
            source=source,
            verified=True,
            recorded_by=actor,
        )
    open_period = (
        accused.custody_periods.filter(ended_at__isnull=True).order_by("-started_at").first()
    )
    if kind == Event.Kind.DETENTION_EXTENDED and open_period is not None:
        open_period.extensions += 1
        open_period.save()
        return
    if kind == Event.Kind.TRANSFERRED and open_period is not None and place_held:
        open_period.place_held = place_held
        open_period.save()
        return
    new_status = STATUS_AFTER.get(kind)
    if new_status is None:
        return
    if open_period is not None and (
        new_status not in IN_CUSTODY
        or kind in (Event.Kind.PRETRIAL_DETENTION, Event.Kind.CONVICTED)
    ):
        open_period.ended_at = max(_start_of(day), open_period.started_at)
        open_period.save()
    code = CLOCK_STARTED_BY.get(kind)
    if limit is None and code:
        limit = DetentionLimit.objects.filter(code=code).first()
    if kind == Event.Kind.PRETRIAL_DETENTION and limit is None:
        limit = DetentionLimit.objects.filter(code="pretrial-felony").first()
    if new_status in (CustodyStatus.POLICE_CUSTODY, CustodyStatus.PRETRIAL) and limit:
        CustodyPeriod.objects.create(
            accused=accused,
            limit=limit,
            started_at=_start_of(day),
            place_held=place_held,
        )
    accused.custody_status = new_status
    accused.save(update_fields=["custody_status"])


# --- Lawyers --------------------------------------------------------------


@transaction.atomic
def lawyer_assign(*, actor, representation: Representation) -> Representation:
    with acting_as(actor):
        if representation.lawyer.pk is None:
            representation.lawyer.save()
            representation.lawyer_id = representation.lawyer.pk
        representation.full_clean()
        representation.save()
        _touch(representation.accused.case)
    return representation


@transaction.atomic
def detainee_update(*, actor, detainee: Detainee, expected_version: int) -> Detainee:
    with acting_as(actor):
        fields = [f.name for f in Detainee._meta.fields if f.editable and f.name != "id"]
        _save_versioned(detainee, expected_version=expected_version, fields=fields)
    return detainee


def _touch(case: Case):
    """A case counts as updated whenever anything in it is recorded."""
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
