import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amparo.evidence import merkle, note
from amparo.evidence.checkpoint import Checkpoint
from amparo.evidence.receipt import (
    HEADER,
    MalformedReceiptError,
    Receipt,
    ReceiptCheckpointError,
    ReceiptError,
    ReceiptInclusionError,
    ReceiptQuorumError,
    format_receipt,
    parse_receipt,
    verify_receipt,
)
from amparo.evidence.witness import Witness, add_cosignatures

ORIGIN = "amparo.example/log"
NOW = 1_700_000_000
ENTRIES = [f'{{"event":"captured","n":{i}}}'.encode() for i in range(13)]
LEAVES = [merkle.leaf_hash(entry) for entry in ENTRIES]
ROOT = merkle.root_from_leaf_hashes(LEAVES)
LOG_SKEY, LOG_VKEY = note.generate_key(ORIGIN)
SIGNED = note.sign(Checkpoint(ORIGIN, len(LEAVES), ROOT).to_text(), LOG_SKEY)

# The header and proof lines of the example in c2sp.org/tlog-proof.
SPEC_HEAD = (
    "c2sp.org/tlog-proof@v1\n"
    "extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n"
    "index 73894\n"
    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
    "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n"
    "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
    "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n"
)


def receipt_for(index: int, checkpoint_note: str = SIGNED, extra: bytes | None = None) -> str:
    proof = merkle.inclusion_proof_from_leaf_hashes(LEAVES, index, len(LEAVES))
    return format_receipt(index, proof, checkpoint_note, extra)


def test_spec_example_layout_parses_and_formats_back():
    text = SPEC_HEAD + "\n" + SIGNED
    receipt = parse_receipt(text)
    assert receipt.index == 73894
    assert len(receipt.proof) == 5
    assert receipt.proof[0] == base64.b64decode("gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=")
    assert receipt.extra is not None
    assert receipt.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert receipt.checkpoint_note == SIGNED
    assert format_receipt(receipt.index, receipt.proof, SIGNED, receipt.extra) == text


def test_every_entry_has_a_receipt_that_verifies():
    for index, entry in enumerate(ENTRIES):
        checkpoint = verify_receipt(receipt_for(index), entry, LOG_VKEY)
        assert checkpoint == Checkpoint(ORIGIN, len(LEAVES), ROOT)


def test_receipt_layout_follows_the_spec():
    text = receipt_for(5)
    lines = text.split("\n")
    assert lines[0] == HEADER
    assert lines[1] == "index 5"
    proof_lines = lines[2 : lines.index("")]
    assert len(proof_lines) == len(merkle.inclusion_proof_from_leaf_hashes(LEAVES, 5, 13))
    assert text.endswith("\n\n" + SIGNED)
    assert parse_receipt(text) == Receipt(
        5, tuple(merkle.inclusion_proof_from_leaf_hashes(LEAVES, 5, 13)), SIGNED, None
    )


def test_a_single_entry_log_has_an_empty_proof():
    signed = note.sign(Checkpoint(ORIGIN, 1, LEAVES[0]).to_text(), LOG_SKEY)
    text = format_receipt(0, [], signed)
    assert text.startswith(f"{HEADER}\nindex 0\n\n")
    assert verify_receipt(text, ENTRIES[0], LOG_VKEY).size == 1


def test_extra_round_trips_and_is_not_authenticated():
    text = receipt_for(3, extra=b"nonce and context")
    assert parse_receipt(text).extra == b"nonce and context"
    altered = text.replace(
        base64.b64encode(b"nonce and context").decode(), base64.b64encode(b"other").decode()
    )
    assert verify_receipt(altered, ENTRIES[3], LOG_VKEY).size == 13


def test_another_entry_is_refused():
    with pytest.raises(ReceiptInclusionError, match="inclusion of the entry at index 4"):
        verify_receipt(receipt_for(4), ENTRIES[5], LOG_VKEY)


