"""One person's file for their lawyer: identity, cases, charges, custody, hearings, bail.

Only what the user may see (cases in their scope). Never the family contact,
the whereabouts or the person's notes, whoever asks: a PDF leaves the system
and travels by email and on paper, and a lawyer's file does not need where
someone in hiding is staying. Those stay on the person's page, behind
``can_see_sensitive``. The anonymised variant also drops names (the person's
and the co-accused's, replaced by pseudonyms), the date of birth, aliases,
former role and every free-text field (outcomes, reasons, event details).

A constant number of queries, whatever the number of cases.
"""

from django.db.models import Prefetch
from django.utils import timezone

from casework.models import Accused, BailRequest, Case, CustodyPeriod, Event, Hearing

from .pseudonyms import pseudonym


def dossier_context(user, detainee, *, anonymised: bool) -> dict:
    visible = Case.objects.visible_to(user).values("pk")
    co_accused = Accused.objects.select_related("detainee").order_by("pk")
    accusations = list(
        detainee.accusations.filter(case__in=visible)
        .select_related("case__province", "case__court", "case__caseworker")
        .prefetch_related(
            "case__charges",
            Prefetch("case__accused", queryset=co_accused, to_attr="all_accused"),
            Prefetch(
                "custody_periods",
                queryset=CustodyPeriod.objects.select_related("limit").order_by("started_at"),
                to_attr="periods",
            ),
            "representations__lawyer",
        )
        .order_by("case__opened_on", "case__pk")
    )
    for accusation in accusations:
        accusation.others = [
            pseudonym("detainee", a.detainee_id) if anonymised else str(a.detainee)
            for a in accusation.case.all_accused
            if a.detainee_id != detainee.pk
        ]
        accusation.case_label = (
            pseudonym("case", accusation.case_id) if anonymised else accusation.case.reference
        )
    case_labels = {a.case_id: a.case_label for a in accusations}
    hearings = (
        Hearing.objects.filter(case__in=visible, case__accused__detainee=detainee)
        .select_related("court", "lawyer")
        .order_by("scheduled_at", "pk")
    )
    bail = (
        BailRequest.objects.filter(case__in=visible, accused__detainee=detainee)
        .select_related("court", "filed_by")
        .order_by("filed_on", "pk")
    )
    events = (
        Event.objects.filter(case__in=visible, accused__detainee=detainee)
        .exclude(kind=Event.Kind.STATUS_CHANGED)
        .order_by("occurred_on", "pk")
    )
    return {
        "detainee": detainee,
        "anonymised": anonymised,
        "label": pseudonym("detainee", detainee.pk) if anonymised else str(detainee),
        "accusations": accusations,
        "hearings": [(case_labels.get(h.case_id, ""), h) for h in hearings],
        "bail_requests": [(case_labels.get(b.case_id, ""), b) for b in bail],
        "events": [(case_labels.get(e.case_id, ""), e) for e in events],
        "generated_at": timezone.now(),
        "generated_by": user,
    }
