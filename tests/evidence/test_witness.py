import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from amparo.evidence import merkle, note
from amparo.evidence.checkpoint import Checkpoint, CheckpointError, CheckpointSigner
from amparo.evidence.witness import (
    QuorumError,
    Witness,
    WitnessRefusal,
    add_cosignatures,
    verify_cosigned,
)

ORIGIN = "amparo.example/log"
NOW = 1_700_000_000
LEAVES = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(40)]


def root(size: int, leaves: list[bytes] = LEAVES) -> bytes:
    return merkle.root_from_leaf_hashes(leaves[:size])


def proof(size1: int, size2: int) -> list[bytes]:
    return merkle.consistency_proof_from_leaf_hashes(LEAVES, size1, size2)


LOG_SKEY, LOG_VKEY = note.generate_key(ORIGIN)


@pytest.fixture
def log(tmp_path):
    return CheckpointSigner(tmp_path / "log-checkpoint.txt", ORIGIN, LOG_SKEY), LOG_VKEY


@pytest.fixture
def witness(tmp_path):
    skey, _ = note.generate_cosignature_key("witness.example/w1")
    return Witness(tmp_path / "witness", skey)


def signed_at(log_skey: str, size: int, leaves: list[bytes] = LEAVES) -> str:
    return note.sign(Checkpoint(ORIGIN, size, root(size, leaves)).to_text(), log_skey)


def test_first_checkpoint_is_cosigned_on_first_use(log, witness):
    signer, log_vkey = log
    signed = signer.sign(5, root(5), [])
    line = witness.cosign(signed, log_vkey, [], now=NOW)
    assert line.startswith("\u2014 witness.example/w1 ")
    assert line.endswith("\n")
    cosigned = add_cosignatures(signed, line)
    assert verify_cosigned(cosigned, log_vkey, [witness.vkey], 1) == Checkpoint(ORIGIN, 5, root(5))
    assert witness.last_cosigned(ORIGIN) == signed


def test_cosignature_signs_the_spec_message_at_the_given_time(log, witness):
    signer, log_vkey = log
    signed = signer.sign(5, root(5), [])
    line = witness.cosign(signed, log_vkey, [], now=NOW)
    blob = base64.b64decode(line.split(" ")[2])
    public = note.parse_verifier_key(witness.vkey).public_key
    expected_id = hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()[:4]
    assert blob[:4] == expected_id
    assert int.from_bytes(blob[4:12], "big") == NOW
    text = Checkpoint(ORIGIN, 5, root(5)).to_text().encode()
    message = b"cosignature/v1\ntime " + str(NOW).encode() + b"\n" + text
    Ed25519PublicKey.from_public_bytes(public).verify(blob[12:], message)


def test_a_consistent_extension_is_cosigned(log, witness):
    signer, log_vkey = log
    witness.cosign(signer.sign(5, root(5), []), log_vkey, [], now=NOW)
    signed = signer.sign(23, root(23), proof(5, 23))
    line = witness.cosign(signed, log_vkey, proof(5, 23), now=NOW + 60)
    assert verify_cosigned(add_cosignatures(signed, line), log_vkey, [witness.vkey], 1).size == 23


def test_the_same_checkpoint_can_be_cosigned_again(log, witness):
    signer, log_vkey = log
    signed = signer.sign(5, root(5), [])
    witness.cosign(signed, log_vkey, [], now=NOW)
    assert witness.cosign(signed, log_vkey, [], now=NOW + 1)


def test_rollback_is_refused(witness):
    log_vkey, skey = LOG_VKEY, LOG_SKEY
    witness.cosign(signed_at(skey, 9), log_vkey, [], now=NOW)
    with pytest.raises(WitnessRefusal, match="smaller than size 9") as refusal:
        witness.cosign(signed_at(skey, 8), log_vkey, [], now=NOW)
    assert refusal.value.reason == "rollback"


def test_a_second_root_at_the_same_size_is_a_fork(witness):
    log_vkey, skey = LOG_VKEY, LOG_SKEY
    witness.cosign(signed_at(skey, 9), log_vkey, [], now=NOW)
    forked = [merkle.leaf_hash(b"rewritten"), *LEAVES[1:]]
    with pytest.raises(WitnessRefusal, match="different root") as refusal:
        witness.cosign(signed_at(skey, 9, forked), log_vkey, [], now=NOW)
    assert refusal.value.reason == "fork"


