from __future__ import annotations

from dataclasses import dataclass

import pytest

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.field import services
from amparo.field.models import Deployment
from tests.field.factories import approved_deployment, certified_observer, person


@dataclass
class Event:
    coordinator: User
    alice: User  # observer, pair 1
    bob: User  # observer, pair 1
    carol: User  # observer, another pair
    lawyer: User  # attorney on the legal team
    outsider: User  # attorney not on the legal team
    hotline: User
    deployment: Deployment


@pytest.fixture
def event(db: None) -> Event:
    coordinator = person("coco", Role.COORDINATOR)
    alice = certified_observer("alice", coordinator)
    bob = certified_observer("bob", coordinator)
    carol = certified_observer("carol", coordinator)
    lawyer = person("lina", Role.ATTORNEY)
    outsider = person("otto", Role.ATTORNEY)
    hotline = person("hana", Role.HOTLINE)
    deployment = approved_deployment(coordinator)
    services.assign_observer(deployment, alice, 1, "North corner")
    services.assign_observer(deployment, bob, 1, "North corner")
    services.assign_observer(deployment, carol, 2, "South corner")
    services.set_legal_team(deployment, [lawyer])
    return Event(coordinator, alice, bob, carol, lawyer, outsider, hotline, deployment)
