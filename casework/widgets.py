"""Widgets for forms with long choice lists.

Django renders every <option> of a <select> through its own template (an
include per option, another per attribute list), builds a dict of attributes
for each, and reads a model choice list through a server-side cursor (three
round trips on PostgreSQL): about 25 µs an option. The case list's filters
offer every lawyer, caseworker, court and charge in the user's scope, several
hundred options, which made the filter form the costliest part of the page
(bench/README.md). QuickSelect writes the same markup in Python, reading a
model choice list with one plain query.
"""

from html import escape

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django_filters.widgets import BaseCSVWidget


def _attrs(attrs: dict) -> str:
    """As django/forms/widgets/attrs.html: False leaves an attribute out, True writes its name."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            out.append(f" {conditional_escape(name)}")
        else:
            out.append(f' {conditional_escape(name)}="{conditional_escape(str(value))}"')
    return "".join(out)


def _model_choices(choices: ModelChoiceIterator):
    """What ModelChoiceIterator yields (django-filter's "null" choice included), read
    with one query: a choice list is a few hundred rows, not worth a server-side cursor.

    A field with ``plain_options`` (a function of its queryset giving (value, label)
    pairs) is read as plain values, without building a model instance per option:
    for the lists of every lawyer and caseworker (casework.filters.CaseFilter).
    """
    field = choices.field
    if field.empty_label is not None:
        yield "", field.empty_label
    if getattr(field, "null_label", None) is not None:
        yield field.null_value, field.null_label
    plain = getattr(field, "plain_options", None)
    if plain is not None:
        yield from plain(choices.queryset)
        return
    for obj in choices.queryset:
        yield field.prepare_value(obj), field.label_from_instance(obj)


class QuickSelect(forms.Select):
    """forms.Select with the markup of django/forms/widgets/select.html, written in Python."""

    @classmethod
    def replacing(cls, select: forms.Select) -> "QuickSelect":
        """The same widget (attributes, choices, required), rendered by this class."""
        quick = cls.__new__(cls)
        quick.__dict__.update(select.__dict__)
        return quick

    def _option(self, value, label, chosen: set) -> str:
        # The standard library's escape, as django.utils.html.escape calls it: one call
        # an option instead of Django's several (SafeString, lazy checks).
        value = "" if value is None else str(value)
        selected = " selected" if value in chosen else ""
        label = label.__html__() if hasattr(label, "__html__") else escape(str(label))
        return f'\n  <option value="{escape(value)}"{selected}>{label}</option>\n'

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            attrs["multiple"] = True
        chosen = {str(v) for v in self.format_value(value)}
        if not self.allow_multiple_selected and len(chosen) > 1:
            chosen = {next(iter(chosen))}
        choices = self.choices
        if isinstance(choices, ModelChoiceIterator):
            choices = _model_choices(choices)
        out = [f'<select name="{conditional_escape(name)}"{_attrs(attrs)}>']
        for option_value, label in choices:
            if isinstance(label, list | tuple):  # a group: (name, [(value, label), ...])
                out.append(f'\n  <optgroup label="{conditional_escape(option_value)}">')
                out.extend(self._option(v, sub, chosen) for v, sub in label)
                out.append("\n  </optgroup>")
            else:
                out.append(self._option(option_value, label, chosen))
        out.append("\n</select>")
        return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


class QuickCSVSelect(BaseCSVWidget, QuickSelect):
    """django-filter's CSV select (the "Sort by" list), drawn by QuickSelect."""

