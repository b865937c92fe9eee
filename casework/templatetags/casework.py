import datetime as dt
from html import escape

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_url(context, key: str) -> str:
    """The current URL with ``sort`` set to ``key`` (or ``-key`` when already sorted by it)."""
    params = context["request"].GET.copy()
    params.pop("page", None)
    current = params.get("sort", "")
    params["sort"] = f"-{key}" if current == key else key
    return "?" + params.urlencode()


@register.simple_tag(takes_context=True)
def page_url(context, number) -> str:
    params = context["request"].GET.copy()
    params["page"] = number
    return "?" + params.urlencode()


def clock_left(period) -> str:
    """How far the clock is from its limit, as the clock row and badge say it."""
    return left_text(period.runs_out_at)


def left_text(runs_out_at) -> str:
    """Hours under 72 hours (police custody runs in hours, Art. 96), else days; days past
    once past (hours in the first three days past). Days are calendar days, as
    ``CustodyPeriod.days_left`` counts them."""
    now = timezone.now()
    if runs_out_at < now:
        over = now - runs_out_at
        if over < dt.timedelta(hours=72):
            hours = int(over.total_seconds() // 3600)
            return ngettext(
                "Past the legal limit by %(n)s hour", "Past the legal limit by %(n)s hours", hours
            ) % {"n": hours}
        days = over.days
        return ngettext(
            "Past the legal limit by %(n)s day", "Past the legal limit by %(n)s days", days
        ) % {"n": days}
    if runs_out_at - now < dt.timedelta(hours=72):
        hours = int((runs_out_at - now).total_seconds() // 3600)
        return ngettext("%(n)s hour left", "%(n)s hours left", hours) % {"n": hours}
    days = (timezone.localdate(runs_out_at) - timezone.localdate(now)).days
    return ngettext("%(days)s day left", "%(days)s days left", days) % {"days": days}


@register.filter
def limit_flag(runs_out_at) -> str:
    """A list's flag for a case: how far past, or how close, its most urgent clock is."""
    return left_text(runs_out_at) if runs_out_at else ""


@register.simple_tag(name="clock_left")
def clock_left_tag(period) -> str:
    return "" if period.ended_at is not None else clock_left(period)


@register.simple_tag
def clock_badge(period):
    """Days (or hours) left or past, flagged when the limit is near or past."""
    if period.ended_at is not None:
        return ""
    if period.is_past_limit:
        css = "badge badge-past"
    elif period.is_near_limit:
        css = "badge badge-near"
    else:
        css = "badge text-bg-light border"
    return format_html('<span class="{}">{}</span>', css, clock_left(period))


def _moment(period, moment) -> str:
    """A limit in hours is read to the hour; one in days or months to the day."""
    return _local(moment, "SHORT_DATETIME_FORMAT" if period.in_hours else "SHORT_DATE_FORMAT")


def clock_facts(period) -> list[str]:
    """The clock row's facts, escaped: limit and article, days held since the arrest,
    runs-out moment, the absolute ceiling."""
    limit = period.limit
    since = _local(
        period.custody_since, "SHORT_DATETIME_FORMAT" if period.time_known else "SHORT_DATE_FORMAT"
    )
    held = escape(
        ngettext(
            "Held %(n)s day, since %(since)s", "Held %(n)s days, since %(since)s", period.days_held
        )
        % {"n": period.days_held, "since": "\0"}
    ).replace("\0", since)
    if not period.time_known:
        held += f' <span class="text-body-secondary">({escape(_("time not known"))})</span>'
    article = f" ({escape(limit.article)})" if limit.article else ""
    extensions = ""
    if period.extensions:
        extensions = ", " + escape(
            ngettext("%(n)s extension", "%(n)s extensions", period.extensions)
            % {"n": period.extensions}
        )
    earlier = held_earlier_text(period)
    return [
        f'<span class="clock-limit">{escape(limit.name)}{article}{extensions}</span>',
        f"<span>{held}</span>",
        f"<span>{escape(_('Runs out'))}: <strong>{_moment(period, period.runs_out_at)}"
        f"</strong> {clock_badge(period)}</span>",
        f'<span class="text-body-secondary">{escape(_("Ceiling"))}: '
        f"{escape(limit.maximum_display)}, {_moment(period, period.ceiling_at)}"
        f"{', ' + escape(earlier) if earlier else ''}</span>",
    ]


def held_earlier_text(period) -> str:
    """Days held earlier in the same case (a release, then a new arrest) count toward the
    ceiling (Art. 208/209): the row says so, or nothing when there were none."""
    if not period.held_before:
        return ""
    return ngettext(
        "includes %(n)s day held earlier in this case",
        "includes %(n)s days held earlier in this case",
        period.held_before,
    ) % {"n": period.held_before}


def clock_text(period) -> str:
    """The clock row as plain text, for exports and PDFs: limit and article, days held
    since the arrest, left or past, runs out, ceiling."""
    limit = period.limit
    since_format = "SHORT_DATETIME_FORMAT" if period.time_known else "SHORT_DATE_FORMAT"
    moment_format = "SHORT_DATETIME_FORMAT" if period.in_hours else "SHORT_DATE_FORMAT"
    since = formats.date_format(timezone.localtime(period.custody_since), since_format)
    if not period.time_known:
        since += f" ({_('time not known')})"
    parts = [
        f"{limit.name} ({limit.article})" if limit.article else limit.name,
        ngettext(
            "Held %(n)s day, since %(since)s", "Held %(n)s days, since %(since)s", period.days_held
        )
        % {"n": period.days_held, "since": since},
        clock_left(period),
        f"{_('Runs out')}: "
        f"{formats.date_format(timezone.localtime(period.runs_out_at), moment_format)}",
        f"{_('Ceiling')}: {limit.maximum_display}, "
        f"{formats.date_format(timezone.localtime(period.ceiling_at), moment_format)}",
    ]
    if period.held_before:
        parts[-1] += f", {held_earlier_text(period)}"
    return "; ".join(parts)


@register.simple_tag
def clock_row(period, person: bool = True):
    """The clock row, the same on the dashboards, the case and person pages and the
    reports (written in Python as case_row is): the person in both scripts and the
    case, then the facts, wrapping on a phone instead of scrolling sideways."""
    css = "past" if period.is_past_limit else "near" if period.is_near_limit else ""
    who = ""
    if person:
        detainee, case = period.accused.detainee, period.accused.case
        khmer = (
            f' <span class="km">{escape(detainee.name_khmer)}</span>' if detainee.name_khmer else ""
        )
        who = (
            f'<div class="clock-who"><strong>{escape(detainee.name_latin)}</strong>{khmer}'
            f" · {_case_link(case)}</div>"
        )
    facts = "".join(clock_facts(period))
    return mark_safe(  # noqa: S308 - every value above is escaped
        f'<div class="clock-row {css}">{who}<div class="clock-facts">{facts}</div></div>'
    )


@register.filter
def people(case) -> str:
    return ", ".join(a.detainee.name_latin for a in case.accused.all())


def _case_link(case) -> str:
    return f'<a href="{escape(case.get_absolute_url())}">{escape(case.reference)}</a>'


def _caseworker(case) -> str:
    return escape(str(case.caseworker or _("Unassigned")))


def _local(moment, format_name: str) -> str:
    """As the template filter ``|date:format_name`` shows an aware date-time."""
    return escape(formats.date_format(timezone.localtime(moment), format_name))


def _accused_names(case) -> str:
    names = []
    for accused in case.accused.all():
        person = accused.detainee
        khmer = person.name_khmer
        names.append(
            escape(person.name_latin)
            + (f' <span class="km text-body-secondary">{escape(khmer)}</span>' if khmer else "")
        )
    return ", ".join(names)


@register.simple_tag
def case_row(case):
    """One row of the case list (templates/casework/case_list.html), written in Python
    as Django's admin writes its changelist rows (``items_for_result``): the template
    engine spent about 150 µs a row resolving its dozen variables, format_html half as
    much again escaping through Django's lazy-aware helpers (bench/README.md). Every
    value goes through the standard library's html.escape, as Django's own escape does.
    """
    flag = ""
    if case.flagged:  # the most urgent runs-out moment near or past the limit
        css = "badge-past" if case.flagged < timezone.now() else "badge-near"
        flag = (
            f' <span class="badge {css}" title="'
            f'{escape(_("Someone in this case is near or past the legal limit"))}">'
            f"{escape(left_text(case.flagged))}</span>"
        )
    hearing = case.next_hearing
    hearing = _local(hearing, "SHORT_DATETIME_FORMAT") if hearing else "—"
    cells = (
        f"<td>{_case_link(case)}{flag}</td>",
        f"<td>{_accused_names(case)}</td>",
        f'<td class="d-none d-sm-table-cell province">{escape(str(case.province))}</td>',
        f"<td>{escape(str(case.get_status_display()))}</td>",
        f'<td class="d-none d-md-table-cell">{_caseworker(case)}</td>',
        f'<td class="d-none d-md-table-cell">{hearing}</td>',
        f'<td class="d-none d-lg-table-cell">'
        f'{escape(formats.date_format(case.opened_on, "SHORT_DATE_FORMAT"))}</td>',
    )
    return mark_safe("<tr>\n    " + "\n    ".join(cells) + "\n  </tr>")  # noqa: S308


@register.simple_tag
def hearing_item(hearing):
    """A hearing in the coordinator's "next 7 days" (templates/casework/
    dashboard_coordinator.html), written in Python as case_row is: up to 200 a page."""
    text = (
        f"<li>{_local(hearing.scheduled_at, 'SHORT_DATETIME_FORMAT')} · "
        f"{escape(str(hearing.get_kind_display()))} · {_case_link(hearing.case)} · "
        f"{_caseworker(hearing.case)}"
    )
    if not hearing.lawyer_id:
        text += f' · <span class="text-danger">{escape(_("no lawyer"))}</span>'
    return mark_safe(text + "</li>")  # noqa: S308 - every value above is escaped


@register.simple_tag
def near_limit_row(period):
    """An entry of "Near or past the legal limit" (templates/partials/_near_limit.html)
    on both dashboards: the clock row."""
    return mark_safe(f'<li class="list-group-item px-0">{clock_row(period)}</li>')  # noqa: S308
