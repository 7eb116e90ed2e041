"""Amparo's evidence core against an independent implementation of the same standards.

Go's golang.org/x/mod/sumdb packages, as Debian ships them (tlog: RFC 6962 trees and proofs;
note: signed notes), are built into a small program (interop/interop.go) at test time. Roots,
proofs, notes and receipts must agree both ways: what Go makes, we verify; what we make, Go
verifies.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from amparo.evidence import checkpoint, merkle, note, receipt

GOPATH = Path("/usr/share/gocode")
SOURCE = Path(__file__).parent / "interop" / "interop.go"


@pytest.fixture(scope="module")
def go_tool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    assert go, "Go is missing: `make test` installs Debian's golang-go"
    assert (GOPATH / "src/golang.org/x/mod/sumdb/note").is_dir(), (
        "Go's sumdb packages are missing: `make test` installs golang-golang-x-mod-dev"
    )
    out = tmp_path_factory.mktemp("go") / "interop"
    env = {
        **os.environ,
        "GOPATH": str(GOPATH),
        "GO111MODULE": "off",
        "GOCACHE": str(out.parent / "cache"),
        "GOFLAGS": "",
    }
    subprocess.run([go, "build", "-o", str(out), str(SOURCE)], check=True, env=env)
    return out


def call(tool: Path, **request: Any) -> dict[str, Any]:
    for key in ("entries", "proofs", "roots"):
        if key in request:
            request[key] = _b64(request[key])
    if "entry" in request:
        request["entry"] = base64.b64encode(request["entry"]).decode()
    done = subprocess.run(
        [str(tool)], input=json.dumps(request), capture_output=True, text=True, check=True
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _b64(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return [_b64(v) for v in value]


def _unb64(value: Any) -> Any:
    if isinstance(value, str):
        return base64.b64decode(value)
    return [_unb64(v) for v in value or []]


def _tree_case(seed: int, count: int) -> tuple[list[bytes], list[list[int]], list[list[int]]]:
    rng = random.Random(seed)
    entries = [rng.randbytes(rng.randrange(0, 40)) for _ in range(count)]
    inclusion = []
    consistency = []
    for _ in range(60):
        size = rng.randrange(1, count + 1)
        inclusion.append([rng.randrange(size), size])
        size2 = rng.randrange(1, count + 1)
        consistency.append([rng.randrange(1, size2 + 1), size2])
    return entries, inclusion, consistency


@pytest.mark.parametrize(("seed", "count"), [(1, 1), (2, 7), (3, 64), (4, 300)])
def test_go_proofs_verify_with_ours(go_tool: Path, seed: int, count: int) -> None:
    entries, inclusion, consistency = _tree_case(seed, count)
    answer = call(go_tool, op="tree", entries=entries, inclusion=inclusion, consistency=consistency)
    assert "error" not in answer, answer
    go_roots = _unb64(answer["roots"])
    leaves = [merkle.leaf_hash(e) for e in entries]
    # Go's tlog calls the empty tree's hash all zeros; RFC 9162 says SHA-256 of nothing.
    for size in range(1, count + 1):
        assert merkle.root_from_leaf_hashes(leaves[:size]) == go_roots[size], size
    go_proofs = _unb64(answer["proofs"])
    for (index, size), proof in zip(inclusion, go_proofs[: len(inclusion)], strict=True):
        merkle.verify_inclusion(leaves[index], index, size, proof, go_roots[size])
    for (size1, size2), proof in zip(consistency, go_proofs[len(inclusion) :], strict=True):
        merkle.verify_consistency(size1, size2, proof, go_roots[size1], go_roots[size2])


@pytest.mark.parametrize(("seed", "count"), [(5, 1), (6, 9), (7, 100), (8, 257)])
def test_our_log_proofs_verify_with_go(
    go_tool: Path, tmp_path: Path, seed: int, count: int
) -> None:
    entries, inclusion, consistency = _tree_case(seed, count)
    with merkle.MerkleLog.open(tmp_path / "log") as log:
        log.append_batch(entries)
        roots = [merkle.EMPTY_ROOT] + [log.root(size) for size in range(1, count + 1)]
        proofs = [log.inclusion_proof(i, s) for i, s in inclusion]
        proofs += [log.consistency_proof(a, b) for a, b in consistency]
    answer = call(
        go_tool,
        op="check",
        entries=entries,
        inclusion=inclusion,
        consistency=consistency,
        proofs=proofs,
        roots=roots,
    )
    assert "error" not in answer, answer
    failures = [e for ok, e in zip(answer["ok"], answer["errors"], strict=True) if not ok]
    assert failures == []
    # And Go must refuse a proof we tampered with, or the comparison proves nothing.
    bad = [list(p) for p in proofs]
    bad_roots = list(roots)
    target = next((i for i, p in enumerate(bad) if p), 0)
    if bad[target]:
        bad[target][0] = bytes(32)
    else:  # a one-leaf tree has empty proofs: change the root instead
        bad_roots[inclusion[0][1]] = bytes(32)
    answer = call(
        go_tool,
        op="check",
        entries=entries,
        inclusion=inclusion,
        consistency=consistency,
        proofs=bad,
        roots=bad_roots,
    )
    assert answer["ok"][target] is False


def test_go_notes_open_with_ours(go_tool: Path) -> None:
    text = "amparo.example/log\n42\n" + base64.b64encode(bytes(range(32))).decode() + "\n"
    answer = call(go_tool, op="sign", name="amparo.example/log", text=text)
    assert "error" not in answer, answer
    assert note.open(answer["note"], [answer["vkey"]]) == text
    # Go's private key string must be one our parser reads, and sign the same way.
    assert note.sign(text, answer["skey"]) == answer["note"]
    other_skey, other_vkey = note.generate_key("amparo.example/log")
    with pytest.raises(note.NoteError):
        note.open(answer["note"], [other_vkey])
    assert other_skey


def test_our_notes_open_with_go(go_tool: Path) -> None:
    skey, vkey = note.generate_key("witness.example.org")
    text = "If a record is changed,\nthe signature no longer verifies.\n"
    signed = note.sign(text, skey)
    answer = call(go_tool, op="open", note=signed, vkeys=[vkey])
    assert answer.get("text") == text, answer
    tampered = signed.replace("changed", "chanGed")
    assert "error" in call(go_tool, op="open", note=tampered, vkeys=[vkey])


def test_key_strings_are_read_alike(go_tool: Path) -> None:
    skey, vkey = note.generate_key("amparo.example/log")
    keys = [skey, vkey, vkey + "x", vkey.replace("+", "-", 1), skey.upper(), "a+b+c"]
    answer = call(go_tool, op="keys", vkeys=keys)
    ours = []
    for key in keys:
        try:
            if key.startswith("PRIVATE+KEY+"):
                note.parse_signer_key(key)
            else:
                note.parse_verifier_key(key)
            ours.append(True)
        except note.MalformedKeyError:
            ours.append(False)
    assert ours == answer["ok"]
    assert ours[:2] == [True, True]


def test_our_receipts_verify_with_go(go_tool: Path, tmp_path: Path) -> None:
    skey, vkey = note.generate_key("amparo.example/log")
    entries = [f"custody entry {i}".encode() for i in range(37)]
    with merkle.MerkleLog.open(tmp_path / "log") as log:
        log.append_batch(entries)
        size = log.size
        signer = checkpoint.CheckpointSigner(tmp_path / "checkpoint", "amparo.example/log", skey)
        signed = signer.sign(size, log.root(size), [])
        texts = [
            receipt.format_receipt(i, log.inclusion_proof(i, size), signed) for i in (0, 5, 36)
        ]
    for index, text in zip((0, 5, 36), texts, strict=True):
        receipt.verify_receipt(text, entries[index], vkey)
        answer = call(go_tool, op="receipt", receipt=text, entry=entries[index], vkeys=[vkey])
        assert "error" not in answer, answer
    wrong = call(go_tool, op="receipt", receipt=texts[1], entry=entries[6], vkeys=[vkey])
    assert "error" in wrong
