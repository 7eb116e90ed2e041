from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from amparo.evidence.cli import main

BIN = Path(sys.executable).parent


def run(tool: str, *arguments: str | Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [BIN / tool, *map(str, arguments)], capture_output=True, text=True, env=environment
    )


def ok(tool: str, *arguments: str | Path) -> str:
    result = run(tool, *arguments)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_round_trip_through_the_commands(tmp_path: Path) -> None:
    store = tmp_path / "store"
    log_key = ok("amparo-evidence", "init", store, "--origin", "network.example/log").strip()
    assert log_key.startswith("network.example/log+")
    assert stat.S_IMODE((store / "keys/log.skey").stat().st_mode) == 0o600
    assert stat.S_IMODE((store / "keys/age-identity.txt").stat().st_mode) == 0o600

    files = []
    for name, content in [("a.jpg", b"\xff\xd8" + os.urandom(5000)), ("b.txt", b"notes\n")]:
        (tmp_path / name).write_bytes(content)
        files.append((tmp_path / name, hashlib.sha256(content).hexdigest()))
    lines = ok("amparo-evidence", "ingest", store, *(path for path, _ in files)).splitlines()
    assert len(lines) == 2
    ids = []
    for line, (path, digest) in zip(lines, files, strict=True):
        item_id, sha256, name = line.split()
        assert (sha256, name) == (digest, path.name)
        ids.append(item_id)

    checkpoint = ok("amparo-evidence", "checkpoint", store)
    assert checkpoint.splitlines()[:2] == ["network.example/log", "2"]

    witness_keys = []
    for number in range(2):
        wdir = tmp_path / f"witness-{number}"
        witness_keys.append(ok("amparo-evidence", "witness", "init", wdir, "--name", f"w{number}"))
        assert stat.S_IMODE((wdir / "witness.skey").stat().st_mode) == 0o600
    cosigned = ok(
        "amparo-evidence",
        "witness",
        "cosign",
        tmp_path / "witness-0",
        "--log-key",
        log_key,
        "--store",
        store,
    )
    assert "— w0 " in cosigned

    out = tmp_path / "case-17"
    bundle_path = ok(
        "amparo-evidence", "bundle", store, *ids, "--out", out, "--witness", tmp_path / "witness-1"
    )
    assert Path(bundle_path.strip()) == out
    witness_arguments = [a for key in witness_keys for a in ("--witness", key.strip())]
    summary = ok("amparo-verify", out, "--key", log_key, *witness_arguments)
    assert summary.startswith("OK: 2 originals, 2 custody entries, checkpoint size 2 ")
    assert summary.endswith("cosigned by 2 of 2 witnesses\n")

    zipped = ok("amparo-evidence", "bundle", store, ids[0], "--out", tmp_path / "one", "--zip")
    assert zipped.strip() == str(tmp_path / "one.zip")
    # The first export's "exported" entries now precede this checkpoint; no witness was asked.
    summary = ok("amparo-verify", tmp_path / "one.zip", "--key", log_key)
    assert summary.startswith("OK: 1 originals, 2 custody entries, checkpoint size 4 ")

    assert ok("amparo-evidence", "fixity", store).startswith("OK: 2 originals")


def test_fixity_fails_on_a_damaged_original(tmp_path: Path) -> None:
    store = tmp_path / "store"
    ok("amparo-evidence", "init", store, "--origin", "n.example")
    (tmp_path / "a.bin").write_bytes(os.urandom(10_000))
    item_id = ok("amparo-evidence", "ingest", store, tmp_path / "a.bin").split()[0]
    blob = next((store / "blobs").rglob(f"{item_id}.age"))
    content = bytearray(blob.read_bytes())
    content[-100] ^= 0x01
    blob.write_bytes(bytes(content))
    result = run("amparo-evidence", "fixity", store)
    assert result.returncode == 1
    assert result.stdout.startswith(f"FAIL: {item_id}: original fails its fixity check")


def test_witness_refuses_a_store_with_another_log_key(tmp_path: Path) -> None:
    ok("amparo-evidence", "init", tmp_path / "store", "--origin", "n.example")
    other_key = ok("amparo-evidence", "init", tmp_path / "other", "--origin", "n.example").strip()
    ok("amparo-evidence", "witness", "init", tmp_path / "w", "--name", "w")
    result = run(
        "amparo-evidence",
        "witness",
        "cosign",
        tmp_path / "w",
        "--log-key",
        other_key,
        "--store",
        tmp_path / "store",
    )
    assert result.returncode == 1
    assert "refusing to cosign" in result.stderr
    assert not list((tmp_path / "w/state").glob("*.state"))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["init", "{tmp}/store", "--origin", "n.example"], "already exists and is not empty"),
        (["ingest", "{tmp}/store", "{tmp}/missing.jpg"], "missing.jpg: cannot read"),
        (["bundle", "{tmp}/store", "0" * 32, "--out", "{tmp}/b"], "no item"),
        (["checkpoint", "{tmp}/nowhere"], "not an evidence store"),
        (["bundle", "{tmp}/store", "x", "--out", "{tmp}/b", "--witness", "{tmp}"], "not a witness"),
    ],
)
def test_errors_are_one_clear_line(
    tmp_path: Path,
    arguments: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["init", str(tmp_path / "store"), "--origin", "n.example"]) == 0
    capsys.readouterr()
    status = main([argument.format(tmp=tmp_path) for argument in arguments])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("amparo-evidence: error: ")
    assert message in err
    assert err.count("\n") == 1
