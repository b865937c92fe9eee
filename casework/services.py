"""The writes: one function per action, each in a transaction, taking the actor.

Model changes are written to the audit log by django-auditlog's signals; the
actor comes from the request (auditlog's middleware) or from ``acting_as``.
Edits made from a form merge three ways with what it was opened with
(``_merge_save``, casework/editing.py), so a stale save never overwrites a field its
editor did not change, and a field two people changed is refused, not overwritten.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import acting_as
from audit.log import record
from audit.models import AuditEvent

from . import access, clocks, editing
from .editing import ConflictError
from .models import (
    IN_CUSTODY,
    MERGE_INTO_ITSELF,
    NO_DERIVABLE_LIMIT,
    NOTHING_TO_EXTEND,
    POLICE_CUSTODY,
    POLICE_EXTENSION_FELONY_ONLY,
    Accused,
    AccusedCharge,
    BailRequest,
    Case,
    CaseStatus,
    Charge,
    Court,
    CustodyPeriod,
    CustodyStatus,
    Detainee,
    DetentionLimit,
    Event,
    Hearing,
    Lawyer,
    PossibleDuplicate,
    Province,
    Representation,
    Sex,
    felony_stands,
    past_ceiling,
    standing_charge_ids,
)
from .names import fold


def _locked(instance):
    return type(instance)._default_manager.select_for_update().get(pk=instance.pk)


def _merge(instance, current, *, base: dict, fields: list[str], m2m: dict | None = None):
    """Apply the three-way merge to ``instance`` (casework/editing.py): a field the
    editor did not change takes what ``current`` (the locked row) holds. Raises
    ``ConflictError`` on a field both changed, before anything is written. Returns the
    many-to-many values the editor changed."""
    m2m = dict(m2m or {})
    merge = editing.check(instance, current, base, fields, m2m)
    for name in fields:
        if name not in merge.mine:
            attname = instance._meta.get_field(name).attname
            setattr(instance, attname, getattr(current, attname))
    return {f: values for f, values in m2m.items() if f in merge.mine}


def _merge_save(
    instance,
    *,
    base: dict | None,
    fields: list[str],
    m2m: dict | None = None,
    exclude: list[str] | None = None,
):
    """Save an edit of ``instance`` without losing anyone else's (casework/editing.py).

    With ``base`` (the values the form was opened with), a field the editor did not
    change keeps what is stored now, and a field both changed raises ``ConflictError``.
    Without it (an import, a command), the row is locked and saved as given. The
    model's rules run either way (``full_clean``, but for ``exclude``). A record with a
    version counts the save; one without is merged all the same.
    """
    m2m = dict(m2m or {})
    current = _locked(instance)
    if base is not None:
        m2m = _merge(instance, current, base=base, fields=fields, m2m=m2m)
    if _versioned(instance):
        instance.version = current.version + 1
    instance.full_clean(exclude=exclude)
    instance.save()
    for name, values in m2m.items():
        getattr(instance, name).set(values)
    return instance


def _versioned(instance) -> bool:
    return any(field.name == "version" for field in instance._meta.concrete_fields)


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
    new_detainees=(),
    custody_status: str = CustodyStatus.AT_LIBERTY,
) -> Case:
    """Open a case with its accused: people on file, new people, or both."""
    case_create(actor=actor, case=case, charges=charges)
    people = list(detainees)
    new_people = [*([new_detainee] if new_detainee is not None else []), *new_detainees]
    for person in new_people:
        people.append(detainee_create(actor=actor, detainee=person))
    for person in people:
        accused_add(
            actor=actor,
            case=case,
            detainee=person,
            custody_status=custody_status,
            on=case.opened_on,
        )
    return case


@transaction.atomic
def case_update(*, actor, case: Case, base: dict | None = None, charges=None) -> Case:
    """Edit a case's details without losing anyone else's edit. ``charges`` (the case
    form's "charges of everyone in the case") applies what changed to every accused:
    a charge added charges each of them, one taken off drops it for each."""
    with acting_as(actor):
        before = set(case.charges.values_list("pk", flat=True)) if case.pk else set()
        m2m = {"charges": list(charges)} if charges is not None else None
        if m2m and base is not None and "charges" in base:
            # Merge the charges three ways like any field; then apply the difference.
            _merge_save(case, base=base, fields=CASE_FIELDS, m2m=m2m)
        else:
            _merge_save(case, base=base, fields=CASE_FIELDS)
            if m2m:
                case.charges.set(m2m["charges"])
        if charges is not None:
            after = set(case.charges.values_list("pk", flat=True))
            _charge_everyone(actor, case, added=after - before, dropped=before - after)
    return case


def _charge_everyone(actor, case: Case, *, added, dropped, on=None):
    people = list(case.accused.prefetch_related("charge_steps"))
    if not people:
        return  # nobody to charge yet: the case's charges are kept as given
    on = on or timezone.localdate()
    source = _("The case's charges, changed for everyone in the case.")
    for accused in people:
        standing = set(standing_charge_ids(accused.charge_steps.all()))
        for charge_id in sorted(set(added) - standing):
            AccusedCharge.objects.create(
                accused=accused, charge_id=charge_id, step="charged", on=on, source=source
            )
        for charge_id in sorted(set(dropped) & standing):
            AccusedCharge.objects.create(
                accused=accused, charge_id=charge_id, step="dropped", on=on, source=source
            )
    _sync_case_charges(case)


def _sync_case_charges(case: Case):
    """The case's charges are the union of those standing against its accused now."""
    people = list(case.accused.prefetch_related("charge_steps"))
    if not people:
        return
    union = set()
    for accused in people:
        union.update(standing_charge_ids(accused.charge_steps.all()))
    if union != set(case.charges.values_list("pk", flat=True)):
        case.charges.set(sorted(union))


@transaction.atomic
def accused_charge_record(*, actor, step: AccusedCharge) -> AccusedCharge:
    """One step in the charges against one accused (charged, requalified, dropped,
    acquitted, convicted), with its date and source; the case's charges follow."""
    with acting_as(actor):
        step.full_clean()
        step.save()
        _sync_case_charges(step.accused.case)
        _touch(step.accused.case)
    return step


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
        _flag_matches_elsewhere(actor, detainee)
    return detainee


@transaction.atomic
def detainee_update(*, actor, detainee: Detainee, base: dict | None = None) -> Detainee:
    with acting_as(actor):
        _merge_save(detainee, base=base, fields=_editable(Detainee))
        _flag_matches_elsewhere(actor, detainee)
    return detainee


def _flag_matches_elsewhere(actor, detainee: Detainee, limit: int = 5) -> int:
    """Put the likely matches outside the actor's scope in the admins' review queue.

    The actor is told only that a possible match is on file elsewhere
    (forms.POSSIBLE_MATCH_ELSEWHERE); ``detainee.matches_elsewhere`` says how many
    pairs were raised, for the page to say so."""
    detainee.matches_elsewhere = 0
    if actor is None or access.is_admin(actor):
        return 0  # nothing is outside an admin's scope
    matches = Detainee.objects.elsewhere_for(actor).likely_same_as(detainee)
    known = PossibleDuplicate.objects.filter(
        Q(person=detainee, match=OuterRef("pk")) | Q(person=OuterRef("pk"), match=detainee)
    )
    raised = 0
    for match in matches.filter(~Exists(known)).order_by("pk")[:limit]:
        flag = PossibleDuplicate(person=detainee, match=match, raised_by=actor)
        flag.full_clean()
        flag.save()
        raised += 1
    detainee.matches_elsewhere = raised
    return raised


# --- Duplicates: review, merge, undo ------------------------------------------


def _save_versions(*people: Detainee) -> None:
    """Save records a merge (or its undo) changed, each a version on, rules checked."""
    for person in people:
        person.version += 1
        person.full_clean()
        person.save()

# Filled on the kept record from the merged one when the kept record has none.
MERGE_FILLS = [
    "name_khmer",
    "birth_year",
    "birth_date",
    "home_province",
    "affiliation",
    "former_role",
    "occupation",
    "place_held",
    "family_contact",
    "whereabouts",
    "notes",
]


def _blank(detainee: Detainee, name: str) -> bool:
    field = Detainee._meta.get_field(name)
    return getattr(detainee, field.attname) in (None, "")


def _admin_only(actor):
    if not access.is_admin(actor):
        raise PermissionDenied


def merge_problem(kept: Detainee, merged: Detainee) -> str | None:
    """Why these two records cannot be merged, in the words the page shows; None when
    they can. The self-merge rule is the model's (``MERGE_INTO_ITSELF``)."""
    if kept.pk == merged.pk:
        return str(MERGE_INTO_ITSELF)
    if kept.merged_into_id or merged.merged_into_id:
        return _("One of these records was already merged into another.")
    # Both accused in one case: the two are folded into one (``_accused_fold``), unless
    # the kept record was taken off that case, or each has a clock running in it (which
    # custody is the true one is for a person to say, by ending the other first).
    kept_rows = {
        row.case_id: row for row in Accused.all_objects.filter(detainee=kept).select_related("case")
    }
    for row in Accused.objects.filter(detainee=merged).order_by("pk"):
        survivor = kept_rows.get(row.case_id)
        if survivor is None:
            continue
        if survivor.removed_on is not None:
            return _(
                "The kept record was removed from case %(ref)s: add it back to that case "
                "first, then merge."
            ) % {"ref": survivor.case.reference}
        if survivor.open_period() is not None and row.open_period() is not None:
            return _(
                "Both records have a custody clock running in case %(ref)s: end the wrong "
                "one first, then merge."
            ) % {"ref": survivor.case.reference}
    return None


# What hangs on an accused and moves with them when two records of one person accused in
# the same case are folded into one: related name -> model.
FOLDED = {
    "events": Event,
    "bail_requests": BailRequest,
    "charge_steps": AccusedCharge,
    "custody_periods": CustodyPeriod,
    "representations": Representation,
}


def _accused_fold(survivor: Accused, row: Accused, kept: Detainee) -> dict:
    """Two records of one person accused in one case become one: the kept record's
    ``survivor`` keeps its row and takes ``row``'s events, hearings, bail requests,
    charges, custody clocks and lawyers; ``row`` is taken off the case ("merged").
    Returns what moved, for the undo."""
    moved: dict = {"from": row.pk, "into": survivor.pk, "status": survivor.custody_status}
    if survivor.open_period() is None and row.open_period() is not None:
        # The clock moves to the survivor: so does the custody it measures.
        survivor.custody_status = row.custody_status
        survivor.save(update_fields=["custody_status"])
    for name, model in FOLDED.items():
        items = list(model._default_manager.filter(accused=row).order_by("pk"))
        for item in items:
            item.accused = survivor
            item.save()
        moved[name] = [item.pk for item in items]
    moved["hearings"], moved["hearings_added"] = [], []
    for hearing in row.hearings.all().order_by("pk"):
        hearing.accused.remove(row)
        moved["hearings"].append(hearing.pk)
        if not hearing.accused.filter(pk=survivor.pk).exists():
            hearing.accused.add(survivor)
            moved["hearings_added"].append(hearing.pk)
    # Custody held earlier now counts from the survivor's history too (held_before).
    for period in survivor.custody_periods.all():
        period.save()
    row.removed_on = timezone.localdate()
    row.removed_reason = _("Merged: the same person as %(name)s (#%(pk)s).") % {
        "name": kept.name_latin,
        "pk": kept.pk,
    }
    row.save(update_fields=["removed_on", "removed_reason"])
    moved["status_after"] = survivor.custody_status
    _sync_case_charges(survivor.case)
    return moved


def _accused_unfold(moved: dict) -> Case | None:
    """Put back what ``_accused_fold`` moved (what was recorded since stays)."""
    row = Accused.all_objects.filter(pk=moved["from"]).first()
    survivor = Accused.all_objects.filter(pk=moved["into"]).first()
    if row is None or survivor is None:
        return None
    row.removed_on, row.removed_reason = None, ""
    row.save(update_fields=["removed_on", "removed_reason"])
    for name, model in FOLDED.items():
        for item in model._default_manager.filter(accused=survivor, pk__in=moved[name]):
            item.accused = row
            item.save()
    for hearing in Hearing.objects.filter(pk__in=moved["hearings"]):
        hearing.accused.add(row)
        if hearing.pk in moved["hearings_added"]:
            hearing.accused.remove(survivor)
    if survivor.custody_status == moved["status_after"]:
        survivor.custody_status = moved["status"]
        survivor.save(update_fields=["custody_status"])
    for period in CustodyPeriod.objects.filter(accused__in=[row, survivor]):
        period.save()
    _sync_case_charges(survivor.case)
    return survivor.case


@transaction.atomic
def detainee_merge(*, actor, kept: Detainee, merged: Detainee, request=None):
    """Make two records of one person one: every case (and with it every event, custody
    period, bail request and lawyer) of ``merged`` moves to ``kept``, its names become
    ``kept``'s aliases, and what ``kept`` lacks is filled from it. ``merged`` stays,
    marked, out of every list. The audit entry returned holds what moved, so
    ``detainee_merge_undo`` can put it back."""
    _admin_only(actor)
    with acting_as(actor):
        # Both rows locked in one order, so two merges of the same pair cannot deadlock.
        rows = Detainee.objects.select_for_update().filter(pk__in=[kept.pk, merged.pk])
        locked = {row.pk: row for row in rows.order_by("pk")}
        kept, merged = locked[kept.pk], locked[merged.pk]
        problem = merge_problem(kept, merged)
        if problem:
            raise ValidationError(problem)
        kept_rows = {row.case_id: row for row in kept.accusations.all()}
        accused, folded = [], []
        for row in merged.accusations.select_related("case").order_by("pk"):
            if row.case_id in kept_rows:  # both accused in this case: one person
                folded.append(_accused_fold(kept_rows[row.case_id], row, kept))
                continue
            row.detainee = kept
            row.save(update_fields=["detainee"])
            accused.append(row)
        names = [merged.name_latin, merged.name_khmer, *merged.alias_list]
        known = {fold(n) for n in (kept.name_latin, kept.name_khmer, *kept.alias_list) if n}
        added = []
        for name in names:
            if name and fold(name) not in known:
                added.append(name)
                known.add(fold(name))
        kept.aliases = "\n".join([*kept.alias_list, *added])
        filled = []
        for name in MERGE_FILLS:
            if _blank(kept, name) and not _blank(merged, name):
                attname = Detainee._meta.get_field(name).attname
                setattr(kept, attname, getattr(merged, attname))
                filled.append(name)
        if kept.sex == Sex.UNKNOWN and merged.sex != Sex.UNKNOWN:
            kept.sex = merged.sex
            filled.append("sex")
        merged.merged_into = kept
        _save_versions(kept, merged)
        flags = []
        for flag in PossibleDuplicate.objects.filter(
            Q(person=kept, match=merged) | Q(person=merged, match=kept),
            status=PossibleDuplicate.Status.OPEN,
        ):
            _resolve(flag, actor, PossibleDuplicate.Status.MERGED)
            flags.append(flag.pk)
        for case in {row.case for row in accused} | {
            kept_rows[Accused.all_objects.get(pk=f["from"]).case_id].case for f in folded
        }:
            _touch(case)
        return record(
            AuditEvent.MERGE,
            actor=actor,
            obj=kept,
            request=request,
            object_repr=f"#{merged.pk} → #{kept.pk} {kept.name_latin}",
            data={
                "merge": {
                    "kept": kept.pk,
                    "merged": merged.pk,
                    "accused": [row.pk for row in accused],
                    "aliases_added": added,
                    "filled": filled,
                    "flags": flags,
                    "folded": folded,
                }
            },
        )


def merge_of(entry) -> dict | None:
    """What a merge entry of the audit log moved (None for any other entry)."""
    if entry.event != AuditEvent.MERGE or not isinstance(entry.additional_data, dict):
        return None
    return entry.additional_data.get("merge")


def merge_undo_problem(entry) -> str | None:
    """Why this merge cannot be undone now, or None."""
    data = merge_of(entry)
    if data is None:
        return _("This audit entry is not a merge.")
    people = Detainee.objects.in_bulk([data["kept"], data["merged"]])
    kept, merged = people.get(data["kept"]), people.get(data["merged"])
    if kept is None or merged is None:
        return _("One of the two records is no longer on file: this merge cannot be undone.")
    if merged.merged_into_id != kept.pk:
        return _("This merge was already undone.")
    if kept.merged_into_id is not None:
        return _("The kept record was merged into another since: undo that later merge first.")
    return None


@transaction.atomic
def detainee_merge_undo(*, actor, entry, request=None):
    """Undo a merge from its audit entry: the cases it moved go back to the merged record,
    the aliases it added and the fields it filled are taken off the kept record (those
    changed since are left as they are), and the merged record is on file again."""
    _admin_only(actor)
    with acting_as(actor):
        data = merge_of(entry)
        if data is not None:
            # Lock both records first: two admins undoing at once, the second finds it done.
            list(
                Detainee.objects.select_for_update()
                .filter(pk__in=[data["kept"], data["merged"]])
                .values_list("pk", flat=True)
            )
        problem = merge_undo_problem(entry)
        if problem:
            raise ValidationError(problem)
        kept = Detainee.objects.get(pk=data["kept"])
        merged = Detainee.objects.get(pk=data["merged"])
        moved = list(
            Accused.objects.filter(pk__in=data["accused"], detainee=kept).select_related("case")
        )
        for row in moved:
            row.detainee = merged
            row.save(update_fields=["detainee"])
        unfolded = [_accused_unfold(folded) for folded in data.get("folded", [])]
        added = {fold(name) for name in data["aliases_added"]}
        kept.aliases = "\n".join(a for a in kept.alias_list if fold(a) not in added)
        for name in data["filled"]:
            field = Detainee._meta.get_field(name)
            if getattr(kept, field.attname) == getattr(merged, field.attname):
                empty = Sex.UNKNOWN if name == "sex" else (None if field.null else "")
                setattr(kept, field.attname, empty)
        merged.merged_into = None
        _save_versions(kept, merged)
        for flag in PossibleDuplicate.objects.filter(pk__in=data["flags"]):
            _resolve(flag, None, PossibleDuplicate.Status.OPEN)
        for case in {row.case for row in moved} | {case for case in unfolded if case}:
            _touch(case)
        return record(
            AuditEvent.MERGE_UNDONE,
            actor=actor,
            obj=merged,
            request=request,
            object_repr=f"#{merged.pk} ← #{kept.pk} {merged.name_latin}",
            data={"undoes": entry.pk, "accused": [row.pk for row in moved]},
        )


def _resolve(flag: PossibleDuplicate, actor, status: str):
    flag.status = status
    flag.resolved_by = actor
    flag.resolved_at = None if status == PossibleDuplicate.Status.OPEN else timezone.now()
    flag.save()


@transaction.atomic
def duplicate_dismiss(*, actor, flag: PossibleDuplicate) -> PossibleDuplicate:
    """An admin decided the pair are two people: off the queue (the entry says who)."""
    _admin_only(actor)
    with acting_as(actor):
        flag = _locked(flag)
        _resolve(flag, actor, PossibleDuplicate.Status.DISMISSED)
    return flag


@transaction.atomic
def accused_add(
    *,
    actor,
    case: Case,
    detainee: Detainee,
    custody_status: str = CustodyStatus.AT_LIBERTY,
    charges=None,
    on: dt.date | None = None,
) -> Accused:
    """Add a person to a case: opening it, later (co-accused arrested over weeks), or by
    an import. They are charged with ``charges``, by default the case's charges now.
    Someone removed from the case before is put back, with their history."""
    with acting_as(actor):
        accused = Accused.all_objects.filter(case=case, detainee=detainee).first()
        if accused is not None and accused.removed_on is None:
            raise ValidationError(_("This person is already accused in this case."))
        if accused is None:
            accused = Accused(case=case, detainee=detainee, custody_status=custody_status)
        accused.removed_on, accused.removed_reason = None, ""
        accused.custody_status = custody_status
        accused.full_clean(validate_unique=accused.pk is None)
        accused.save()
        charges = list(case.charges.all()) if charges is None else list(charges)
        for charge in charges:
            AccusedCharge.objects.create(
                accused=accused,
                charge=charge,
                step="charged",
                on=on or timezone.localdate(),
                source=_("Charged with the case's charges when added to it."),
            )
        _sync_case_charges(case)
        _touch(case)
    return accused


@transaction.atomic
def accused_remove(*, actor, accused: Accused, reason: str, on: dt.date | None = None):
    """Take a person off a case (added by mistake, case split), with the reason. Their
    events, hearings, bail requests and charges stay on file; their clock under this
    case stops; the case keeps at least one accused."""
    with acting_as(actor):
        case = accused.case
        if not reason.strip():
            raise ValidationError({"reason": _("Say why this person is removed from the case.")})
        if case.accused.exclude(pk=accused.pk).count() == 0:
            raise ValidationError(
                _(
                    "This is the only person accused in this case: add the right person "
                    "before removing this one, or close the case."
                )
            )
        on = on or timezone.localdate()
        _locked(accused)
        accused.removed_on, accused.removed_reason = on, reason.strip()
        accused.save(update_fields=["removed_on", "removed_reason"])
        for period in accused.custody_periods.filter(ended_at__isnull=True):
            period.ended_at = max(timezone.now(), period.started_at)
            period.save()
        Event.objects.create(
            case=case,
            accused=accused,
            kind=Event.Kind.OTHER,
            occurred_on=on,
            description=_("Removed from this case: %(reason)s") % {"reason": reason.strip()},
            source=Event.Source.MONITOR,
            verified=True,
            recorded_by=actor,
        )
        _sync_case_charges(case)
        _touch(case)
    return accused


@transaction.atomic
def accused_update(*, actor, accused: Accused, base: dict | None = None) -> Accused:
    """A custody status set by hand (the admin) has the effect of the matching event:
    the clock starts or stops as it would from the case page. With ``base`` the edit is
    merged first: a status the editor did not change stays as stored (a custody event
    recorded meanwhile)."""
    with acting_as(actor):
        current = _locked(accused)
        if base is not None:
            _merge(accused, current, base=base, fields=_editable(Accused))
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
def hearing_record(
    *, actor, hearing: Hearing, accused=None, case_status: str | None = None
) -> Hearing:
    """Log a hearing, about some of the case's accused (``accused``) or all of them."""
    with acting_as(actor):
        hearing.full_clean()
        hearing.save()
        if accused:
            hearing.accused.set(accused)
        day = timezone.localdate(hearing.scheduled_at)
        _follow_status(actor, hearing.case, case_status, min(day, timezone.localdate()), "")
        _touch(hearing.case)
    return hearing


@transaction.atomic
def hearing_update(
    *,
    actor,
    hearing: Hearing,
    base: dict | None = None,
    accused=None,
    case_status: str | None = None,
) -> Hearing:
    with acting_as(actor):
        m2m = {"accused": list(accused)} if accused is not None else None
        _merge_save(hearing, base=base, fields=HEARING_FIELDS, m2m=m2m)
        day = timezone.localdate(hearing.scheduled_at)
        _follow_status(actor, hearing.case, case_status, min(day, timezone.localdate()), "")
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

# The case status each kind of entry suggests (offered pre-selected; the user may keep
# the case's status). tests/test_case_changes.py pins it.
STATUS_SUGGESTED_BY_EVENT = {
    Event.Kind.SUMMONED: CaseStatus.SUMMONED,
    Event.Kind.QUESTIONED: CaseStatus.UNDER_INVESTIGATION,
    Event.Kind.ARRESTED: CaseStatus.UNDER_INVESTIGATION,
    Event.Kind.CHARGED: CaseStatus.CHARGED,
    Event.Kind.PRETRIAL_DETENTION: CaseStatus.CHARGED,
    Event.Kind.CONVICTED: CaseStatus.CONVICTED,
    Event.Kind.ACQUITTED: CaseStatus.ACQUITTED,
}
STATUS_SUGGESTED_BY_HEARING = {
    Hearing.Kind.QUESTIONING: CaseStatus.UNDER_INVESTIGATION,
    Hearing.Kind.TRIAL: CaseStatus.ON_TRIAL,
    Hearing.Kind.APPEAL: CaseStatus.ON_APPEAL,
}


def _follow_status(actor, case: Case, status: str | None, day: dt.date, note: str):
    """The case status the user chose with an entry (pre-selected from the tables above)."""
    if status and status != Case.objects.values_list("status", flat=True).get(pk=case.pk):
        case.refresh_from_db(fields=["status", "version"])
        case_change_status(actor=actor, case=case, status=status, occurred_on=day, note=note)


# The clock each event starts (Code of Criminal Procedure, 2007).
CLOCK_STARTED_BY = {
    Event.Kind.ARRESTED: POLICE_CUSTODY,  # Art. 96
}

# The pre-trial detention limit each class of offence calls for.
PRETRIAL_LIMIT_FOR = {
    Charge.Classification.FELONY: "pretrial-felony",  # Art. 208: 6 months, 18 at most
    Charge.Classification.MISDEMEANOUR: "pretrial-misdemeanour",  # Art. 209: 4 + 2 months
}


def current_charges(accused: Accused) -> list[Charge]:
    """The charges ``accused`` faces now (their standing charge steps): the one place
    the clock reads them from."""
    steps = list(accused.charge_steps.all())  # prefetched by pages that list several people
    standing = set(standing_charge_ids(steps))
    return list({s.charge_id: s.charge for s in steps if s.charge_id in standing}.values())


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
    *,
    actor,
    event: Event,
    limit: DetentionLimit | None = None,
    place_held: str = "",
    case_status: str | None = None,
) -> Event:
    """Record a dated fact; custody events also move the person's status and clock, and
    the case status moves when the user chose a new one with it."""
    with acting_as(actor):
        _follow_status(
            actor, event.case, case_status, event.occurred_on, event.get_kind_display()
        )
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
        if not open_period.can_extend():
            raise ValidationError(past_ceiling(open_period.limit))
        if open_period.limit.code == POLICE_CUSTODY and not felony_stands(accused):
            raise ValidationError(POLICE_EXTENSION_FELONY_ONLY)  # Art. 96
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
def event_update(*, actor, event: Event, base: dict | None = None) -> Event:
    """Correct an event's text, date or source. Its effect on custody was applied when it
    was recorded; a wrong custody event is undone by recording the right one. With
    ``base``, merged three ways (``_merge_save``)."""
    with acting_as(actor):
        _merge_save(event, base=base, fields=_editable(Event))
        _touch(event.case)
    return event


