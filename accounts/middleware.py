"""Sign-in rules that hold on every request: session timeouts and two factors."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from . import sessions
from .twofactor import is_enrolled, two_factor_required


class SessionTimeoutMiddleware:
    """Sign out after SESSION_IDLE_MINUTES without a request, and in any case
    SESSION_ABSOLUTE_HOURS after signing in, so a session stolen or left open on
    a shared computer does not live on.

    A form sent after the session ran out is not thrown away: the page that
    says so shows what was typed, to copy before signing in again.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            why = sessions.expired(request.session)
            if why is not None:
                return self._signed_out(request, why)
        return self.get_response(request)

    def _signed_out(self, request, why: str):
        logout(request)
        if why == "idle":
            text = _("You were signed out after a while without activity. Sign in again.")
        else:
            text = _("Your session reached its time limit. Sign in again.")
        if request.method == "POST":
            typed = [
                (name, value)
                for name, values in request.POST.lists()
                if name not in {"csrfmiddlewaretoken", "version"} and "password" not in name
                for value in values
                if value.strip()
            ]
            return render(
                request,
                "registration/signed_out_form.html",
                {"message": text, "typed": typed, "next": request.path},
                status=401,
            )
        messages.info(request, text)
        return redirect_to_login(request.get_full_path())


# Pages a signed-in user may still open before the second factor is in place.
BEFORE_SECOND_FACTOR = {
    "login",
    "login_verify",
    "logout",
    "confirm_password",
    "set_language",
    "healthz",
    "two_factor:setup",
    "two_factor:qr",
}


class TwoFactorRequiredMiddleware:
    """Where two factors are required (TWO_FACTOR_REQUIRED_ROLES, or everyone with
    REQUIRE_2FA_FOR_ALL), a user who has not passed the second factor in this
    session reaches only the enrolment pages, and is sent there."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not two_factor_required(user) or user.is_verified():
            return None
        match = request.resolver_match
        if match is not None and match.view_name in BEFORE_SECOND_FACTOR:
            return None
        if is_enrolled(user):
            # Signed in without the code (a session from before enrolment, or a
            # device reset meanwhile): sign in again, code and all.
            logout(request)
            return redirect_to_login(request.get_full_path())
        messages.info(
            request,
            _("Your role requires a second factor. Set up an authenticator app to continue."),
        )
        return redirect("two_factor:setup")


class UserLanguageMiddleware:
    """Speak to a signed-in person in the language they chose last, on any device.

    LocaleMiddleware has already picked a language from the cookie or the
    browser; a choice saved on the user wins over both.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user and user.is_authenticated else ""
        if language and language != request.LANGUAGE_CODE:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
