import base64
import os
import stat

import pytest
from django.db import connection

from amparo.hotline import sealed_fields
from amparo.hotline.models import Case
from amparo.hotline.sealed_fields import UnsealError, blind_index, seal, unseal
from tests.hotline.factories import A_NUMBER_DIGITS, BIRTH_DATE, intake


@pytest.fixture
def fresh_keys(monkeypatch, tmp_path, settings):
    settings.DATA_DIR = tmp_path
    monkeypatch.delenv(sealed_fields.KEY_ENVIRONMENT_VARIABLE, raising=False)
    sealed_fields.field_keys.cache_clear()
    yield tmp_path
    sealed_fields.field_keys.cache_clear()


def test_seal_round_trips_and_differs_each_time():
    first, second = seal("a_number", "012345678"), seal("a_number", "012345678")
    assert first != second
    assert "012345678" not in first
    assert unseal("a_number", first) == unseal("a_number", second) == "012345678"


def test_a_sealed_value_does_not_open_as_another_field():
    with pytest.raises(UnsealError, match="date_of_birth"):
        unseal("date_of_birth", seal("a_number", "012345678"))


def test_a_damaged_value_names_the_field():
    sealed = seal("a_number", "012345678")
    damaged = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(UnsealError, match="a_number"):
        unseal("a_number", damaged)


def test_key_file_is_made_once_with_owner_only_permissions(fresh_keys):
    sealed = seal("a_number", "012345678")
    key_file = fresh_keys / "field_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    contents = key_file.read_text()
    sealed_fields.field_keys.cache_clear()
    assert unseal("a_number", sealed) == "012345678"
    assert key_file.read_text() == contents


def test_environment_key_wins_and_a_wrong_one_is_explained(fresh_keys, monkeypatch):
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    monkeypatch.setenv(sealed_fields.KEY_ENVIRONMENT_VARIABLE, key)
    sealed = seal("a_number", "012345678")
    assert not (fresh_keys / "field_key").exists()
    monkeypatch.setenv(
        sealed_fields.KEY_ENVIRONMENT_VARIABLE, base64.urlsafe_b64encode(b"x" * 16).decode()
    )
    sealed_fields.field_keys.cache_clear()
    with pytest.raises(sealed_fields.FieldKeyError, match="32 bytes, found 16"):
        unseal("a_number", sealed)


def test_blind_index_is_keyed_and_separates_fields(fresh_keys, monkeypatch):
    first = blind_index("a_number", "012345678")
    assert first == blind_index("a_number", "012345678")
    assert first != blind_index("date_of_birth", "012345678")
    monkeypatch.setenv(
        sealed_fields.KEY_ENVIRONMENT_VARIABLE, base64.urlsafe_b64encode(os.urandom(32)).decode()
    )
    sealed_fields.field_keys.cache_clear()
    assert blind_index("a_number", "012345678") != first


@pytest.mark.django_db
def test_database_holds_no_plain_a_number_or_birth_date():
    outcome = intake()
    assert outcome.case.a_number() == A_NUMBER_DIGITS
    assert outcome.case.date_of_birth() == BIRTH_DATE
    plain = [
        A_NUMBER_DIGITS,
        A_NUMBER_DIGITS[1:],
        "012-345-678",
        BIRTH_DATE.isoformat(),
        BIRTH_DATE.strftime("%m/%d/%Y"),
        BIRTH_DATE.strftime("%Y%m%d"),
    ]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if not table.startswith(("hotline_", "audit_")):
                continue
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from the schema
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row)
                for value in plain:
                    assert value not in text, f"{value} in plain text in table {table}"
                # Not even a part of it kept on its own, such as the last digits.
                for cell in row:
                    assert str(cell) not in {A_NUMBER_DIGITS[-3:], A_NUMBER_DIGITS[-4:]}, table
    assert Case.objects.filter(a_number_sealed__contains=A_NUMBER_DIGITS).count() == 0
