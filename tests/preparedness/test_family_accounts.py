from __future__ import annotations

import time

import pyotp
import pytest
from django.test import Client
from django.urls import reverse

from amparo.preparedness.family_accounts import confirm_totp, start_totp
from amparo.preparedness.passphrases import WORDS, generate_passphrase
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
