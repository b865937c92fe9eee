"""Showing audit entries: changes as "field: before → after".

auditlog stores a related record as its id ("Court: — → 12"). People read
names: ``{% name_related entries %}`` looks up, for a whole page of entries,
every record they point to with one query per kind of record (not one per row),
and the lines show its name as it reads now; a record since deleted keeps its
number ("#12").
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from html import escape

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.hashable import make_hashable
from django.utils.safestring import mark_safe
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext as _

from casework.choices import choice_labels

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
        if field is not None and field.primary_key:
            continue  # the record's own number: the entry names the record already
        label = capfirst(str(field.verbose_name)) if field is not None else name
        if isinstance(change, dict) and change.get("type") == "m2m":
            objects = ", ".join(str(o) for o in change.get("objects", []))
            kind = "added" if change.get("operation") == "add" else "removed"
            lines.append(ChangeLine(label, None, objects, kind))
        elif isinstance(change, list | tuple) and len(change) == 2:
            before, after = change
            names = getattr(entry, "related_names", {})
            lines.append(
                ChangeLine(label, _display(field, before, names), _display(field, after, names))
            )
        else:
            lines.append(ChangeLine(label, None, _display(field, change)))
    return lines


def _related_values(entry):
    """(related model, stored id) for each foreign key the entry's changes name."""
    model = entry.content_type.model_class()
    for name, change in (entry.changes or {}).items():
        field = _field(model, name)
        if field is None or not (field.many_to_one or field.one_to_one):
            continue
        if isinstance(change, list | tuple) and len(change) == 2:
            for value in change:
                if value not in (None, "None", ""):
                    yield field.related_model, str(value)


@register.simple_tag
def name_related(entries) -> str:
    """Give each entry the names of the records its changes point to (see above).
    Writes nothing; the entries are the ones the page goes on to show."""
    entries = list(entries)
    wanted = defaultdict(set)
    for entry in entries:
        for model, value in _related_values(entry):
            wanted[model].add(value)
    names = {}
    for model, values in wanted.items():
        pk_field = model._meta.pk
        keys = set()
        for value in values:
            try:
                keys.add(pk_field.to_python(value))
            except Exception:  # noqa: BLE001, S112 - not an id: shown as stored
                continue
        # select_related(): names such as an accused's read their person and case.
        for pk, obj in model._base_manager.select_related().in_bulk(keys).items():
            names[(model, str(pk))] = str(obj)
    for entry in entries:
        entry.related_names = names
    return ""


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


def _display(field, value, names=None) -> str | None:
    if value is None or value == "None":
        return None
    if field is not None and (field.many_to_one or field.one_to_one):
        return (names or {}).get((field.related_model, str(value)), f"#{value}")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if getattr(field, "choices", None):
        return str(choice_labels(field).get(make_hashable(value), value))
    if isinstance(field, models.DateTimeField) and isinstance(value, str):
        return _local_time(value)
    if isinstance(field, models.DateField) and isinstance(value, str):
        try:
            return formats.date_format(dt.date.fromisoformat(value), "DATE_FORMAT")
        except ValueError:
            return value
    return str(value)


def _local_time(value: str) -> str:
    """auditlog stores date-times as UTC text; people read them in local time."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


LONGEST = 200  # characters of a value shown; the audit view's detail has all of it


def _short(value) -> str:
    """As ``|default_if_none:"—"|truncatechars:200``, escaped."""
    text = "—" if value is None else str(value)
    if len(text) > LONGEST:  # shorter never needs Truncator, which counts characters
        text = Truncator(text).chars(LONGEST)
    return escape(text)


@register.simple_tag
def entry_changes(entry):
    """An entry's changes and details as a list (what audit/_changes.html wrote), in
    Python: a record's history panel shows up to a hundred entries, and the template
    spent most of the case page's time on them (bench/README.md)."""
    lines, details = change_lines(entry), entry_details(entry)
    if not lines and not details:
        return ""
    out = ['<ul class="list-unstyled small mb-0">']
    for line in lines:
        label = f'<span class="fw-semibold">{escape(str(line.label))}:</span>'
        if line.kind in ("added", "removed"):
            word = _("added") if line.kind == "added" else _("removed")
            out.append(f"<li>{label} {escape(word)} {_short(line.after)}</li>")
        else:
            out.append(
                f'<li>{label} <span class="text-body-secondary">{_short(line.before)}</span>'
                f" → {_short(line.after)}</li>"
            )
    for key, value in details:
        out.append(f'<li><span class="fw-semibold">{escape(str(key))}:</span> {_short(value)}</li>')
    out.append("</ul>")
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped
