"""WCAG 2.2 AA on every page type, in English and Khmer, at desktop and phone
width: axe-core finds no critical or serious violation, and a keyboard user
reaches an invalid field from the error summary."""

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import expect

from .conftest import login
from .pages import CASEWORKER_PATHS, SIGNED_OUT_PATHS, build_scene, page_paths

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
BLOCKING = {"critical", "serious"}
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


def _context(browser, site, size, lang):
    width, height = SIZES[size]
    # axe is injected into the page, which the app's CSP would refuse.
    context = browser.new_context(
        viewport={"width": width, "height": height}, bypass_csp=True, is_mobile=size == "phone"
    )
    context.add_cookies([{"name": "django_language", "value": lang, "url": site.url}])
    return context, context.new_page()


def _axe(page, base, paths, found):
    for name, path in paths.items():
        page.goto(base + path)
        page.evaluate("document.fonts.ready.then(() => true)")
        page.evaluate(AXE_SCRIPT)
        results = page.evaluate(f"axe.run(document, {AXE_OPTIONS!r})")
        for v in results["violations"]:
            if v["impact"] in BLOCKING:
                targets = [n["target"] for n in v["nodes"]][:4]
                found.append(f"{name} {v['impact']} {v['id']} ({len(v['nodes'])}): {targets}")


@pytest.mark.parametrize("lang", ["en", "km"])
@pytest.mark.parametrize("size", list(SIZES))
def test_no_serious_axe_violation_on_any_page(site, browser, size, lang):
    scene = build_scene()
    found = []
    context, page = _context(browser, site, size, lang)
    _axe(page, site.url, SIGNED_OUT_PATHS, found)
    login(page, site.url, "admin")
    _axe(page, site.url, page_paths(scene), found)
    context.close()
    context, page = _context(browser, site, size, lang)
    login(page, site.url, "caseworker")
    _axe(page, site.url, CASEWORKER_PATHS, found)
    context.close()
    assert not found, f"{len(found)} critical or serious:\n" + "\n".join(found)


