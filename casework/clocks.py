"""The legal clocks' arithmetic (Code of Criminal Procedure, 2007), in one place.

Plain functions over anything shaped like a ``DetentionLimit`` (``unit``, ``initial``,
``extension``, ``max_extensions``, ``maximum``), so the models and the data migrations
that recompute stored clocks count the same way.

Custody is one clock from the arrest (docs/architecture.md): a detention order or an
extension continues it, and the limit's maximum in all (Art. 208: 18 months for a
felony; Art. 209: 6 for a misdemeanour) is counted from that same start, less the days
held earlier in the same case (a release, then a new arrest): the maximum bounds the
case's pre-trial detention in all. Police custody (Art. 96) is per arrest.
"""

import calendar
import datetime as dt
import math

from django.utils import timezone

HOURS, DAYS, MONTHS = "hours", "days", "months"


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Calendar months, clamped to the month's last day (31 Aug + 6 months = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add(unit: str, start: dt.datetime, amount: int) -> dt.datetime:
    # Count in Cambodian time: the same moment read back in UTC must not move a
    # deadline by a day at a month's end.
    start = timezone.localtime(start)
    if unit == HOURS:
        return start + dt.timedelta(hours=amount)
    if unit == DAYS:
        return start + dt.timedelta(days=amount)
    return add_months(start, amount)


def extensions_allowed(limit, extensions: int) -> bool:
    """Whether ``extensions`` extension periods stay within what the law allows."""
    if limit.max_extensions is not None and extensions > limit.max_extensions:
        return False
    return extensions == 0 or limit.initial + extensions * limit.extension <= limit.maximum


def allowed(limit, extensions: int) -> int:
    """The length of custody the limit allows with ``extensions`` ordered, in its unit:
    never more than the maximum in all."""
    if limit.max_extensions is not None:
        extensions = min(extensions, limit.max_extensions)
    return min(limit.initial + extensions * limit.extension, limit.maximum)


def runs_out(limit, since: dt.datetime, extensions: int = 0, held_before: int = 0) -> dt.datetime:
    """When custody that began at ``since`` must end, given the extensions ordered: the
    order's term from the arrest, never past the ceiling (which ``held_before`` days of
    earlier custody in the case bring closer)."""
    end = add(limit.unit, since, allowed(limit, extensions))
    if held_before:
        end = min(end, ceiling(limit, since, held_before))
    return end


def ceiling(limit, since: dt.datetime, held_before: int = 0) -> dt.datetime:
    """The absolute ceiling: no extension can carry custody past it. The maximum bounds
    the case's pre-trial detention in all (Art. 208/209): ``held_before`` days already
    held in the case, before a release and a new arrest, are taken off it."""
    return add(limit.unit, since, limit.maximum) - dt.timedelta(days=held_before)


def can_extend(limit, since: dt.datetime, extensions: int, held_before: int = 0) -> bool:
    """Whether one more extension is allowed: within the extensions the law allows, and
    still short of the ceiling (earlier custody in the case may have brought it closer)."""
    return extensions_allowed(limit, extensions + 1) and runs_out(
        limit, since, extensions, held_before
    ) < ceiling(limit, since, held_before)


def days_spanned(stretches) -> int:
    """Whole days covered by ``(start, end)`` stretches, a part of a day counting as a
    day (the safe side for the person held: the ceiling comes earlier, never later)."""
    seconds = sum(max((end - start).total_seconds(), 0) for start, end in stretches)
    return math.ceil(seconds / 86400)


def start_of(day: dt.date, time: dt.time | None = None) -> dt.datetime:
    """The moment an event dated ``day`` happened, in local time. Without its time of
    day, the start of that day: the safe side for the person held (the clock runs out
    earlier, never later)."""
    return timezone.make_aware(dt.datetime.combine(day, time or dt.time.min))
