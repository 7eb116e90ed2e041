"""A family's call to a lawyer on the case, in Chromium, as new users would do it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, Request, expect

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.hotline.default_templates import install_default_templates
from amparo.hotline.models import Case, DuplicateFlag, UpdateTemplate
from tests.browser.tour import choose_language, sign_in_context
from tests.hotline.factories import attorney, person
from tests.hotline.smtp_server import Mailbox, smtp_server  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

A_NUMBER_WRITTEN = "A 204-881-377"
SECRETS_IN_URLS = ("204881377", "204-881-377", "1990-08-17")


def page_for(
    new_context: Callable[[], BrowserContext], site: str, user: User | None, urls: list[str]
) -> Page:
    context = new_context()
    if user is not None:
        sign_in_context(context, site, user, mfa_done=True)
    page = context.new_page()

    def remember(request: Request) -> None:
        urls.append(request.url)

    page.on("request", remember)
    return page


def fill_public_form(page: Page, a_number: str) -> None:
    page.fill("[name=caller_name]", "Rosa Hernández")
    page.fill("[name=caller_relationship]", "hermana")
    page.fill("[name=caller_phone]", "+1 555 0100")
    page.fill("[name=caller_email]", "rosa@example.org")
    page.fill("[name=legal_name]", "José Luis Hernández Ramírez")
    page.fill("[name=date_of_birth]", "1990-08-17")
    page.fill("[name=country_of_birth]", "Guatemala")
    page.fill("[name=a_number]", a_number)
    page.select_option("[name=encounter_place]", "traffic_stop")
    page.fill("[name=county]", "Pinal")
    page.fill("[name=children]", "2 (4 y 9 años)")
    page.fill("[name=children_with]", "su tía")
    page.check("[name=consent_share_with_attorneys]")
    page.check("[name=update_channel][value=email]")
    page.check("[name=consent_updates_location]")


def test_caller_to_attorney_to_appeal_deadline_and_a_spanish_update(
    new_context: Callable[[], BrowserContext],
    site: str,
    smtp_server: Mailbox,  # noqa: F811
) -> None:
    urls: list[str] = []
    # Rows a data migration installs do not survive another module's transactional flush.
    install_default_templates(UpdateTemplate)
    volunteer = person("vera", Role.HOTLINE, display_name="Vera")
    coordinator = person("cora", Role.COORDINATOR, display_name="Cora")
    ana = attorney("ana", languages="es,en", facilities="Eloy Detention Center")
    attorney("bob", languages="en", facilities="Eloy Detention Center", capacity=9)
    attorney("carla", languages="es")

    # A caller fills the public form in Spanish.
    caller = page_for(new_context, site, None, urls)
    caller.goto("/hotline/help/")
    choose_language(caller, "es")
    expect(caller.locator("html")).to_have_attribute("lang", "es")
    expect(caller.locator("[name=caller_language]")).to_have_value("es")
    fill_public_form(caller, A_NUMBER_WRITTEN)
    with caller.expect_navigation():
        caller.click("#send-help")
    assert caller.url.endswith("/hotline/help/thanks/")
    case = Case.objects.get()

    # The network has reviewed its Spanish "located" message.
    reviewer = page_for(new_context, site, coordinator, urls)
    reviewer.goto("/hotline/templates/")
    reviewer.locator(
        "article", has=reviewer.get_by_role("heading", name="Where they are held (Spanish)")
    ).get_by_role("button").click()
    expect(
        reviewer.locator(
            "article", has=reviewer.get_by_role("heading", name="Where they are held (Spanish)")
        )
    ).to_contain_text("Reviewed by Cora")

    # A volunteer sees the new case and logs two custody searches.
    desk = page_for(new_context, site, volunteer, urls)
    desk.goto("/hotline/cases/")
    desk.get_by_role("link", name=str(case.pk), exact=True).click()
    expect(desk.locator("h1")).to_contain_text("José Luis Hernández Ramírez")
    desk.select_option("#search-form [name=where_looked]", "online_locator")
    desk.select_option("#search-form [name=result]", "not_found")
    desk.click("#search-form button[type=submit]")
    expect(desk.locator("#case-status")).to_have_text("Reported")
    desk.select_option("#search-form [name=where_looked]", "facility")
    desk.select_option("#search-form [name=result]", "found")
    desk.fill("#search-form [name=facility_name]", "Eloy Detention Center")
    desk.fill("#search-form [name=facility_address]", "1705 E Hanna Rd, Eloy, AZ 85131")
    desk.fill("#search-form [name=facility_phone]", "520-464-3000")
    desk.click("#search-form button[type=submit]")
    expect(desk.locator("#case-status")).to_have_text("Located")
    expect(desk.locator("#case-facility")).to_contain_text("Eloy Detention Center")
    expect(desk.locator("#search-heading + p + table tbody tr")).to_have_count(2)

    # The top suggestion speaks Spanish and covers the facility; offer it to her.
    top = desk.locator("ol.suggestions > li").first
    expect(top).to_contain_text("Ana")
    top.get_by_role("button", name="Offer the case").click()
    expect(desk.locator("#case-status")).to_have_text("Referred to an attorney")

    # The attorney confirms no conflict, sees the details, accepts, records a bond decision.
    lawyer = page_for(new_context, site, ana, urls)
    lawyer.goto("/hotline/offers/")
    lawyer.get_by_role("link", name=f"Case {case.pk}").click()
    expect(lawyer.locator("body")).not_to_contain_text("A204-881-377")
    lawyer.get_by_role("button", name="I have no conflict").click()
    expect(lawyer.locator("body")).to_contain_text("A204-881-377")
    lawyer.get_by_role("button", name="Accept the case").click()
    expect(lawyer.locator("#case-status")).to_have_text("Represented")
    decided = timezone.localdate()
    lawyer.select_option("#hearing-form [name=kind]", "bond")
    lawyer.fill("#hearing-form [name=court]", "Eloy Immigration Court")
    lawyer.fill("#hearing-form [name=decision_date]", decided.isoformat())
    lawyer.select_option("#hearing-form [name=bond_outcome]", "denied")
    lawyer.click("#hearing-form button[type=submit]")
    due = (decided + timedelta(days=30)).isoformat()
    expect(lawyer.locator("#deadline-heading + table")).to_contain_text(due)
    expect(lawyer.locator("#case-status")).to_have_text("Bond hearing")

    # The volunteer sends the family an update; it arrives in Spanish at the SMTP server.
    desk.reload()
    expect(desk.locator("#case-attorney")).to_contain_text("Ana")
    expect(desk.locator("#deadline-heading + table")).to_contain_text(due)
    desk.select_option("[name=template]", "located")
    desk.get_by_role("button", name="Send update").click()
    expect(desk.locator(".messages")).to_contain_text("The update was sent.")
    [message] = smtp_server.messages
    assert message["To"] == "rosa@example.org"
    body = smtp_server.bodies()[0]
    assert "Encontramos dónde está detenido/a José Luis Hernández Ramírez" in body
    assert "Eloy Detention Center" in body

    # A second report for the same A-number, written with dashes, is flagged.
    second_caller = page_for(new_context, site, None, urls)
    second_caller.goto("/hotline/help/")
    fill_public_form(second_caller, "204-881-377")
    second_caller.fill("[name=legal_name]", "Jose Hernandez")
    with second_caller.expect_navigation():
        second_caller.click("#send-help")
    flag = DuplicateFlag.objects.get()
    assert flag.other == case
    desk.goto(f"/hotline/cases/{flag.case_id}/")
    expect(desk.locator("#dup-heading")).to_be_visible()

    leaked = [url for url in urls for secret in SECRETS_IN_URLS if secret in url]
    assert leaked == []
    assert len(urls) > 20
