"""Casework settings: one module, driven by environment variables.

Every value a deployment may change is read from the environment through the
small typed helpers below; see docs/deploy.md for the full list.
"""

import datetime as dt
import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.proxies import parse_networks

BASE_DIR = Path(__file__).resolve().parent.parent


# In the test runner's own process only DATABASE_URL (which database a run uses) is read
# from the environment: a setting a developer happens to have exported (TIME_ZONE,
# EXPORT_JOB_ROWS, DETENTION_WARNING_DAYS...) must not change what the tests see. The
# processes a test starts (a worker, the server, ``manage.py check --deploy``) read their
# environment as production does; tests set theirs explicitly.
TEST_RUNNER_PROCESS = "pytest" in sys.modules
READ_IN_TESTS = {"DATABASE_URL"}


def _environ(name: str, default=None):
    if TEST_RUNNER_PROCESS and name not in READ_IN_TESTS:
        return default
    return os.environ.get(name, default)


def env_str(name: str, default: str = "") -> str:
    return _environ(name, default)


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def env_bool(name: str, default: bool = False) -> bool:
    """A switch: one of the accepted spellings, or the start stops. A typo read as
    False would silently turn off HTTPS redirects, HSTS or two-factor sign-in."""
    value = _environ(name)
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of {', '.join(TRUE_WORDS)} (on) or {', '.join(FALSE_WORDS)} "
        f"(off), not {value!r}."
    )


def env_int(name: str, default: int) -> int:
    value = _environ(name, "")
    if not value.strip():
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{name} must be a whole number (e.g. 14), not {value!r}."
        ) from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
TESTING = "pytest" in sys.modules or env_bool("CASEWORK_TESTING", False)

# manage.py commands that sign nothing and serve no one: they read the code
# (models, migrations, messages, static files) or check the database as it is
# (verify_audit). They run without the web SECRET_KEY, e.g. at build time or
# on the machine that checks a restored backup (docs/backup.md).
KEYLESS_COMMANDS = {
    "makemigrations",
    "showmigrations",
    "sqlmigrate",
    "makemessages",
    "compilemessages",
    "collectstatic",
    "verify_audit",
}
_COMMAND = sys.argv[1] if len(sys.argv) > 1 and Path(sys.argv[0]).name == "manage.py" else ""

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or TESTING:
        # Only for a local run or the test suite: never used with DEBUG off.
        SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"  # noqa: S105
    elif _COMMAND in KEYLESS_COMMANDS:
        # A key of its own that nothing outlives: the command signs nothing.
        SECRET_KEY = secrets.token_urlsafe(50)
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off Casework refuses to start without one. "
            "Set the SECRET_KEY environment variable to a long random string, e.g. "
            "the output of: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The reverse proxies whose X-Forwarded-For is believed (addresses or networks,
# e.g. "127.0.0.1,::1" for nginx on the same machine). None by default: the
# client's address is the socket's, whatever headers it sends (config/proxies.py).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
try:
    parse_networks(TRUSTED_PROXIES)
except ValueError as exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}.") from exc
PRODUCTION = not (DEBUG or TESTING)

INSTALLED_APPS = [
    "config.admin.CaseworkAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "auditlog",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "two_factor",
    "accounts",
    "casework",
    "audit",
    "reports",
    "django_tasks",
    "django_tasks_db",
    "jobs",
]

