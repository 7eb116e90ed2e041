from __future__ import annotations

import time

import pyotp
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from amparo.audit.models import AuditEvent
from amparo.preparedness.family_accounts import confirm_totp, start_totp
from amparo.preparedness.passphrases import WORDS, generate_passphrase
from amparo.preparedness.printables import card_language, packet_language
from tests.preparedness.conftest import make_family

pytestmark = pytest.mark.django_db


def test_suggested_passphrases_are_words_and_a_number_and_differ():
    phrases = {generate_passphrase() for _each in range(50)}
    assert len(phrases) == 50
    for phrase in phrases:
        *words, number = phrase.split("-")
        assert all(word in WORDS for word in words)
        assert 10 <= int(number) <= 99


def test_with_totp_the_passphrase_alone_does_not_sign_in():
    account = make_family()
    start_totp(account)
    totp = pyotp.TOTP(account.totp_secret)
    confirm_totp(account, totp.now())
    client = Client()
    response = client.post(
        reverse("preparedness:sign_in"),
        {"username": "RIVERA ", "passphrase": "luna-cielo-tren-faro-42"},
    )
    assert response["Location"] == reverse("preparedness:sign_in_code")
    assert client.get(reverse("preparedness:home")).status_code == 302
    wrong = client.post(reverse("preparedness:sign_in_code"), {"code": "000000"})
    assert wrong.status_code == 200
    account.refresh_from_db()
    # The enrolment used this step's code; the next step's is still unused.
    next_step = totp.at(int(time.time()) + 30)
    response = client.post(reverse("preparedness:sign_in_code"), {"code": next_step})
    assert response["Location"] == reverse("preparedness:home")
    assert client.get(reverse("preparedness:home")).status_code == 200


def test_a_wrong_passphrase_is_refused_in_words():
    make_family()
    response = Client().post(
        reverse("preparedness:sign_in"), {"username": "rivera", "passphrase": "wrong-words-99"}
    )
    assert response.status_code == 200
    assert "do not match" in response.content.decode()


def signed_in_client() -> Client:
    client = Client()
    response = client.post(
        reverse("preparedness:sign_in"),
        {"username": "rivera", "passphrase": "luna-cielo-tren-faro-42"},
    )
    assert response["Location"] == reverse("preparedness:home")
    return client


def test_a_family_changes_its_language_for_pages_and_printables():
    account = make_family(language="es")
    client = signed_in_client()
    page = client.get(reverse("preparedness:language"))
    assert page.status_code == 200
    assert '<option value="es" selected>' in page.content.decode()

    response = client.post(reverse("preparedness:language"), {"language": "ar"})
    assert response["Location"] == reverse("preparedness:home")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ar"
    account.refresh_from_db()
    assert account.language == "ar"
    home = client.get(reverse("preparedness:home")).content.decode()
    assert '<html lang="ar" dir="rtl">' in home
    assert card_language(account.plan) == "ar"
    assert packet_language(account.plan) == "ar"
    event = AuditEvent.objects.get(action="family.language_changed")
    assert event.detail == "es->ar"


def test_a_language_the_site_is_not_translated_into_is_kept_for_the_printables():
    account = make_family(language="es")
    client = signed_in_client()
    response = client.post(reverse("preparedness:language"), {"language": "ht"}, follow=True)
    account.refresh_from_db()
    assert account.language == "ht"
    assert card_language(account.plan) == "ht"
    # The pages stay in the language they were in, and say why.
    assert '<html lang="es"' in response.content.decode()
    assert "Kreyòl ayisyen" in response.content.decode()


def test_an_unknown_language_is_refused_and_strangers_are_sent_to_sign_in():
    account = make_family(language="es")
    client = signed_in_client()
    response = client.post(reverse("preparedness:language"), {"language": "xx"})
    assert response.status_code == 200
    account.refresh_from_db()
    assert account.language == "es"
    stranger = Client().post(reverse("preparedness:language"), {"language": "ar"})
    assert stranger["Location"] == reverse("preparedness:sign_in")
    account.refresh_from_db()
    assert account.language == "es"
