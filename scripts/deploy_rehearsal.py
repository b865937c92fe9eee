"""Deploy rehearsal: docs/deploy.md and docs/backup.md followed step by step.

Runs the command blocks of the two pages that are marked ``<!-- rehearsal:NAME -->``,
in the order a newcomer meets them, against a scratch PostgreSQL: the roles SQL,
the two environment files, ``make build``, the migration as the owner, the audit
table's rights, ``make serve`` as the app's role (as the systemd unit starts it),
the health check, the first admin, who then signs in over HTTP (as through the
proxy) and sets up and uses a TOTP code; then the nightly backup exactly as the
cron line of backup.md runs it (cron's bare environment), a check that the dump
was kept, and "Restoring for real" into a new database, verified against the
head hash the backup's log kept. The pages are the script: text is only adapted
where a server differs from this machine (paths, names, passwords, the port).

    scripts/deploy_rehearsal.sh       (make deploy-rehearsal; CI runs it)

Environment: PG_ADMIN_URL, a superuser's connection (stands for ``sudo -u
postgres``; default postgres://postgres@127.0.0.1:5432/postgres, or CI_POSTGRES_URL's
server); REHEARSAL_OWNER_ROLE, REHEARSAL_APP_ROLE, REHEARSAL_DB (default the
documented casework_owner, casework_app, casework). They must not exist yet: the
rehearsal creates them and drops them afterwards, whatever happened.
"""

import base64
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY, BACKUP = ROOT / "docs" / "deploy.md", ROOT / "docs" / "backup.md"
HOST = "casework.example.org"  # the documented ALLOWED_HOSTS
VISITOR = "198.51.100.23"  # the address nginx sees
FORGED = "203.0.113.66"  # what the visitor wrote into X-Forwarded-For
# Settings the rehearsal must not inherit from whoever runs it (it reads .env only).
PROJECT = re.compile(r"^(DATABASE_|SECRET_KEY|DEBUG|ALLOWED_HOSTS|TRUSTED_PROXIES|STATIC_ROOT|"
                     r"CASEWORK_|DJANGO_|PG[A-Z]+$|OWNER_DATABASE_URL|CONN_MAX_AGE|BIND$|"
                     r"WEB_CONCURRENCY)")  # fmt: skip


class Failed(Exception):
    pass


def step(title: str):
    print(f"\n== {title}", flush=True)
    return time.perf_counter()


def done(started: float, note: str = ""):
    print(f"   ok in {time.perf_counter() - started:.1f}s{'  ' + note if note else ''}", flush=True)


# --- The pages' blocks -----------------------------------------------------------


def block(page: Path, name: str) -> str:
    """The fenced block after ``<!-- rehearsal:name -->``."""
    text = page.read_text()
    marker = f"<!-- rehearsal:{name} -->"
    if marker not in text:
        raise Failed(f"{page.name} has no block marked {marker}")
    after = text.split(marker, 1)[1].lstrip("\n")
    if not after.startswith("```"):
        raise Failed(f"{page.name}: {marker} is not followed by a code block")
    body = after.split("\n", 1)[1]
    return body.split("\n```", 1)[0] + "\n"


