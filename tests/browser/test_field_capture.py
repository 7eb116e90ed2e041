"""An observer writes a report offline in real Chromium; it reaches the server exactly once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from django.conf import settings
from playwright.sync_api import BrowserContext, FilePayload, Page, expect

from amparo.accounts.roles import Role
from amparo.field import services
from amparo.field.models import Attachment, DeviceToken, Report, Upload
from tests.browser.accessibility import axe_violations
from tests.field.factories import approved_deployment, certified_observer, person, signed_in_client
from tests.field.jpeg_samples import jpeg

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHOTO_PLAIN = jpeg(seed=3)
PHOTO_GPS = jpeg(with_gps=True, seed=7)
VIDEO = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 9000


COUNT_STORED_BLOBS = """async () => {
  const db = await new Promise((done) => {
    const opening = indexedDB.open("amparo-field");
    opening.onsuccess = () => done(opening.result);
  });
  const files = await new Promise((done) => {
    const reading = db.transaction("files").objectStore("files").getAll();
    reading.onsuccess = () => done(reading.result);
  });
  return files.filter((file) => file.blob).length;
}"""


def _sign_in(context: BrowserContext, site: str, user) -> None:
    """The sign-in flow itself is tested by accounts; here the session is handed over."""
    client = signed_in_client(user)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": site}])


def _outbox_states(page: Page) -> list[list[str]]:
    states: list[list[str]] = page.eval_on_selector_all(
        "#outbox li",
        "items => items.map(i => [i.dataset.kind, i.dataset.state, i.dataset.sha256 || ''])",
    )
    return states


def test_offline_report_with_two_photos_and_a_video_syncs_exactly_once(
    new_context: Callable[[], BrowserContext], site: str
) -> None:
    coordinator = person("coco", Role.COORDINATOR)
    alice = certified_observer("alice", coordinator)
    deployment = approved_deployment(coordinator)
    services.assign_observer(deployment, alice, 1, "North corner")

    context = new_context()
    _sign_in(context, site, alice)
    page = context.new_page()
    page.goto("/field/connect/")
    page.get_by_label("Name this phone").fill("Alice's phone")
    page.get_by_role("button", name="Connect").click()
    page.wait_for_url("**/field/capture/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "yes")
    assert axe_violations(page) == []

    context.set_offline(True)
    page.reload()  # served by the service worker with no network
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    page.locator("#deployment").fill(str(deployment.pk))
    page.locator('[data-group="entries"] [name="time"]').fill("14:05")
    page.locator('[data-group="entries"] [name="location"]').fill("5th and Main")
    page.locator('[data-group="entries"] [name="what"]').fill("A line of officers formed.")
    page.get_by_label("Federal immigration").check()
    page.locator("#in-charge").fill("Supervisor in a grey jacket")
    page.locator("#narrative").fill("Offline narrative written on the street.")
    files: list[FilePayload] = [
        {"name": "plain.jpg", "mimeType": "image/jpeg", "buffer": PHOTO_PLAIN},
        {"name": "gps.jpg", "mimeType": "image/jpeg", "buffer": PHOTO_GPS},
        {"name": "clip.mp4", "mimeType": "video/mp4", "buffer": VIDEO},
    ]
    page.locator("#files").set_input_files(files)
    page.locator("#save").click()
    expect(page.locator("#outbox li")).to_have_count(4)
    expected = {hashlib.sha256(data).hexdigest() for data in (PHOTO_PLAIN, PHOTO_GPS, VIDEO)}
    states = _outbox_states(page)
    assert {sha for kind, _state, sha in states if kind == "file"} == expected
    assert {state for _kind, state, _sha in states} == {"saved"}
    assert Report.objects.count() == 0

    page.close()  # the tab is closed; the phone stays offline
    page = context.new_page()
    page.goto("/field/capture/")
    expect(page.locator("#outbox li")).to_have_count(4)

    context.set_offline(False)
    page.locator("#sync").click()
    expect(page.locator('#outbox li[data-state="confirmed"]')).to_have_count(4, timeout=20_000)
    expect(page.locator("#outbox .receipt")).to_have_count(4)

    report = Report.objects.get()
    assert report.narrative == "Offline narrative written on the street."
    assert report.deployment == deployment
    assert report.agency_types == ["federal_immigration"]
    assert {a.sha256 for a in report.attachments.all()} == expected
    assert {a.media_type for a in report.attachments.all()} == {"image/jpeg", "video/mp4"}
    # The local copies are gone once confirmed; only the receipts are shown.
    left = page.evaluate(COUNT_STORED_BLOBS)
    assert left == 0

    page.locator("#sync").click()
    expect(page.locator("body")).to_have_attribute("data-syncing", "no")
    assert Report.objects.count() == 1
    assert Attachment.objects.count() == 3
    assert Upload.objects.count() == 3

    page.locator("#sign-out").click()
    expect(page.locator("#outbox li")).to_have_count(0)
    expect(page.locator("#connection")).to_have_attribute("data-state", "disconnected")


def test_sign_out_revokes_the_phone_and_keeps_only_what_is_unconfirmed(
    new_context: Callable[[], BrowserContext], site: str
) -> None:
    coordinator = person("coco", Role.COORDINATOR)
    alice = certified_observer("alice", coordinator)
    context = new_context()
    _sign_in(context, site, alice)
    page = context.new_page()
    page.goto("/field/connect/")
    page.get_by_role("button", name="Connect").click()
    page.wait_for_url("**/field/capture/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    page.locator("#narrative").fill("Not sent yet.")
    page.locator("#save").click()
    expect(page.locator('#outbox li[data-state="saved"]')).to_have_count(1)

    page.locator("#sign-out").click()
    expect(page.locator("#connection")).to_have_attribute("data-state", "disconnected")
    expect(page.locator('#outbox li[data-state="saved"]')).to_have_count(1)
    device = DeviceToken.objects.get(user=alice)
    assert device.revoked_at is not None
    page.locator("#sync").click()
    expect(page.locator("#sync-message")).to_contain_text("Connect this phone")
    assert Report.objects.count() == 0
