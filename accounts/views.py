"""Signing in (password, then the second factor), and changes to one's own account.

Signing in is two steps when the user has an authenticator app: the password
page keeps only "this user gave the right password at this time" in the
session, and the code page signs them in. Both steps count towards the same
lockout (django-axes), and both write the audit log (a wrong code is a
``login_failed`` like a wrong password).

Sensitive changes (email, password, the second factor) ask for the password
again: the password form asks for the old one, the others go through
``recent_password_required``.
"""

import functools
import hashlib
import time

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_lockout_response
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, signals
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views import i18n as i18n_views
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from two_factor import views as two_factor_views

from audit.log import record
from audit.models import AuditEvent

from .forms import CodeForm, EmailChangeForm, PasswordConfirmForm, SignInForm
from .sessions import mark_password_confirmed, password_recently_confirmed
from .twofactor import is_enrolled, two_factor_required, verify_code

PENDING = "casework_login_pending"


class SignInView(auth_views.LoginView):
    """Step one: the password. Signs in at once when there is no second factor."""

    redirect_authenticated_user = True
    authentication_form = SignInForm

    def form_valid(self, form):
        user = form.get_user()
        if not is_enrolled(user):
            response = super().form_valid(form)
            mark_password_confirmed(self.request.session)
            return response
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "at": int(time.time()),
            "next": self.get_redirect_url(),
        }
        return redirect("login_verify")


def _pending(request):
    pending = request.session.get(PENDING)
    if not pending:
        return None, None
    if time.time() - pending["at"] > settings.LOGIN_CODE_STEP_SECONDS:
        del request.session[PENDING]
        messages.info(request, _("That took too long. Sign in again."))
        return None, None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        del request.session[PENDING]
    return pending, user


@login_not_required
@sensitive_post_parameters("otp_token")
@never_cache
@require_http_methods(["GET", "POST"])
def login_verify(request):
    """Step two: a code from the authenticator app, or a backup code."""
    pending, user = _pending(request)
    if user is None:
        return redirect("login")
    credentials = {"username": user.get_username()}
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if not AxesProxyHandler.is_allowed(request, credentials):
            return get_lockout_response(request, None, credentials)
        device = verify_code(user, form.cleaned_data["otp_token"]) if form.is_valid() else None
        if device is not None:
            del request.session[PENDING]
            user.otp_device = device  # django-otp keeps it in the session on login
            login(request, user, backend=pending["backend"])
            mark_password_confirmed(request.session)
            if isinstance(device, StaticDevice):
                _warn_about_backup_codes(request, device)
            return redirect(pending.get("next") or resolve_url(settings.LOGIN_REDIRECT_URL))
        form.add_error("otp_token", _("That code is not right, or it was already used."))
        # Counts towards the lockout (axes) and is written to the audit log.
        signals.user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    return render(request, "registration/login_verify.html", {"form": form})


def _warn_about_backup_codes(request, device):
    left = StaticToken.objects.filter(device=device).count()
    messages.warning(
        request,
        _("You signed in with a backup code. %(left)s left: make new ones on your account page.")
        % {"left": left},
    )


def _locked_out(request):
    """A lockout response when this user may not try a password from here now."""
    credentials = {"username": request.user.get_username()}
    if AxesProxyHandler.is_allowed(request, credentials):
        return None
    return get_lockout_response(request, None, credentials)


def _count_wrong_password(request, form, field: str):
    """A wrong password typed again counts like one at sign-in: towards the
    lockout and into the audit log, so a stolen session cannot be used to guess
    the password behind it."""
    if field in form.errors:
        signals.user_login_failed.send(
            sender=__name__, credentials={"username": request.user.get_username()}, request=request
        )