class Server:
    """This machine as the pages' server: names, paths and passwords."""

    def __init__(self, admin_url: str, work: Path):
        url = urllib.parse.urlsplit(admin_url)
        self.pg_host, self.pg_port = url.hostname or "127.0.0.1", url.port or 5432
        self.pg_user = urllib.parse.unquote(url.username or "postgres")
        self.pg_password = urllib.parse.unquote(url.password or "")
        self.owner = os.environ.get("REHEARSAL_OWNER_ROLE", "casework_owner")
        self.app = os.environ.get("REHEARSAL_APP_ROLE", "casework_app")
        self.db = os.environ.get("REHEARSAL_DB", "casework")
        self.restored_db = f"{self.db}_restored"
        self.owner_password = secrets.token_urlsafe(24)
        self.app_password = secrets.token_urlsafe(24)
        self.secret_key = secrets.token_urlsafe(50)
        self.work = work
        self.port = free_port()
        self.dump = work / "backups" / f"casework-{dt.date.today():%Y-%m-%d}.dump"

    def superuser(self) -> str:
        """``sudo -u postgres`` on the database server, here."""
        env = f"PGHOST={self.pg_host} PGPORT={self.pg_port} PGUSER={self.pg_user}"
        env += " PGDATABASE=postgres"
        if self.pg_password:
            env += f" PGPASSWORD={self.pg_password}"
        return f"env {env} "

    def url(self, role: str, password: str, db: str) -> str:
        return f"postgres://{role}:{password}@{self.pg_host}:{self.pg_port}/{db}"

    def adapt(self, text: str, *, db: str | None = None) -> str:
        db = db or self.db
        replacements = [
            ("sudo -u postgres ", self.superuser()),
            ("casework_owner", "\0OWNER\0"),
            ("casework_app", "\0APP\0"),
            ("127.0.0.1:5432/casework\n", f"{self.pg_host}:{self.pg_port}/{db}\n"),
            ("DATABASE casework", f"DATABASE {db}"),
            ("\\connect casework", f"\\connect {db}"),
            ("\0OWNER\0 casework\n", f"\0OWNER\0 {db}\n"),  # createdb --owner ... casework
            ("/srv/casework/staticfiles", str(self.work / "staticfiles")),
            ("./.env.owner", str(self.work / ".env.owner")),
            ("./.env", str(self.work / ".env")),
            ("/var/backups/casework", str(self.work / "backups")),
            ("/var/log/casework-backup.log", str(self.work / "backup.log")),
            ("/srv/casework", str(ROOT)),
            ("-o casework -g casework ", ""),  # no such user here; we are the user
            ("OWNER_PASSWORD", self.owner_password),
            ("APP_PASSWORD", self.app_password),
            ("SECRET_KEY_VALUE", self.secret_key),
            ("http://127.0.0.1:8000/", f"http://127.0.0.1:{self.port}/"),
            ("\0OWNER\0", self.owner),
            ("\0APP\0", self.app),
        ]
        for old, new in replacements:
            text = text.replace(old, new)
        return text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env() -> dict:
    """A login shell's environment: nothing of the project's."""
    return {k: v for k, v in os.environ.items() if not PROJECT.match(k)}


