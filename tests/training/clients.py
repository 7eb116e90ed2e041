from __future__ import annotations

from django.test import Client

from amparo.accounts.models import User
from amparo.web.policy import MFA_SESSION_KEY


def signed_in_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[MFA_SESSION_KEY] = True
    session.save()
    return client
