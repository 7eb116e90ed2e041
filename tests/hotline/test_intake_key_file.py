"""The field key is made on the first intake; server processes that start together and take
their first intakes at the same moment must all end up with the same complete key."""

from __future__ import annotations

import threading
from pathlib import Path

from amparo.hotline import sealed_fields

RACERS = 8


def race_for_a_new_key(path: Path) -> tuple[list[bytes], list[BaseException]]:
    start = threading.Barrier(RACERS)
    keys: list[bytes] = []
    errors: list[BaseException] = []

    def first_use() -> None:
        start.wait()
        try:
            keys.append(sealed_fields._read_or_create_key_file(path))
        except sealed_fields.FieldKeyError as error:
            errors.append(error)

    threads = [threading.Thread(target=first_use) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return keys, errors


def test_writers_racing_for_a_new_key_file_all_read_the_same_complete_key(tmp_path: Path):
    for attempt in range(100):
        directory = tmp_path / str(attempt)
        directory.mkdir()
        path = directory / sealed_fields.KEY_FILE_NAME
        keys, errors = race_for_a_new_key(path)
        assert errors == []
        assert len(keys) == RACERS
        assert len(set(keys)) == 1
        assert len(keys[0]) == 32
        assert [p.name for p in directory.iterdir()] == [sealed_fields.KEY_FILE_NAME]
        assert path.stat().st_mode & 0o777 == 0o600