@transaction.atomic
def custody_period_update(
    *, actor, period: CustodyPeriod, base: dict | None = None
) -> CustodyPeriod:
    """An admin's correction of a clock (its start, order, limit): the runs-out moment is
    derived again on save. With ``base``, merged three ways: an extension recorded
    meanwhile is kept."""
    with acting_as(actor):
        stored = _locked(period) if period.pk else None
        if stored is not None:
            _merge_save(period, base=base, fields=_editable(CustodyPeriod), exclude=["case"])
        else:
            period.full_clean(exclude=["case"])
            period.save()
        since = period.custody_since
        if stored is not None and stored.custody_since:
            since = min(since, stored.custody_since)
        _rederive_later_clocks(period.accused_id, since)
        _touch(period.accused.case)
    return period


def _rederive_later_clocks(accused_id: int, since: dt.datetime) -> None:
    """Custody in a case that began after ``since`` counts the days held before it
    (``CustodyPeriod.held_earlier``): a corrected or deleted earlier clock moves it."""
    for later in CustodyPeriod.objects.filter(accused_id=accused_id, custody_since__gt=since):
        later.save()


# --- Lawyers --------------------------------------------------------------


@transaction.atomic
def lawyer_save(*, actor, lawyer: Lawyer, base: dict | None = None) -> Lawyer:
    """A new lawyer, or an edit merged three ways with ``base``."""
    with acting_as(actor):
        if lawyer.pk:
            _merge_save(lawyer, base=base, fields=_editable(Lawyer))
        else:
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
def representation_update(
    *, actor, representation: Representation, base: dict | None = None
) -> Representation:
    """An admin's correction, merged three ways with ``base``: an end recorded on the
    page meanwhile (``representation_end``) is kept."""
    with acting_as(actor):
        _merge_save(representation, base=base, fields=_editable(Representation))
        _touch(representation.accused.case)
    return representation


