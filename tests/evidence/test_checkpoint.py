import base64
import multiprocessing
import os
import signal
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amparo.evidence import merkle, note
from amparo.evidence.checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointSigner,
    open_checkpoint,
    write_text_atomically,
)

ORIGIN = "amparo.example/log"
# The example checkpoint of c2sp.org/tlog-checkpoint.
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
SPEC_SIGNED = (
    SPEC_CHECKPOINT + "\n\u2014 example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)

LEAVES = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(40)]


def root(size: int) -> bytes:
    return merkle.root_from_leaf_hashes(LEAVES[:size])


def proof(size1: int, size2: int) -> list[bytes]:
    return merkle.consistency_proof_from_leaf_hashes(LEAVES, size1, size2)


@pytest.fixture
def log_key():
    return note.generate_key(ORIGIN)


@pytest.fixture
def signer(tmp_path, log_key):
    return CheckpointSigner(tmp_path / "checkpoint.txt", ORIGIN, log_key[0])


def test_spec_example_parses():
    checkpoint = Checkpoint.parse(SPEC_CHECKPOINT)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.to_text() == SPEC_CHECKPOINT


def test_spec_example_note_carries_the_checkpoint_as_its_text():
    text, signatures = note.parse_note(SPEC_SIGNED)
    assert Checkpoint.parse(text).size == 20852163
    assert signatures[0].name == "example.com/behind-the-sofa"


def test_extension_lines_round_trip():
    checkpoint = Checkpoint("o", 5, bytes(32), ("ext one", "ext two"))
    assert checkpoint.to_text().endswith("\next one\next two\n")
    assert Checkpoint.parse(checkpoint.to_text()) == checkpoint


def test_empty_tree_checkpoint():
    checkpoint = Checkpoint.parse(f"o\n0\n{base64.b64encode(merkle.EMPTY_ROOT).decode()}\n")
    assert checkpoint.size == 0


_ROOT64 = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"o\n01\n{_ROOT64}\n", "leading zeros"),
        (f"o\n+1\n{_ROOT64}\n", "leading zeros"),
        (f"o\n-1\n{_ROOT64}\n", "leading zeros"),
        (f"o\n1_000\n{_ROOT64}\n", "leading zeros"),
        (f"o\n\u0661\n{_ROOT64}\n", "leading zeros"),  # Arabic-Indic digit one
        (f"o\n 1\n{_ROOT64}\n", "leading zeros"),
        (f"o\n\n{_ROOT64}\n", "leading zeros"),
        (f"o\n{2**64}\n{_ROOT64}\n", "outside"),
        (f"\n1\n{_ROOT64}\n", "origin is empty"),
        (f"o\r\n1\n{_ROOT64}\n", "control character"),
        (f"o\n1\n{base64.b64encode(bytes(31)).decode()}\n", "32 bytes"),
        (f"o\n1\n{base64.b64encode(bytes(33)).decode()}\n", "32 bytes"),
        ("o\n1\nAAAA AAAA\n", "base64"),
        (f"o\n1\n{_ROOT64[:-2]}B=\n", "not canonical"),
        (f"o\n1\n{_ROOT64}", "end in a newline"),
        ("o\n1\n", "needs origin"),
        (f"o\n1\n{_ROOT64}\n\n", "extension line 1 is empty"),
        (f"o\n1\n{_ROOT64}\next\n\n", "extension line 2 is empty"),
    ],
)
def test_malformed_checkpoints_are_refused(text, reason):
    with pytest.raises(CheckpointError, match=reason):
        Checkpoint.parse(text)


def test_constructor_refuses_what_parse_refuses():
    with pytest.raises(CheckpointError, match="32 bytes"):
        Checkpoint("o", 1, b"short")
    with pytest.raises(CheckpointError, match="outside"):
        Checkpoint("o", -1, bytes(32))
    with pytest.raises(CheckpointError, match="integer"):
        Checkpoint("o", True, bytes(32))
    with pytest.raises(CheckpointError, match="control character"):
        Checkpoint("two\nlines", 1, bytes(32))


_line = st.text(alphabet=st.characters(min_codepoint=0x20, codec="utf-8"), min_size=1)


@given(
    origin=_line,
    size=st.integers(0, 2**64 - 1),
    root_hash=st.binary(min_size=32, max_size=32),
    extensions=st.lists(_line, max_size=3),
)
@settings(max_examples=200, deadline=None)
def test_any_valid_checkpoint_round_trips(origin, size, root_hash, extensions):
    checkpoint = Checkpoint(origin, size, root_hash, tuple(extensions))
    assert Checkpoint.parse(checkpoint.to_text()) == checkpoint


def test_first_checkpoint_is_signed_and_remembered(signer, log_key):
    signed = signer.sign(3, root(3), [])
    assert open_checkpoint(signed, log_key[1]) == Checkpoint(ORIGIN, 3, root(3))
    assert signer.last_signed() == signed
    assert signer.state_file.read_text() == signed
    assert signer.vkey == log_key[1]


def test_a_consistent_larger_tree_is_signed(signer, log_key):
    signer.sign(3, root(3), [])
    signed = signer.sign(17, root(17), proof(3, 17))
    assert open_checkpoint(signed, log_key[1]).size == 17
    assert signer.last_signed() == signed


def test_resigning_the_same_tree_gives_the_same_note(signer):
    first = signer.sign(5, root(5), [])
    assert signer.sign(5, root(5), []) == first


def test_a_smaller_tree_is_refused(signer):
    signer.sign(8, root(8), [])
    with pytest.raises(CheckpointError, match=r"refusing to sign tree size 7.*never shrinks"):
        signer.sign(7, root(7), [])


