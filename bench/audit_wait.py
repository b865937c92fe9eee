"""Case-page times while an import's transaction is open (docs/audit.md, "Linking at commit").

Run from a checkout against a scratch PostgreSQL database; it migrates it, writes
one case and ROWS (600) imported cases, and prints the page times idle and during
the import:

    ALLOWED_HOSTS=testserver DATABASE_URL=postgres://postgres@127.0.0.1/audit_wait \\
        DEBUG=1 .venv/bin/python bench/audit_wait.py
"""

import os
import statistics
import sys
import threading
import time


def p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def main():
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import close_old_connections, connection
    from django.test import Client

    from accounts.models import Role, User
    from casework.models import Case, Province
    from reports import importer

    call_command("migrate", verbosity=0)
    admin, _ = User.objects.get_or_create(username="wait-admin", defaults={"role": Role.ADMIN})
    province = Province.objects.get(code="KH-2")
    case, _ = Case.objects.get_or_create(
        reference="WAIT-1", defaults={"province": province, "opened_on": "2026-01-01"}
    )
    client = Client()
    client.force_login(admin)

    def page() -> float:
        close_old_connections()
        started = time.monotonic()
        response = client.get(f"/cases/{case.pk}/")
        assert response.status_code == 200, response.status_code
        return time.monotonic() - started

    for _ in range(3):
        page()
    idle = [page() for _ in range(15)]
    count = int(os.environ.get("ROWS", "600"))
    tag = str(int(time.time()))
    rows = [
        {
            "_row": n + 2,
            "_extra": False,
            "reference": f"W{tag}-{n:05d}",
            "province": "KH-2",
            "status": "summoned",
            "opened_on": "2026-03-02",
            "name_latin": f"Fictional Wait {tag} {n}",
            "birth_year": "1980",
        }
        for n in range(count)
    ]
    plan = importer.plan_import(rows, admin)
    done, took = threading.Event(), {}

    def run_import():
        started = time.monotonic()
        try:
            importer.apply_plan(rows, admin, expected_digest=plan.digest())
        finally:
            took["seconds"] = time.monotonic() - started
            done.set()
            connection.close()

    thread = threading.Thread(target=run_import)
    thread.start()
    time.sleep(0.5)
    during = []
    while not done.is_set():
        during.append(page())
        time.sleep(0.2)
    thread.join()
    ms = lambda seconds: f"{seconds * 1000:.0f} ms"  # noqa: E731
    print(f"import of {count} rows: {took['seconds']:.1f} s")
    print(f"case page idle: median {ms(statistics.median(idle))}, p95 {ms(p95(idle))}")
    print(
        f"case page during the import ({len(during)} pages): median "
        f"{ms(statistics.median(during))}, p95 {ms(p95(during))}, max {ms(max(during))}"
    )


if __name__ == "__main__":
    main()
