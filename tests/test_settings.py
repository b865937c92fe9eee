"""Settings come from the environment, and production refuses to start half-configured.

settings.py treats ``"pytest" in sys.modules`` (or CASEWORK_TESTING) as test
mode, which supplies a throwaway SECRET_KEY. The production checks therefore run
in a fresh interpreter, where pytest is not imported.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent
SETUP = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()"

# Every variable settings.py reads: each subprocess starts from none of them, so a
# developer's own environment cannot change what these tests see.
PROJECT_VARIABLES = set(
    re.findall(r'env_\w+\("([A-Z_]+)"', (BASE_DIR / "config" / "settings.py").read_text())
) | {"DJANGO_SETTINGS_MODULE"}


def run_django(code: str = "", **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in PROJECT_VARIABLES}
    environ.update(env)
    return subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "-c", SETUP + ("; " + code if code else "")],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_secret_key():
    result = run_django(DEBUG="0")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_an_empty_secret_key():
    result = run_django(DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_starts_with_a_secret_key():
    key = "a-long-random-production-key-for-this-test-only-0123456789"
    result = run_django(
        "from django.conf import settings; print(settings.SECRET_KEY == os.environ['SECRET_KEY'],"
        " settings.DEBUG, settings.SESSION_COOKIE_SECURE)",
        DEBUG="0",
        SECRET_KEY=key,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "True"]


def test_debug_mode_starts_without_a_secret_key():
    result = run_django(DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_the_subprocess_is_not_in_test_mode():
    result = run_django(
        "import sys; from django.conf import settings;"
        " print('pytest' in sys.modules, settings.PASSWORD_HASHERS[0])",
        DEBUG="0",
        SECRET_KEY="x" * 50,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "django.contrib.auth.hashers.Argon2PasswordHasher"]


def test_time_zone_defaults_to_phnom_penh():
    result = run_django("from django.conf import settings; print(settings.TIME_ZONE)", DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Asia/Phnom_Penh"


def test_languages_are_english_and_khmer():
    codes = [code for code, _ in settings.LANGUAGES]
    assert "en" in codes
    assert "km" in codes
    assert settings.USE_I18N and settings.USE_TZ


def _database(**env) -> list[str]:
    result = run_django(
        "from django.conf import settings; db = settings.DATABASES['default'];"
        " print(db['ENGINE']); print(db['NAME'])",
        DEBUG="1",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_database_url_selects_postgresql():
    engine, name = _database(DATABASE_URL="postgres://casework:secret@db.example:5432/casework")
    assert engine == "django.db.backends.postgresql"
    assert name == "casework"


def test_database_defaults_to_sqlite_in_the_project_folder():
    engine, name = _database()
    assert engine == "django.db.backends.sqlite3"
    assert Path(name) == BASE_DIR / "db.sqlite3"


@pytest.mark.parametrize("variable", ["CONN_MAX_AGE", "DETENTION_WARNING_DAYS"])
def test_a_number_that_is_not_a_number_is_refused(variable):
    result = run_django(
        DEBUG="1",
        DATABASE_URL="postgres://casework@db.example:5432/casework",
        **{variable: "soon"},
    )
    assert result.returncode != 0
    assert f"{variable} must be a whole number" in result.stderr


def test_the_subprocesses_clear_the_variables_that_matter():
    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "TIME_ZONE", "CASEWORK_TESTING"} <= (
        PROJECT_VARIABLES
    )


@pytest.mark.django_db
def test_postgresql_sessions_start_parallel_workers_only_for_big_queries():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner setting; CI runs the suite on PostgreSQL too")
    with connection.cursor() as cursor:
        cursor.execute("SHOW parallel_setup_cost")
        assert float(cursor.fetchone()[0]) == 100000


@pytest.mark.django_db
def test_report_figures_allow_parallel_workers_for_themselves_only(admin_user):
    from django.db import connection

    from reports.figures import Period, cached_figures, default_period

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner setting; CI runs the suite on PostgreSQL too")

    def setup_cost():
        with connection.cursor() as cursor:
            cursor.execute("SHOW parallel_setup_cost")
            return float(cursor.fetchone()[0])

    seen = []
    import reports.figures as figures

    real = figures.Report.all
    figures.Report.all = lambda self: seen.append(setup_cost()) or real(self)
    try:
        cached_figures(admin_user, Period(*default_period()))
    finally:
        figures.Report.all = real
    assert seen == [1000]
    assert setup_cost() == 100000


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {
        k: v for k, v in os.environ.items() if k not in PROJECT_VARIABLES | {"PYTEST_CURRENT_TEST"}
    }
    environ.update(env)
    return subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environ,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_migration_check_runs_in_a_bare_checkout():
    result = _manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


# Variables that have nothing to do with the project, and hash seeds: the system
# checks run in an order that follows the interpreter's memory layout, and the
# answer must not (it once ended in AppRegistryNotReady with FOO=1 set).
UNRELATED = [{}, {"FOO": "1"}, {"FOO": "12", "BAR": "x" * 40}, {"PYTHONHASHSEED": "2"}]


@pytest.mark.parametrize("debug", [{}, {"DEBUG": "0"}], ids=["debug-unset", "debug-0"])
@pytest.mark.parametrize("command", [("migrate", "--plan"), ("createsuperuser", "--noinput")])
def test_commands_that_serve_or_write_still_need_a_secret_key(command, debug):
    for unrelated in UNRELATED:
        result = _manage(*command, **debug, **unrelated)
        assert result.returncode != 0, unrelated
        assert "SECRET_KEY is not set" in result.stderr, (unrelated, result.stderr[-300:])
        assert "AppRegistryNotReady" not in result.stderr, unrelated


@pytest.mark.parametrize("debug", [{}, {"DEBUG": "0"}], ids=["debug-unset", "debug-0"])
def test_code_only_commands_need_no_secret_key(debug):
    for unrelated in UNRELATED[:3]:
        result = _manage("makemigrations", "--check", "--dry-run", **debug, **unrelated)
        assert result.returncode == 0, (unrelated, result.stderr[-300:])
        assert "No changes detected" in result.stdout


def test_verify_audit_checks_a_given_database_without_the_secret_key(tmp_path):
    database = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    migrated = _manage("migrate", "--noinput", "-v", "0", DEBUG="1", DATABASE_URL=database)
    assert migrated.returncode == 0, migrated.stderr
    result = _manage("verify_audit", DATABASE_URL=database, DEBUG="0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Audit log intact")


def test_the_keyless_commands_are_the_ones_that_sign_nothing():
    assert settings.KEYLESS_COMMANDS == {
        "makemigrations", "showmigrations", "sqlmigrate", "makemessages", "compilemessages",
        "collectstatic", "verify_audit",
    }  # fmt: skip


def test_a_developers_exported_settings_do_not_change_what_the_tests_see():
    """In the test runner's process only DATABASE_URL is read from the environment; a
    process without pytest (a worker, the server) reads the rest as production does."""
    probe = (
        "; from django.conf import settings; "
        "print(settings.TIME_ZONE, settings.EXPORT_JOB_ROWS, settings.DETENTION_WARNING_DAYS, "
        "settings.DATABASES['default']['NAME'])"
    )
    exported = {
        "DEBUG": "1",
        "TIME_ZONE": "UTC",
        "EXPORT_JOB_ROWS": "5",
        "DETENTION_WARNING_DAYS": "3",
        "DATABASE_URL": "postgres://casework@db.example:5432/chosen",
    }
    environ = {k: v for k, v in os.environ.items() if k not in PROJECT_VARIABLES}
    under_pytest = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "-c", "import pytest; " + SETUP + probe],
        cwd=BASE_DIR,
        env={**environ, **exported},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert under_pytest.returncode == 0, under_pytest.stderr
    assert under_pytest.stdout.split() == ["Asia/Phnom_Penh", "20000", "14", "chosen"]
    elsewhere = run_django(probe.lstrip("; "), **exported)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert elsewhere.stdout.split() == ["UTC", "5", "3", "chosen"]
