"""Showing audit entries: changes as "field: before → after", without extra queries.

Related records stay as their stored ids: looking each one up would cost a
query per row, and the record may since have changed or gone.
"""

import datetime as dt
from dataclasses import dataclass

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

register = template.Library()


@dataclass
class ChangeLine:
    label: str
    before: str | None
    after: str | None
    # "value" for a field's before and after; "added" / "removed" for many-to-many rows.
    kind: str = "value"


@register.filter
def change_lines(entry) -> list[ChangeLine]:
    """The entry's changes, one line per field, labelled and with choice values spelt out."""
    model = entry.content_type.model_class()
    lines = []
    for name, change in (entry.changes or {}).items():
        if _is_reverse_relation(model, name):
            continue  # auditlog lists them on create and delete, always empty
        field = _field(model, name)
        label = capfirst(str(field.verbose_name)) if field is not None else name
        if isinstance(change, dict) and change.get("type") == "m2m":
            objects = ", ".join(str(o) for o in change.get("objects", []))
            kind = "added" if change.get("operation") == "add" else "removed"
            lines.append(ChangeLine(label, None, objects, kind))
        elif isinstance(change, list | tuple) and len(change) == 2:
            before, after = change
            lines.append(ChangeLine(label, _display(field, before), _display(field, after)))
        else:
            lines.append(ChangeLine(label, None, _display(field, change)))
    return lines


@register.filter
def entry_details(entry) -> list[tuple[str, str]]:
    """What a non-change entry carries: an export's format and filters, a tried username."""
    details = []
    for key, value in (entry.additional_data or {}).items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, "", []))
        details.append((key, _display(None, value)))
    return details


@register.filter
def record_type(entry) -> str:
    """The entry's model as the audit list's ``model`` filter spells it: ``casework.case``."""
    return f"{entry.content_type.app_label}.{entry.content_type.model}"


def _field(model, name):
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return None if field.auto_created and not field.concrete else field


def _is_reverse_relation(model, name) -> bool:
    if model is None:
        return False
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return field.auto_created and not field.concrete


def _display(field, value) -> str | None:
    if value is None or value == "None":
        return None
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    choices = getattr(field, "flatchoices", None)
    if choices:
        return str(dict(choices).get(value, value))
    if isinstance(field, models.DateTimeField) and isinstance(value, str):
        return _local_time(value)
    return str(value)


def _local_time(value: str) -> str:
    """auditlog stores date-times as UTC text; people read them in local time."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")
