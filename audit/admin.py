from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from config.admin import BoundedListAdmin

from .models import AuditEntry
from .templatetags.audit_tags import entry_changes

# django-auditlog registers its own admin for the entry model; ours is read-only.
if admin.site.is_registered(AuditEntry):
    admin.site.unregister(AuditEntry)


@admin.register(AuditEntry)
class AuditEntryAdmin(BoundedListAdmin):
    list_display = [
        "id",
        "timestamp",
        "event",
        "action",
        "content_type",
        "object_repr",
        "actor",
        "remote_addr",
    ]
    list_filter = ["event", "action", "content_type"]
    list_select_related = ["content_type", "actor"]
    search_fields = ["object_repr", "object_pk", "actor__username"]
    show_full_result_count = False
    actions = None
    readonly_fields = [f.name for f in AuditEntry._meta.fields] + ["changes_summary"]

    def has_view_permission(self, request, obj=None):
        return request.user.is_admin

    def has_module_permission(self, request):
        return request.user.is_admin

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("changes"))
    def changes_summary(self, obj):
        # As the audit pages show it. Not auditlog's changes_str, which fails on
        # a created field (None before) and on many-to-many changes.
        return entry_changes(obj) or "—"