def test_a_second_root_at_the_same_size_is_refused(signer):
    signer.sign(8, root(8), [])
    with pytest.raises(CheckpointError, match="second root for tree size 8"):
        signer.sign(8, root(9), [])


def test_a_larger_tree_without_a_valid_proof_is_refused(signer):
    signer.sign(8, root(8), [])
    forked = [merkle.leaf_hash(b"forked"), *LEAVES[1:20]]
    with pytest.raises(CheckpointError, match=r"consistency proof .* does not verify"):
        signer.sign(20, merkle.root_from_leaf_hashes(forked), proof(8, 20))
    with pytest.raises(CheckpointError, match="does not verify"):
        signer.sign(20, root(20), [])
    with pytest.raises(CheckpointError, match="does not verify"):
        signer.sign(20, root(20), proof(7, 20))
    # The refusals changed nothing: the honest extension is still accepted.
    assert signer.sign(20, root(20), proof(8, 20))


def test_starting_from_the_empty_tree(signer):
    signer.sign(0, merkle.EMPTY_ROOT, [])
    assert signer.sign(6, root(6), [])


def test_a_restarted_signer_keeps_refusing(tmp_path, log_key):
    state = tmp_path / "checkpoint.txt"
    CheckpointSigner(state, ORIGIN, log_key[0]).sign(10, root(10), [])
    again = CheckpointSigner(state, ORIGIN, log_key[0])
    with pytest.raises(CheckpointError, match="never shrinks"):
        again.sign(9, root(9), [])


def test_a_tampered_state_file_stops_signing(signer):
    signed = signer.sign(10, root(10), [])
    signer.state_file.write_text(signed.replace("\n10\n", "\n4\n"))
    with pytest.raises(CheckpointError, match=r"checkpoint\.txt: the last checkpoint does not"):
        signer.sign(4, root(4), [])


def test_a_state_file_signed_by_another_key_stops_signing(tmp_path, log_key):
    state = tmp_path / "checkpoint.txt"
    other_skey, _ = note.generate_key(ORIGIN)
    CheckpointSigner(state, ORIGIN, other_skey).sign(2, root(2), [])
    with pytest.raises(CheckpointError, match="does not verify with"):
        CheckpointSigner(state, ORIGIN, log_key[0]).last_signed()


def test_a_state_file_for_another_origin_stops_signing(tmp_path, log_key):
    state = tmp_path / "checkpoint.txt"
    CheckpointSigner(state, "other.example/log", log_key[0]).sign(2, root(2), [])
    with pytest.raises(CheckpointError, match=r"origin 'other\.example/log'"):
        CheckpointSigner(state, ORIGIN, log_key[0]).sign(3, root(3), proof(2, 3))


def test_cosignature_keys_cannot_sign_checkpoints(tmp_path):
    skey, _ = note.generate_cosignature_key("w.example")
    with pytest.raises(CheckpointError, match="must be an Ed25519"):
        CheckpointSigner(tmp_path / "c.txt", ORIGIN, skey)


def test_unusable_origin_is_refused_at_construction(tmp_path, log_key):
    with pytest.raises(CheckpointError, match="origin is empty"):
        CheckpointSigner(tmp_path / "c.txt", "", log_key[0])


def test_an_interrupted_write_leaves_the_old_state_and_no_debris(tmp_path):
    path = tmp_path / "state.txt"
    write_text_atomically(path, "old\n")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomically(path, "new \udc80\n")  # fails while writing the temporary file
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.txt"]


def _sign_in_child(state, skey, leaf_count, results):
    try:
        signer = CheckpointSigner(state, ORIGIN, skey)
        forked = [merkle.leaf_hash(f"fork {leaf_count}".encode())]
        signer.sign(1, merkle.root_from_leaf_hashes(forked), [])
        results.put("signed")
    except CheckpointError:
        results.put("refused")


def test_concurrent_signers_never_sign_two_roots_for_one_size(tmp_path, log_key):
    state = tmp_path / "checkpoint.txt"
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    children = [
        context.Process(target=_sign_in_child, args=(state, log_key[0], n, results))
        for n in range(4)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=30)
    outcomes = sorted(results.get(timeout=5) for _ in children)
    assert outcomes == ["refused", "refused", "refused", "signed"]


CRASH_LEAVES = [merkle.leaf_hash(f"crash {i}".encode()) for i in range(3000)]


def _sign_until_killed(state, skey):
    signer = CheckpointSigner(state, ORIGIN, skey)
    for size in range(1, len(CRASH_LEAVES) + 1):
        proof = merkle.consistency_proof_from_leaf_hashes(CRASH_LEAVES, size - 1, size)
        signer.sign(size, merkle.root_from_leaf_hashes(CRASH_LEAVES[:size]), proof)


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3])
def test_a_signer_killed_mid_write_leaves_a_valid_state(tmp_path, log_key, delay):
    state = tmp_path / "checkpoint.txt"
    child = multiprocessing.get_context("fork").Process(
        target=_sign_until_killed, args=(state, log_key[0])
    )
    child.start()
    deadline = time.monotonic() + 30
    while not state.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    child.join(timeout=delay)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert child.exitcode == -signal.SIGKILL
    resumed = CheckpointSigner(state, ORIGIN, log_key[0])
    signed = resumed.last_signed()
    assert signed is not None
    last = open_checkpoint(signed, log_key[1])
    assert 0 < last.size < len(CRASH_LEAVES)  # killed part way through
    assert last.root_hash == merkle.root_from_leaf_hashes(CRASH_LEAVES[: last.size])
    size = last.size + 1
    proof = merkle.consistency_proof_from_leaf_hashes(CRASH_LEAVES, last.size, size)
    resumed.sign(size, merkle.root_from_leaf_hashes(CRASH_LEAVES[:size]), proof)
