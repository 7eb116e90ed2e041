"""A small reader for gettext .po files: enough to judge whether a catalog is complete."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str = ""
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and not self.msgctxt

    @property
    def is_translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values())


def _unquote(text: str, path: Path, number: int) -> str:
    text = text.strip()
    if not (text.startswith('"') and text.endswith('"')):
        raise ValueError(f"{path}:{number}: expected a quoted string, found {text!r}")
    # A .po string is a C string; Python's literal syntax reads the same escapes.
    value = ast.literal_eval(text)
    assert isinstance(value, str)
    return value


def read_catalog(path: Path) -> list[Entry]:
    """Every live entry (obsolete `#~` ones are skipped), header first."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if current is not None and current.msgstr:
                current, target = None, None
            if current is None:
                current = Entry(line=number)
                entries.append(current)
            if line.startswith("#,"):
                current.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            if current is None or target is None:
                raise ValueError(f"{path}:{number}: a continuation line with nothing to continue")
            keyword, rest = "", line
        elif keyword in ("msgctxt", "msgid") and (current is None or current.msgstr):
            current = Entry(line=number)
            entries.append(current)
        if current is None:
            raise ValueError(f"{path}:{number}: unexpected {line!r}")
        value = _unquote(rest, path, number)
        if keyword == "":
            assert target is not None
            name, index = target
        elif keyword.startswith("msgstr["):
            name, index = "msgstr", int(keyword[7:-1])
        elif keyword in ("msgid", "msgid_plural", "msgctxt", "msgstr"):
            name, index = keyword, 0
        else:
            raise ValueError(f"{path}:{number}: unknown keyword {keyword!r}")
        target = (name, index)
        if name == "msgstr":
            current.msgstr[index] = current.msgstr.get(index, "") + value
        else:
            setattr(current, name, getattr(current, name) + value)
    return entries
