"""Production: the deploy check, and gunicorn serving the app as `make serve` does
(hashed, compressed static files, the headers, the access log without queries),
and, on PostgreSQL, recovering by itself when the server drops its connections."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from .test_settings import BASE_DIR, PROJECT_VARIABLES

GUNICORN = Path(sys.executable).with_name("gunicorn")

# Starting gunicorn on a migrated database with collected, compressed static
# files takes half a minute: CI runs these (CI=true), a developer asks for them.
slow = pytest.mark.skipif(
    not (os.environ.get("CI") or os.environ.get("CASEWORK_SLOW_TESTS")),
    reason="starts gunicorn (~30 s): set CASEWORK_SLOW_TESTS=1 to run; CI always does",
)


def production_env(**extra) -> dict:
    # Not the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE either (tests/browser/conftest.py).
    skip = PROJECT_VARIABLES | {"DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in skip}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="casework.example.org,127.0.0.1",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    env.update(extra)
    return env


def manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_deploy_check_passes_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_fails_when_hsts_is_switched_off():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env(SECURE_HSTS_SECONDS="0")
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, env, log_path):
        self.port = free_port()
        self.log = open(log_path, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(  # noqa: S603
            [str(GUNICORN), "--config", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=BASE_DIR,
            env={**env, "BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": "2"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.log_path = log_path
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                self.get("/healthz")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        self.stop()
        raise AssertionError(Path(log_path).read_text())

    def get(self, path, headers=None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            headers={"Host": "casework.example.org", **(headers or {})},
        )
        opener = urllib.request.build_opener(NoRedirect)
        try:
            response = opener.open(request, timeout=20)  # noqa: S310 (our own server)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()
        return response.status, dict(response.headers), response.read()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory):
    """gunicorn on a fresh SQLite database with collected static files."""
    folder = tmp_path_factory.mktemp("serve")
    env = production_env(
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}", STATIC_ROOT=str(folder / "static")
    )
    for command in (("migrate", "--noinput"), ("collectstatic", "--noinput", "-v", "0")):
        result = manage(*command, env=env)
        assert result.returncode == 0, result.stderr
    server = Server(env, folder / "gunicorn.log")
    yield server
    server.stop()


@slow
def test_gunicorn_serves_the_health_check_over_plain_http(sqlite_server):
    status, _, body = sqlite_server.get("/healthz")
    assert status == 200 and body == b'{"status": "ok"}'


@slow
def test_a_monitor_on_this_machine_needs_no_allowed_host(sqlite_server):
    status, _, body = sqlite_server.get("/healthz", {"Host": "monitor.internal"})
    assert status == 200 and body == b'{"status": "ok"}'
    # Any other page with that Host is refused as before.
    assert sqlite_server.get("/accounts/login/", {"Host": "monitor.internal", **HTTPS})[0] == 400


@slow
def test_plain_http_is_sent_to_https(sqlite_server):
    status, headers, _ = sqlite_server.get("/accounts/login/")
    assert status == 301
    assert headers["Location"] == "https://casework.example.org/accounts/login/"


@slow
def test_pages_over_https_carry_the_headers(sqlite_server):
    status, headers, body = sqlite_server.get("/accounts/login/", HTTPS)
    assert status == 200
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert "no-store" in headers["Cache-Control"]
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("__Host-csrftoken=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert b"Sign in" in body


@slow
def test_static_files_are_hashed_compressed_and_cached_for_ever(sqlite_server):
    _, _, body = sqlite_server.get("/accounts/login/", HTTPS)
    import re

    css = re.search(rb"/static/css/app\.[0-9a-f]{12}\.css", body).group().decode()
    status, headers, _ = sqlite_server.get(css, {**HTTPS, "Accept-Encoding": "br, gzip"})
    assert status == 200
    assert headers["Content-Encoding"] in ("br", "gzip")
    assert "immutable" in headers["Cache-Control"]


@slow
def test_the_access_log_has_the_request_id_and_no_query(sqlite_server):
    status, headers, _ = sqlite_server.get("/accounts/login/?q=Sokha+Vannak", HTTPS)
    time.sleep(0.3)
    log = Path(sqlite_server.log_path).read_text()
    line = next(line for line in log.splitlines() if headers["X-Request-ID"] in line)
    assert '"GET /accounts/login/" 200' in line
    assert "Sokha" not in log


def test_the_default_worker_count_follows_the_cores():
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import runpy, multiprocessing; c = runpy.run_path('config/gunicorn.conf.py');"
            " print(c['workers'] == 2 * multiprocessing.cpu_count() + 1)",
        ],
        cwd=BASE_DIR,
        env={k: v for k, v in os.environ.items() if k != "WEB_CONCURRENCY"},
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "True", result.stderr


# --- PostgreSQL: recovering without a restart ----------------------------------


@slow
@pytest.mark.skipif(connection.vendor != "postgresql", reason="drops PostgreSQL connections")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pool", ["1", "0"], ids=["psycopg-pool", "persistent-connections"])
def test_gunicorn_recovers_when_postgresql_drops_every_connection(tmp_path, pool):
    settings_dict = connection.settings_dict
    url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
        f"/{settings_dict['NAME']}"
    )
    env = production_env(DATABASE_URL=url, DATABASE_POOL=pool, DATABASE_POOL_MIN="1")
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    server = Server(env, tmp_path / "gunicorn.log")
    # /healthz checks on a connection of its own (config/health.py): a signed-in page,
    # asked with a session cookie, reads the session through the app's own connections
    # (and sends the unknown session to sign in: 302).
    page = "/jobs/00000000-0000-0000-0000-000000000000/status.json"
    headers = {
        "X-Forwarded-Proto": "https",
        "Cookie": "__Host-sessionid=no0such0session0key0here0at0all0x",
    }
    try:
        for _ in range(4):  # every worker and thread holds a connection now
            assert server.get("/healthz")[0] == 200
            assert server.get(page, headers)[0] == 302
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchone()[0] >= 1
        time.sleep(0.5)
        answers = [server.get("/healthz")[0] for _ in range(6)]
        answers += [server.get(page, headers)[0] for _ in range(6)]
        assert answers == [200] * 6 + [302] * 6, answers
    finally:
        server.stop()