MIDDLEWARE = [
    # First: every response, even an error page, carries the request id.
    "config.middleware.RequestIdMiddleware",
    # Before anything reads the Host header: /healthz for a monitor on this machine.
    "config.middleware.LoopbackHealthCheckMiddleware",
    # Before anything asks request.is_secure(): X-Forwarded-Proto is dropped
    # unless a proxy in TRUSTED_PROXIES sent the request.
    "config.middleware.ForwardedProtoFromTrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Pages compressed (static files come compressed from whitenoise). Django
    # pads each compressed response with random bytes, so its length does not
    # give away a secret on the page to a BREACH attack.
    "django.middleware.gzip.GZipMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.RejectNulCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "accounts.middleware.TwoFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.AuditlogMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
    # Its process_exception runs first: a view that lost a deadlock runs again.
    "config.retry.RetryOnConflictMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite file in the project folder unless DATABASE_URL says otherwise.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql":
    if env_bool("DATABASE_POOL", False):
        # psycopg 3 connection pool; Django requires CONN_MAX_AGE = 0 with it.
        _db["CONN_MAX_AGE"] = 0
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 2),
            "max_size": env_int("DATABASE_POOL_MAX", 10),
            "timeout": 10,
        }
    else:
        _db["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60)
    # Test a kept connection before a request uses it (with the pool: as it
    # leaves the pool), so one the server dropped (restart, failover) is
    # replaced instead of failing the request: recovery without a restart.
    _db["CONN_HEALTH_CHECKS"] = True
    _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # Parallel workers only where they pay: starting them costs ~10 ms a query, more
    # than a page's queries save on a small server (bench/README.md: the dashboards
    # 12-40 % faster at a million cases); the reports' big aggregates still use them.
    _db["OPTIONS"].setdefault(
        "options", f"-c parallel_setup_cost={env_int('DATABASE_PARALLEL_SETUP_COST', 100000)}"
    )
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # IMMEDIATE avoids "database is locked" when two requests write at once.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

# A request whose transaction PostgreSQL ended to break a deadlock or a
# serialisation conflict is run again, this many tries in all (config/retry.py).
DATABASE_RETRY_ATTEMPTS = env_int("DATABASE_RETRY_ATTEMPTS", 4)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# django-axes first: it refuses a locked-out username+address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LockoutBackend",  # axes.backends.AxesStandaloneBackend
    "django.contrib.auth.backends.ModelBackend",
]

# --- Sign-in: lockout, two factors, sessions (docs/deploy.md) -------------

# Lock a username from one address after this many failures, for the cool-off.
# Per username *and* address, so a colleague behind the same office router
# can still sign in while someone guesses at another account.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
# The same address the audit log records: X-Forwarded-For only from TRUSTED_PROXIES.
AXES_CLIENT_IP_CALLABLE = "config.proxies.client_address"
# Our audit log is the record people read; axes keeps only its counters.
AXES_ENABLE_ADMIN = False
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token", "csrfmiddlewaretoken"]

# Two-factor sign-in (TOTP app + one-time backup codes). Required for these
# roles, or for everyone with REQUIRE_2FA_FOR_ALL. On by default in production
# and in the tests; off for a local DEBUG run unless TWO_FACTOR_ENFORCED=1, so
# the demo logins of `make run` work with a password alone.
TWO_FACTOR_ENFORCED = env_bool("TWO_FACTOR_ENFORCED", not DEBUG or TESTING)
TWO_FACTOR_REQUIRED_ROLES = env_list("TWO_FACTOR_REQUIRED_ROLES", "admin,coordinator")
REQUIRE_2FA_FOR_ALL = env_bool("REQUIRE_2FA_FOR_ALL", False)
# /admin/login/ is ours (config/urls.py); leave Django's AdminSite alone.
TWO_FACTOR_PATCH_ADMIN = False
OTP_TOTP_ISSUER = "Casework"
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# Between the password and the code, and for re-typing the password before a
# sensitive change (email, password, two-factor): how long each step holds.
LOGIN_CODE_STEP_SECONDS = 300
PASSWORD_CONFIRM_SECONDS = env_int("PASSWORD_CONFIRM_SECONDS", 600)

# Sessions live in the database: shared by every app server, and ended there
# when a user is deactivated or their two-factor device is reset.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_MINUTES", 30) * 60
SESSION_ABSOLUTE_TIMEOUT = env_int("SESSION_ABSOLUTE_HOURS", 12) * 3600
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The cache holds the reports page's figures (reports/figures.py). In the database,
# so every worker and every app server shares the figures and the data version that
# retires them when a record changes (docs/deploy.md, "Scaling out"); the table is
# created by reports/migrations/0001_cache_table.py.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "casework_cache",
    }
}

