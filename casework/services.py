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

from . import access, clocks, editing
from .editing import ConflictError
from .models import (
    IN_CUSTODY,
    NO_DERIVABLE_LIMIT,
    NOTHING_TO_EXTEND,
    Accused,
    BailRequest,
    Case,
    Charge,
    Court,
    CustodyPeriod,
    CustodyStatus,
    Detainee,
    DetentionLimit,
    Event,
    Hearing,
    Lawyer,
    Province,
    Representation,
    past_ceiling,
)


def _locked(instance):
    return type(instance)._default_manager.select_for_update().get(pk=instance.pk)


def _merge_save(instance, *, base: dict | None, fields: list[str], m2m: dict | None = None):
    """Save an edit of ``instance`` without losing anyone else's (casework/editing.py).

    With ``base`` (the values the form was opened with), a field the editor did not
    change keeps what is stored now, and a field both changed raises ``ConflictError``.
    Without it (an import, a command), the row is locked and saved as given. The
    model's rules run either way (``full_clean``).
    """
    m2m = dict(m2m or {})
    current = _locked(instance)
    if base is not None:
        merge = editing.check(instance, current, base, fields, m2m)
        for name in fields:
            if name not in merge.mine:
                attname = instance._meta.get_field(name).attname
                setattr(instance, attname, getattr(current, attname))
        m2m = {f: values for f, values in m2m.items() if f in merge.mine}
    instance.version = current.version + 1
    instance.full_clean()
    instance.save()
    for name, values in m2m.items():
        getattr(instance, name).set(values)
    return instance


def _editable(model, *exclude: str) -> list[str]:
    return [
        f.name
        for f in model._meta.concrete_fields
        if f.editable and not f.primary_key and f.name not in exclude
    ]


# --- Cases ----------------------------------------------------------------

CASE_FIELDS = [
    "reference",
    "court_case_number",
    "title",
    "court",
    "province",
    "opened_on",
    "summary",
    "sources",
]


@transaction.atomic
def case_create(*, actor, case: Case, charges=()) -> Case:
    """A new case without its accused (the importer adds them after): ``case_open``
    is the page's door, with its people."""
    with acting_as(actor):
        case.opened_by = case.opened_by or actor
        if case.caseworker_id is None and getattr(actor, "is_caseworker", False):
            case.caseworker = actor
        case.full_clean()
        case.save()
        case.charges.set(charges)
    return case


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
    case_create(actor=actor, case=case, charges=charges)
    people = list(detainees)
    if new_detainee is not None:
        people.append(detainee_create(actor=actor, detainee=new_detainee))
    for person in people:
        accused_add(actor=actor, case=case, detainee=person, custody_status=custody_status)
    return case


@transaction.atomic
def case_update(*, actor, case: Case, base: dict | None = None, charges=None) -> Case:
    """Edit a case's details (and charges, when given) without losing anyone else's edit."""
    with acting_as(actor):
        m2m = {"charges": list(charges)} if charges is not None else None
        _merge_save(case, base=base, fields=CASE_FIELDS, m2m=m2m)
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
    with acting_as(actor):
        current = _locked(case)
        if expected_version is not None and current.version != expected_version:
            # The status form shows one field: any change since it was read may bear on it.
            raise ConflictError(
                current, editing.Merge(mine={"status"}, theirs={"status"}, conflicts={"status"})
            )
        old = current.get_status_display()
        event = Event(
            case=case,
            kind=Event.Kind.STATUS_CHANGED,
            occurred_on=occurred_on,
            source=Event.Source.MONITOR,
            verified=True,
            recorded_by=actor,
        )
        event.full_clean(exclude=["description"])
        case.status = status
        case.version = current.version + 1
        case.full_clean()
        case.save(update_fields=["status", "version", "updated_at"])
        event.description = _("From %(old)s to %(new)s. %(note)s") % {
            "old": old,
            "new": case.get_status_display(),
            "note": note,
        }
        event.save()
    return case


@transaction.atomic
def case_assign(*, actor, case: Case, caseworker) -> Case:
    if not access.can_assign(actor):
        raise PermissionDenied
    with acting_as(actor):
        current = _locked(case)
        case.caseworker = caseworker
        case.version = current.version + 1
        case.save(update_fields=["caseworker", "version", "updated_at"])
    return case


# --- People and accused -----------------------------------------------------


@transaction.atomic
def detainee_create(*, actor, detainee: Detainee) -> Detainee:
    with acting_as(actor):
        detainee.full_clean()
        detainee.save()
    return detainee


@transaction.atomic
def detainee_update(*, actor, detainee: Detainee, base: dict | None = None) -> Detainee:
    with acting_as(actor):
        _merge_save(detainee, base=base, fields=_editable(Detainee))
    return detainee