def test_growth_without_a_valid_proof_is_refused(witness):
    log_vkey, skey = LOG_VKEY, LOG_SKEY
    witness.cosign(signed_at(skey, 9), log_vkey, [], now=NOW)
    forked = [merkle.leaf_hash(b"rewritten"), *LEAVES[1:]]
    forked_proof = merkle.consistency_proof_from_leaf_hashes(forked, 9, 30)
    for candidate, given_proof in [
        (signed_at(skey, 30, forked), forked_proof),
        (signed_at(skey, 30, forked), proof(9, 30)),
        (signed_at(skey, 30), []),
        (signed_at(skey, 30), proof(8, 30)),
    ]:
        with pytest.raises(WitnessRefusal, match="no valid consistency proof") as refusal:
            witness.cosign(candidate, log_vkey, given_proof, now=NOW)
        assert refusal.value.reason == "fork"
    # The refusals left the state alone.
    assert Checkpoint.parse(note.parse_note(witness.last_cosigned(ORIGIN))[0]).size == 9
    assert witness.cosign(signed_at(skey, 30), log_vkey, proof(9, 30), now=NOW)


def test_a_checkpoint_not_signed_by_the_log_is_refused(log, witness):
    _, log_vkey = log
    other_skey, _ = note.generate_key(ORIGIN)
    with pytest.raises(WitnessRefusal, match="no signature by a known key") as refusal:
        witness.cosign(signed_at(other_skey, 3), log_vkey, [], now=NOW)
    assert refusal.value.reason == "log-signature"
    assert witness.last_cosigned(ORIGIN) is None


def test_a_tampered_checkpoint_is_refused(log, witness):
    signer, log_vkey = log
    signed = signer.sign(5, root(5), [])
    with pytest.raises(WitnessRefusal, match="bad signature by known key") as refusal:
        witness.cosign(signed.replace("\n5\n", "\n6\n"), log_vkey, [], now=NOW)
    assert refusal.value.reason == "log-signature"


def test_a_signed_note_that_is_not_a_checkpoint_is_refused(witness):
    log_vkey = LOG_VKEY
    with pytest.raises(WitnessRefusal, match="leading zeros") as refusal:
        witness.cosign(note.sign(f"{ORIGIN}\n05\nAAAA\n", LOG_SKEY), log_vkey, [], now=NOW)
    assert refusal.value.reason == "malformed-checkpoint"


def test_a_malformed_log_key_is_refused(log, witness):
    signer, _ = log
    with pytest.raises(WitnessRefusal) as refusal:
        witness.cosign(signer.sign(1, root(1), []), "not a key", [], now=NOW)
    assert refusal.value.reason == "malformed-log-key"


def test_an_origin_stays_pinned_to_its_first_log_key(log, witness):
    signer, log_vkey = log
    witness.cosign(signer.sign(5, root(5), []), log_vkey, [], now=NOW)
    impostor_skey, impostor_vkey = note.generate_key(ORIGIN)
    with pytest.raises(WitnessRefusal, match="pinned to log key") as refusal:
        witness.cosign(signed_at(impostor_skey, 6), impostor_vkey, proof(5, 6), now=NOW)
    assert refusal.value.reason == "unknown-log-key"


def test_a_clock_that_went_backwards_is_refused(log, witness):
    signer, log_vkey = log
    witness.cosign(signer.sign(5, root(5), []), log_vkey, [], now=NOW)
    with pytest.raises(WitnessRefusal, match="before the last cosignature") as refusal:
        witness.cosign(signer.sign(6, root(6), proof(5, 6)), log_vkey, proof(5, 6), now=NOW - 1)
    assert refusal.value.reason == "clock"


def test_state_survives_a_restart_and_is_readable(tmp_path, log):
    signer, log_vkey = log
    skey, _ = note.generate_cosignature_key("witness.example/w2")
    Witness(tmp_path / "w", skey).cosign(signer.sign(7, root(7), []), log_vkey, [], now=NOW)
    restarted = Witness(tmp_path / "w", skey)
    state_text = restarted.state_file(ORIGIN).read_text()
    assert f"origin {ORIGIN}\n" in state_text
    assert f"log-key {log_vkey}\n" in state_text
    assert "size 7\n" in state_text
    assert f"cosigned-at {NOW}\n" in state_text
    with pytest.raises(WitnessRefusal) as refusal:
        restarted.cosign(signed_at(LOG_SKEY, 6), log_vkey, [], now=NOW)
    assert refusal.value.reason == "rollback"


def test_a_tampered_state_file_stops_the_witness(log, witness):
    signer, log_vkey = log
    witness.cosign(signer.sign(7, root(7), []), log_vkey, [], now=NOW)
    path = witness.state_file(ORIGIN)
    path.write_text(path.read_text().replace(f"\n{ORIGIN}\n7\n", f"\n{ORIGIN}\n2\n"))
    with pytest.raises(WitnessRefusal, match=r"\.state: bad signature") as refusal:
        witness.cosign(signed_at(LOG_SKEY, 2), log_vkey, [], now=NOW)
    assert refusal.value.reason == "unreadable-state"


