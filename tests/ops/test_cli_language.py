"""`amparo` speaks the operator's language; what it sends to others stays in theirs."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks_db.models import DBTaskResult

from amparo.accounts.roles import Role
from amparo.cli import operator_language
from amparo.hotline import services as hotline_services
from amparo.hotline.models import Case, HearingKind
from amparo.ops.tasks import run_housekeeping
from amparo.training import events
from tests.hotline.factories import attorney, intake
from tests.hotline.factories import person as hotline_person
from tests.notify.loopback import SmsGateway, sms_gateway  # noqa: F401 - fixture
from tests.training.factories import event
from tests.web.compiled_messages import ensure_compiled_messages

REPOSITORY = Path(__file__).resolve().parents[2]
SITE_LANGUAGES = ["en", "es", "ar"]
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    ensure_compiled_messages()


# --- Which language the environment asks for ----------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("es_ES.UTF-8", "es"),
        ("es_MX.UTF-8", "es"),
        ("es", "es"),
        ("ar_EG.UTF-8", "ar"),
        ("ar_SA.ISO-8859-6@modifier", "ar"),
        ("en_GB.UTF-8", "en"),
        ("C", None),
        ("C.UTF-8", None),
        ("POSIX", None),
        ("", None),
        ("fr_FR.UTF-8", None),
        ("esperanto", None),
    ],
)
def test_lang_names_a_site_language_or_none(lang: str, expected: str | None) -> None:
    assert operator_language({"LANG": lang}, SITE_LANGUAGES) == expected


@pytest.mark.parametrize("variable", LOCALE_VARIABLES)
def test_each_variable_alone_is_read(variable: str) -> None:
    assert operator_language({variable: "es_ES.UTF-8"}, SITE_LANGUAGES) == "es"
    assert operator_language({variable: "ar_EG.UTF-8"}, SITE_LANGUAGES) == "ar"


def test_nothing_set_means_the_default() -> None:
    assert operator_language({}, SITE_LANGUAGES) is None
    assert operator_language({"HOME": "/root", "LC_TIME": "es_ES.UTF-8"}, SITE_LANGUAGES) is None


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"LANGUAGE": "ar", "LC_ALL": "es_ES.UTF-8", "LC_MESSAGES": "en_US", "LANG": "es"}, "ar"),
        ({"LC_ALL": "es_ES.UTF-8", "LC_MESSAGES": "ar_EG.UTF-8", "LANG": "ar"}, "es"),
        ({"LC_MESSAGES": "ar_EG.UTF-8", "LANG": "es_ES.UTF-8"}, "ar"),
        # An empty variable is not set: the next one decides.
        ({"LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "es_ES.UTF-8"}, "es"),
        # LC_ALL=C is how one asks for the untranslated messages.
        ({"LC_ALL": "C", "LANG": "es_ES.UTF-8"}, None),
        ({"LC_ALL": "POSIX", "LC_MESSAGES": "ar_EG.UTF-8"}, None),
    ],
)
def test_gettext_order_of_precedence(environment: dict[str, str], expected: str | None) -> None:
    assert operator_language(environment, SITE_LANGUAGES) == expected


def test_language_is_a_list_whose_first_site_language_wins() -> None:
    assert operator_language({"LANGUAGE": "fr:ar:es"}, SITE_LANGUAGES) == "ar"
    assert operator_language({"LANGUAGE": "es_MX:es:en"}, SITE_LANGUAGES) == "es"
    assert operator_language({"LANGUAGE": ":de:es"}, SITE_LANGUAGES) == "es"
    # As in gettext, LANGUAGE being set decides: none of its languages here, so the default.
    assert operator_language({"LANGUAGE": "fr:de", "LANG": "es_ES.UTF-8"}, SITE_LANGUAGES) is None


def test_only_the_site_languages_are_chosen() -> None:
    assert operator_language({"LANG": "es_ES.UTF-8"}, ["en", "ar"]) is None
    assert operator_language({"LANG": "pt_BR.UTF-8"}, ["en", "pt-br", "pt"]) == "pt-br"
    assert operator_language({"LANG": "pt_PT.UTF-8"}, ["en", "pt-br", "pt"]) == "pt"


# --- The real command, in a process of its own ---------------------------------------------


def run_amparo(data_dir: Path, *arguments: str, **locale: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {*LOCALE_VARIABLES, "DATABASE_URL", "AMPARO_SECRET_KEY", "AMPARO_EVIDENCE_DIR"}
    }
    environment.update(
        AMPARO_DATA_DIR=str(data_dir),
        PYTHONPATH=str(REPOSITORY),
        DJANGO_SETTINGS_MODULE="amparo.settings",
        **locale,
    )
    return subprocess.run(
        [sys.executable, "-m", "amparo.cli", *arguments],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def in_language(language: str, message: str, **values: Any) -> str:
    with translation.override(language):
        return _(message) % values if values else _(message)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lang", "language"),
    [("es_ES.UTF-8", "es"), ("ar_EG.UTF-8", "ar"), ("C", "en"), ("C.UTF-8", "en")],
)
def test_the_command_line_speaks_the_language_of_lang(
    tmp_path: Path, lang: str, language: str
) -> None:
    created = run_amparo(tmp_path, "evidence-init", "--origin", "example.net/log", LANG=lang)
    assert created.returncode == 0, created.stdout + created.stderr
    first, publish, key = created.stdout.splitlines()
    expected = in_language(
        language, "Created the evidence store at %(path)s", path=tmp_path / "evidence"
    )
    assert first == expected
    assert publish == in_language(
        language, "Publish this log key so that anyone can verify your bundles:"
    )
    assert key.startswith("example.net/log+"), "the key itself is never translated"
    if language != "en":
        assert expected != f"Created the evidence store at {tmp_path / 'evidence'}"

    refused = run_amparo(
        tmp_path,
        "createcoordinator",
        "--username=ana",
        "--password-from-env=AMPARO_TEST_NEVER_SET",
        LANG=lang,
    )
    assert refused.returncode != 0
    assert (
        in_language(
            language,
            "The environment variable %(variable)s is empty or not set.",
            variable="AMPARO_TEST_NEVER_SET",
        )
        in refused.stderr
    )

    helped = run_amparo(tmp_path, "restore", "--help", LANG=lang)
    assert helped.returncode == 0, helped.stderr
    description = in_language(
        language,
        "Restore a backup made by `amparo backup` into this instance's fresh data directory "
        "(SQLite) or empty database (PostgreSQL) and evidence directory.",
    )
    shown = " ".join(helped.stdout.split())  # argparse wraps the lines
    assert " ".join(description.split()) in shown
    assert in_language(language, "an age identity file that decrypts the backup") in shown


@pytest.mark.slow
def test_language_outranks_lang_on_the_command_line(tmp_path: Path) -> None:
    created = run_amparo(
        tmp_path, "evidence-init", "--origin", "example.net/log", LANGUAGE="fr:ar", LANG="es_ES"
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines()[0] == in_language(
        "ar", "Created the evidence store at %(path)s", path=tmp_path / "evidence"
    )


# --- What goes to other people stays in their language -------------------------------------


def english_coordinator_and_a_deadline_due_tomorrow() -> Case:
    """A coordinator who reads English, and a bond appeal on a case due tomorrow."""
    hotline_person("coord", Role.COORDINATOR, preferred_language="en")
    case = intake().case
    hotline_services.record_hearing(
        case,
        attorney("ana"),
        kind=HearingKind.BOND,
        decision_date=date.today() - timedelta(days=29),
        bond_outcome="denied",
    )
    return case


@pytest.mark.django_db
def test_deadline_reminders_stay_in_the_recipients_language(mailoutbox: list[Any]) -> None:
    case = english_coordinator_and_a_deadline_due_tomorrow()
    deadline = case.deadlines.get()
    spanish_subject = in_language(
        "es", "Deadline on case %(case)s: %(due)s", case=case.pk, due=deadline.due_on.isoformat()
    )
    assert spanish_subject.startswith("Plazo"), "the Spanish catalog is not in use"

    with translation.override("es"):  # what `amparo` does when the operator reads Spanish
        call_command("senddeadlinereminders")

    [message] = mailoutbox
    assert message.to == ["coord@example.org"]
    assert message.subject == f"Deadline on case {case.pk}: {deadline.due_on.isoformat()}"
    assert message.body.startswith("Bond appeal must be received by ")


@pytest.mark.django_db
def test_text_reminders_stay_in_the_recipients_language(
    sms_gateway: SmsGateway,  # noqa: F811
) -> None:
    now = timezone.now()
    teach_in = event(starts_at=now + timedelta(hours=10))
    events.make_rsvp(teach_in, "Luz", phone="+15551230000", at=now)
    spanish = in_language(
        "es",
        "Reminder: %(title)s, %(when)s. Your QR code for the door: %(url)s",
        title="Know your rights",
        when="",
        url="",
    )
    assert not spanish.startswith("Reminder"), "the Spanish catalog is not in use"

    with translation.override("es"):
        call_command("sendreminders", stdout=io.StringIO())

    [request] = sms_gateway.received
    assert request.body["text"].startswith("Reminder: Know your rights, ")


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_tasks_in_the_site_language(
    restored_signals: None, mailoutbox: list[Any]
) -> None:
    case = english_coordinator_and_a_deadline_due_tomorrow()
    run_housekeeping.enqueue("senddeadlinereminders")

    with translation.override("es"):
        call_command("worker", batch=True, verbosity=0)

    [result] = DBTaskResult.objects.all()
    assert result.status == "SUCCESSFUL", result.traceback
    assert result.return_value == "reminders sent: 1\n"
    [message] = mailoutbox
    assert message.subject.startswith(f"Deadline on case {case.pk}: ")
