"""The bounded name comparison agrees with the plain Levenshtein distance."""

from hypothesis import given, settings
from hypothesis import strategies as st

from amparo.hotline.services import names_are_close, within_distance


def levenshtein(first: str, second: str) -> int:
    """The textbook distance, every cell computed: the reference for the bounded one."""
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, start=1):
        current = [i]
        for j, b in enumerate(second, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


# A small alphabet, so that near and equal strings come up often.
names = st.text(alphabet="abcz ", max_size=14)


@settings(max_examples=600, deadline=None)
@given(names, names, st.integers(min_value=0, max_value=4))
def test_within_distance_matches_levenshtein(first: str, second: str, limit: int) -> None:
    assert within_distance(first, second, limit) == (levenshtein(first, second) <= limit)


def test_known_distances() -> None:
    assert levenshtein("ramirez", "ramires") == 1
    assert within_distance("ramirez", "ramires", 1)
    assert not within_distance("ramirez", "ramires", 0)
    assert within_distance("hernandez", "fernandes", 2)
    assert not within_distance("hernandez", "fernandos", 2)
    assert within_distance("", "ab", 2)
    assert not within_distance("", "abc", 2)


def test_names_close_by_spelling_or_word_order() -> None:
    assert names_are_close("José Ramírez López", "Jose Ramires Lopez")
    assert names_are_close("Pérez García Juan", "Juan Perez Garcia")
    assert not names_are_close("Juan Pérez", "Juana Pérez Soto")
    assert not names_are_close("", "Juan")