@transaction.atomic
def accused_add(
    *, actor, case: Case, detainee: Detainee, custody_status: str = CustodyStatus.AT_LIBERTY
) -> Accused:
    with acting_as(actor):
        accused = Accused(case=case, detainee=detainee, custody_status=custody_status)
        accused.full_clean()
        accused.save()
        _touch(case)
    return accused


@transaction.atomic
def accused_update(*, actor, accused: Accused) -> Accused:
    """A custody status set by hand (the admin) has the effect of the matching event:
    the clock starts or stops as it would from the case page."""
    with acting_as(actor):
        current = _locked(accused)
        new_status = accused.custody_status
        accused.custody_status = current.custody_status
        accused.full_clean()
        accused.save()
        kind = EVENT_FOR_STATUS.get(new_status)
        if new_status != current.custody_status:
            if kind is None:
                accused.custody_status = new_status
                accused.save(update_fields=["custody_status"])
            else:
                _apply_custody_change(
                    actor, accused, kind, timezone.localdate(), source=Event.Source.OTHER
                )
        _touch(accused.case)
    return accused


# --- Hearings -------------------------------------------------------------

HEARING_FIELDS = [
    "kind",
    "court",
    "scheduled_at",
    "status",
    "lawyer",
    "monitor",
    "outcome",
    "notes",
]


@transaction.atomic
def hearing_record(*, actor, hearing: Hearing) -> Hearing:
    with acting_as(actor):
        hearing.full_clean()
        hearing.save()
        _touch(hearing.case)
    return hearing


@transaction.atomic
def hearing_update(*, actor, hearing: Hearing, base: dict | None = None) -> Hearing:
    with acting_as(actor):
        _merge_save(hearing, base=base, fields=HEARING_FIELDS)
        _touch(hearing.case)
    return hearing


# --- Bail -----------------------------------------------------------------


@transaction.atomic
def bail_file(*, actor, bail: BailRequest) -> BailRequest:
    with acting_as(actor):
        bail.full_clean()
        bail.save()
        _touch(bail.accused.case)
        if bail.decision != BailRequest.Decision.PENDING:
            _apply_bail_decision(actor, bail, was=BailRequest.Decision.PENDING)
    return bail


@transaction.atomic
def bail_update(*, actor, bail: BailRequest, base: dict | None = None) -> BailRequest:
    """Record the court's decision, or correct a request: from the page and the admin
    alike. A grant releases the accused on bail; the filing's grounds stay as filed."""
    with acting_as(actor):
        was = _locked(bail).decision
        _merge_save(bail, base=base, fields=_editable(BailRequest, "case"))
        _apply_bail_decision(actor, bail, was=was)
        _touch(bail.accused.case)
    return bail


bail_decide = bail_update


def _apply_bail_decision(actor, bail: BailRequest, *, was: str):
    if bail.decision == BailRequest.Decision.GRANTED and was != BailRequest.Decision.GRANTED:
        _apply_custody_change(
            actor,
            bail.accused,
            Event.Kind.RELEASED_ON_BAIL,
            bail.decided_on,
            description="\n".join(t for t in (bail.reasons, bail.conditions) if t),
            source=Event.Source.COURT,
        )


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

# The event a custody status set by hand stands for (the admin's Accused page).
EVENT_FOR_STATUS = {
    CustodyStatus.POLICE_CUSTODY: Event.Kind.ARRESTED,
    CustodyStatus.PRETRIAL: Event.Kind.PRETRIAL_DETENTION,
    CustodyStatus.SERVING_SENTENCE: Event.Kind.CONVICTED,
    CustodyStatus.RELEASED_ON_BAIL: Event.Kind.RELEASED_ON_BAIL,
    CustodyStatus.AT_LIBERTY: Event.Kind.RELEASED,
    CustodyStatus.IN_HIDING: Event.Kind.WENT_INTO_HIDING,
    CustodyStatus.IN_EXILE: Event.Kind.LEFT_COUNTRY,
    CustodyStatus.DECEASED: Event.Kind.DIED_IN_CUSTODY,
}

# The clock each event starts (Code of Criminal Procedure, 2007).
CLOCK_STARTED_BY = {
    Event.Kind.ARRESTED: "police-custody",  # Art. 96
}

# The pre-trial detention limit each class of offence calls for.
PRETRIAL_LIMIT_FOR = {
    Charge.Classification.FELONY: "pretrial-felony",  # Art. 208: 6 months, 18 at most
    Charge.Classification.MISDEMEANOUR: "pretrial-misdemeanour",  # Art. 209: 4 + 2 months
}


def current_charges(accused: Accused) -> list[Charge]:
    """The charges ``accused`` faces now: the one place the clock reads them from.

    Today they are the case's charges; per-accused charges repoint this function only.
    """
    return list(accused.case.charges.all())


