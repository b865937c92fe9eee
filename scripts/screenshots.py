"""Screenshots of the main pages at phone and desktop width, for review and docs.

Usage: serve the app with demo data (make run), then
    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 docs/screenshots
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

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


def shoot(base: str, out: Path, user: str, pages: dict[str, str], lang: str = "en"):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for size, (w, h) in SIZES.items():
            context = browser.new_context(viewport={"width": w, "height": h})
            context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
            page = context.new_page()
            page.goto(f"{base}/accounts/login/")
            page.fill("#id_username", user)
            page.fill("#id_password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_load_state()
            for name, path in pages.items():
                page.goto(base + path)
                page.screenshot(
                    path=str(out / f"{name}-{size}{'-' + lang if lang != 'en' else ''}.png"),
                    full_page=True,
                )
            context.close()
        browser.close()


if __name__ == "__main__":
    base, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    case = sys.argv[3] if len(sys.argv) > 3 else "1"
    shoot(
        base,
        out,
        "demo-coordinator",
        {
            "dashboard-coordinator": "/",
            "cases": "/cases/?province=KH-2",
            "case": f"/cases/{case}/",
            "hearings": "/hearings/",
            "people": "/detainees/",
        },
    )
    shoot(
        base,
        out,
        "demo-caseworker",
        {
            "dashboard-caseworker": "/",
            "hearing-form": f"/cases/{case}/hearings/new/",
        },
    )
