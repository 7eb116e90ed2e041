"""The systemd units in deploy/systemd are valid, and what they run exists.

`systemd-analyze verify` reads each unit as systemd would (unknown keys, bad specifiers,
commands that are not executable); the paths under /srv/amparo are pointed at this checkout's
virtual environment, the only change made. Each command a unit runs is then asked for its
`--help`, which must name every option the unit passes, so that a renamed command or option
fails here rather than at night on a server.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
UNITS = REPOSITORY / "deploy" / "systemd"
VENV_BIN = Path(sys.executable).parent
ANALYZE = shutil.which("systemd-analyze")


def render(directory: Path) -> list[Path]:
    rendered = []
    for unit in sorted(UNITS.iterdir()):
        text = unit.read_text()
        assert "/srv/amparo/.venv/bin/" in text or unit.suffix == ".timer", unit.name
        text = text.replace("/srv/amparo/.venv/bin/", f"{VENV_BIN}/")
        name = unit.name.replace("@.", "@1.")  # a template is verified as an instance
        target = directory / name
        target.write_text(text)
        rendered.append(target)
    return rendered


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_reads_every_unit_without_a_complaint(tmp_path: Path):
    units = render(tmp_path)
    assert {u.name for u in units} >= {
        "amparo-web.service",
        "amparo-worker@1.service",
        "amparo-backup.service",
        "amparo-backup.timer",
        "amparo-witness@1.service",
        "amparo-witness@1.timer",
    }
    assert ANALYZE is not None
    result = subprocess.run(
        [ANALYZE, "verify", "--man=no", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    complaints = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if str(tmp_path) in line or "amparo" in line
    ]
    assert result.returncode == 0, result.stderr
    assert not complaints, complaints


def exec_lines() -> dict[str, str]:
    found = {}
    for unit in UNITS.glob("*.service"):
        (line,) = [ln for ln in unit.read_text().splitlines() if ln.startswith("ExecStart=")]
        found[unit.name] = line
    return found


@pytest.mark.parametrize(
    ("unit", "command"),
    [
        ("amparo-web.service", ["amparo", "serve"]),
        ("amparo-worker@.service", ["amparo", "worker"]),
        ("amparo-backup.service", ["amparo", "backup"]),
        ("amparo-witness@.service", ["amparo-evidence", "witness", "cosign"]),
    ],
)
def test_each_command_a_unit_runs_takes_the_options_it_is_given(unit: str, command: list[str]):
    line = exec_lines()[unit]
    assert f"/srv/amparo/.venv/bin/{' '.join(command)}" in line, line
    given = set(re.findall(r"(--[a-z][a-z-]+)", line))  # a unit's line runs one command
    shown = subprocess.run(
        [str(VENV_BIN / command[0]), *command[1:], "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=REPOSITORY,
    ).stdout
    assert unit == "amparo-web.service" or given, line
    for option in given:
        assert option in shown, f"{unit} passes {option}, which {' '.join(command)} does not take"
