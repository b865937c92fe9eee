"""End-to-end journeys in headless Chromium, as the NGO's people use the app."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    yield page
    context.close()


def test_caseworker_on_phone_logs_hearing_outcome(site, phone, own_case):
    login(phone, site.url, "caseworker")
    phone.goto(f"{site.url}/cases/{own_case.pk}/hearings/new/")
    phone.select_option("#id_kind", "bail")
    phone.fill("#id_scheduled_at", "2026-01-10T09:30")
    phone.select_option("#id_status", "held")
    phone.fill("#id_outcome", "Bail refused; lawyer will appeal")
    phone.click("main form.card button[type=submit]")
    expect(phone).to_have_url(re.compile(rf"/cases/{own_case.pk}/$"))
    expect(phone.locator("#timeline")).to_contain_text("Bail refused; lawyer will appeal")
    # The form fits the phone: no sideways scrolling.
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390


def test_coordinator_filters_opens_and_reassigns(
    site, page, coordinator, own_case, other_case, far_case, caseworker2
):
    login(page, site.url, "coordinator")
    page.goto(f"{site.url}/cases/")
    page.select_option("#id_province", "KH-2")
    page.select_option("#id_status", "summoned")
    page.click("text=Apply filters")
    expect(page).to_have_url(re.compile(r"province=KH-2"))
    expect(page.locator("#result-count")).to_contain_text("2 cases")
    expect(page.locator("table")).not_to_contain_text("PNH-0001")
    page.click("text=BTB-0001")
    expect(page.locator("h1")).to_contain_text("BTB-0001")
    page.click("text=Reassign")
    page.select_option("#id_caseworker", str(caseworker2.pk))
    page.click("main form.card button[type=submit]")
    expect(page.locator("#case-caseworker")).to_contain_text("caseworker2")


def test_caseworker_gets_not_found_for_another_caseworkers_case(site, page, own_case, other_case):
    login(page, site.url, "caseworker")
    response = page.goto(f"{site.url}/cases/{other_case.pk}/")
    assert response.status == 404
    expect(page.locator("h1")).to_contain_text("Not found")
    expect(page.locator("body")).not_to_contain_text("Dara Phirun")


def test_language_switch_to_khmer(site, page, own_case):
    login(page, site.url, "caseworker")
    page.goto(f"{site.url}/cases/{own_case.pk}/hearings/new/")
    page.fill("#id_outcome", "typed before choosing")
    # Moving through the choices with the keyboard changes nothing (WCAG 3.2.2) ...
    page.get_by_role("button", name="English").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.input_value("#id_outcome") == "typed before choosing"
    # ... an explicit press of the language's button does.
    with page.expect_navigation():
        page.get_by_role("button", name="ខ្មែរ").click()
    assert page.locator("html").get_attribute("lang") == "km"
    assert page.url.endswith(f"/cases/{own_case.pk}/hearings/new/")
    expect(page.get_by_role("button", name="ខ្មែរ")).to_have_attribute("aria-current", "true")


def test_eight_officials_charged_together_are_entered_through_the_pages(site, page, caseworker):
    """Eight people abroad charged together: four entered when opening the case ("Add
    another person" keeps what was typed), four added to it afterwards."""
    names = [f"Fictional Official {chr(65 + n)}" for n in range(8)]
    login(page, site.url, "caseworker")
    page.goto(f"{site.url}/cases/new/")
    page.fill("#id_case-reference", "ABR-0008")
    page.select_option("#id_case-province", label="Battambang")
    page.select_option("#id_case-status", "charged")
    for n, name in enumerate(names[:4]):
        if n:
            page.click("button[name=add_person]")
        page.fill(f"#id_person-{n}-name_latin", name)
    page.select_option("#id_extra-custody_status", "in_exile")
    page.click("text=Open the case")
    expect(page.locator("h1")).to_contain_text("ABR-0008")
    for name in names[4:]:
        page.click("text=Add a person to this case")
        page.fill("#id_person-name_latin", name)
        page.select_option("#id_custody_status", "in_exile")
        # Names this alike are flagged as possible duplicates: these are different people.
        page.check("#id_confirm_new")
        page.click("text=Add to the case")
        expect(page.locator("h1")).to_contain_text("ABR-0008")
    accused = page.locator("section:has(h2:text('Accused'))")
    for name in names:
        expect(accused).to_contain_text(name)
    expect(page.locator(".badge").first).to_contain_text("Charged")
