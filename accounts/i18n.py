"""Strings that django-two-factor-auth and Django's auth forms show on our
account pages without a Khmer translation of their own. Listing them here puts
them in our catalogue (locale/km), which Django consults first. (The same
approach as casework/i18n.py.)"""

from django.utils.translation import gettext_noop, ngettext

LIBRARY_STRINGS = [
    # django-two-factor-auth: enrolment and removal forms
    gettext_noop("Token"),
    gettext_noop("Entered token is not valid."),
    gettext_noop("Yes, I am sure"),
    # Django's password change form and validators
    gettext_noop("Old password"),
    gettext_noop("New password"),
    gettext_noop("New password confirmation"),
    gettext_noop("Your old password was entered incorrectly. Please enter it again."),
    gettext_noop("The two password fields didn’t match."),
    gettext_noop("The password is too similar to the %(verbose_name)s."),
    gettext_noop("Your password can’t be too similar to your other personal information."),
    gettext_noop("This password is too common."),
    gettext_noop("Your password can’t be a commonly used password."),
    gettext_noop("This password is entirely numeric."),
    gettext_noop("Your password can’t be entirely numeric."),
]


def _plural_strings():  # never called: here for makemessages to find
    ngettext(
        "Your password must contain at least %(min_length)d character.",
        "Your password must contain at least %(min_length)d characters.",
        12,
    )
    ngettext(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        12,
    )