def recent_password_required(view):
    """Ask for the password again unless it was typed in the last few minutes."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not password_recently_confirmed(request.session):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('confirm_password')}?{query}")
        return view(request, *args, **kwargs)

    return wrapper


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def confirm_password(request):
    form = PasswordConfirmForm(request.POST or None, user=request.user)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.method == "POST":
        if locked := _locked_out(request):
            return locked
        if form.is_valid():
            mark_password_confirmed(request.session)
            return redirect(next_url or "account")
        _count_wrong_password(request, form, "password")
    return render(request, "registration/confirm_password.html", {"form": form, "next": next_url})


@require_safe
def account(request):
    user = request.user
    backup = StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
    return render(
        request,
        "registration/account.html",
        {
            "enrolled": is_enrolled(user),
            "required": two_factor_required(user),
            "backup_codes_left": backup,
        },
    )


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def email_change(request):
    user = request.user
    form = EmailChangeForm(request.POST or None, user=user, initial={"email": user.email})
    if request.method == "POST":
        if locked := _locked_out(request):
            return locked
        if form.is_valid():
            user.email = form.cleaned_data["email"]
            user.save(update_fields=["email"])
            messages.success(request, _("Your email address was changed."))
            return redirect("account")
        _count_wrong_password(request, form, "password")
    return render(request, "registration/email_change.html", {"form": form})


def _record_password(request, user, how: str) -> None:
    """A new password, in the audit log: how it was set, never what it is."""
    record(AuditEvent.CHANGE, obj=user, request=request, data={"password": how})


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, which asks for the old password; other sessions end with it."""

    template_name = "registration/password_change.html"

    def post(self, request, *args, **kwargs):
        return _locked_out(request) or super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        _count_wrong_password(self.request, form, "old_password")
        return super().form_invalid(form)

    def form_valid(self, form):
        response = super().form_valid(form)
        # Django's view keeps this session signed in; every other session of
        # the user ends, since it was signed with the old password.
        _record_password(self.request, form.user, "changed by the user")
        messages.success(self.request, _("Your password was changed."))
        return response


class DisableTwoFactorView(two_factor_views.DisableView):
    """Remove one's own second factor (e.g. to move to a new phone). Where it is
    required, the next page asks to set up a new one."""

    success_url = reverse_lazy("account")

    def form_valid(self, form):
        record(
            AuditEvent.CHANGE,
            obj=self.request.user,
            request=self.request,
            data={"two_factor": "removed by the user"},
        )
        return super().form_valid(form)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout page (AXES_LOCKOUT_CALLABLE): the app's look, status 429."""
    cool_off = get_cool_off(request)
    minutes = int(cool_off.total_seconds() // 60) if cool_off else 0
    return render(
        request,
        "registration/locked_out.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes},
        status=429,
    )


@login_not_required
@never_cache
def admin_login(request):
    """/admin/login/: the admin has no password form of its own.

    Django's admin login would be a second way in that skips the second
    factor. Signed-out visitors go to the app's sign-in; a signed-in admin goes
    on; anyone else is refused (without a form to sign in as someone else).
    """
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if not request.user.is_authenticated:
        return redirect_to_login(next_url or reverse("admin:index"))
    if request.user.is_admin:
        return redirect(next_url or reverse("admin:index"))
    raise PermissionDenied


@login_not_required
@require_POST
def set_language(request):
    """The header's language switcher: Django's view, and remembered on the user."""
    response = i18n_views.set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if user.is_authenticated and language in dict(settings.LANGUAGES) and user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return response


# --- A forgotten password ------------------------------------------------------------
#
# Django's views, in the app's own pages (not the admin's) and in both languages. The
# link in the email sets a new password only: signing in still asks for the second
# factor. Setting it is written to the audit log, like a change.


# Links sent per address and per client address in an hour: enough for someone who lost
# the first email, too few to flood a colleague's mailbox. Past them the page says the
# same as ever (it never tells whether an address is on file) and sends nothing.
RESET_LINKS_PER_ADDRESS = 3
RESET_LINKS_PER_CLIENT = 10
RESET_WINDOW_SECONDS = 3600


def _within_reset_limit(request, email: str) -> bool:
    from django.core.cache import cache

    from config.proxies import client_address

    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    for key, limit in (
        (f"password-reset:address:{digest}", RESET_LINKS_PER_ADDRESS),
        (f"password-reset:client:{client_address(request)}", RESET_LINKS_PER_CLIENT),
    ):
        cache.add(key, 0, RESET_WINDOW_SECONDS)
        try:
            if cache.incr(key) > limit:
                return False
        except ValueError:  # expired in between: a new window
            cache.set(key, 1, RESET_WINDOW_SECONDS)
    return True


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def form_valid(self, form):
        if not _within_reset_limit(self.request, form.cleaned_data["email"]):
            return redirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        _record_password(self.request, form.user, "set from an emailed reset link")
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"