def test_another_index_is_refused():
    proof = merkle.inclusion_proof_from_leaf_hashes(LEAVES, 4, 13)
    with pytest.raises(ReceiptInclusionError, match="computed root does not match"):
        verify_receipt(format_receipt(5, proof, SIGNED), ENTRIES[4], LOG_VKEY)
    with pytest.raises(ReceiptInclusionError, match="outside a tree of size 13"):
        verify_receipt(format_receipt(13, proof, SIGNED), ENTRIES[4], LOG_VKEY)


def test_a_short_or_long_proof_is_refused():
    proof = merkle.inclusion_proof_from_leaf_hashes(LEAVES, 4, 13)
    with pytest.raises(ReceiptInclusionError, match="hashes"):
        verify_receipt(format_receipt(4, proof[:-1], SIGNED), ENTRIES[4], LOG_VKEY)
    with pytest.raises(ReceiptInclusionError, match="hashes"):
        verify_receipt(format_receipt(4, [*proof, ROOT], SIGNED), ENTRIES[4], LOG_VKEY)


def test_a_checkpoint_from_another_key_is_refused():
    other_skey, _ = note.generate_key(ORIGIN)
    forged = note.sign(Checkpoint(ORIGIN, len(LEAVES), ROOT).to_text(), other_skey)
    with pytest.raises(ReceiptCheckpointError, match="checkpoint signature: no signature"):
        verify_receipt(receipt_for(2, forged), ENTRIES[2], LOG_VKEY)


def test_errors_name_the_source():
    with pytest.raises(ReceiptInclusionError, match=r"^bag/receipts/0004\.tlog-proof: inclusion"):
        verify_receipt(receipt_for(4), b"x", LOG_VKEY, source="bag/receipts/0004.tlog-proof")


@pytest.fixture
def cosigned(tmp_path):
    keys = [note.generate_cosignature_key(f"witness.example/{n}") for n in "ab"]
    witnesses = [Witness(tmp_path / f"w{n}", skey) for n, (skey, _) in enumerate(keys)]
    lines = [w.cosign(SIGNED, LOG_VKEY, [], now=NOW) for w in witnesses]
    return add_cosignatures(SIGNED, *lines), [w.vkey for w in witnesses]


def test_witness_quorum_is_checked(cosigned):
    checkpoint_note, witness_vkeys = cosigned
    text = receipt_for(7, checkpoint_note)
    assert verify_receipt(text, ENTRIES[7], LOG_VKEY, witness_vkeys, 2).size == 13
    _, unknown = note.generate_cosignature_key("witness.example/c")
    with pytest.raises(ReceiptQuorumError, match="2 of 3 known witness cosignatures verified"):
        verify_receipt(text, ENTRIES[7], LOG_VKEY, [*witness_vkeys, unknown], 3)
    with pytest.raises(ReceiptQuorumError, match="0 of 0"):
        verify_receipt(receipt_for(7), ENTRIES[7], LOG_VKEY, [], 1)


