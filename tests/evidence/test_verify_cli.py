from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from amparo.evidence import note
from amparo.evidence.verify_cli import main
from tests.evidence.test_bundle import ORIGINALS, BuiltBundle, build_bundle

# Runs amparo-verify the way a verifier would: no Django settings, and any attempt to open a
# network socket aborts the process.
OFFLINE_RUNNER = """
import socket, sys
def refuse(*args, **kwargs):
    raise SystemExit("amparo-verify tried to use the network")
socket.socket = refuse
socket.create_connection = refuse
from amparo.evidence.verify_cli import main
status = main(sys.argv[1:])
if any(name == "django" or name.startswith("django.") for name in sys.modules):
    raise SystemExit("amparo-verify imported Django")
sys.exit(status)
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltBundle:
    return build_bundle(tmp_path_factory.mktemp("verify"), zip_too=True)


def run_offline(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-c", OFFLINE_RUNNER, *arguments],
        capture_output=True,
        text=True,
        env=environment,
        cwd=Path(__file__).resolve().parents[2],
    )


def run_in_process(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    status = main(list(arguments))
    return status, capsys.readouterr().out


def witness_arguments(built: BuiltBundle) -> list[str]:
    return [item for key in built.witness_vkeys for item in ("--witness", key)]


def expected_summary(bag: Path, cosigned: int, given: int) -> str:
    """The summary line, from counting what the bag holds."""
    entries = len(list((bag / "data/custody").iterdir()))
    checkpoint_text = (bag / "data/checkpoint.txt").read_text()
    size = int(checkpoint_text.splitlines()[1])
    return (
        f"OK: {len(ORIGINALS)} originals, {entries} custody entries, "
        f"checkpoint size {size} cosigned by {cosigned} of {given} witnesses"
    )


@pytest.mark.parametrize("form", ["directory", "zip"])
def test_ok_offline_without_django_settings(tmp_path: Path, built: BuiltBundle, form: str) -> None:
    path, bag = built.bag, built.bag
    if form == "zip":
        path = built.bag.with_name("bag.zip")
        with zipfile.ZipFile(path) as archive:
            archive.extractall(tmp_path)
        bag = tmp_path / "bag"
    result = run_offline(str(path), "--key", built.log_vkey, *witness_arguments(built))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == expected_summary(bag, 2, 2) + "\n"


def test_the_installed_console_script_runs(built: BuiltBundle) -> None:
    script = Path(sys.executable).with_name("amparo-verify")
    result = subprocess.run(
        [script, str(built.bag), "--key", built.log_vkey, *witness_arguments(built)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: ")


def test_quorum_of_one_accepts_one_known_witness(
    built: BuiltBundle, capsys: pytest.CaptureFixture[str]
) -> None:
    _skey, stranger = note.generate_cosignature_key("stranger.example")
    status, out = run_in_process(
        capsys,
        str(built.bag),
        "--key",
        built.log_vkey,
        "--witness",
        built.witness_vkeys[0],
        "--witness",
        stranger,
        "--quorum",
        "1",
    )
    assert status == 0, out
    assert out == expected_summary(built.bag, 1, 2) + "\n"


def test_too_few_witnesses(built: BuiltBundle, capsys: pytest.CaptureFixture[str]) -> None:
    _skey, stranger = note.generate_cosignature_key("stranger.example")
    status, out = run_in_process(
        capsys,
        str(built.bag),
        "--key",
        built.log_vkey,
        "--witness",
        built.witness_vkeys[0],
        "--witness",
        stranger,
    )
    assert status == 1
    assert out == "FAIL: data/checkpoint.txt: too few witnesses: 1 of 2 required\n"


def test_untrusted_log_key_is_named(built: BuiltBundle, capsys: pytest.CaptureFixture[str]) -> None:
    _skey, other = note.generate_key(built.log_vkey.split("+")[0])
    status, out = run_in_process(capsys, str(built.bag), "--key", other)
    assert status == 1
    assert out.startswith("FAIL: data/keys/log.vkey: untrusted key:")


def test_keys_can_be_given_as_files(tmp_path: Path, built: BuiltBundle) -> None:
    key_file = tmp_path / "log.vkey"
    key_file.write_text(built.log_vkey + "\n")
    witnesses_file = tmp_path / "witnesses.vkey"
    witnesses_file.write_text("\n".join(built.witness_vkeys) + "\n")
    status = main([str(built.bag), "--key", str(key_file), "--witness", str(witnesses_file)])
    assert status == 0


@pytest.mark.parametrize(
    "arguments",
    [
        ["--key", "not-a-key"],
        ["--key", "name+00000000+AAAA"],
        ["--quorum", "1"],
    ],
)
def test_usage_errors_exit_2(
    built: BuiltBundle, arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    if "--key" not in arguments:
        arguments = ["--key", built.log_vkey, *arguments]
    with pytest.raises(SystemExit) as exit_info:
        main([str(built.bag), *arguments])
    assert exit_info.value.code == 2
    assert "amparo-verify: error:" in capsys.readouterr().err


def test_missing_bundle(
    tmp_path: Path, built: BuiltBundle, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run_in_process(capsys, str(tmp_path / "nothing"), "--key", built.log_vkey)
    assert status == 1
    assert out.startswith("FAIL: ")
    assert "nothing: no such bag directory or .zip file" in out


@pytest.mark.parametrize("member", ["../escape.txt", "/absolute.txt", "bag/data/../../up.txt"])
def test_zip_with_unsafe_paths_is_refused(
    tmp_path: Path, built: BuiltBundle, member: str, capsys: pytest.CaptureFixture[str]
) -> None:
    archive_path = tmp_path / "hostile.zip"
    shutil.copy(built.bag.with_name("bag.zip"), archive_path)
    with zipfile.ZipFile(archive_path, "a") as archive:
        archive.writestr(member, b"x")
    status, out = run_in_process(capsys, str(archive_path), "--key", built.log_vkey)
    assert status == 1
    assert out.startswith(f"FAIL: hostile.zip: {member}: unsafe path")
    assert not (tmp_path / "escape.txt").exists()


def test_a_file_that_is_not_a_zip(
    tmp_path: Path, built: BuiltBundle, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"not a zip")
    status, out = run_in_process(capsys, str(path), "--key", built.log_vkey)
    assert status == 1
    assert out.startswith("FAIL: bundle.zip: not a readable .zip file")
