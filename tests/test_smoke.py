import pytest


@pytest.mark.django_db
def test_sign_in_page_is_served_with_strict_headers(client):
    response = client.get("/accounts/sign-in/")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "no-store"
