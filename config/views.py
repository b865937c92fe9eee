"""Error pages: the app's look, no traceback, and the request id to quote.

400, 500 and 503 are drawn without the signed-in user or the session (no
database query), because they are what the user sees when something below
the page, often the database, has failed. 403 and 404 show the full page.
"""

import logging
import sys

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template import loader

from .retry import READ_ONLY, RETRYABLE, sqlstate

logger = logging.getLogger("casework.errors")

# How long the 503 page asks browsers and proxies to wait before retrying.
RETRY_AFTER_SECONDS = 30


# Never shown back on the 503 page, whatever the form: secrets and the CSRF token.
WITHHELD_FIELDS = ("password", "token", "otp", "secret", "csrfmiddlewaretoken")

# Why the database refused, as the 503 page words it (templates/errors/503.html).
UNREACHABLE, READ_ONLY_REASON, BUSY = "unreachable", "read_only", "busy"


def _plain(request, template: str, status: int, **context) -> HttpResponse:
    context["request_id"] = getattr(request, "id", "")
    body = loader.get_template(template).render(context)
    response = HttpResponse(body, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def database_reason(exception) -> str | None:
    """Why a database error means "try again later", or None when it is a bug."""
    code = sqlstate(exception)
    if code == READ_ONLY:
        return READ_ONLY_REASON
    if code in RETRYABLE or code == "57014":  # the retries ran out; statement timeout
        return BUSY
    if isinstance(exception, OperationalError | InterfaceError):
        return UNREACHABLE
    return None


def _kept_fields(request) -> list[tuple[str, str]]:
    """What the user typed into the refused form, to send again (never a secret)."""
    if request is None or request.method != "POST":
        return []
    return [
        (name, value)
        for name, values in request.POST.lists()
        if not any(word in name.lower() for word in WITHHELD_FIELDS)
        for value in values
    ]


def database_unavailable(request, reason: str = UNREACHABLE) -> HttpResponse:
    kept = _kept_fields(request)
    context = {"reason": reason, "kept": kept, "posted": request.method == "POST"}
    if kept:
        # A new form to send it again: the token from the CSRF cookie, no database.
        context.update(action=request.get_full_path(), csrf_token_value=get_token(request))
        context["had_files"] = bool(request.FILES)
    return _plain(request, "errors/503.html", 503, **context)


def error_400(request, exception=None):
    return _plain(request, "errors/400.html", 400)


def error_403(request, exception=None):
    return render(request, "errors/403.html", status=403)


def error_404(request, exception=None):
    return render(request, "errors/404.html", status=404)


def error_500(request):
    # Called while the exception is being handled, wherever it was raised:
    # the view, a template, or a middleware loading the session.
    exception = sys.exc_info()[1]
    reason = database_reason(exception) if isinstance(exception, DatabaseError) else None
    if reason is not None:
        # The database went away, is read-only (a standby, maintenance) or stayed
        # busy through the retries (config/retry.py). Django closes a broken
        # connection when this request ends, and the next request opens a new one
        # (CONN_HEALTH_CHECKS or the pool's check): nothing to restart.
        return database_unavailable(request, reason)
    if isinstance(exception, OverflowError):
        # A number too large for the database or the calendar, sent on purpose
        # (?charges=999...9 reaches SQLite as an integer it cannot hold): the
        # request is at fault, not the server.
        return error_400(request)
    return _plain(request, "errors/500.html", 500)


def csrf_failure(request, reason=""):
    """A form sent after its page expired (or from elsewhere): say what to do."""
    return render(request, "errors/403_csrf.html", status=403)