# --- Background jobs (docs/jobs.md) -----------------------------------------
# django-tasks with its database backend: the queue is a table in the same
# database, so nothing else runs for it; `manage.py jobs_worker` runs the jobs,
# as many workers on as many machines as wanted.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Finished files (exports, reports) live here until they expire. With workers on
# several machines this must be storage they all share with the web servers.
JOB_FILES_DIR = Path(env_str("JOB_FILES_DIR", str(BASE_DIR / "var" / "job-files")))
JOB_FILES_HOURS = env_int("JOB_FILES_HOURS", 24)
# A running job gives a sign of life this often; silent for JOB_STALE_SECONDS, its
# worker is taken as gone and the job runs again, JOB_MAX_ATTEMPTS runs in all.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 5)
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 600)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3)
# A list export of more rows than this is made by a job rather than in the request.
EXPORT_JOB_ROWS = env_int("EXPORT_JOB_ROWS", 20000)
# The reports' figures of a scope past this many cases are computed by a background job
# while the page shows the latest ones (reports/figures.py); below it, in the request.
FIGURES_JOB_CASES = env_int("FIGURES_JOB_CASES", 50000)

# Internationalisation: English and Khmer.
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
LANGUAGES = [("en", _("English")), ("km", _("Khmer"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Phnom_Penh")
USE_I18N = True
USE_TZ = True
# Unambiguous dates ("16 Jan 2026", Khmer month names in Khmer), 24-hour times.
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if not PRODUCTION
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Audit log: django-auditlog writes into our own hash-chained model.
AUDITLOG_LOGENTRY_MODEL = "audit.AuditEntry"
AUDITLOG_STORE_JSON_CHANGES = True
AUDITLOG_DISABLE_REMOTE_ADDR = False

# --- Headers and cookies ---------------------------------------------------
# Behind the TLS proxy of docs/deploy.md, which sets X-Forwarded-Proto itself.
# Believed only from TRUSTED_PROXIES: config.middleware's
# ForwardedProtoFromTrustedProxyMiddleware drops it from anyone else.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True) and PRODUCTION
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer asks over plain HTTP
# Read (and checked) whatever the mode, so a typo stops a local run too.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000) if PRODUCTION else 0
env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True) and PRODUCTION
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if SESSION_COOKIE_SECURE:
    # __Host-: the browser sends it only over HTTPS, to this host, for every path.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
CSRF_FAILURE_VIEW = "config.views.csrf_failure"

# Content-Security-Policy (django-csp 4): our own files only, no inline code.
# Bootstrap's CSS draws checkboxes and select arrows with data: SVG images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
}

# Outgoing mail (password reset links).
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "casework@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Legal clocks: a person whose limit runs out within this many days is flagged.
DETENTION_WARNING_DAYS = env_int("DETENTION_WARNING_DAYS", 14)

# Logs: one line per event, each with the request id the error page shows.
# They never hold a person's name or what a form contained: tracebacks keep
# their frames but not the exception's message (config/logging.py), the
# request log keeps the path without its query, SQL is never logged.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "config.logging.RequestIdFilter"},
        "no_query": {"()": "config.logging.StripQueryFilter"},
    },
    "formatters": {
        "plain": {
            "()": "config.logging.WithheldMessageFormatter",
            "format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id", "no_query"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Our console only: Django's default mail_admins would send the request
        # with its form data by email.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Never log SQL parameters: they carry people's names.
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

if TESTING:
    # Hashing cost is not what the tests are about.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# In development and tests whitenoise serves from the app folders; production
# serves the hashed, compressed copies `collectstatic` writes to STATIC_ROOT.
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

# Covering indexes (INCLUDE columns) serve PostgreSQL, production's database;
# SQLite, the embedded default, builds them without the extra columns.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
