"""Personas, set up once per test: an admin, a coordinator for Battambang (KH-2)
and Kampong Thom (KH-6), two caseworkers each with their own case, and a case
in Phnom Penh (KH-12), outside the coordinator's provinces."""

import pytest
from auditlog.context import disable_auditlog
from django.apps import apps as django_apps
from django.db import connection
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.plugin import blocking_manager_key

from accounts.models import Role
from audit import triggers
from casework.reference import load as load_reference_data

from . import factories as f


@pytest.fixture
def admin_user(db):
    return f.make_user("admin", role=Role.ADMIN)


@pytest.fixture
def coordinator(db):
    return f.make_user("coordinator", role=Role.COORDINATOR, provinces=["KH-2", "KH-6"])


@pytest.fixture
def caseworker(db):
    return f.make_user("caseworker", role=Role.CASEWORKER, provinces=["KH-2"])


@pytest.fixture
def caseworker2(db):
    return f.make_user("caseworker2", role=Role.CASEWORKER, provinces=["KH-2"])


@pytest.fixture
def own_case(caseworker):
    """Battambang case assigned to `caseworker`, one accused in pre-trial detention."""
    case = f.make_case("KH-2", caseworker=caseworker, reference="BTB-0001")
    accused = f.add_accused(
        case,
        f.make_detainee(
            "Sokha Vannak", name_khmer="សុខា វណ្ណៈ", family_contact="Sister, 012 000 111"
        ),
        custody_status="pretrial_detention",
    )
    f.hold(accused, days_ago=40)
    f.make_hearing(case, days_from_now=5)
    return case


@pytest.fixture
def other_case(caseworker2):
    """Battambang case assigned to `caseworker2`: same province, other caseworker."""
    case = f.make_case("KH-2", caseworker=caseworker2, reference="BTB-0002")
    f.add_accused(case, f.make_detainee("Dara Phirun", name_khmer="ដារា ភិរុណ"))
    f.make_hearing(case, days_from_now=2)
    return case


@pytest.fixture
def far_case(db):
    """Phnom Penh case: outside the coordinator's provinces and both caseworkers'."""
    case = f.make_case("KH-12", reference="PNH-0001")
    f.add_accused(case, f.make_detainee("Chanthy Kosal", name_khmer="ចន្ធី កុសល"))
    f.make_hearing(case, days_from_now=4)
    return case


def _client_for(user) -> Client:
    """Signed in as ``user``, past the second factor (as django_otp.login leaves it)."""
    client = Client()
    client.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="default", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def admin_client_(admin_user):
    return _client_for(admin_user)


@pytest.fixture
def coordinator_client(coordinator):
    return _client_for(coordinator)


@pytest.fixture
def caseworker_client(caseworker):
    return _client_for(caseworker)


@pytest.fixture
def caseworker2_client(caseworker2):
    return _client_for(caseworker2)


def _flushes_database(item) -> bool:
    marker = item.get_closest_marker("django_db")
    names = getattr(item, "fixturenames", ())
    return (
        "transactional_db" in names
        or "live_server" in names
        or bool(marker and marker.kwargs.get("transaction"))
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Let Django empty the database after a transactional test on SQLite.

    SQLite is flushed with DELETE and PostgreSQL with TRUNCATE, which the audit
    log's append-only triggers refuse. Lift the triggers around the flush only,
    and put them back before the next test.
    """
    flushes = _flushes_database(item)
    lift = flushes
    blocker = item.config.stash[blocking_manager_key]
    if lift:
        with blocker.unblock():
            triggers.drop(connection)
    yield
    # After the last test the test database itself is gone: nothing to restore.
    flushes = flushes and nextitem is not None
    if lift and flushes:
        with blocker.unblock():
            triggers.create(connection)
    if flushes:
        # The flush also emptied the reference data the migrations ship.
        with blocker.unblock(), disable_auditlog():
            load_reference_data(django_apps, None)


@pytest.fixture(autouse=True)
def _job_files(settings, tmp_path_factory):
    """Files made by background jobs go to a folder of the test's own."""
    settings.JOB_FILES_DIR = tmp_path_factory.mktemp("job-files")


def run_jobs():
    """What a worker does with the jobs waiting now (``jobs_worker --batch``).

    Inside the test's transaction: the worker's ``close_old_connections`` would
    close the connection that holds it (a real worker's has no transaction open).
    """
    from unittest import mock

    from django.core.management import call_command
    from django_tasks_db.management.commands import db_worker

    with mock.patch.object(db_worker, "close_old_connections", lambda: None):
        call_command("jobs_worker", "--batch", verbosity=0)
