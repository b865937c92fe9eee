"""Charges get their class of offence; custody clocks count in hours and run on.

- Each shipped charge gets its class (casework/reference CHARGE_CLASSES), so a
  detention order's limit follows the charges (Art. 208 / 209). Charges an admin
  added stay unclassified: an order on them asks which limit applies.
- Events had a date only and the clock started at 09:00 whatever happened. A
  period starting (or ending) at exactly 09:00 local time was such a date: it now
  starts at the start of that day, marked "time not known" (the safe side).
- Custody is one clock from the arrest: a period that began the moment the one
  before it ended (a detention order after police custody) continues its
  ``custody_since``; every open clock's runs-out moment is derived again.

Prints what it changed, as 0009 does.
"""

import datetime as dt

from django.db import migrations
from django.utils import timezone

from casework import clocks
from casework.reference import CHARGE_CLASSES

NINE = dt.time(9, 0)


def _date_only(moment):
    local = timezone.localtime(moment)
    if local.time() == NINE:
        return local.replace(hour=0, minute=0), True
    return moment, False


def forward(apps, schema_editor):
    Charge = apps.get_model("casework", "Charge")
    CustodyPeriod = apps.get_model("casework", "CustodyPeriod")
    classified = 0
    for name_en, classification in CHARGE_CLASSES.items():
        classified += Charge.objects.filter(name_en=name_en, classification="").update(
            classification=classification
        )
    moved = continued = 0
    previous = None
    periods = CustodyPeriod.objects.select_related("limit").order_by(
        "accused_id", "started_at", "pk"
    )
    for period in periods.iterator():
        period.started_at, date_only = _date_only(period.started_at)
        if period.ended_at is not None:
            period.ended_at, _ = _date_only(period.ended_at)
        moved += date_only
        period.time_known = not date_only
        period.custody_since = period.started_at
        if (
            previous is not None
            and previous.accused_id == period.accused_id
            and previous.ended_at == period.started_at
        ):
            period.custody_since = previous.custody_since
            period.time_known = previous.time_known
            continued += 1
        period.runs_out_at = clocks.runs_out(period.limit, period.custody_since, period.extensions)
        period.save(
            update_fields=["started_at", "ended_at", "custody_since", "time_known", "runs_out_at"]
        )
        previous = period
    if classified or moved or continued:
        print(
            f"\n  0011: {classified} charges classified; {moved} custody periods dated without "
            f"a time now count from the start of their day; {continued} continue the custody "
            "before them."
        )


class Migration(migrations.Migration):
    dependencies = [("casework", "0010_hours_death_and_charge_class")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
