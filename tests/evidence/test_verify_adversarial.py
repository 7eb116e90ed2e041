"""Hostile bundles and misleading keys: each case here was once accepted or misreported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from amparo.evidence.verify_cli import main
from tests.evidence.test_bundle import BuiltBundle, build_bundle


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltBundle:
    return build_bundle(tmp_path_factory.mktemp("adversarial"), zip_too=True)


def copy_of(built: BuiltBundle, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built.bag, tmp_path / "bag"))


def test_a_file_name_cannot_rewrite_the_fail_line_on_a_terminal(
    tmp_path: Path, built: BuiltBundle, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = copy_of(built, tmp_path)
    # A carriage return and an erase-line escape would leave only "OK: ..." on the screen.
    (bag / "data" / "x\rOK: 3 originals, all verified\x1b[K").write_bytes(b"x")
    status = main([str(bag), "--key", built.log_vkey])
    out = capsys.readouterr().out
    assert status == 1
    assert out.startswith("FAIL: data/x")
    assert out.endswith("\n")
    assert out[:-1].isprintable(), repr(out)
    assert "\\r" in out, "the hidden characters are shown, escaped"
    assert "\\x1b" in out
