"""Choice labels read fast (no models here: the audit app uses it too)."""

import functools

from django.utils.encoding import force_str
from django.utils.hashable import make_hashable


@functools.cache
def choice_labels(field) -> dict:
    """{value: label} of a field's choices, built once per field."""
    return {make_hashable(value): label for value, label in field.flatchoices}


class QuickChoiceDisplay:
    """``get_<field>_display()`` as Django's, a few microseconds a call.

    Django's builds a dict of every choice on each call, hashing each lazy label,
    which translates it: a 50-row list spent a third of its rendering there
    (bench/README.md). The value-to-label map is built once per field; the label
    is still translated when shown, in the reader's language.
    """

    def _get_FIELD_display(self, field):
        value = getattr(self, field.attname)
        return force_str(choice_labels(field).get(make_hashable(value), value), strings_only=True)