@transaction.atomic
def representation_end(
    *,
    actor,
    representation: Representation,
    until: dt.date,
    reason: str,
    note: str = "",
    base: dict | None = None,
) -> Representation:
    """A lawyer stops representing someone (withdrew, replaced, dismissed, case closed):
    from ``until`` on they no longer count as the person's lawyer. Nothing is deleted:
    the lawyer's page keeps it among their past cases. With ``base`` (the end form's),
    merged three ways like any edit."""
    with acting_as(actor):
        representation.until = until
        representation.end_reason = reason
        representation.end_note = note
        _merge_save(representation, base=base, fields=_editable(Representation))
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
        if isinstance(instance, CustodyPeriod):
            _rederive_later_clocks(instance.accused_id, instance.custody_since)
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
        return accused_update(actor=actor, accused=instance, base=base)
    if isinstance(instance, Hearing):
        people = (m2m or {}).get("accused")
        if creating:
            return hearing_record(actor=actor, hearing=instance, accused=people)
        return hearing_update(actor=actor, hearing=instance, base=base, accused=people)
    if isinstance(instance, BailRequest):
        if creating:
            return bail_file(actor=actor, bail=instance)
        return bail_update(actor=actor, bail=instance, base=base)
    if isinstance(instance, Event):
        if creating:
            return event_record(actor=actor, event=instance)
        return event_update(actor=actor, event=instance, base=base)
    if isinstance(instance, CustodyPeriod):
        return custody_period_update(actor=actor, period=instance, base=base)
    if isinstance(instance, Lawyer):
        return lawyer_save(actor=actor, lawyer=instance, base=base)
    if isinstance(instance, Representation):
        if creating:
            return lawyer_assign(actor=actor, representation=instance)
        return representation_update(actor=actor, representation=instance, base=base)
    if isinstance(instance, Province | Court | Charge | DetentionLimit):
        return reference_save(actor=actor, instance=instance, base=base)
    raise TypeError(f"No service saves {type(instance).__name__}.")


@transaction.atomic
def reference_save(*, actor, instance, base: dict | None = None):
    """Reference data (provinces, courts, charges, legal limits). A changed legal limit
    gives every open custody period under it a new runs-out moment. An edit with
    ``base`` is merged three ways."""
    with acting_as(actor):
        if instance.pk:
            _merge_save(instance, base=base, fields=_editable(type(instance)))
        else:
            instance.full_clean()
            instance.save()
        if isinstance(instance, DetentionLimit):
            for period in instance.custodyperiod_set.filter(ended_at__isnull=True):
                period.save()
    return instance


def _touch(case: Case):
    """A case counts as updated whenever anything in it is recorded."""
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
