"""Writing a plan: all of it in one transaction, or nothing."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import acting_as
from casework import services
from casework.models import Case, Detainee

from .planning import ImportPlan, plan_import


class PlanChanged(Exception):
    """The records changed between the preview and the commit: nothing was written."""

    def __init__(self, plan: "ImportPlan"):
        super().__init__("plan changed")
        self.plan = plan


def apply_plan(rows: list[dict], user, *, expected_digest: str, on_commit=None) -> ImportPlan:
    """Plan again and write it, in one transaction; nothing is written unless every row is
    correct and the plan is the one the preview showed. ``on_commit(plan)`` runs inside
    the transaction after the writes (the audit entry: both stand or neither)."""
    with transaction.atomic(), acting_as(user):
        plan = plan_import(rows, user)
        if not plan.ok or plan.digest() != expected_digest:
            raise PlanChanged(plan)
        _write(plan, user)
        if on_commit is not None:
            on_commit(plan)
    return plan


def _write(plan: ImportPlan, user):
    """Every row through the services the pages use: the same rules, effects and entries."""
    today = timezone.localdate()
    for case_plan in plan.cases.values():
        values = {key: value for key, (value, _shown, _row) in case_plan.values.items()}
        if case_plan.instance is None:
            case_plan.instance = services.case_create(
                actor=user,
                case=Case(reference=case_plan.reference, **values),
                charges=case_plan.new_charges,
            )
            continue
        case = case_plan.instance
        if case_plan.changes:
            status = values.pop("status", case.status)
            if values:
                for key, value in values.items():
                    setattr(case, key, value)
                services.case_update(actor=user, case=case)
            if status != case.status:
                # The same door as the status form: a dated event says what changed.
                services.case_change_status(
                    actor=user,
                    case=case,
                    status=status,
                    occurred_on=today,
                    note=_("Changed by a spreadsheet import."),
                )
        if case_plan.new_charges:
            charges = [*case.charges.all(), *case_plan.new_charges]
            services.case_update(actor=user, case=case, charges=charges)
    for person_plan in plan.people.values():
        values = {key: value for key, (value, _shown, _row) in person_plan.values.items()}
        person = person_plan.instance
        if person is None:
            person_plan.instance = services.detainee_create(
                actor=user,
                detainee=Detainee(
                    name_latin=person_plan.name_latin,
                    aliases="\n".join(person_plan.new_aliases),
                    **values,
                ),
            )
        elif person_plan.changes or person_plan.new_aliases:
            for key, value in values.items():
                setattr(person, key, value)
            if person_plan.new_aliases:
                person.aliases = "\n".join([*person.alias_list, *person_plan.new_aliases])
            services.detainee_update(actor=user, detainee=person)
    for accused in plan.accused:
        if accused.existing is None:
            services.accused_add(
                actor=user,
                case=accused.case.instance,
                detainee=accused.person.instance,
                custody_status=accused.custody_status,
            )
