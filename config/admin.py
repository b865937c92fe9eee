import unicodedata

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


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


class RoleAdmin(admin.ModelAdmin):
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
