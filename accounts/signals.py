"""Account events: session clocks at sign-in, lockouts into the audit log,
sessions ended when a user is deactivated, enrolment recorded."""

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.log import record
from audit.models import AuditEvent

from . import sessions

User = get_user_model()


@receiver(user_logged_in)
def start_session_clocks(sender, request, user, **kwargs):
    # Django has just given the session a new key (no fixation); the idle and
    # absolute timeouts count from here.
    sessions.start_clocks(request.session)


@receiver(user_locked_out)
def log_lockout(sender, request, username, ip_address, **kwargs):
    # The failed attempt itself is already a login_failed entry (audit.signals);
    # this one says that the username is now locked from this address.
    username = str(username or "")[:150]
    record(
        AuditEvent.LOGIN_FAILED,
        model=User,
        request=request,
        data={"username": username, "locked_out": True},
        object_repr=username,
    )


@receiver(pre_save, sender=User)
def remember_if_active(sender, instance, update_fields=None, **kwargs):
    if update_fields is not None and "is_active" not in update_fields:
        instance._was_active = None  # e.g. last_login at sign-in: no query
        return
    if instance.pk is None:
        instance._was_active = False
        return
    instance._was_active = (
        User.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()
    )


@receiver(post_save, sender=User)
def end_sessions_when_deactivated(sender, instance, created, **kwargs):
    if getattr(instance, "_was_active", False) and not instance.is_active:
        sessions.end_sessions_of(instance)


@receiver(post_save, sender=TOTPDevice)
def log_enrolment(sender, instance, created, **kwargs):
    if created and instance.confirmed:
        record(
            AuditEvent.CHANGE,
            actor=instance.user,
            obj=instance.user,
            data={"two_factor": "authenticator app set up"},
        )
