"""Browser tests: Debian's Chromium driven by Playwright against a live server.

Playwright cannot download browsers here; we launch the system Chromium.
"""

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; the live server's
# database work happens in tests, which Django would otherwise refuse.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium).")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def site(live_server):
    return live_server


def login(page, base_url, username, password="a-long-test-password"):
    """Sign in as a person does: password, then the code from their authenticator
    app (each persona gets one, since 2FA is required for some roles)."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User

    device, _ = TOTPDevice.objects.get_or_create(
        user=User.objects.get(username=username), name="default", defaults={"confirmed": True}
    )
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/accounts/login/code/")
    page.fill("#id_otp_token", f"{totp(device.bin_key):06d}")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/")
