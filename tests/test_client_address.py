"""Whose address is it? X-Forwarded-For is believed only from TRUSTED_PROXIES, and the
sign-in lockout and the audit log see the same address (config/proxies.py)."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from audit.models import AuditEntry, AuditEvent
from config.proxies import client_address

from .test_security_accounts import PASSWORD
from .test_settings import run_django

CLIENT = "203.0.113.20"
PROXY = "127.0.0.1"


def address(settings, trusted, remote, forwarded=None):
    settings.TRUSTED_PROXIES = trusted
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_address(RequestFactory().get("/", REMOTE_ADDR=remote, **headers))


@pytest.mark.parametrize(
    "trusted, remote, forwarded, expected",
    [
        ([], CLIENT, None, CLIENT),
        ([], CLIENT, "198.51.100.1", CLIENT),  # nobody is trusted by default
        ([], PROXY, "198.51.100.1", PROXY),  # not even the loopback
        ([PROXY], "192.0.2.9", "198.51.100.1", "192.0.2.9"),  # not our proxy
        ([PROXY], PROXY, CLIENT, CLIENT),  # nginx overwrites ($remote_addr)
        ([PROXY], PROXY, f"198.51.100.1, {CLIENT}", CLIENT),  # nginx appends
        ([PROXY], PROXY, f"198.51.100.1,{CLIENT}", CLIENT),
        ([PROXY], PROXY, f"not-an-address, {CLIENT}", CLIENT),
        ([PROXY], PROXY, "not-an-address", PROXY),
        ([PROXY], PROXY, "", PROXY),
        (["10.0.0.0/8"], "10.0.0.2", f"198.51.100.1, {CLIENT}, 10.0.0.9", CLIENT),
        (["10.0.0.0/8"], "10.0.0.2", "10.0.0.5, 10.0.0.9", "10.0.0.5"),  # all proxies
        (["::1"], "::1", "2001:db8::7", "2001:db8::7"),
        ([PROXY], PROXY, "[2001:db8::7]:443", "2001:db8::7"),
        ([PROXY], PROXY, "192.0.2.1:443", "192.0.2.1"),
        ([PROXY], "", CLIENT, None),
    ],
)
def test_the_client_address(settings, trusted, remote, forwarded, expected):
    assert address(settings, trusted, remote, forwarded) == expected


def test_an_address_is_written_the_same_way_whatever_its_spelling(settings):
    assert address(settings, [PROXY], PROXY, "2001:0db8:0000::0007") == "2001:db8::7"


def test_a_proxy_setting_that_is_not_an_address_is_refused():
    result = run_django(DEBUG="1", TRUSTED_PROXIES="127.0.0.1,nginx")
    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr


def test_the_proxy_setting_is_read_from_the_environment():
    result = run_django(
        "from django.conf import settings; print(settings.TRUSTED_PROXIES)",
        DEBUG="1",
        TRUSTED_PROXIES="127.0.0.1, ::1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['127.0.0.1', '::1']"


def test_no_proxy_is_trusted_by_default():
    result = run_django(
        "from django.conf import settings; print(settings.TRUSTED_PROXIES)", DEBUG="1"
    )
    assert result.stdout.strip() == "[]", result.stderr


# --- The lockout and the audit log -------------------------------------------------


def _guess(client, n, remote, forwarded, password=None):
    return client.post(
        reverse("login"),
        {"username": "caseworker", "password": password or f"wrong-guess-{n}-xyz"},
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "trusted, remote, forged",
    [
        ([], CLIENT, "198.51.100.{n}"),  # reaching gunicorn directly
        ([PROXY], PROXY, "198.51.100.{n}, " + CLIENT),  # behind a proxy that appends
    ],
    ids=["direct", "appending-proxy"],
)
def test_made_up_forwarded_addresses_do_not_escape_the_lockout(
    client, caseworker, settings, trusted, remote, forged
):
    settings.TRUSTED_PROXIES = trusted
    answers = [_guess(client, n, remote, forged.format(n=n)).status_code for n in range(1, 13)]
    assert answers[:4] == [200] * 4
    assert set(answers[4:]) == {429}, answers
    right = _guess(client, 99, remote, forged.format(n=99), password=PASSWORD)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    recorded = set(
        AuditEntry.objects.filter(event=AuditEvent.LOGIN_FAILED).values_list(
            "remote_addr", flat=True
        )
    )
    assert recorded == {CLIENT}


@pytest.mark.django_db
def test_the_lockout_and_the_log_see_the_client_behind_the_trusted_proxy(
    client, caseworker, settings
):
    settings.TRUSTED_PROXIES = [PROXY]
    for n in range(5):
        _guess(client, n, PROXY, f"198.51.100.{n}, {CLIENT}")
    # The same username from another address behind the proxy is not locked out.
    other = _guess(client, 0, PROXY, "192.0.2.44", password=PASSWORD)
    assert other.status_code == 302
    entry = AuditEntry.objects.filter(event=AuditEvent.LOGIN).get()
    assert entry.remote_addr == "192.0.2.44"


# --- X-Forwarded-Proto: HTTPS only when a trusted proxy says so ----------------------


def _is_secure(settings, trusted, remote, proto="https"):
    from config.middleware import ForwardedProtoFromTrustedProxyMiddleware

    settings.TRUSTED_PROXIES = trusted
    seen = {}

    def view(request):
        seen["secure"] = request.is_secure()
        seen["scheme"] = request.scheme

    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_PROTO=proto)
    ForwardedProtoFromTrustedProxyMiddleware(view)(request)
    return seen["secure"], seen["scheme"]


@pytest.mark.parametrize(
    "trusted, remote, secure",
    [
        ([], CLIENT, False),  # nobody is trusted by default
        ([], PROXY, False),  # not even the loopback
        ([PROXY], CLIENT, False),  # someone reaching gunicorn around the proxy
        ([PROXY], PROXY, True),  # nginx on this machine
        (["10.0.0.0/8"], "10.0.0.2", True),
        (["::1"], "::ffff:127.0.0.1", False),
        (["127.0.0.1"], "::ffff:127.0.0.1", True),  # the same address, mapped
        ([PROXY], "", False),
    ],
)
def test_forwarded_proto_counts_only_from_a_trusted_proxy(settings, trusted, remote, secure):
    assert _is_secure(settings, trusted, remote) == (secure, "https" if secure else "http")


def test_a_trusted_proxy_saying_http_is_not_https(settings):
    assert _is_secure(settings, [PROXY], PROXY, proto="http") == (False, "http")


def test_the_header_is_dropped_before_the_security_middleware():
    from django.conf import settings

    order = settings.MIDDLEWARE
    ours = order.index("config.middleware.ForwardedProtoFromTrustedProxyMiddleware")
    assert ours < order.index("django.middleware.security.SecurityMiddleware")
    assert settings.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "remote, redirected", [(CLIENT, True), ("::1", True), (PROXY, False)], ids=str
)
def test_the_https_redirect_is_not_escaped_by_claiming_https(client, settings, remote, redirected):
    settings.SECURE_SSL_REDIRECT = True
    settings.TRUSTED_PROXIES = [PROXY]
    response = client.get(reverse("login"), REMOTE_ADDR=remote, HTTP_X_FORWARDED_PROTO="https")
    if redirected:
        assert response.status_code == 301
        assert response["Location"].startswith("https://")
    else:
        assert response.status_code == 200
