"""Every link a role is shown leads to a page that role may open, and nothing else is shown."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from amparo.accounts.roles import Role
from amparo.web.navigation import LINKS, links_for
from amparo.web.policy import MFA_SESSION_KEY, policy_of


def _client_for(role: Role) -> Client:
    user = get_user_model().objects.create_user(username=f"nav-{role}", role=role)
    client = Client()
    client.force_login(user)
    session = client.session
    session[MFA_SESSION_KEY] = True
    session.save()
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_every_link_shown_opens_for_that_role(role):
    client = _client_for(role)
    links = links_for(role)
    assert links, f"{role} sees no links at all"
    for link in links:
        response = client.get(link.url)
        assert response.status_code == 200, f"{role} is shown {link.url} but gets {response}"
    home = client.get("/home/").content.decode()
    for link in links:
        assert f'href="{link.url}"' in home


@pytest.mark.parametrize("link", LINKS, ids=lambda link: link.url_name)
def test_links_are_offered_only_to_roles_the_page_admits(link):
    from django.urls import resolve

    policy = policy_of(resolve(link.url).func)
    assert policy is not None
    if policy.roles:
        assert {str(r) for r in link.roles} <= policy.roles, link.url_name
