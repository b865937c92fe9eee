"""Outages answered quickly and honestly: /healthz within two seconds whatever the
database does, the 503 page (never a 500) for a read-only or unreachable
database, what the user typed kept after a refused POST, and a transaction that
lost a deadlock run again by the server before anyone sees an error.
"""

import datetime as dt
import html
import socket
import threading
import time

import psycopg
import pytest
from django.db import InternalError, OperationalError, connection
from django.test import Client
from django.utils import timezone

from casework import services
from casework.models import Hearing
from config import health

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a PostgreSQL server's behaviour"
)


def hearing_post(case, notes="Judge adjourned; lawyer asked for the file"):
    when = timezone.localtime() - dt.timedelta(hours=2)
    return {
        "kind": "bail",
        "scheduled_at": when.strftime("%Y-%m-%dT%H:%M"),
        "court": case.court_id,
        "status": "held",
        "outcome": notes,
    }


def with_sqlstate(django_error, psycopg_error):
    """A Django database error as Django raises it: wrapping psycopg's, with its SQLSTATE."""
    try:
        raise django_error from psycopg_error
    except type(django_error) as exc:
        return exc


def deadlock():
    return with_sqlstate(
        OperationalError("deadlock detected"), psycopg.errors.DeadlockDetected("deadlock")
    )


@pytest.fixture
def quiet(caseworker_client):
    caseworker_client.raise_request_exception = False
    return caseworker_client


# --- /healthz ------------------------------------------------------------------------


def test_healthz_is_ok_when_the_database_answers(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never says a word: a hung database."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()


@postgres_only
def test_healthz_answers_within_two_seconds_when_the_database_hangs(
    client, db, silent_server, monkeypatch
):
    params = health._connection_params()
    monkeypatch.setattr(
        health, "_connection_params", lambda: {**params, "host": "127.0.0.1", "port": silent_server}
    )
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert elapsed < 2.0, f"/healthz took {elapsed:.2f} s"


@postgres_only
def test_healthz_says_unreachable_when_nothing_listens(client, db, monkeypatch):
    with socket.socket() as probe:  # a port just freed: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    params = health._connection_params()
    monkeypatch.setattr(health, "_connection_params", lambda: {**params, "port": port})
    assert client.get("/healthz").status_code == 503


def test_healthz_does_not_use_the_pool_or_the_request_connection(client, db, monkeypatch):
    """On SQLite the check is the request's own connection; on PostgreSQL it is a
    connection of its own, bounded by CHECK_SECONDS (see config/health.py)."""
    assert health.CHECK_SECONDS <= 1.5
    if connection.vendor == "postgresql":
        params = health._connection_params()
        assert "pool" not in params and params["connect_timeout"] == 2
        assert "statement_timeout" in params["options"]


# --- The 503 page ---------------------------------------------------------------------


def test_a_read_only_database_gives_the_503_page_not_a_500(quiet, own_case, monkeypatch):
    def refused(**kwargs):
        raise with_sqlstate(
            InternalError("cannot execute INSERT in a read-only transaction"),
            psycopg.errors.ReadOnlySqlTransaction("read-only"),
        )

    monkeypatch.setattr(services, "hearing_record", refused)
    response = quiet.post(f"/cases/{own_case.pk}/hearings/new/", hearing_post(own_case))
    assert response.status_code == 503
    body = html.unescape(response.content.decode())
    assert "accepting no changes just now" in body
    assert "could not reach" not in body


def test_a_refused_post_keeps_what_the_user_typed(quiet, own_case, monkeypatch):
    def gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "hearing_record", gone)
    url = f"/cases/{own_case.pk}/hearings/new/"
    typed = hearing_post(own_case, notes="Lawyer denied access to the file; <b>appeal</b>")
    response = quiet.post(url, typed)

    assert response.status_code == 503
    body = response.content.decode()
    assert "could not reach its database" in body
    assert "was not saved, and nothing was half-saved" in body
    assert f'action="{url}"' in body
    # Kept, escaped, in a form that sends it again to the same page with a new token.
    assert "Lawyer denied access to the file; &lt;b&gt;appeal&lt;/b&gt;" in body
    assert 'name="csrfmiddlewaretoken"' in body
    form = response.content.decode().split('id="kept-form"')[1]
    for name in typed:
        assert f'name="{name}"' in form
    assert not Hearing.objects.filter(outcome__startswith="Lawyer denied").exists()

    monkeypatch.undo()  # the database is back: sending it again saves it
    assert quiet.post(url, typed).status_code == 302
    assert Hearing.objects.filter(outcome__startswith="Lawyer denied").count() == 1


