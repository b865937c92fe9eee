"""Error pages: the app's look, no traceback, and the request id to quote.

400, 500 and 503 are drawn without the signed-in user or the session (no
database query), because they are what the user sees when something below
the page, often the database, has failed. 403 and 404 show the full page.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.shortcuts import render
from django.template import loader

logger = logging.getLogger("casework.errors")

# How long the 503 page asks browsers and proxies to wait before retrying.
RETRY_AFTER_SECONDS = 30


def _plain(request, template: str, status: int) -> HttpResponse:
    body = loader.get_template(template).render({"request_id": getattr(request, "id", "")})
    response = HttpResponse(body, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def database_unavailable(request) -> HttpResponse:
    return _plain(request, "errors/503.html", 503)


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
    if isinstance(exception, OperationalError | InterfaceError):
        # The database went away. Django closes the broken connection when this
        # request ends, and the next request opens a new one (CONN_HEALTH_CHECKS
        # or the pool's check): nothing to restart.
        return database_unavailable(request)
    if isinstance(exception, OverflowError):
        # A number too large for the database or the calendar, sent on purpose
        # (?charges=999...9 reaches SQLite as an integer it cannot hold): the
        # request is at fault, not the server.
        return error_400(request)
    return _plain(request, "errors/500.html", 500)


def csrf_failure(request, reason=""):
    """A form sent after its page expired (or from elsewhere): say what to do."""
    return render(request, "errors/403_csrf.html", status=403)
