from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.log import record
from audit.models import AuditEvent
from config.admin import RoleAdmin

from .models import User
from .sessions import end_sessions_of
from .twofactor import reset_devices

# Access follows User.role (docs/permissions.md), never Django's groups: an admin
# who is not a superuser could not open the group pages anyway (403), and a group
# could not grant anything.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)

# django-otp's device pages would show each user's TOTP secret; an admin resets
# a device from the user list instead (the action below).
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(User)
class UserAdmin(RoleAdmin, BaseUserAdmin):
    list_display = [
        "username",
        "first_name",
        "last_name",
        "email",
        "role",
        "is_active",
        "two_factor",
    ]
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
    actions = ["reset_two_factor"]

    def get_queryset(self, request):
        devices = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return super().get_queryset(request).annotate(has_two_factor=Exists(devices))

    @admin.display(boolean=True, description=_("two-factor"), ordering="has_two_factor")
    def two_factor(self, obj):
        return obj.has_two_factor

    @admin.action(description=_("Reset two-factor sign-in (lost phone): set up again"))
    def reset_two_factor(self, request, queryset):
        """The user's authenticator and backup codes are removed and their sessions
        ended; at their next sign-in (password only) they set up a new device."""
        count = 0
        for user in queryset:
            with transaction.atomic():
                removed = reset_devices(user)
                end_sessions_of(user)
                record(
                    AuditEvent.CHANGE,
                    obj=user,
                    request=request,
                    data={"two_factor": "reset by an admin", "devices_removed": removed},
                )
            count += 1
        self.message_user(
            request,
            ngettext(
                "Two-factor sign-in reset for %(count)d user: set up again at next sign-in.",
                "Two-factor sign-in reset for %(count)d users: set up again at next sign-in.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    def get_actions(self, request):
        # Django adds "delete selected" for superusers; people are never deleted.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        # People leave; their audit trail stays. Deactivate instead of deleting.
        return False
