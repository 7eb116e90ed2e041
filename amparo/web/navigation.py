"""What each role sees on its home page and in the navigation: one list, so the two agree.

A link appears only when its page exists (its URL name resolves), so the navigation never
shows a capability that has not arrived.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from amparo.accounts.roles import Role

COORDINATOR, TRAINER, OBSERVER = Role.COORDINATOR, Role.TRAINER, Role.OBSERVER
HOTLINE, ATTORNEY = Role.HOTLINE, Role.ATTORNEY
EVERYONE = frozenset(Role)


@dataclass(frozen=True)
class Link:
    url_name: str
    label: str | Promise
    description: str | Promise
    roles: frozenset[Role]
    in_menu: bool = False

    @property
    def url(self) -> str:
        return reverse(self.url_name)


LINKS: tuple[Link, ...] = (
    Link(
        "field:deployments",
        _("Deployment requests"),
        _("Events organizers asked observers for: approve, build the roster, name the legal team."),
        frozenset({COORDINATOR, ATTORNEY}),
        in_menu=True,
    ),
    Link(
        "field:my_events",
        _("Your events"),
        _("The events you are on the roster for: check in, check in again, sign out."),
        frozenset({OBSERVER}),
        in_menu=True,
    ),
    Link(
        "field:capture",
        _("Field notes app"),
        _("Write notes and take photos, video and audio, even with no signal; they send later."),
        frozenset({OBSERVER}),
    ),
    Link(
        "field:connect",
        _("Connect this phone"),
        _("Let this phone send field notes to the network, until you or a coordinator revoke it."),
        frozenset({OBSERVER}),
    ),
    Link(
        "field:reports",
        _("Field reports"),
        _("Observer reports: attorney work product, readable by their authors and legal team."),
        frozenset({COORDINATOR, OBSERVER, ATTORNEY}),
    ),
    Link(
        "field:observers",
        _("Observers"),
        _("Who may be deployed: certification from training, or a certified mark you set."),
        frozenset({COORDINATOR}),
    ),
    Link(
        "field:devices",
        _("Connected phones"),
        _("Phones that can send field notes; revoke one that is lost."),
        frozenset({COORDINATOR, OBSERVER}),
    ),
    Link(
        "hotline:cases",
        _("Hotline cases"),
        _("Families' reports of a detention: custody searches, referrals, hearings, updates."),
        frozenset({COORDINATOR, HOTLINE}),
        in_menu=True,
    ),
    Link(
        "hotline:call",
        _("Take a call"),
        _("The guided call script: the same questions as the public form, in order."),
        frozenset({COORDINATOR, HOTLINE}),
    ),
    Link(
        "hotline:deadlines",
        _("Deadlines"),
        _("Hearings and deadlines across cases, soonest first, overdue ones marked."),
        frozenset({COORDINATOR, HOTLINE, ATTORNEY}),
    ),
    Link(
        "hotline:offers",
        _("Case offers"),
        _("Cases offered to you: confirm you have no conflict, then accept or decline."),
        frozenset({ATTORNEY}),
        in_menu=True,
    ),
    Link(
        "preparedness:volunteer",
        _("Act for a family's plan"),
        _("With the family's consent, activate their preparedness plan on their behalf."),
        frozenset({COORDINATOR, HOTLINE}),
    ),
    Link(
        "directory:list",
        _("Attorney directory"),
        _("Partner attorneys: languages, places covered, specialties and capacity."),
        frozenset({COORDINATOR, HOTLINE}),
    ),
    Link(
        "directory:my_profile",
        _("Your directory profile"),
        _("The languages, places and specialties you cover, and how many cases you can take."),
        frozenset({ATTORNEY}),
    ),
    Link(
        "directory:import",
        _("Import the directory"),
        _("Add or update attorney profiles from a CSV file; export it from the same place."),
        frozenset({COORDINATOR}),
    ),
    Link(
        "training:courses",
        _("Training"),
        _("Courses and quizzes; your certification and when it expires."),
        EVERYONE,
        in_menu=True,
    ),
    Link(
        "training:events",
        _("Teach-ins and sessions"),
        _("Public teach-ins and training sessions: RSVPs, waiting lists, check-in at the door."),
        frozenset({COORDINATOR, TRAINER}),
    ),
    Link(
        "training:roster",
        _("Observer roster"),
        _("Who is certified, until when, and who lapses in the next 60 days."),
        frozenset({COORDINATOR, TRAINER}),
    ),
    Link(
        "hotline:templates",
        _("Update templates"),
        _("The reviewed messages sent to families, in each language."),
        frozenset({COORDINATOR}),
    ),
    Link(
        "accounts:people",
        _("People"),
        _("Everyone with an account: role, access window; disable, end sessions, reset MFA."),
        frozenset({COORDINATOR}),
        in_menu=True,
    ),
    Link(
        "accounts:invite",
        _("Invite someone"),
        _("A single-use link for a trainer, observer, hotline volunteer, attorney or coordinator."),
        frozenset({COORDINATOR}),
    ),
    Link(
        "accounts:invitations",
        _("Open invitations"),
        _("Invitations not yet used; withdraw any you no longer need."),
        frozenset({COORDINATOR}),
    ),
    Link(
        "accounts:organizations",
        _("Partner organizations"),
        _("The legal-service providers your attorneys belong to."),
        frozenset({COORDINATOR}),
    ),
    Link(
        "accounts:account",
        _("Your account"),
        _("Password, recovery codes and where you are signed in."),
        EVERYONE,
        in_menu=True,
    ),
)


def _exists(link: Link) -> bool:
    try:
        link.url  # noqa: B018  (resolving is the check)
    except NoReverseMatch:
        return False
    return True


def links_for(role: str, *, menu_only: bool = False) -> list[Link]:
    """The links a role sees, in order; only pages that exist today."""
    return [
        link
        for link in LINKS
        if role in link.roles and (link.in_menu or not menu_only) and _exists(link)
    ]
