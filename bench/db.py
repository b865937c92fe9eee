"""The benchmark's own PostgreSQL database, never the developer's.

Its name comes from DATABASE_URL: the database named there with ``_bench``
appended (``casework`` -> ``casework_bench``), unless the name already ends in
``_bench`` or BENCH_DATABASE names one explicitly. It is created when missing.
"""

import os
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

SUFFIX = "_bench"


class NotPostgres(SystemExit):
    pass


def bench_url(url: str) -> str:
    """DATABASE_URL with the benchmark's database name in place of the developer's."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise NotPostgres(
            "bench: the benchmark needs PostgreSQL, and DATABASE_URL is "
            f"{'not set (SQLite by default)' if not url else repr(parts.scheme + '://...')}.\n"
            "bench: run it as  DATABASE_URL=postgres://postgres@127.0.0.1:5432/casework "
            "BENCH_SIZE=S make bench\n"
            "bench: it works in its own database (the name with _bench appended), "
            "never in the one DATABASE_URL names."
        )
    name = os.environ.get("BENCH_DATABASE", "").strip()
    if not name:
        name = parts.path.lstrip("/") or "casework"
        if not name.endswith(SUFFIX):
            name += SUFFIX
    return urlunsplit(parts._replace(path="/" + name))


def connect_args(url: str, dbname: str | None = None) -> dict:
    parts = urlsplit(url)
    args = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "dbname": dbname or parts.path.lstrip("/"),
    }
    if parts.password:
        args["password"] = parts.password
    return args


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def ensure_database(url: str) -> bool:
    """Create the benchmark database when missing; True when it was created."""
    name = database_name(url)
    with psycopg.connect(**connect_args(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def drop_database(url: str) -> None:
    name = database_name(url)
    with psycopg.connect(**connect_args(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def server_version(url: str) -> str:
    with psycopg.connect(**connect_args(url)) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def fail(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)
    raise SystemExit(2)
