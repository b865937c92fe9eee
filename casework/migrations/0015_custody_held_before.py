"""Custody held earlier in the same case counts toward the ceiling (Art. 208/209).

A person released and arrested again in the same case has the days held before
(each earlier custody that reached a detention order, from its arrest to its release)
taken off the maximum in all: ``held_before`` is stored on each period, and the
runs-out moment of every period of such a person is derived again. Only people with
more than one custody in a case are read.

Prints what it changed, as 0011 does.
"""

from django.db import migrations, models
from django.db.models import Count

from casework import clocks

POLICE_CUSTODY = "police-custody"  # Art. 96: per arrest, never cumulative


def forward(apps, schema_editor):
    CustodyPeriod = apps.get_model("casework", "CustodyPeriod")
    people = (
        CustodyPeriod.objects.values("accused_id")
        .annotate(arrests=Count("custody_since", distinct=True))
        .filter(arrests__gt=1)
        .values_list("accused_id", flat=True)
    )
    changed = 0
    for accused_id in people.iterator():
        periods = list(
            CustodyPeriod.objects.filter(accused_id=accused_id)
            .select_related("limit")
            .order_by("custody_since", "started_at", "pk")
        )
        # Each earlier custody: its arrest, its release, and whether an order held it.
        stretches: dict = {}
        for period in periods:
            start = period.custody_since
            end, ordered = stretches.get(start, (None, False))
            if period.ended_at is not None:
                end = period.ended_at if end is None else max(end, period.ended_at)
            if period.ended_at is not None and period.limit.code != POLICE_CUSTODY:
                ordered = True
            stretches[start] = (end, ordered)
        for period in periods:
            held = 0
            if period.limit.code != POLICE_CUSTODY:
                held = clocks.days_spanned(
                    (start, min(end, period.custody_since))
                    for start, (end, ordered) in stretches.items()
                    if start < period.custody_since and end is not None and ordered
                )
            runs_out_at = clocks.runs_out(
                period.limit, period.custody_since, period.extensions, held
            )
            if held != period.held_before or runs_out_at != period.runs_out_at:
                period.held_before, period.runs_out_at = held, runs_out_at
                period.save(update_fields=["held_before", "runs_out_at"])
                changed += 1
    if changed:
        print(f"\n  0015: {changed} custody periods count the days held earlier in their case.")


class Migration(migrations.Migration):
    dependencies = [("casework", "0014_merge_20261205_0243")]

    operations = [
        migrations.AddField(
            model_name="custodyperiod",
            name="held_before",
            field=models.PositiveIntegerField(
                default=0, editable=False, verbose_name="days held earlier in this case"
            ),
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