def derive_limit(accused: Accused, *, limits: dict | None = None) -> DetentionLimit | None:
    """The pre-trial detention limit ``accused``'s charges call for, never a guess.

    A felony among them: Art. 208. Misdemeanours (and petty offences beside them):
    Art. 209. None when the charges do not say: no charge on file, a charge without its
    class (it may be a felony), or petty offences only (for which the Code provides no
    pre-trial detention): the detention order then asks which limit applies.
    """
    classes = {charge.classification for charge in current_charges(accused)}
    if Charge.Classification.FELONY in classes:
        code = PRETRIAL_LIMIT_FOR[Charge.Classification.FELONY]
    elif Charge.Classification.MISDEMEANOUR in classes and "" not in classes:
        code = PRETRIAL_LIMIT_FOR[Charge.Classification.MISDEMEANOUR]
    else:
        return None
    if limits is not None:  # the limits read once, for a form listing every accused
        return limits.get(code)
    return DetentionLimit.objects.filter(code=code).first()


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
                time=event.occurred_time,
                limit=limit,
                place_held=place_held or event.place,
                record_event=False,
            )
        _touch(event.case)
    return event


def _end(period: CustodyPeriod, moment: dt.datetime) -> None:
    period.ended_at = max(moment, period.started_at)
    period.save()


def _apply_custody_change(
    actor,
    accused: Accused,
    kind: str,
    day: dt.date,
    *,
    time: dt.time | None = None,
    limit: DetentionLimit | None = None,
    place_held: str = "",
    description: str = "",
    source: str = Event.Source.OTHER,
    record_event: bool = True,
):
    """What a custody event does to the person's status and clock.

    Custody is one clock from the arrest: a detention order continues the custody
    running (``custody_since`` is kept, so days held and the ceiling count from the
    arrest); a later order under the same limit keeps its extensions. An order's limit
    is the one chosen, or the one the charges call for (``derive_limit``), never a
    default. The clock starts at the event's time of day, or at the start of its day
    when the time is not known.
    """
    if record_event:
        Event.objects.create(
            case=accused.case,
            accused=accused,
            kind=kind,
            occurred_on=day,
            occurred_time=time,
            description=description,
            source=source,
            verified=True,
            recorded_by=actor,
        )
    moment = clocks.start_of(day, time)
    open_period = accused.open_period()
    if kind == Event.Kind.DETENTION_EXTENDED:
        if open_period is None:
            raise ValidationError(NOTHING_TO_EXTEND)
        if not clocks.extensions_allowed(open_period.limit, open_period.extensions + 1):
            raise ValidationError(past_ceiling(open_period.limit))
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
    if kind == Event.Kind.ARRESTED and open_period is not None:
        # Already held in this case: the arrest is on the timeline, the clock runs on.
        return
    if kind == Event.Kind.PRETRIAL_DETENTION:
        limit = limit or derive_limit(accused)
        if limit is None:
            raise ValidationError({"limit": NO_DERIVABLE_LIMIT})
        period = CustodyPeriod(
            accused=accused,
            limit=limit,
            started_at=moment,
            custody_since=moment,
            time_known=time is not None,
            place_held=place_held,
        )
        if open_period is not None:
            period.started_at = max(moment, open_period.started_at)
            period.custody_since = open_period.custody_since
            period.time_known = open_period.time_known
            period.place_held = place_held or open_period.place_held
            if open_period.limit_id == limit.pk:
                period.extensions = open_period.extensions
            _end(open_period, period.started_at)
        period.full_clean(exclude=["case"])
        period.save()
    else:
        if open_period is not None and (
            new_status not in IN_CUSTODY or kind == Event.Kind.CONVICTED
        ):
            _end(open_period, moment)
        code = CLOCK_STARTED_BY.get(kind)
        if limit is None and code:
            limit = DetentionLimit.objects.filter(code=code).first()
        if new_status == CustodyStatus.POLICE_CUSTODY and limit:
            CustodyPeriod.objects.create(
                accused=accused,
                limit=limit,
                started_at=moment,
                custody_since=moment,
                time_known=time is not None,
                place_held=place_held,
            )
    accused.custody_status = new_status
    accused.save(update_fields=["custody_status"])
    if kind == Event.Kind.DIED_IN_CUSTODY:
        _deceased_everywhere(accused, moment)


def _deceased_everywhere(accused: Accused, moment: dt.datetime) -> None:
    """A person who died is no longer held in any of their cases: their other clocks
    stop, so no list shows a dead person running past a legal limit."""
    others = Accused.objects.filter(detainee_id=accused.detainee_id).exclude(pk=accused.pk)
    for period in CustodyPeriod.objects.filter(accused__in=others, ended_at__isnull=True):
        _end(period, moment)
    for other in others.exclude(custody_status=CustodyStatus.DECEASED):
        other.custody_status = CustodyStatus.DECEASED
        other.save(update_fields=["custody_status"])


