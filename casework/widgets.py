"""Widgets for forms with long choice lists.

Django renders every <option> of a <select> through its own template (an
include per option, another per attribute list): about 60 µs an option. The
case list's filters offer every lawyer and caseworker in the user's scope,
hundreds of options, which made the filter form the costliest part of the
page (bench/README.md). QuickSelect writes the same markup in Python.
"""

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe


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


class QuickSelect(forms.Select):
    """forms.Select with the markup of django/forms/widgets/select.html, written in Python."""

    @classmethod
    def replacing(cls, select: forms.Select) -> "QuickSelect":
        """The same widget (attributes, choices, required), rendered by this class."""
        quick = cls.__new__(cls)
        quick.__dict__.update(select.__dict__)
        return quick

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        out = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                out.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            for option in options:
                out.append(
                    f'\n  <option value="{conditional_escape(str(option["value"]))}"'
                    f"{_attrs(option['attrs'])}>{conditional_escape(option['label'])}</option>\n"
                )
            if group_name:
                out.append("\n  </optgroup>")
        out.append("\n</select>")
        return mark_safe("".join(out))  # noqa: S308 - every value above is escaped
