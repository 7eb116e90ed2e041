"""Spanish and Arabic are complete, compiled and used; Arabic pages read right to left."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.web.compiled_messages import ensure_compiled_messages
from tests.web.po_catalog import Entry, read_catalog

LOCALE = Path(settings.LOCALE_PATHS[0])
COMPLETE_LANGUAGES = ["es", "ar"]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%|\{[a-z_]+\}")


def catalog(language: str) -> list[Entry]:
    path = LOCALE / language / "LC_MESSAGES" / "django.po"
    assert path.is_file(), f"{path} is missing; run `make messages`"
    return read_catalog(path)


def translation_of(language: str, msgid: str) -> str:
    found = [entry for entry in catalog(language) if entry.msgid == msgid]
    assert found, f"{msgid!r} is not in the {language} catalog"
    return found[0].msgstr[0]


@pytest.mark.parametrize("language", COMPLETE_LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language: str) -> None:
    entries = catalog(language)
    assert len(entries) > 100, "the catalog looks empty; run `make messages`"
    problems = [
        f"line {entry.line}: {entry.msgid[:60]!r} "
        + ("is fuzzy" if "fuzzy" in entry.flags else "is not translated")
        for entry in entries
        if "fuzzy" in entry.flags or not (entry.is_header or entry.is_translated)
    ]
    assert not problems, f"{language}/LC_MESSAGES/django.po:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", COMPLETE_LANGUAGES)
def test_translations_keep_every_placeholder(language: str) -> None:
    problems = []
    for entry in catalog(language):
        if entry.is_header:
            continue
        expected = sorted(set(PLACEHOLDER.findall(entry.msgid + entry.msgid_plural)))
        for form, text in entry.msgstr.items():
            if sorted(set(PLACEHOLDER.findall(text))) != expected:
                problems.append(f"line {entry.line} form {form}: {entry.msgid[:60]!r}")
    assert not problems, f"{language}: placeholders differ:\n" + "\n".join(problems)


def test_the_catalog_reader_sees_untranslated_and_fuzzy_entries(tmp_path: Path) -> None:
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: es\\n"\n\n'
        'msgid "Sign in"\nmsgstr ""\n\n'
        '#, fuzzy, python-format\nmsgid "Hello %(name)s"\nmsgstr "Hola %(name)s"\n\n'
        'msgid "one"\nmsgid_plural "many"\nmsgstr[0] "uno"\nmsgstr[1] ""\n\n'
        'msgid ""\n"two "\n"lines"\nmsgstr "dos "\n"líneas"\n',
        encoding="utf-8",
    )
    header, untranslated, fuzzy, plural, wrapped = read_catalog(po)
    assert header.is_header
    assert not untranslated.is_translated
    assert "fuzzy" in fuzzy.flags
    assert fuzzy.is_translated
    assert plural.msgid_plural == "many"
    assert not plural.is_translated
    assert (wrapped.msgid, wrapped.msgstr[0]) == ("two lines", "dos líneas")


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    ensure_compiled_messages()


@pytest.mark.django_db
def test_pages_render_in_spanish() -> None:
    response = Client(headers={"accept-language": "es"}).get("/accounts/sign-in/")
    html = response.content.decode()
    assert '<html lang="es" dir="ltr">' in html
    spanish = translation_of("es", "Sign in")
    assert spanish != "Sign in"
    assert f"<h1>{spanish}</h1>" in html


@pytest.mark.django_db
def test_arabic_pages_read_right_to_left() -> None:
    response = Client(headers={"accept-language": "ar"}).get("/")
    html = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert translation_of("ar", "Sign in") in html
    assert (
        translation_of("ar", "This translation has not yet been checked by a fluent reviewer.")
        in html
    )


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["es", "ar", "en"])
def test_language_form_sets_the_language(language: str) -> None:
    client = Client()
    page = client.get("/accounts/sign-in/").content.decode()
    assert 'id="language-select"' in page
    for code, _name in settings.LANGUAGES:
        assert f'<option value="{code}"' in page
    response = client.post("/language/", {"language": language, "next": "/accounts/sign-in/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sign-in/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == language
    after = client.get("/accounts/sign-in/").content.decode()
    assert f'<html lang="{language}"' in after


@pytest.mark.django_db
def test_language_form_refuses_a_foreign_next_address() -> None:
    client = Client()
    response = client.post("/language/", {"language": "es", "next": "https://elsewhere.example/"})
    assert response.status_code == 302
    assert "elsewhere.example" not in response["Location"]
