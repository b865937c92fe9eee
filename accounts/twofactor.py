"""Who must use two factors, and checking a code.

Enrolment, the QR code and the backup codes pages come from
django-two-factor-auth; the sign-in itself is ours (accounts/views.py), because
its wizard would change the sign-in form every client and test posts to.
"""

from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice


def two_factor_required(user) -> bool:
    """Whether this user may use the app only after a second factor."""
    if not settings.TWO_FACTOR_ENFORCED or not user.is_authenticated:
        return False
    if settings.REQUIRE_2FA_FOR_ALL or user.is_superuser:
        return True
    return user.role in settings.TWO_FACTOR_REQUIRED_ROLES


def is_enrolled(user) -> bool:
    """An authenticator app is set up (backup codes alone do not count)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def verify_code(user, code: str):
    """The device that accepts ``code`` (authenticator or backup code), or None.

    Each code works once: a TOTP device remembers the last time step it
    accepted and refuses it and every earlier one (django-otp), and a backup
    code is deleted when used. The devices are locked while checked, so two
    requests racing with the same code cannot both pass. Wrong codes slow the
    device down (django-otp's throttling) on top of the sign-in lockout.
    """
    code = normalise_code(code)
    if not code:
        return None
    kind = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if isinstance(device, kind) and device.verify_token(code):
                return device
    return None


def reset_devices(user) -> int:
    """Remove every second factor of ``user`` (an admin's reset): they enrol again."""
    count = 0
    for device in devices_for_user(user, confirmed=None):
        device.delete()
        count += 1
    return count
