"""The case list over HTTP: gunicorn as production runs it, wrk at concurrency 8."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "gunicorn.conf.py"
LOGS = Path(__file__).resolve().parent / "data"  # not committed
LUA = Path(__file__).with_name("wrk_report.lua")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_serve_recipe() -> str | None:
    """What `make serve` would run, when the Makefile has that target (for the record)."""
    make = shutil.which("make")
    if make is None:
        return None
    done = subprocess.run(  # noqa: S603 - a fixed command
        [make, "-n", "serve"], cwd=ROOT, capture_output=True, text=True, env=os.environ
    )
    if done.returncode != 0:
        return None
    lines = [line for line in done.stdout.splitlines() if "gunicorn" in line]
    return lines[-1].strip() if lines else None


def _workers_from(recipe: str | None) -> int | None:
    if not recipe:
        return None
    found = re.search(r"(?:-w|--workers)[ =](\d+)", recipe)
    return int(found.group(1)) if found else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str, headers: dict) -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http://127.0.0.1 only
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def pool_problem(env: dict) -> str | None:
    """Whether the production settings open a pooled connection (DATABASE_POOL=1)."""
    probe = (
        "import django; django.setup(); from django.db import connection; "
        "connection.ensure_connection(); connection.close()"
    )
    done = subprocess.run(  # noqa: S603 - a fixed command
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
    )
    if done.returncode == 0:
        return None
    return (done.stderr.strip().splitlines() or ["failed"])[-1][:300]


def case_list(path: str, cookie: str, *, seconds: int, log=print) -> dict:
    if shutil.which("wrk") is None:
        return {"error": "wrk is not installed (apt-get install wrk)"}
    cores = os.cpu_count() or 1
    recipe = make_serve_recipe()
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_POOL": "1",
        "BIND": f"127.0.0.1:{port}",
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    if CONFIG.exists():
        # As `make serve` starts it: its config file (workers, threads, access log).
        workers = int(env.get("WEB_CONCURRENCY") or 2 * cores + 1)
        command = [gunicorn, "--config", str(CONFIG), "config.wsgi"]
    else:
        workers = _workers_from(recipe) or 2 * cores + 1
        command = [gunicorn, "config.wsgi", "-w", str(workers), "-b", env["BIND"]]
    problem = pool_problem(env)
    if problem:
        log(f"bench: WARNING DATABASE_POOL=1 fails with the production settings: {problem}")
        log("bench: WARNING gunicorn runs with bench/settings.py's pool workaround")
        env["BENCH_POOL_WITHOUT_CHECK"] = "1"
    LOGS.mkdir(exist_ok=True)
    server_log = (LOGS / "gunicorn.log").open("w")
    server = subprocess.Popen(  # noqa: S603 - a fixed command
        command, cwd=ROOT, env=env, start_new_session=True, stdout=server_log, stderr=server_log
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Cookie": cookie, "X-Forwarded-Proto": "https", "Host": "127.0.0.1"}
    try:
        deadline = time.time() + 60
        while True:
            try:
                if _get(base + "/healthz", {"X-Forwarded-Proto": "https"}) == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                return {"error": "gunicorn did not answer /healthz within 60 s"}
            time.sleep(0.3)
        status = _get(base + path, headers)
        if status != 200:
            return {"error": f"{path} answers {status} over HTTP with the session cookie"}
        wrk = [shutil.which("wrk"), "-t2", "-c8"]
        wrk += sum((["-H", f"{k}: {v}"] for k, v in headers.items()), [])
        # Warm every worker (imports, template cache, pool) before measuring.
        subprocess.run([*wrk, "-d5s", base + path], capture_output=True, text=True)  # noqa: S603
        done = subprocess.run(  # noqa: S603 - wrk with our own arguments
            [*wrk, f"-d{seconds}s", "--latency", "-s", str(LUA), base + path],
            capture_output=True,
            text=True,
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        server_log.close()
    found = re.search(
        r"BENCH requests=(\d+) duration_us=(\d+) p50_us=(\d+) p95_us=(\d+) p99_us=(\d+) "
        r"not_200=(\d+) errors=\d+ connect=(\d+) read=(\d+) write=(\d+) status=(\d+) "
        r"timeout=(\d+)",
        done.stdout,
    )
    if not found:
        return {"error": f"wrk output not understood: {done.stdout[-300:]} {done.stderr[-300:]}"}
    requests, duration, p50, p95, p99, not_ok, connect, read, write, status, timeout = map(
        int, found.groups()
    )
    rps = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    return {
        "requests": requests,
        "rps": float(rps.group(1)) if rps else requests / (duration / 1e6),
        "p50_ms": p50 / 1000,
        "p95_ms": p95 / 1000,
        "p99_ms": p99 / 1000,
        "not_200": not_ok,
        # Read and write errors are connections closed under wrk at the end of the run.
        "errors": connect + status + timeout,
        "socket_errors": {"connect": connect, "read": read, "write": write, "timeout": timeout},
        "workers": workers,
        "seconds": seconds,
        "command": " ".join(Path(part).name if part == gunicorn else part for part in command),
        "make_serve": recipe,
        "pool_problem": problem,
        "wrk": done.stdout.strip(),
    }
