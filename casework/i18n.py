"""Strings other libraries show on our pages without a Khmer translation of
their own. Listing them here puts them in our catalogue (locale/km), which
Django consults before the libraries' own."""

from django.utils.translation import gettext_noop

LIBRARY_STRINGS = [
    # django-filter's ordering choices
    gettext_noop("%s (descending)"),
    # Django's form errors where its Khmer catalogue has no translation
    gettext_noop("Select a valid choice. That choice is not one of the available choices."),
    gettext_noop("Select a valid choice. %(value)s is not one of the available choices."),
    gettext_noop("Enter a valid date."),
    gettext_noop("Enter a valid date/time."),
    gettext_noop("Enter a whole number."),
    gettext_noop("Enter a number."),
    gettext_noop("This field is required."),
    gettext_noop("Ensure this value is less than or equal to %(limit_value)s."),
    gettext_noop("Ensure this value is greater than or equal to %(limit_value)s."),
    gettext_noop("Enter a list of values."),
]
