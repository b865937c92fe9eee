"""``make bench``: Casework at scale on PostgreSQL. See bench/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/casework BENCH_SIZE=M make bench

Works in its own database (DATABASE_URL's name + ``_bench``), generates the
data when the size changed, measures in-process, exports in subprocesses and
HTTP under gunicorn + wrk, writes bench/results/<size>-<date>.md and prints,
as its last line, ``bench: N/M targets met``.
"""

import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import db

SIZES = ("S", "M", "L")
ROOT = Path(__file__).resolve().parent.parent


def configure(url: str, static_root: str) -> None:
    """Production settings, pointed at the benchmark database, before Django loads."""
    os.environ["DATABASE_URL"] = url
    # Measure what production runs: DEBUG off (the Makefile exports DEBUG=1 for `make run`).
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("BENCH_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["SECRET_KEY"] = os.environ.get("SECRET_KEY") or os.environ["BENCH_SECRET_KEY"]
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    os.environ["STATIC_ROOT"] = static_root
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    sys.path.insert(0, str(ROOT))


def collectstatic() -> str | None:
    """Collect as production does; on failure collect unhashed and return why."""
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode == 0:
        return None
    why = (done.stderr.strip().splitlines() or ["collectstatic failed"])[-1]
    for line in done.stderr.splitlines():
        if "could not be found" in line:
            why = line.strip()
    print(f"bench: WARNING collectstatic fails with the production settings: {why}", flush=True)
    print("bench: WARNING serving static files unhashed for this run", flush=True)
    os.environ["BENCH_STATIC_UNHASHED"] = "1"
    subprocess.run(command, cwd=ROOT, env=os.environ, check=True)  # noqa: S603
    return why


def main() -> int:
    started = time.perf_counter()
    size = os.environ.get("BENCH_SIZE", "S").strip().upper() or "S"
    if size not in SIZES:
        db.fail(f"BENCH_SIZE must be one of {', '.join(SIZES)}, not {size!r}.")
    try:
        url = db.bench_url(os.environ.get("DATABASE_URL", ""))
    except db.NotPostgres as exc:
        print(exc.code, file=sys.stderr)
        print("bench: 0/0 targets met (not run: PostgreSQL required)")
        return 2
    name = db.database_name(url)
    print(f"bench: size {size}, database {name} (the benchmark's own)", flush=True)
    from . import data

    if not db.ensure_database(url) and not data.core_matches(db.connect_args(url), size):
        # Other data (another size, an older generator, a load that broke off): start clean.
        print(f"bench: the data in {name} is not size {size}: recreating the database", flush=True)
        db.drop_database(url)
        db.ensure_database(url)

    static_root = tempfile.mkdtemp(prefix="casework-bench-static-")
    configure(url, static_root)
    static_problem = collectstatic()

    import django

    django.setup()
    from django.core.management import call_command

    from . import run

    call_command("migrate", interactive=False, verbosity=0)
    loaded = data.load(db.connect_args(url), size)
    return run.everything(
        size=size, url=url, loaded=loaded, started=started, static_problem=static_problem
    )


if __name__ == "__main__":
    sys.exit(main())