@transaction.atomic
def event_update(*, actor, event: Event) -> Event:
    """Correct an event's text, date or source. Its effect on custody was applied when it
    was recorded; a wrong custody event is undone by recording the right one."""
    with acting_as(actor):
        _locked(event)
        event.full_clean()
        event.save()
        _touch(event.case)
    return event


@transaction.atomic
def custody_period_update(*, actor, period: CustodyPeriod) -> CustodyPeriod:
    """An admin's correction of a clock (its start, order, limit): the runs-out moment is
    derived again on save."""
    with acting_as(actor):
        if period.pk:
            _locked(period)
        period.full_clean(exclude=["case"])
        period.save()
        _touch(period.accused.case)
    return period


# --- Lawyers --------------------------------------------------------------


@transaction.atomic
def lawyer_save(*, actor, lawyer: Lawyer) -> Lawyer:
    with acting_as(actor):
        lawyer.full_clean()
        lawyer.save()
    return lawyer


@transaction.atomic
def lawyer_assign(*, actor, representation: Representation) -> Representation:
    with acting_as(actor):
        if representation.lawyer.pk is None:
            lawyer_save(actor=actor, lawyer=representation.lawyer)
            representation.lawyer_id = representation.lawyer.pk
        representation.full_clean()
        representation.save()
        _touch(representation.accused.case)
    return representation


@transaction.atomic
def representation_update(*, actor, representation: Representation) -> Representation:
    with acting_as(actor):
        _locked(representation)
        representation.full_clean()
        representation.save()
        _touch(representation.accused.case)
    return representation


# --- Deleting ---------------------------------------------------------------


def _case_of(instance) -> Case | None:
    if isinstance(instance, Case):
        return None
    if isinstance(instance, Accused | Hearing | BailRequest | Event | CustodyPeriod):
        return instance.case
    if isinstance(instance, Representation):
        return instance.accused.case
    return None


@transaction.atomic
def record_delete(*, actor, instance) -> None:
    """Delete one record (the admin's delete, one by one so each leaves its entry)."""
    with acting_as(actor):
        case = _case_of(instance)
        instance.delete()
        if case is not None:
            _touch(case)


# --- The admin's door --------------------------------------------------------


@transaction.atomic
def record_save(*, actor, instance, base: dict | None = None, m2m: dict | None = None):
    """Save any domain record through the function the pages use for it: the admin
    (and any generic caller) has no rules or effects of its own."""
    creating = instance.pk is None
    if isinstance(instance, Case):
        charges = (m2m or {}).get("charges")
        if creating:
            return case_create(actor=actor, case=instance, charges=charges or ())
        return case_update(actor=actor, case=instance, base=base, charges=charges)
    if isinstance(instance, Detainee):
        if creating:
            return detainee_create(actor=actor, detainee=instance)
        return detainee_update(actor=actor, detainee=instance, base=base)
    if isinstance(instance, Accused):
        if creating:
            return accused_add(
                actor=actor,
                case=instance.case,
                detainee=instance.detainee,
                custody_status=instance.custody_status,
            )
        return accused_update(actor=actor, accused=instance)
    if isinstance(instance, Hearing):
        if creating:
            return hearing_record(actor=actor, hearing=instance)
        return hearing_update(actor=actor, hearing=instance, base=base)
    if isinstance(instance, BailRequest):
        if creating:
            return bail_file(actor=actor, bail=instance)
        return bail_update(actor=actor, bail=instance, base=base)
    if isinstance(instance, Event):
        if creating:
            return event_record(actor=actor, event=instance)
        return event_update(actor=actor, event=instance)
    if isinstance(instance, CustodyPeriod):
        return custody_period_update(actor=actor, period=instance)
    if isinstance(instance, Lawyer):
        return lawyer_save(actor=actor, lawyer=instance)
    if isinstance(instance, Representation):
        if creating:
            return lawyer_assign(actor=actor, representation=instance)
        return representation_update(actor=actor, representation=instance)
    if isinstance(instance, Province | Court | Charge | DetentionLimit):
        return reference_save(actor=actor, instance=instance)
    raise TypeError(f"No service saves {type(instance).__name__}.")


@transaction.atomic
def reference_save(*, actor, instance):
    """Reference data (provinces, courts, charges, legal limits). A changed legal limit
    gives every open custody period under it a new runs-out moment."""
    with acting_as(actor):
        instance.full_clean()
        instance.save()
        if isinstance(instance, DetentionLimit):
            for period in instance.custodyperiod_set.filter(ended_at__isnull=True):
                period.save()
    return instance


def _touch(case: Case):
    """A case counts as updated whenever anything in it is recorded."""
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
