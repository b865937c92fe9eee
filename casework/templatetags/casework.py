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


@register.simple_tag
def clock_badge(period):
    """Days held, the limit, and a flag when the limit is near or past."""
    if period.is_past_limit:
        return format_html('<span class="badge badge-past">{}</span>', _("Past the legal limit"))
    if period.is_near_limit:
        return format_html(
            '<span class="badge badge-near">{}</span>',
            ngettext("%(days)s day left", "%(days)s days left", period.days_left)
            % {"days": period.days_left},
        )
    return ""


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
    if case.flagged:
        flag = (
            f' <span class="badge badge-near" title="'
            f'{escape(_("Someone in this case is near or past the legal limit"))}">'
            f"{escape(_('limit'))}</span>"
        )
    hearing = case.next_hearing
    hearing = _local(hearing, "SHORT_DATETIME_FORMAT") if hearing else "—"
    cells = (
        f"<td>{_case_link(case)}{flag}</td>",
        f"<td>{_accused_names(case)}</td>",
        f'<td class="d-none d-sm-table-cell">{escape(str(case.province))}</td>',
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
    """A row of "Near or past the legal limit" (templates/partials/_near_limit.html) on
    both dashboards, written in Python as case_row is."""
    days = ngettext("%(d)s day", "%(d)s days", period.days_held) % {"d": period.days_held}
    cells = (
        f"<td>{escape(period.accused.detainee.name_latin)}</td>",
        f"<td>{_case_link(period.accused.case)}</td>",
        f"<td>{escape(days)}</td>",
        f"<td>{_local(period.runs_out_at, 'SHORT_DATE_FORMAT')}</td>",
        f"<td>{clock_badge(period)}</td>",
    )
    return mark_safe("<tr>" + "".join(cells) + "</tr>")  # noqa: S308 - values escaped
