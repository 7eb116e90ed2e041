"""The public form's busy page (429 and 503): the family's answers are kept on it, to be sent
again or brought back into the form, and the hotline's number is offered where one is set."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from amparo.hotline.intake_throttle import forget_refusals
from amparo.hotline.models import Case, IntakeBucket
from tests.hotline.test_views import FORM as VIEWS_FORM

pytestmark = pytest.mark.django_db

# The views' test answers, with what must survive a round trip through hidden inputs.
FORM = {
    **VIEWS_FORM,
    "legal_name": "José Luis Hernández <b>",
    "needs_other": 'Two lines\nwith "quotes" & more',
}


class _Forms(HTMLParser):
    """The hidden inputs and buttons of the page's forms that post to the public form (the
    header's language switcher is a form of its own)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: list[tuple[str, str]] = []
        self.buttons: list[dict[str, str | None]] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form":
            self._inside = named.get("action") == reverse("hotline:help")
        if not self._inside:
            return
        if tag == "input" and named.get("type") == "hidden":
            self.hidden.append((named.get("name") or "", named.get("value") or ""))
        if tag == "button":
            self.buttons.append(named)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def forms_of(page: bytes) -> _Forms:
    parser = _Forms()
    parser.feed(page.decode())
    return parser


@pytest.fixture(autouse=True)
def fresh_memory() -> None:
    forget_refusals()


@pytest.fixture
def one_token(settings) -> None:
    settings.INTAKE_BURST = 1
    settings.INTAKE_PER_SECOND = 0.001


def refill() -> None:
    """A token is free again, and this process forgets that the bucket was empty."""
    IntakeBucket.objects.update(tokens=1)
    forget_refusals()


def test_a_refused_submission_keeps_the_answers_and_sends_them_again(one_token):
    client = Client()
    assert client.post(reverse("hotline:help"), FORM).status_code == 302
    busy = client.post(reverse("hotline:help"), {**FORM, "legal_name": "Ana María Cruz"})
    assert busy.status_code == 429
    assert busy["Retry-After"]
    page = forms_of(busy.content)
    kept = [(name, value) for name, value in page.hidden if name != "csrfmiddlewaretoken"]
    assert dict(kept) == {**FORM, "legal_name": "Ana María Cruz"}
    assert [name for name, _ in page.hidden].count("csrfmiddlewaretoken") == 1
    assert "Send again" in busy.content.decode()

    assert Case.objects.count() == 1
    refill()
    again = client.post(reverse("hotline:help"), dict(page.hidden))
    assert again.status_code == 302
    case = Case.objects.latest("pk")
    assert case.legal_name == "Ana María Cruz"
    assert case.intakes.get().needs_other == FORM["needs_other"]


def test_the_kept_answers_can_be_brought_back_into_the_form_without_sending(one_token):
    client = Client()
    client.post(reverse("hotline:help"), FORM)
    busy = client.post(reverse("hotline:help"), FORM, HTTP_ACCEPT_LANGUAGE="es")
    page = forms_of(busy.content)
    look, *other_languages = [b for b in page.buttons if b.get("name") == "switch_language"]
    assert look["value"] == "es"
    assert {b["value"] for b in other_languages} == {"en", "ar"}
    back = client.post(reverse("hotline:help"), {**dict(page.hidden), "switch_language": "es"})
    assert back.status_code == 200
    text = back.content.decode()
    assert 'value="Rosa"' in text
    assert "José Luis Hernández &lt;b&gt;" in text
    assert "Enviar a la línea de ayuda" in text  # the form, in the language the page spoke
    in_arabic = client.post(reverse("hotline:help"), {**dict(page.hidden), "switch_language": "ar"})
    assert 'lang="ar"' in in_arabic.content.decode()
    assert 'value="Rosa"' in in_arabic.content.decode()
    assert Case.objects.count() == 1


def test_only_the_forms_own_fields_come_back(one_token):
    client = Client()
    client.post(reverse("hotline:help"), FORM)
    busy = client.post(reverse("hotline:help"), {**FORM, "next": "https://elsewhere.example/"})
    names = {name for name, _ in forms_of(busy.content).hidden}
    assert "next" not in names
    assert "elsewhere.example" not in busy.content.decode()
    assert "<b>" not in busy.content.decode()  # what was typed is escaped


def test_a_body_without_answers_gets_the_plain_busy_page(one_token):
    client = Client()
    client.post(reverse("hotline:help"), FORM)
    busy = client.post(reverse("hotline:help"), {"junk": "x" * 100})
    assert busy.status_code == 429
    assert "Send again" not in busy.content.decode()
    assert "Please go back and send them again" in busy.content.decode()


@pytest.mark.parametrize(
    ("page", "lead"),
    [
        ("form", "If you would rather talk to someone, call the hotline:"),
        ("thanks", "If something changes or it is urgent, call the hotline:"),
        ("busy", "If this is urgent, call the hotline:"),
    ],
)
def test_the_hotline_number_is_offered_where_one_is_set(settings, one_token, page, lead):
    def fetch() -> str:
        client = Client()
        if page == "form":
            return client.get(reverse("hotline:help")).content.decode()
        if page == "thanks":
            return client.get(reverse("hotline:help_thanks")).content.decode()
        IntakeBucket.objects.all().delete()
        forget_refusals()
        client.post(reverse("hotline:help"), FORM)
        return client.post(reverse("hotline:help"), FORM).content.decode()

    settings.AMPARO_HOTLINE_NUMBER = ""
    assert "tel:" not in fetch()
    settings.AMPARO_HOTLINE_NUMBER = "+1 555 0199"
    text = fetch()
    assert lead in text
    assert 'href="tel:+15550199"' in text
    assert '<bdi dir="ltr">+1 555 0199</bdi>' in text