def _focused(page) -> dict:
    return page.evaluate(
        "({id: document.activeElement.id, summary: document.activeElement.matches("
        "'[data-error-summary]')})"
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_keyboard_user_goes_from_refused_form_to_the_field(site, browser, size):
    scene = build_scene()
    context, page = _context(browser, site, size, "en")
    login(page, site.url, "caseworker")
    page.goto(f"{site.url}/cases/{scene['case'].pk}/hearings/new/")
    page.fill("#id_scheduled_at", "")
    page.locator("main form.card button[type=submit]").press("Enter")
    page.wait_for_load_state()
    # The refused page opens on its error summary, not on the page body.
    assert _focused(page)["summary"], _focused(page)
    summary = page.locator("[data-error-summary]")
    expect(summary.get_by_role("link").first).to_be_visible()
    # Tab reaches the summary's first link at once; Enter takes focus to the field.
    page.keyboard.press("Tab")
    link = page.evaluate("document.activeElement.getAttribute('href')")
    assert link and link.startswith("#id_"), link
    page.keyboard.press("Enter")
    assert _focused(page)["id"] == link[1:]
    field = page.locator(link)
    expect(field).to_have_attribute("aria-invalid", "true")
    # Its error text is tied to it, and that text exists.
    described = field.get_attribute("aria-describedby")
    assert described and all(page.locator(f"#{i}").count() == 1 for i in described.split())
    # The refused page itself passes axe.
    found = []
    page.evaluate(AXE_SCRIPT)
    results = page.evaluate(f"axe.run(document, {AXE_OPTIONS!r})")
    found = [v["id"] for v in results["violations"] if v["impact"] in BLOCKING]
    assert not found
    context.close()


def _from_summary_to_field(page, field_id):
    """The refused page opens on its summary; Tab reaches its link, Enter the field."""
    assert _focused(page)["summary"], _focused(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == f"#{field_id}"
    page.keyboard.press("Enter")
    assert _focused(page)["id"] == field_id


def _no_blocking_axe_violation(page):
    page.evaluate(AXE_SCRIPT)
    results = page.evaluate(f"axe.run(document, {AXE_OPTIONS!r})")
    found = [
        (v["id"], [n["target"] for n in v["nodes"]][:4])
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]
    assert not found, found


@pytest.mark.parametrize("lang", ["en", "km"])
@pytest.mark.parametrize("size", list(SIZES))
def test_refused_sign_in_and_code_open_on_the_error_summary(site, browser, size, lang):
    """The sign-in form and the code form, refused, open on the same summary as
    every other form (not crispy's alert, which took no focus and linked nowhere)."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    scene = build_scene()
    device = TOTPDevice.objects.create(user=scene["caseworker"], name="default", confirmed=True)
    context, page = _context(browser, site, size, lang)
    page.goto(f"{site.url}/accounts/login/")
    page.fill("#id_username", "caseworker")
    page.fill("#id_password", "not-the-password")
    page.locator("main button[type=submit]").press("Enter")
    page.wait_for_load_state()
    # Said once: in the summary, which links to the username (where to start again).
    expect(page.locator("main .alert-danger")).to_have_count(1)
    _from_summary_to_field(page, "id_username")
    _no_blocking_axe_violation(page)

    page.fill("#id_username", "caseworker")
    page.fill("#id_password", "a-long-test-password")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{site.url}/accounts/login/code/")
    # Before anything is refused, the code field has the focus, as before.
    assert _focused(page)["id"] == "id_otp_token"
    wrong = f"{(totp(device.bin_key) + 1) % 1_000_000:06d}"
    page.fill("#id_otp_token", wrong)
    page.locator("main button[type=submit]").press("Enter")
    page.wait_for_load_state()
    expect(page.locator("main .alert-danger")).to_have_count(1)
    _from_summary_to_field(page, "id_otp_token")
    field = page.locator("#id_otp_token")
    expect(field).to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby")
    assert described and all(page.locator(f"#{i}").count() == 1 for i in described.split())
    _no_blocking_axe_violation(page)
    context.close()


def test_phone_filter_error_links_open_the_folded_filters(site, browser):
    build_scene()
    context, page = _context(browser, site, "phone", "en")
    login(page, site.url, "admin")
    page.goto(f"{site.url}/cases/?opened_after=not-a-date")
    assert _focused(page)["summary"]
    toggle = page.locator("button[aria-controls=filters]")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert _focused(page)["id"] == "id_opened_after"
    expect(page.locator("#id_opened_after")).to_be_visible()
    described = page.locator("#id_opened_after").get_attribute("aria-describedby")
    assert page.locator(f"#{described}").inner_text().strip()
    # Folding the filters away says so.
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    context.close()


def _contrast(a: str, b: str) -> float:
    def lum(css):
        r, g, b_ = (int(x) / 255 for x in css[css.index("(") + 1 : -1].split(",")[:3])
        f = lambda c: c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4  # noqa: E731
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b_)

    hi, lo = sorted([lum(a), lum(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_focus_ring_shows_on_the_dark_menu_and_the_page(site, browser):
    build_scene()
    context, page = _context(browser, site, "desktop", "en")
    login(page, site.url, "admin")
    page.goto(f"{site.url}/cases/")
    for selector, background in [
        ("nav.navbar a.nav-link[href='/cases/']", "nav.navbar"),
        ("nav.navbar button[value=km]", "nav.navbar"),
        ("main a.btn-outline-secondary", "body"),
    ]:
        page.locator(selector).first.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # focus by keyboard, so :focus-visible applies
        ring = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor]; }"
        )
        bg = page.evaluate(
            f"getComputedStyle(document.querySelector('{background}')).backgroundColor"
        )
        assert ring[0] != "none" and ring[1] >= 2, (selector, ring)
        assert _contrast(ring[2], bg) >= 3, (selector, ring, bg)
    context.close()
