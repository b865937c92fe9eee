"""Project-wide middleware: request ids, no caching of pages, the loopback health check."""

import ipaddress
import re
import secrets

from django.conf import settings
from django.utils.cache import add_never_cache_headers

from .logging import request_id_var
from .proxies import is_trusted_proxy

# A proxy may pass its own id on; anything else is replaced with ours.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def new_request_id() -> str:
    """16 random digits in groups of four: easy to read out over the phone."""
    digits = f"{secrets.randbelow(10**16):016d}"
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


class RequestIdMiddleware:
    """Give every request an id: on ``request.id``, in every log line written
    while it is served, on the ``X-Request-ID`` response header and on the
    error pages, so a user's "reference" leads to the server log's lines."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.id = incoming if _SAFE_ID.match(incoming) else new_request_id()
        token = request_id_var.set(request.id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.id
        return response


class NoStoreMiddleware:
    """Nothing this app serves may be kept by a browser or a proxy cache.

    Every page past the login holds personal data, and a shared office
    computer's back button or disk cache must not show it to the next person.
    Static files never get here: whitenoise answers them earlier, with their
    own long-lived caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response


class RejectNulCharactersMiddleware:
    """A NUL character in a query parameter is refused with the 400 page.

    No one types one; PostgreSQL cannot store or compare text holding one, so
    a filter passing it on (``?q=%00``) would fail with a server error. Forms
    refuse it already, field by field (Django's ProhibitNullCharactersValidator).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.META.get("QUERY_STRING", "") or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            from .views import error_400

            return error_400(request)
        return self.get_response(request)


def _is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


class LoopbackHealthCheckMiddleware:
    """``/healthz`` for a monitor on this machine, whatever Host header it sends.

    A monitor asking ``http://127.0.0.1:8000/healthz`` sends ``Host: 127.0.0.1:8000``,
    which ALLOWED_HOSTS (the site's public name) rightly refuses with a 400. The
    health check is answered before the host is validated, but only for a request
    whose socket comes from the loopback (``REMOTE_ADDR``, never X-Forwarded-For):
    every other request, and every other path, is checked as before. It answers
    "ok" or "unreachable", nothing that depends on the host.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz" and _is_loopback(request.META.get("REMOTE_ADDR")):
            from config.health import healthz

            return healthz(request)
        return self.get_response(request)


class ForwardedProtoFromTrustedProxyMiddleware:
    """``X-Forwarded-Proto`` counts only when a trusted proxy sent the request.

    Django believes ``SECURE_PROXY_SSL_HEADER`` from whoever sends it: a client
    reaching the app other than through the proxy could claim HTTPS, and so
    pass ``SECURE_SSL_REDIRECT`` and be handed pages as if over TLS. The header is
    removed here, before anything asks ``request.is_secure()``, unless the
    socket's peer (``REMOTE_ADDR``) is one of ``settings.TRUSTED_PROXIES``: the
    same rule as ``X-Forwarded-For`` (config/proxies.py). With no trusted proxy
    (the default) the app never believes it. (gunicorn, in front, has its own
    check, FORWARDED_ALLOW_IPS, for the scheme it passes on: docs/deploy.md.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = (getattr(settings, "SECURE_PROXY_SSL_HEADER", None) or ("",))[0]
        if header in request.META and not is_trusted_proxy(request):
            del request.META[header]
        return self.get_response(request)
