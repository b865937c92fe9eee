"""/healthz for monitors: on this machine whatever Host they send; from elsewhere,
and for every other page, ALLOWED_HOSTS as before (config/middleware.py)."""

import pytest

pytestmark = pytest.mark.django_db

UNLISTED = "127.0.0.1:8000"  # what `curl http://127.0.0.1:8000/healthz` sends


@pytest.fixture(autouse=True)
def production_hosts(settings):
    settings.ALLOWED_HOSTS = ["casework.example.org"]


@pytest.mark.parametrize("loopback", ["127.0.0.1", "::1", "127.0.0.53"])
def test_a_monitor_on_this_machine_gets_the_health_check_with_any_host(client, loopback):
    response = client.get("/healthz", HTTP_HOST=UNLISTED, REMOTE_ADDR=loopback)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_from_elsewhere_an_unlisted_host_is_still_refused(client):
    response = client.get("/healthz", HTTP_HOST=UNLISTED, REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 400


def test_a_forwarded_loopback_address_does_not_count(client, settings):
    settings.TRUSTED_PROXIES = ["203.0.113.5"]
    response = client.get(
        "/healthz", HTTP_HOST=UNLISTED, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="127.0.0.1"
    )
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/accounts/login/", "/healthz/", "/admin/", "/"])
def test_other_pages_from_this_machine_still_check_the_host(client, path):
    response = client.get(path, HTTP_HOST=UNLISTED, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 400


def test_the_health_check_answers_503_when_the_database_does_not(client, monkeypatch):
    from django.db import connection

    def broken(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(connection, "cursor", broken)  # SQLite: the app's connection
    # PostgreSQL: the check opens its own connection (config/health.py): to a port
    # where nothing listens.
    from config import health

    params = health._connection_params

    monkeypatch.setattr(health, "_connection_params", lambda: {**params(), "port": 1})
    response = client.get("/healthz", HTTP_HOST=UNLISTED, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 503
