from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from config.admin import RoleAdmin

from .models import User

# Access follows User.role (docs/permissions.md), never Django's groups: an admin
# who is not a superuser could not open the group pages anyway (403), and a group
# could not grant anything.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(RoleAdmin, BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "role", "is_active"]
    list_filter = ["role", "is_active", "provinces"]
    search_fields = ["username", "first_name", "last_name", "email"]
    filter_horizontal = ["provinces"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Person"), {"fields": ["first_name", "last_name", "email"]}),
        (_("Role and scope"), {"fields": ["role", "provinces", "is_active"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "password1", "password2", "role", "provinces"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]
    actions = None

    def has_delete_permission(self, request, obj=None):
        # People leave; their audit trail stays. Deactivate instead of deleting.
        return False