def test_a_refused_sign_in_never_shows_the_password_again(db, monkeypatch):
    from accounts import backends

    def gone(*args, **kwargs):
        raise OperationalError("the database is gone")

    monkeypatch.setattr(backends.LockoutBackend, "authenticate", gone)
    client = Client(raise_request_exception=False)
    response = client.post(
        "/accounts/login/", {"username": "caseworker", "password": "s3cret-Passw0rd"}
    )
    assert response.status_code == 503
    body = response.content.decode()
    assert "caseworker" in body
    assert "s3cret-Passw0rd" not in body


def test_a_page_refused_on_a_get_says_to_try_again(quiet, own_case, monkeypatch):
    from casework import selectors

    def gone(user):
        raise OperationalError("no connection to the server")

    monkeypatch.setattr(selectors, "case_list_queryset", gone)
    response = quiet.get("/cases/")
    assert response.status_code == 503
    body = response.content.decode()
    assert "Try again in a minute." in body and "kept-form" not in body


# --- Deadlocks and serialisation failures are retried ------------------------------------


def test_a_save_that_lost_a_deadlock_is_run_again(quiet, own_case, monkeypatch):
    original = services.hearing_record
    calls = []

    def deadlocked_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise deadlock()
        return original(**kwargs)

    monkeypatch.setattr(services, "hearing_record", deadlocked_once)
    response = quiet.post(f"/cases/{own_case.pk}/hearings/new/", hearing_post(own_case))
    assert response.status_code == 302
    assert len(calls) == 2
    assert Hearing.objects.filter(outcome__startswith="Judge adjourned").count() == 1


def test_a_serialisation_failure_is_retried_too(quiet, own_case, monkeypatch):
    original = services.hearing_record
    calls = []

    def failed_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise with_sqlstate(
                OperationalError("could not serialize access"),
                psycopg.errors.SerializationFailure("serialization"),
            )
        return original(**kwargs)

    monkeypatch.setattr(services, "hearing_record", failed_once)
    assert (
        quiet.post(f"/cases/{own_case.pk}/hearings/new/", hearing_post(own_case)).status_code == 302
    )
    assert len(calls) == 2


def test_retries_are_bounded_then_the_503_page_keeps_the_input(
    quiet, own_case, monkeypatch, settings
):
    settings.DATABASE_RETRY_ATTEMPTS = 3
    calls = []

    def always_deadlocked(**kwargs):
        calls.append(1)
        raise deadlock()

    monkeypatch.setattr(services, "hearing_record", always_deadlocked)
    response = quiet.post(f"/cases/{own_case.pk}/hearings/new/", hearing_post(own_case))
    assert len(calls) == 3
    assert response.status_code == 503
    body = response.content.decode()
    assert "too busy to finish this just now" in body
    assert "Judge adjourned; lawyer asked for the file" in body


def test_other_database_errors_are_not_retried(quiet, own_case, monkeypatch):
    calls = []

    def gone(**kwargs):
        calls.append(1)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "hearing_record", gone)
    assert (
        quiet.post(f"/cases/{own_case.pk}/hearings/new/", hearing_post(own_case)).status_code == 503
    )
    assert len(calls) == 1


# --- The real thing, on PostgreSQL ----------------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_read_only_server_gives_503_for_pages_saves_and_sign_in(caseworker, own_case):
    """A standby, or ``default_transaction_read_only``: reads work, writes are refused
    with SQLSTATE 25006. The case page (it records the view), a hearing save and a
    sign-in all give the 503 page, not a 500."""
    from .conftest import _client_for

    client = _client_for(caseworker)
    client.raise_request_exception = False
    with connection.cursor() as cursor:
        cursor.execute("SET default_transaction_read_only = on")
    try:
        page = client.get(f"/cases/{own_case.pk}/")
        save = client.post(f"/cases/{own_case.pk}/hearings/new/", hearing_post(own_case))
        sign_in = Client(raise_request_exception=False).post(
            "/accounts/login/",
            {"username": "caseworker", "password": "wrong-password-here"},
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET default_transaction_read_only")
    for response in (page, save, sign_in):
        assert response.status_code == 503, response.status_code
        assert "accepting no changes just now" in html.unescape(response.content.decode())
    assert not Hearing.objects.filter(outcome__startswith="Judge adjourned").exists()
