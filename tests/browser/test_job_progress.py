"""A job's page follows the job without reloading: the progress script (strict CSP,
no inline code) polls the JSON and offers the file when the worker is done."""

import re

import pytest
from playwright.sync_api import expect

from .. import factories as f
from ..conftest import run_jobs
from .conftest import login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_the_job_page_shows_the_file_when_the_worker_is_done(
    site, page, admin_user, caseworker, settings
):
    settings.EXPORT_JOB_ROWS = 2
    for n in range(4):
        f.make_case("KH-2", caseworker=caseworker, reference=f"BJ-{n:03d}")
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    login(page, site.url, "admin")
    page.goto(f"{site.url}/cases/export.csv")
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.locator("#job-status")).to_have_text("Waiting for a worker")
    expect(page.locator("#job-file")).to_be_hidden()
    page.evaluate("window.notReloaded = true")

    run_jobs()  # a worker takes the job and finishes it

    expect(page.locator("#job-file")).to_be_visible(timeout=15_000)
    expect(page.locator("#job-status")).to_have_text("Done")
    expect(page.locator("#job-stage")).to_have_text("Ready: 4 rows.")
    assert page.evaluate("document.getElementById('job-progress').value") == 100
    assert page.evaluate("window.notReloaded") is True  # updated in place
    # Nothing refused by the Content-Security-Policy.
    assert [e for e in errors if "Content Security Policy" in e] == []
