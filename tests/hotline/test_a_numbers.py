import pytest
from django.core.exceptions import ValidationError

from amparo.hotline.a_numbers import format_a_number, masked_a_number, normalise_a_number


@pytest.mark.parametrize(
    ("written", "digits"),
    [
        ("123456789", "123456789"),
        ("A123456789", "123456789"),
        ("a-123-456-789", "123456789"),
        ("A 123 456 789", "123456789"),
        ("123.456.789", "123456789"),
        ("  A123/456/789 ", "123456789"),
        ("12345678", "012345678"),
        ("A12-345-678", "012345678"),
        ("a_1234_5678", "012345678"),
        # Digits as Arabic, Persian and full-width keyboards type them, and typographic dashes.
        ("١٢٣٤٥٦٧٨٩", "123456789"),
        ("A۰۱۲-۳۴۵-۶۷۸", "012345678"),
        ("１２３４５６７８９", "123456789"),
        ("A012–345—678", "012345678"),
        ("١٢٣٬٤٥٦٬٧٨٩", "123456789"),
    ],
)
def test_written_forms_normalise_to_nine_digits(written, digits):
    assert normalise_a_number(written) == digits


@pytest.mark.parametrize(
    ("written", "code", "words"),
    [
        ("", "empty", "8 or 9 digits"),
        ("A", "empty", "8 or 9 digits"),
        ("1234567", "length", "this one has 7"),
        ("1234567890", "length", "this one has 10"),
        ("A12345678X", "not_digits", "only digits"),
        ("A12345678½", "not_digits", "only digits"),
        ("²³⁴⁵⁶⁷⁸⁹¹", "not_digits", "only digits"),
        ("000-000-000", "zeros", "all zeros"),
    ],
)
def test_bad_a_numbers_say_what_is_wrong(written, code, words):
    with pytest.raises(ValidationError) as raised:
        normalise_a_number(written)
    assert raised.value.code == code
    assert words in " ".join(raised.value.messages)


def test_printed_and_masked_forms():
    assert format_a_number("012345678") == "A012-345-678"
    assert masked_a_number("012345678") == "A•••-•••-678"
    assert masked_a_number("") == ""
