"""Every URL declares who may use it; a view that does not is reported and refused."""

import pytest
from django.test import override_settings
from django.urls import get_resolver

from amparo.audit.models import AuditEvent
from amparo.web.checks import access_policy_check, iter_routes, routes_without_policy

UNDECLARED_URLCONF = "tests.web.throwaway_urls"


def test_every_route_declares_an_access_policy():
    missing = routes_without_policy()
    assert not missing, "Views without an access policy:\n" + "\n".join(map(str, missing))


def test_walker_reaches_routes_inside_includes():
    names = {route.name for route in iter_routes()}
    assert {"web:index", "web:home", "accounts:login", "accounts:mfa"} <= names


def test_walker_reports_an_undecorated_view():
    missing = routes_without_policy(get_resolver(UNDECLARED_URLCONF))
    assert [route.pattern for route in missing] == ["undeclared/<int:number>/"]
    assert missing[0].name == "undeclared"


@override_settings(ROOT_URLCONF=UNDECLARED_URLCONF)
def test_deploy_check_names_the_undecorated_view():
    errors = access_policy_check()
    assert [error.id for error in errors] == ["amparo.E007"]
    assert "/undeclared/<int:number>/" in errors[0].msg


def test_deploy_check_passes_on_the_real_site():
    assert access_policy_check() == []


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=UNDECLARED_URLCONF)
def test_undecorated_view_is_refused_and_audited(client):
    response = client.get("/undeclared/7/")
    assert response.status_code == 403
    assert b"this body must never be served" not in response.content
    event = AuditEvent.objects.get()
    assert event.allowed is False
    assert event.action == "access.refused"
    assert event.target == "/undeclared/7/"