def sh(script: str, *, env=None, shell="bash", check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603 (the pages' own commands)
        [shell, "-e", "-c", script], cwd=ROOT, env=env or base_env(),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if check and result.returncode != 0:
        raise Failed(f"exit {result.returncode}:\n{script}\n--- stdout\n{result.stdout}"
                     f"\n--- stderr\n{result.stderr}")  # fmt: skip
    return result


def psql(url: str, sql: str, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],  # noqa: S607
        capture_output=True, text=True, env=base_env(), timeout=120,
    )  # fmt: skip
    if check and result.returncode != 0:
        raise Failed(f"psql {sql!r}: {result.stderr}")
    return result


def read_env_file(path: Path) -> dict:
    """As systemd's EnvironmentFile reads it: KEY=VALUE lines, # comments."""
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


# --- HTTP, as through the TLS proxy ------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A browser behind nginx: HTTPS as far as the app knows, the visitor's address
    appended to what it claimed (``$proxy_add_x_forwarded_for``), cookies by hand
    (they are ``Secure``; the proxy would have carried them over HTTPS)."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(NoRedirect)

    def request(self, path, data=None):
        headers = {
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": f"{FORGED}, {VISITOR}",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        body = None
        if data is not None:
            data = {"csrfmiddlewaretoken": self.csrf, **data}
            body = urllib.parse.urlencode(data).encode()
            headers |= {"Origin": f"https://{HOST}", "Referer": f"https://{HOST}{path}",
                        "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        req = urllib.request.Request(self.base + path, data=body, headers=headers)  # noqa: S310
        try:
            response = self.opener.open(req, timeout=60)  # noqa: S310 (our own server)
        except urllib.error.HTTPError as error:
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        page = response.read().decode("utf-8", "replace")
        if token := re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page):
            self.csrf = token.group(1)
        return response.status, response.headers.get("Location", ""), page

    def expect(self, path, data=None, *, status, location=None):
        got, where, page = self.request(path, data)
        if got != status or (location is not None and where != location):
            raise Failed(f"{path}: expected {status} {location or ''}, got {got} {where}\n"
                         f"{page[:2000]}")  # fmt: skip
        return page


def totp(secret_b32: str, at: float) -> str:
    """RFC 6238, as the authenticator app computes it (30 s steps, 6 digits, SHA-1)."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def sign_in_with_totp(port: int, username: str, password: str):
    browser = Browser(port)
    browser.expect("/accounts/login/", status=200)
    credentials = {"username": username, "password": password}
    browser.expect("/accounts/login/", credentials, status=302, location="/")
    setup = "/accounts/two-factor/setup/"
    browser.expect("/", status=302, location=setup)  # admins must set up a second factor
    browser.expect(setup, status=200)
    page = browser.expect(setup, {"setup_view-current_step": "welcome"}, status=200)
    secret = re.search(r'<code class="user-select-all">([A-Z2-7]+)</code>', page)
    if not secret:
        raise Failed("the set-up page shows no key to type into the app")
    now = time.time()
    browser.expect(setup, {"setup_view-current_step": "generator",
                           "generator-token": totp(secret.group(1), now)}, status=302)  # fmt: skip
    browser.expect("/accounts/logout/", {}, status=302)
    # Signing in again: password, then the app's next code (a code works once).
    again = Browser(port)
    again.expect("/accounts/login/", status=200)
    again.expect("/accounts/login/", credentials, status=302, location="/accounts/login/code/")
    again.expect("/accounts/login/code/", status=200)
    again.expect("/accounts/login/code/", {"otp_token": totp(secret.group(1), now + 30)},
                 status=302, location="/")  # fmt: skip
    page = again.expect("/admin/", status=200)
    if "Casework administration" not in page:
        raise Failed("signed in, but /admin/ is not the admin's index")


# --- The rehearsal ------------------------------------------------------------------


def rehearse(server: Server, admin_url: str) -> None:
    started = step("preflight: tools, and no database or role of these names yet")
    for tool in ("psql", "pg_dump", "pg_restore", "make", "curl"):
        if not shutil.which(tool):
            raise Failed(f"{tool} is missing")
    names = (server.owner, server.app)
    databases = (server.db, server.restored_db)
    sql = (f"SELECT rolname FROM pg_roles WHERE rolname IN {names!r} UNION ALL"
           f" SELECT datname FROM pg_database WHERE datname IN {databases!r}")  # fmt: skip
    taken = psql(admin_url, sql).stdout.split()
    if taken:
        raise Failed(f"already on the server: {', '.join(taken)} (a rehearsal makes its own; "
                     "set REHEARSAL_OWNER_ROLE, REHEARSAL_APP_ROLE, REHEARSAL_DB)")  # fmt: skip
    done(started)

    started = step("deploy.md 2: the database and its two roles (as the superuser)")
    sh(server.adapt(block(DEPLOY, "roles")))
    done(started)

    started = step("deploy.md 3: the environment files")
    (server.work / ".env").write_text(server.adapt(block(DEPLOY, "env")))
    (server.work / ".env.owner").write_text(server.adapt(block(DEPLOY, "env-owner")))
    for name in (".env", ".env.owner"):
        (server.work / name).chmod(0o600)
    app_env = read_env_file(server.work / ".env")
    owner_url = read_env_file(server.work / ".env.owner")["OWNER_DATABASE_URL"]
    done(started)

    started = step("deploy.md 4: make build (virtualenv, static files)")
    sh(server.adapt(block(DEPLOY, "build")))
    if not (server.work / "staticfiles" / "staticfiles.json").exists():
        raise Failed("make build collected no static files into STATIC_ROOT")
    done(started)

    started = step("deploy.md 4: migrate as the owner")
    sh(server.adapt(block(DEPLOY, "migrate")))
    done(started)

    started = step("deploy.md 4: the app's rights on the audit table")
    sh(server.adapt(block(DEPLOY, "audit-rights")))
    app_url = app_env["DATABASE_URL"]
    for sql in ("UPDATE audit_auditentry SET object_repr = 'x'", "DELETE FROM audit_auditentry",
                "TRUNCATE audit_auditentry", "CREATE TABLE rehearsal_intruder (id int)",
                "DROP TRIGGER audit_no_update ON audit_auditentry"):  # fmt: skip
        if psql(app_url, sql, check=False).returncode == 0:
            raise Failed(f"the app's role may run: {sql}")
    psql(app_url, "SELECT count(*) FROM casework_case")
    done(started, "the app's role reads, and may not change, empty or drop the audit log")

    started = step("deploy.md 4: make serve as the app's role, as the systemd unit starts it")
    env = {**base_env(), **app_env, "BIND": f"127.0.0.1:{server.port}", "WEB_CONCURRENCY": "2"}
    log = open(server.work / "serve.log", "w")  # noqa: SIM115 (closed in stop)
    process = subprocess.Popen(  # noqa: S603
        ["make", "serve"],  # noqa: S607 (the unit's ExecStart=/usr/bin/make serve)
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server.process, server.log = process, log
    healthz = server.adapt(block(DEPLOY, "healthz"))
    deadline = time.time() + 120
    while True:
        result = sh(healthz, check=False)
        if result.returncode == 0:
            break
        if process.poll() is not None or time.time() > deadline:
            raise Failed("make serve did not answer /healthz:\n"
                         + (server.work / "serve.log").read_text()[-3000:])  # fmt: skip
        time.sleep(0.25)
    if result.stdout.strip() != '{"status": "ok"}':
        raise Failed(f"/healthz answered {result.stdout!r}")
    serve_log = (server.work / "serve.log").read_text()
    if "collectstatic" in serve_log or "Applying " in serve_log:
        raise Failed("make serve collected static files or migrated at start")
    done(started, f"/healthz answered the loopback monitor (Host 127.0.0.1:{server.port})")

    started = step("deploy.md 6: the first admin, who signs in and sets up a TOTP app")
    password = secrets.token_urlsafe(18)
    admin = server.adapt(block(DEPLOY, "admin")).replace(
        "manage.py createsuperuser",
        "manage.py createsuperuser --noinput --username rehearsal-admin"
        " --email admin@casework.example.org",
    )
    sh(admin, env={**base_env(), "DJANGO_SUPERUSER_PASSWORD": password})
    sign_in_with_totp(server.port, "rehearsal-admin", password)
    addresses = psql(owner_url, "SELECT DISTINCT host(remote_addr) FROM audit_auditentry "
                     "WHERE event IN ('login', 'logout')").stdout.split()  # fmt: skip
    if addresses != [VISITOR]:
        raise Failed(f"the audit log recorded {addresses}, not the visitor's {VISITOR}")
    done(started, f"signed in with a TOTP code; the log has {VISITOR}, not the forged {FORGED}")

    started = step("backup.md: the nightly backup, as cron runs its line")
    sh(server.adapt(block(BACKUP, "backup-setup")))
    cron = [
        line for line in block(BACKUP, "cron").splitlines() if line and not line.startswith("#")
    ]
    if len(cron) != 1:
        raise Failed(f"backup.md's cron block holds {len(cron)} lines, not one entry")
    fields = cron[0].split(None, 6)  # minute hour day month weekday user command
    command = server.adapt(fields[6]).replace("\\%", "%")  # cron's own unescaping
    cron_env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/"), "SHELL": "/bin/sh"}
    result = subprocess.run(  # noqa: S603
        ["/bin/sh", "-c", command], cwd="/", env=cron_env, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    backup_log = (server.work / "backup.log").read_text()
    if result.returncode != 0 or "RESTORE DRILL PASSED" not in backup_log:
        raise Failed(f"the nightly backup failed (exit {result.returncode}):\n{backup_log}"
                     f"\n{result.stderr}")  # fmt: skip
    if not server.dump.is_file() or server.dump.stat().st_size == 0:
        raise Failed(f"no dump was kept at {server.dump}")
    heads = re.findall(r"^head ([0-9a-f]{64})$", backup_log, re.MULTILINE)
    if not heads:
        raise Failed("the backup's log keeps no head hash")
    done(started, f"kept {server.dump.name} ({server.dump.stat().st_size // 1024} kB),"
                  f" head {heads[-1][:12]}…")  # fmt: skip

    started = step("backup.md: restoring for real, into a new database")
    restored_owner = server.work / ".env.owner.restored"
    restored_url = server.url(server.owner, server.owner_password, server.restored_db)
    restored_owner.write_text(f"OWNER_DATABASE_URL={restored_url}\n")
    restore = server.adapt(block(BACKUP, "restore"), db=server.restored_db)
    restore = restore.replace(str(server.work / ".env.owner"), str(restored_owner))
    restore = restore.replace(
        str(server.work / "backups" / "casework-YYYY-MM-DD.dump"), str(server.dump)
    ).replace("KEPT_HEAD_HASH", heads[-1])
    result = sh(restore)
    if "Audit log intact" not in result.stdout:
        raise Failed(f"verify_audit on the restored copy: {result.stdout}{result.stderr}")
    refused = psql(restored_url, "TRUNCATE audit_auditentry", check=False)
    if refused.returncode == 0 or "append-only" not in refused.stderr:
        raise Failed("the restored audit table accepts TRUNCATE")
    restored_app = server.url(server.app, server.app_password, server.restored_db)
    psql(restored_app, "SELECT count(*) FROM audit_auditentry")
    if psql(restored_app, "DELETE FROM audit_auditentry", check=False).returncode == 0:
        raise Failed("the app's role may delete audit entries in the restored copy")
    done(started, "the chain verifies against the kept head; triggers and rights came back")


def cleanup(server: Server, admin_url: str) -> None:
    process = getattr(server, "process", None)
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # our own make and gunicorn, nothing else
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    if getattr(server, "log", None):
        server.log.close()
    for db in (server.db, server.restored_db):
        psql(admin_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', check=False)
    for role in (server.app, server.owner):
        psql(admin_url, f'DROP ROLE IF EXISTS "{role}"', check=False)


def main() -> int:
    default_admin = "postgres://postgres@127.0.0.1:5432/postgres"
    if ci := os.environ.get("CI_POSTGRES_URL"):
        parts = urllib.parse.urlsplit(ci)
        default_admin = urllib.parse.urlunsplit(parts._replace(path="/postgres", query=""))
    admin_url = os.environ.get("PG_ADMIN_URL", default_admin)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="casework-rehearsal-"))
    server = Server(admin_url, work)
    print(f"Deploy rehearsal: roles {server.owner}/{server.app}, database {server.db}, "
          f"PostgreSQL at {server.pg_host}:{server.pg_port}, files in {work}")  # fmt: skip
    try:
        rehearse(server, admin_url)
    except Failed as failure:
        print(f"\nDEPLOY REHEARSAL FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        cleanup(server, admin_url)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nDEPLOY REHEARSAL PASSED in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