_PROOF = [
    base64.b64encode(h).decode() for h in merkle.inclusion_proof_from_leaf_hashes(LEAVES, 4, 13)
]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"c2sp.org/tlog-proof@v2\nindex 4\n\n{SIGNED}", "first line"),
        (f"{HEADER}\nindex 04\n\n{SIGNED}", "leading zeros"),
        (f"{HEADER}\nindex -4\n\n{SIGNED}", "leading zeros"),
        (f"{HEADER}\nindex {2**64}\n\n{SIGNED}", "leading zeros"),
        (f"{HEADER}\nindex  4\n\n{SIGNED}", "leading zeros"),
        (f"{HEADER}\n\n{SIGNED}", "index <number>"),
        (f"{HEADER}\nextra AAAA\n\n{SIGNED}", "index <number>"),
        (f"{HEADER}\nindex 4\nextra AAAA\n\n{SIGNED}", "proof line 3"),
        (f"{HEADER}\nextra AB==\nindex 4\n\n{SIGNED}", "extra line: not canonical"),
        (f"{HEADER}\nindex 4\n{_PROOF[0][:-2]}B=\n\n{SIGNED}", "proof line 3: not canonical"),
        (f"{HEADER}\nindex 4\nAAAA\n\n{SIGNED}", "holds 3 bytes"),
        (f"{HEADER}\nindex 4\n" + "\n".join(_PROOF), "no blank line"),
        (f"{HEADER}\nindex 4\n\n\n{SIGNED}", "checkpoint is not valid"),
        (f"{HEADER}\nindex 4\n\nnot a note\n", "checkpoint is not valid"),
        (f"{HEADER}\nindex 4\n\n" + note.sign("words\n", LOG_SKEY), "checkpoint is not valid"),
    ],
)
def test_malformed_receipts_are_refused(text, reason):
    with pytest.raises(MalformedReceiptError, match=reason):
        verify_receipt(text, ENTRIES[4], LOG_VKEY)


def test_format_refuses_what_parse_would_refuse():
    with pytest.raises(MalformedReceiptError, match="index"):
        format_receipt(-1, [], SIGNED)
    with pytest.raises(MalformedReceiptError, match="proof hash 0 is 31 bytes"):
        format_receipt(0, [bytes(31)], SIGNED)
    with pytest.raises(MalformedReceiptError, match="checkpoint is not valid"):
        format_receipt(0, [], "not a note\n")


@given(index=st.integers(0, 12), extra=st.none() | st.binary(max_size=64))
@settings(max_examples=50, deadline=None)
def test_format_and_parse_round_trip(index, extra):
    text = receipt_for(index, extra=extra)
    receipt = parse_receipt(text)
    assert (receipt.index, receipt.extra, receipt.checkpoint_note) == (index, extra, SIGNED)
    assert format_receipt(receipt.index, receipt.proof, receipt.checkpoint_note, extra) == text


def _cosigned_receipt() -> tuple[bytes, list[str]]:
    lines, vkeys = [], []
    for name in ("w1.example", "w2.example"):
        skey, vkey = note.generate_cosignature_key(name)
        signer = note.parse_signer_key(skey)
        text = note.parse_note(SIGNED)[0].encode()
        lines.append(note.Signature(signer.name, signer.key_hash, signer.sign(text, NOW)).to_line())
        vkeys.append(vkey)
    return receipt_for(6, add_cosignatures(SIGNED, *lines)).encode(), vkeys


_RECEIPT, _WITNESS_VKEYS = _cosigned_receipt()


def test_the_unflipped_cosigned_receipt_verifies():
    assert verify_receipt(_RECEIPT.decode(), ENTRIES[6], LOG_VKEY, _WITNESS_VKEYS, 2).size == 13


def test_every_single_bit_flip_anywhere_fails_receipt_verification():
    for position in range(len(_RECEIPT)):
        for bit in range(8):
            flipped = bytearray(_RECEIPT)
            flipped[position] ^= 1 << bit
            text = bytes(flipped).decode("utf-8", "surrogateescape")
            with pytest.raises(ReceiptError):
                verify_receipt(text, ENTRIES[6], LOG_VKEY, _WITNESS_VKEYS, 2)


def test_a_receipt_whose_checkpoint_names_another_log_is_refused():
    # c2sp.org/tlog-proof: a proof verifies against the log's origin as well as its keys.
    moved = note.sign(Checkpoint("another.example/log", len(LEAVES), ROOT).to_text(), LOG_SKEY)
    with pytest.raises(ReceiptCheckpointError, match=r"another\.example/log"):
        verify_receipt(receipt_for(3, moved), ENTRIES[3], LOG_VKEY)
    assert verify_receipt(receipt_for(3, moved), ENTRIES[3], LOG_VKEY, origin="another.example/log")
