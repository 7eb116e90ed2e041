"""Lockout keys on the address a trusted proxy names, when the operator says which header."""

from django.test import RequestFactory, override_settings

from amparo.accounts.services import client_address


def test_remote_addr_is_used_without_a_trusted_header():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="203.0.113.9")
    assert client_address(request) == "10.0.0.1"


@override_settings(AMPARO_CLIENT_ADDRESS_HEADER="HTTP_X_REAL_IP")
def test_trusted_proxy_header_names_the_client():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="203.0.113.9")
    assert client_address(request) == "203.0.113.9"
    bare = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1")
    assert client_address(bare) == "10.0.0.1"
