"""The example environment file and the documentation name only variables Amparo reads, and
every variable Amparo reads is documented: a misspelt name in /etc/amparo/amparo.env would
otherwise be ignored without a word, and a setting nobody documented cannot be set."""

from __future__ import annotations

import re
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE = REPOSITORY / "deploy" / "amparo.env.example"
DOCUMENTS = [REPOSITORY / "README.md", REPOSITORY / "docs" / "deploy.md"]
# Read outside Python: by the systemd units, which pass them on the command line.
READ_BY_UNITS = {"AMPARO_BACKUP_RECIPIENTS"}
# Read under a name built from a setting's ("AMPARO_" + name, hotline/intake_throttle.py).
BUILT = {"AMPARO_INTAKE_BURST", "AMPARO_INTAKE_PER_SECOND"}
READ = re.compile(
    r"""(?:environ(?:\.get)?|env[a-z]*)\(\s*["']([A-Z][A-Z0-9_]+)["']|environ\[["']([A-Z][A-Z0-9_]+)["']\]"""
)


def example_names() -> list[str]:
    names = []
    for line in EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            names.append(line.split("=", 1)[0].strip())
    return names


def names_read_by_amparo() -> set[str]:
    found: set[str] = set()
    for source in (REPOSITORY / "amparo").rglob("*.py"):
        for match in READ.finditer(source.read_text()):
            found.add(match.group(1) or match.group(2))
    throttle = (REPOSITORY / "amparo" / "hotline" / "intake_throttle.py").read_text()
    assert 'os.environ.get("AMPARO_" + name' in throttle
    return found | BUILT


def test_the_example_sets_only_what_amparo_reads():
    read = names_read_by_amparo() | READ_BY_UNITS
    unknown = [name for name in example_names() if name not in read]
    assert not unknown, f"set in {EXAMPLE.name} but read nowhere: {unknown}"


def test_what_the_units_read_is_read_by_a_unit():
    units = "".join(p.read_text() for p in (REPOSITORY / "deploy" / "systemd").glob("*.service"))
    for name in READ_BY_UNITS:
        assert name in units


def test_every_setting_read_from_the_environment_is_documented():
    documented = " ".join(path.read_text() for path in DOCUMENTS) + EXAMPLE.read_text()
    settings_names = {
        name
        for name in names_read_by_amparo()
        if name.startswith(("AMPARO_", "DATABASE_", "EMAIL_", "DEFAULT_FROM", "ALLOWED", "CSRF"))
    }
    undocumented = sorted(name for name in settings_names if name not in documented)
    assert not undocumented, (
        f"read by Amparo but in neither README, docs/deploy.md nor the example: {undocumented}"
    )
