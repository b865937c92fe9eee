"""Screenshots of the main pages at phone (390 px) and desktop (1366 px) width, in
English and Khmer, and the first page of a Khmer dossier PDF, for review and docs.

Usage: serve the app with demo data (make run), then, with the same settings
(DATABASE_URL) so the script can give the demo users their second factor:
    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 docs/screenshots

Take them on a machine without a system Khmer font (fc-list | grep -i khmer
shows nothing), as many readers' are: Khmer must come from the app's own font.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Playwright's sync API runs an event loop in this thread; the ORM calls here are
# plain blocking ones, made between page loads.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import django  # noqa: E402

django.setup()

from django_otp.oath import totp  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from accounts.models import User  # noqa: E402
from casework.models import Case, Detainee  # noqa: E402

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "casework-demo-2026"  # noqa: S105  (the demo data's documented password)
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


def sign_in(page, base: str, username: str):
    device, _ = TOTPDevice.objects.get_or_create(
        user=User.objects.get(username=username), name="screenshots", defaults={"confirmed": True}
    )
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    if "/login/code/" in page.url:
        # The same code twice within 30 s is refused as a replay: each sign-in
        # here is a new one.
        TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
        page.fill("#id_otp_token", f"{totp(device.bin_key):06d}")
        page.click("main button[type=submit]")
        page.wait_for_load_state()


def shoot(browser, base: str, out: Path, user: str, pages: dict[str, str], sizes, langs):
    for lang in langs:
        for size in sizes:
            w, h = SIZES[size]
            context = browser.new_context(viewport={"width": w, "height": h})
            context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
            page = context.new_page()
            sign_in(page, base, user)
            for name, path in pages.items():
                page.goto(base + path)
                page.evaluate("document.fonts.ready.then(() => true)")
                suffix = "" if lang == "en" else f"-{lang}"
                page.screenshot(path=str(out / f"{name}-{size}{suffix}.png"), full_page=True)
            context.close()


def dossier(browser, base: str, out: Path, person: int):
    """The first page of a Khmer dossier, drawn by poppler's pdftoppm."""
    context = browser.new_context()
    context.add_cookies([{"name": "django_language", "value": "km", "url": base}])
    page = context.new_page()
    sign_in(page, base, "demo-admin")
    response = page.request.get(f"{base}/detainees/{person}/dossier.pdf")
    if response.headers.get("content-type") != "application/pdf":
        raise SystemExit(f"No dossier PDF: {response.status} {response.text()[:300]}")
    body = response.body()
    context.close()
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "dossier.pdf"
        pdf.write_bytes(body)
        pdftoppm = shutil.which("pdftoppm") or "/usr/bin/pdftoppm"  # poppler-utils
        args = ["-png", "-r", "90", "-f", "1", "-l", "1", "-singlefile"]
        subprocess.run([pdftoppm, *args, str(pdf), str(out / "dossier-km")], check=True)  # noqa: S603


def main(base: str, out: Path):
    out.mkdir(parents=True, exist_ok=True)
    # A case with people in custody and Khmer names, in the coordinator's provinces.
    coordinator = User.objects.get(username="demo-coordinator")
    case = (
        Case.objects.visible_to(coordinator)
        .filter(accused__custody_periods__ended_at__isnull=True)
        .exclude(accused__detainee__name_khmer="")
        .order_by("pk")
        .first()
    )
    person = Detainee.objects.filter(accusations__case=case).exclude(name_khmer="").first()
    both = ("desktop", "phone")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        coordinator_pages = {
            "dashboard-coordinator": "/",
            "cases": "/cases/?province=KH-2",
            "case": f"/cases/{case.pk}/",
            "hearings": "/hearings/",
            "people": "/detainees/",
            "reports": "/reports/",
        }
        shoot(browser, base, out, "demo-coordinator", coordinator_pages, both, ("en", "km"))
        own = Case.objects.filter(caseworker__username="demo-caseworker").order_by("pk").first()
        caseworker_pages = {
            "dashboard-caseworker": "/",
            "hearing-form": f"/cases/{own.pk}/hearings/new/",
        }
        shoot(browser, base, out, "demo-caseworker", caseworker_pages, both, ("en", "km"))
        admin_pages = {"audit": "/audit/", "admin-people": "/admin/casework/detainee/"}
        shoot(browser, base, out, "demo-admin", admin_pages, ("desktop",), ("en", "km"))
        dossier(browser, base, out, person.pk)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
