"""When the database goes away: the 503 page, nothing half-saved, and recovery
without a restart.

The PostgreSQL tests kill this test's own server connection with
``pg_terminate_backend`` from a second connection, as a database restart or a
failover would. Django's test client skips what a server does between
requests (``close_old_connections`` on request_started/request_finished, to
keep a test's transaction); ``serve`` below does it, as the WSGI handler
does. tests/test_deploy.py repeats the recovery against a real gunicorn.
"""

import time

import psycopg
import pytest
from django.db import OperationalError, close_old_connections, connection

from casework import selectors, services
from casework.models import Case, Detainee

from . import factories as f

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="kills a PostgreSQL server connection"
)


def serve(client, method, url, data=None):
    """One request, with the connection bookkeeping a server does around it."""
    close_old_connections()
    try:
        return getattr(client, method)(url, data or {})
    finally:
        close_old_connections()


def kill_my_connection():
    """Terminate this process's database session from a second connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):  # wait until the server has let it go
            alive = admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
            if not alive:
                return
            time.sleep(0.02)


@pytest.fixture
def quiet(caseworker_client):
    caseworker_client.raise_request_exception = False
    return caseworker_client


def open_case_post(reference):
    return {
        "case-reference": reference,
        "case-province": f.province("KH-2").pk,
        "case-opened_on": "2026-01-05",
        "person-0-name_latin": "Fictional Person Kosal",
        "person-TOTAL_FORMS": "1",
        "person-INITIAL_FORMS": "0",
        "extra-custody_status": "at_liberty",
        "extra-confirm_new": "on",
    }


# --- Any database: the page, and atomic writes ------------------------------------


def test_a_database_error_in_a_page_gives_the_503_page(quiet, own_case, monkeypatch):
    def gone(user):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(selectors, "case_list_queryset", gone)
    response = quiet.get("/cases/")
    assert response.status_code == 503
    body = response.content.decode()
    assert "briefly unavailable" in body and "Traceback" not in body
    monkeypatch.undo()
    assert quiet.get("/cases/").status_code == 200


def test_a_failure_half_way_through_opening_a_case_saves_nothing(quiet, monkeypatch):
    """case_open writes the case, its charges, the person and the accused row in
    one transaction: a failure after the first row leaves none of them."""
    original = services.accused_add

    def fail_after_the_case_row(**kwargs):
        assert Case.objects.filter(reference="HALF-1").exists()  # written, not committed
        raise OperationalError("connection lost")

    monkeypatch.setattr(services, "accused_add", fail_after_the_case_row)
    people = Detainee.objects.count()
    response = quiet.post("/cases/new/", open_case_post("HALF-1"))
    assert response.status_code == 503
    monkeypatch.setattr(services, "accused_add", original)
    assert not Case.objects.filter(reference="HALF-1").exists()
    assert Detainee.objects.count() == people


def test_the_service_itself_is_atomic(caseworker, monkeypatch):
    monkeypatch.setattr(
        services, "accused_add", lambda **kw: (_ for _ in ()).throw(OperationalError("x"))
    )
    case = Case(reference="HALF-2", province=f.province("KH-2"), opened_on="2026-01-05")
    with pytest.raises(OperationalError):
        services.case_open(actor=caseworker, case=case, new_detainee=Detainee(name_latin="A B"))
    assert not Case.objects.filter(reference="HALF-2").exists()


# --- PostgreSQL: the real thing ---------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_server_connection_killed_mid_request_gives_503_then_recovers(
    caseworker, own_case, monkeypatch
):
    from .conftest import _client_for

    client = _client_for(caseworker)
    client.raise_request_exception = False
    assert serve(client, "get", "/cases/").status_code == 200

    original = selectors.case_list_queryset

    def killed_while_serving(user):
        kill_my_connection()  # the session and user were read; the list is next
        return original(user)

    monkeypatch.setattr(selectors, "case_list_queryset", killed_while_serving)
    response = serve(client, "get", "/cases/")
    assert response.status_code == 503
    assert "briefly unavailable" in response.content.decode()

    monkeypatch.setattr(selectors, "case_list_queryset", original)
    response = serve(client, "get", "/cases/")
    assert response.status_code == 200  # a new connection, no restart
    assert "BTB-0001" in response.content.decode()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_server_connection_killed_between_requests_is_replaced(caseworker, own_case):
    from .conftest import _client_for

    client = _client_for(caseworker)
    assert serve(client, "get", "/").status_code == 200
    kill_my_connection()
    # CONN_HEALTH_CHECKS: the next request finds the connection dead and opens a new one.
    assert serve(client, "get", "/cases/").status_code == 200


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_server_connection_killed_during_a_write_leaves_nothing_half_saved(caseworker, monkeypatch):
    from .conftest import _client_for

    client = _client_for(caseworker)
    client.raise_request_exception = False
    # The page's write goes through services.case_open, which adds each accused with
    # services.accused_add (not Accused.objects.create, since the one door for writes).
    original = services.accused_add
    people = Detainee.objects.count()

    def killed_after_the_case_row(**kwargs):
        kill_my_connection()
        return original(**kwargs)

    monkeypatch.setattr(services, "accused_add", killed_after_the_case_row)
    response = serve(client, "post", "/cases/new/", open_case_post("HALF-3"))
    assert response.status_code == 503
    monkeypatch.setattr(services, "accused_add", original)

    close_old_connections()
    assert not Case.objects.filter(reference="HALF-3").exists()
    assert Detainee.objects.count() == people
    # And the same form sent again now goes through.
    response = serve(client, "post", "/cases/new/", open_case_post("HALF-3"))
    assert response.status_code == 302
    assert Case.objects.get(reference="HALF-3").accused.count() == 1
