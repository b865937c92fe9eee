from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .log import record
from .models import AuditEvent


@receiver(user_logged_in)
def log_login(sender, request, user, **kwargs):
    record(AuditEvent.LOGIN, actor=user, obj=user, request=request)


@receiver(user_logged_out)
def log_logout(sender, request, user, **kwargs):
    if user is not None:
        record(AuditEvent.LOGOUT, actor=user, obj=user, request=request)


@receiver(user_login_failed)
def log_login_failed(sender, credentials, request=None, **kwargs):
    # The password is never stored; only the name that was tried.
    username = str(credentials.get("username", ""))[:150]
    record(
        AuditEvent.LOGIN_FAILED,
        model=get_user_model(),
        request=request,
        data={"username": username},
        object_repr=username,
    )
