"""The error summary a refused form opens with: what went wrong, with a link to
each field (WCAG 3.3.1, 2.4.3). The page's script moves focus to it on load, so
a keyboard or screen-reader user starts there and reaches a field in one step."""

from django import forms, template
from django.forms.formsets import BaseFormSet

register = template.Library()


def _forms(items):
    for item in items:
        if isinstance(item, BaseFormSet):
            yield from item.forms
        elif isinstance(item, forms.BaseForm):
            yield item


def _widget_id(field):
    subwidgets = field.subwidgets
    if len(subwidgets) > 1 and subwidgets[0].id_for_label:  # radios, split date and time
        return subwidgets[0].id_for_label
    return field.auto_id


def _entries(form, form_errors_to=""):
    for name, errors in form.errors.items():
        if name == forms.forms.NON_FIELD_ERRORS or name not in form.fields:
            if name == forms.forms.NON_FIELD_ERRORS and form_errors_to in form.fields:
                # "Wrong username or password": the place to start again.
                yield f"#{_widget_id(form[form_errors_to])}", None, errors
            else:
                yield None, None, errors
            continue
        field = form[name]
        yield f"#{_widget_id(field)}", field.label, errors


@register.inclusion_tag("partials/_error_summary.html")
def error_summary(*items, message="", form_errors_to=""):
    """``{% error_summary form other_form formset message=_("...") %}``

    ``form_errors_to="username"``: errors of a whole form (not of one field)
    link to that field where a form has it, without a label.
    """
    linked, unlinked = [], []
    for form in _forms(items):
        for href, label, errors in _entries(form, form_errors_to):
            for error in errors:
                (linked if href else unlinked).append({"href": href, "label": label, "text": error})
    for item in items:
        if isinstance(item, BaseFormSet):
            unlinked += [{"text": e} for e in item.non_form_errors()]
    return {"linked": linked, "unlinked": unlinked, "message": message}
