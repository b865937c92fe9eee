"""Khmer is drawn with the app's own font on every page, on a machine that has
no Khmer font of its own (this one and CI have none: fc-list shows no Khmer)."""

import pytest

from .conftest import login
from .khmer_fonts import khmer_drawn_badly
from .pages import (
    CASEWORKER_PATHS,
    DJANGO_ADMIN_PATHS,
    SIGNED_OUT_PATHS,
    build_scene,
    page_paths,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _check(page, base, paths, report):
    cdp = page.context.new_cdp_session(page)
    # Every page loads the font afresh, as on a first visit, when a font
    # stack that waits for the vendored font would draw boxes meanwhile.
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    for name, path in paths.items():
        page.goto(base + path)
        drawn, bad = khmer_drawn_badly(page, cdp)
        report[name] = (drawn, bad)
    cdp.detach()


@pytest.mark.parametrize("width", [1366, 390])
def test_every_khmer_text_is_drawn_with_the_vendored_font(site, browser, width):
    scene = build_scene()
    report = {}
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies([{"name": "django_language", "value": "km", "url": site.url}])
    page = context.new_page()
    _check(page, site.url, SIGNED_OUT_PATHS, report)
    login(page, site.url, "admin")
    _check(page, site.url, {**page_paths(scene), **DJANGO_ADMIN_PATHS}, report)
    context.close()
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies([{"name": "django_language", "value": "km", "url": site.url}])
    page = context.new_page()
    login(page, site.url, "caseworker")
    _check(page, site.url, CASEWORKER_PATHS, report)
    context.close()

    total = sum(drawn for drawn, _ in report.values())
    boxes = {name: bad for name, (_, bad) in report.items() if bad}
    unchecked = [name for name, (drawn, _) in report.items() if not drawn]
    assert not unchecked, f"pages where no Khmer text was drawn (not in Khmer?): {unchecked}"
    assert total > 300, total
    assert not boxes, (
        f"{sum(len(b) for b in boxes.values())} of {total} Khmer elements drawn with "
        f"a font lacking Khmer: {boxes}"
    )


LINES_PER_MENU_ITEM = """() => [...document.querySelectorAll('.navbar .nav-link, .navbar-brand')]
  .map(a => {
    const r = document.createRange(); r.selectNodeContents(a);
    const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
    return [a.textContent.trim(), tops.size];
  })"""


@pytest.mark.parametrize("width", [1366, 992])
def test_khmer_menu_items_never_break_inside_a_word(site, browser, width):
    """The admin's menu has the most items; each stays on one line."""
    build_scene()
    context = browser.new_context(viewport={"width": width, "height": 700})
    context.add_cookies([{"name": "django_language", "value": "km", "url": site.url}])
    page = context.new_page()
    login(page, site.url, "admin")
    page.evaluate("document.fonts.ready.then(() => true)")
    items = page.evaluate(LINES_PER_MENU_ITEM)
    context.close()
    assert len(items) >= 9
    assert all(lines == 1 for _, lines in items), items


LINES_PER_PROVINCE = """() => [...document.querySelectorAll('table .province')]
  .filter(cell => cell.offsetParent !== null)
  .map(cell => {
    const r = document.createRange(); r.selectNodeContents(cell);
    const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
    return [cell.textContent.trim(), tops.size];
  })"""
PAGE_SCROLLS_SIDEWAYS = "document.scrollingElement.scrollWidth > window.innerWidth + 1"


@pytest.mark.parametrize("width", [390, 576, 768, 1366])
def test_khmer_province_names_never_break_inside_a_word(site, browser, width):
    """Chromium split "បាត់ដំបង" (Battambang) over two lines in the case list at
    576 px. A province stays on one line, and a table too wide for a phone scrolls
    inside its own region, never the page."""
    build_scene()
    context = browser.new_context(viewport={"width": width, "height": 800})
    context.add_cookies([{"name": "django_language", "value": "km", "url": site.url}])
    page = context.new_page()
    login(page, site.url, "admin")
    cells = []
    for path in ("/cases/", "/detainees/"):
        page.goto(site.url + path)
        page.evaluate("document.fonts.ready.then(() => true)")
        cells += page.evaluate(LINES_PER_PROVINCE)
        assert not page.evaluate(PAGE_SCROLLS_SIDEWAYS), (path, width)
    context.close()
    assert "បាត់ដំបង" in {name for name, _ in cells} or width < 576, cells
    assert all(lines == 1 for _, lines in cells), cells