def test_a_log_key_cannot_serve_as_a_witness_key(tmp_path):
    skey, _ = note.generate_key("w.example")
    with pytest.raises(note.MalformedKeyError, match="cosignature/v1"):
        Witness(tmp_path / "w", skey)


@pytest.fixture
def three_witnesses(tmp_path):
    keys = [note.generate_cosignature_key(f"witness.example/{n}") for n in "abc"]
    return [Witness(tmp_path / f"w{n}", skey) for n, (skey, _) in enumerate(keys)]


def test_quorum_counts_distinct_verified_witnesses(log, three_witnesses):
    signer, log_vkey = log
    signed = signer.sign(12, root(12), [])
    lines = [w.cosign(signed, log_vkey, [], now=NOW) for w in three_witnesses[:2]]
    cosigned = add_cosignatures(signed, *lines, lines[0])
    vkeys = [w.vkey for w in three_witnesses]
    assert verify_cosigned(cosigned, log_vkey, vkeys, 2).size == 12
    assert verify_cosigned(cosigned, log_vkey, [*vkeys, vkeys[0]], 2).size == 12
    with pytest.raises(QuorumError, match="2 of 3 known witness cosignatures verified; 3 required"):
        verify_cosigned(cosigned, log_vkey, vkeys, 3)
    with pytest.raises(QuorumError, match="0 of 0"):
        verify_cosigned(cosigned, log_vkey, [], 1)


def test_a_bad_cosignature_by_a_known_witness_is_refused(log, three_witnesses):
    signer, log_vkey = log
    signed = signer.sign(12, root(12), [])
    line = three_witnesses[0].cosign(signed, log_vkey, [], now=NOW)
    other = signer.sign(13, root(13), proof(12, 13))
    moved = add_cosignatures(other, line)  # a cosignature copied onto another checkpoint
    with pytest.raises(note.UnverifiedNoteError, match="bad signature by known key witness"):
        verify_cosigned(moved, log_vkey, [three_witnesses[0].vkey], 1)


def test_cosignatures_without_the_log_signature_are_refused(log, three_witnesses):
    signer, log_vkey = log
    signed = signer.sign(12, root(12), [])
    line = three_witnesses[0].cosign(signed, log_vkey, [], now=NOW)
    text, _ = note.parse_note(signed)
    with pytest.raises(note.UnverifiedNoteError, match="not signed by the log key"):
        verify_cosigned(text + "\n" + line, log_vkey, [three_witnesses[0].vkey], 1)


def test_quorum_must_not_be_negative(log):
    signer, log_vkey = log
    with pytest.raises(ValueError, match="negative"):
        verify_cosigned(signer.sign(1, root(1), []), log_vkey, [], -1)


def test_add_cosignatures_refuses_malformed_lines(log):
    signer, _ = log
    with pytest.raises(note.NoteError, match="malformed note"):
        add_cosignatures(signer.sign(1, root(1), []), "- not a signature line")


def test_a_note_signed_as_a_checkpoint_must_parse_as_one():
    log_vkey = LOG_VKEY
    with pytest.raises(CheckpointError):
        verify_cosigned(note.sign("just words\n", LOG_SKEY), log_vkey, [], 0)


_BIT_WITNESS_KEYS = [note.generate_cosignature_key(f"w{n}.example") for n in range(2)]


def _cosigned_note() -> bytes:
    signed = signed_at(LOG_SKEY, 17)
    lines = [
        note.Signature(
            note.parse_signer_key(skey).name,
            note.parse_signer_key(skey).key_hash,
            note.parse_signer_key(skey).sign(note.parse_note(signed)[0].encode(), NOW),
        ).to_line()
        for skey, _ in _BIT_WITNESS_KEYS
    ]
    return add_cosignatures(signed, *lines).encode()


_COSIGNED = _cosigned_note()


def test_the_unflipped_cosigned_checkpoint_verifies():
    vkeys = [vkey for _, vkey in _BIT_WITNESS_KEYS]
    assert verify_cosigned(_COSIGNED.decode(), LOG_VKEY, vkeys, 2).size == 17


def test_every_single_bit_flip_anywhere_fails_cosigned_verification():
    vkeys = [vkey for _, vkey in _BIT_WITNESS_KEYS]
    for position in range(len(_COSIGNED)):
        for bit in range(8):
            flipped = bytearray(_COSIGNED)
            flipped[position] ^= 1 << bit
            text = bytes(flipped).decode("utf-8", "surrogateescape")
            with pytest.raises((note.NoteError, CheckpointError)):
                verify_cosigned(text, LOG_VKEY, vkeys, 2)
