import unicodedata

from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import SEARCH_VAR
from django.db import DataError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# As long as the pages' own search boxes allow (casework/filters.py).
SEARCH_MAX_LENGTH = 200


class CaseworkAdminSite(admin.AdminSite):
    site_header = _("Casework administration")
    site_title = _("Casework")
    index_title = _("Records and reference data")

    def has_permission(self, request):
        # Only admins reach /admin/ (docs/permissions.md).
        user = request.user
        return user.is_active and user.is_authenticated and user.is_admin


class CaseworkAdminConfig(AdminConfig):
    default_site = "config.admin.CaseworkAdminSite"


class BoundedListAdmin(admin.ModelAdmin):
    """A list that answers bad input with a message, not a server error.

    A search longer than the pages' own search boxes is refused (SQLite cannot
    match a pattern past 50,000 characters, and no name is that long). A filter
    value the database cannot hold, such as ``?province=99999999999999999999``
    (SQLite raises OverflowError, PostgreSQL may refuse it), is reported and the
    list shown without the filters, as Django does for a filter it cannot apply.
    """

    def get_search_results(self, request, queryset, search_term):
        if len(search_term) > SEARCH_MAX_LENGTH:
            if request is not None and not getattr(request, "_search_too_long", False):
                request._search_too_long = True
                messages.error(request, search_too_long_message())
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    def get_changelist_instance(self, request):
        # Checked before the query, so both databases answer alike (PostgreSQL would
        # compare such a number and find nothing; SQLite cannot bind it at all).
        filters = [v for k, vs in request.GET.lists() if k != SEARCH_VAR for v in vs]
        try:
            if any(_out_of_range(value) for value in filters):
                raise OverflowError
            return super().get_changelist_instance(request)
        except (OverflowError, DataError) as exc:
            messages.error(
                request,
                gettext("A filter's value is out of range, so the filters were not applied."),
            )
            raise IncorrectLookupParameters from exc


def _out_of_range(value: str) -> bool:
    """A whole number (or a comma-separated list of them, for ``__in``) past 64 bits."""
    for part in value.split(","):
        digits = part.strip().lstrip("+-")
        if digits.isascii() and digits.isdigit():
            if len(digits) > 19 or not -(2**63) <= int(part) < 2**63:
                return True
    return False


def search_too_long_message() -> str:
    return gettext("The search is too long: at most %(limit)d characters.") % {
        "limit": SEARCH_MAX_LENGTH
    }


class RoleAdmin(BoundedListAdmin):
    """Permissions follow the user's role, not Django's per-model permission table."""

    def has_view_permission(self, request, obj=None):
        return request.user.is_admin

    def has_add_permission(self, request, *args):
        return request.user.is_admin

    def has_change_permission(self, request, obj=None):
        return request.user.is_admin

    def has_delete_permission(self, request, obj=None):
        return request.user.is_admin

    def has_module_permission(self, request):
        return request.user.is_admin

    def get_search_results(self, request, queryset, search_term):
        # Names are stored in Unicode NFC (casework.models.nfc), but a keyboard may
        # send an accented letter (ô) as letter + combining mark: normalise the
        # search the same way so it still matches.
        search_term = unicodedata.normalize("NFC", search_term)
        return super().get_search_results(request, queryset, search_term)
