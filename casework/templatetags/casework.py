from django import template
from django.utils.html import format_html
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
