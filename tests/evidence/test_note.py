import base64
import contextlib
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from amparo.evidence import note

# Published vectors from the documentation and tests of Go's golang.org/x/mod/sumdb/note.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKv"
    "qfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGw"
    "nWLox33WWd1RvMc+QQ=\n"
)

# The examples in c2sp.org/signed-note and c2sp.org/tlog-cosignature.
QUASIMODO_NOTE = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n"
    "\n"
    "\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMo"
    "uFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)
SPEC_COSIGNATURE_LINE = (
    "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dl"
    "rDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
)


def test_signing_reproduces_the_published_go_note_byte_for_byte():
    assert note.sign(TEXT, PETER_SKEY) == TEXT + "\n" + PETER_SIG


def test_published_note_opens_with_the_published_key():
    assert note.open(TEXT + "\n" + PETER_SIG, [PETER_VKEY]) == TEXT


def test_published_signer_and_verifier_keys_agree():
    signer = note.parse_signer_key(PETER_SKEY)
    verifier = note.parse_verifier_key(PETER_VKEY)
    assert signer.verifier() == verifier
    assert signer.vkey() == PETER_VKEY
    assert verifier.key_hash == 0xC74F20A3
    assert verifier.alg == note.ALG_ED25519
    assert str(verifier) == PETER_VKEY


def test_key_id_is_the_truncated_hash_the_spec_defines():
    verifier = note.parse_verifier_key(PETER_VKEY)
    digest = hashlib.sha256(b"PeterNeumann\n\x01" + verifier.public_key).digest()
    assert int.from_bytes(digest[:4], "big") == verifier.key_hash


def test_unknown_signatures_are_ignored_and_known_ones_reported():
    opened = note.open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [PETER_VKEY])
    assert opened.text == TEXT
    assert opened.verified == ["PeterNeumann"]
    assert [s.name for s in opened.signatures] == ["PeterNeumann", "EnochRoot"]
    assert opened.signatures[1].key_hash == 0xAF0CFE78


def test_both_published_signatures_verify_with_both_keys():
    opened = note.open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [PETER_VKEY, ENOCH_VKEY])
    assert opened.verified == ["PeterNeumann", "EnochRoot"]


def test_note_without_a_known_signature_is_refused():
    with pytest.raises(note.UnverifiedNoteError, match="no signature by a known key"):
        note.open(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])


def test_same_name_different_key_id_is_an_unknown_key():
    _, other_vkey = note.generate_key("PeterNeumann")
    with pytest.raises(note.UnverifiedNoteError, match="no signature by a known key"):
        note.open(TEXT + "\n" + PETER_SIG, [other_vkey])


def test_bad_signature_by_a_known_key_rejects_the_whole_note():
    corrupt = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(note.UnverifiedNoteError, match="bad signature by known key PeterNeumann"):
        note.open(TEXT + "\n" + corrupt, [PETER_VKEY])
    # Even when another known key verifies, a failing one is not overlooked.
    with pytest.raises(note.UnverifiedNoteError, match="bad signature by known key EnochRoot"):
        note.open(
            TEXT + "\n" + PETER_SIG + ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:],
            [
                PETER_VKEY,
                ENOCH_VKEY,
            ],
        )


def test_two_different_keys_with_one_name_and_id_are_ambiguous():
    verifier = note.parse_verifier_key(ENOCH_VKEY)
    impostor = note.Verifier(verifier.name, verifier.key_hash, verifier.alg, bytes(32))
    with pytest.raises(note.UnverifiedNoteError, match="ambiguous key EnochRoot"):
        note.open_note(TEXT + "\n" + ENOCH_SIG, [verifier, impostor])
    # A duplicate that no signature uses does not matter.
    assert note.open_note(TEXT + "\n" + PETER_SIG, [verifier, PETER_VKEY, impostor]).text == TEXT


def test_more_than_the_signature_limit_is_malformed():
    with pytest.raises(note.NoteError, match="more than 100 signatures"):
        note.open(TEXT + "\n" + PETER_SIG * 101, [PETER_VKEY])
    assert note.open(TEXT + "\n" + PETER_SIG * 100, [PETER_VKEY]) == TEXT


@pytest.mark.parametrize(
    "message",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        b"\xff".decode("utf-8", "surrogateescape") + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + "\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2p"
        "ZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + "- PeterNeumann" + PETER_SIG[len("\u2014 PeterNeumann") :],
        TEXT + "\n" + "\u2014 PeterNeumann AAAA\n",
        TEXT + "\n" + PETER_SIG.replace("AM=", "AN="),  # non-canonical trailing bits
    ],
    ids=[
        "no-signatures",
        "blank-line-only",
        "no-final-newline",
        "control-character",
        "invalid-utf8",
        "space-in-name",
        "line-after-signatures",
        "hyphen-not-em-dash",
        "signature-too-short",
        "non-canonical-base64",
    ],
)
def test_malformed_notes_are_refused(message):
    with pytest.raises(note.NoteError, match="malformed note"):
        note.open(message, [PETER_VKEY])


def test_the_last_blank_line_separates_text_from_signatures():
    text, signatures = note.parse_note(QUASIMODO_NOTE)
    assert text == (
        "Ognuno sta solo sul cuor della terra\n"
        "trafitto da un raggio di sole:\n"
        "\n"
        "ed è subito sera.\n"
    )
    assert [s.name for s in signatures] == ["quasimodo.example/salvatore"]
    assert len(signatures[0].sig) == 64


def test_spec_cosignature_line_carries_its_timestamp_big_endian():
    signature = note.parse_signature_line(SPEC_COSIGNATURE_LINE)
    assert signature.name == "witness.example.com/w1"
    assert len(signature.sig) == 8 + 64
    # The spec's example signed message reads "time 1679315147".
    assert int.from_bytes(signature.sig[:8], "big") == 1679315147


def test_new_keys_round_trip():
    skey, vkey = note.generate_key("amparo.example/log")
    assert skey.startswith("PRIVATE+KEY+amparo.example/log+")
    signed = note.sign("hello\n", skey)
    assert note.open(signed, [vkey]) == "hello\n"
    assert note.parse_signer_key(skey).vkey() == vkey


def test_cosignature_matches_the_message_the_spec_defines():
    seed = bytes(range(32))
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    public = private_key.public_key().public_bytes_raw()
    name = "witness.example/w1"
    key_id = hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
    skey = f"PRIVATE+KEY+{name}+{key_id.hex()}+" + base64.b64encode(b"\x04" + seed).decode()
    vkey = f"{name}+{key_id.hex()}+" + base64.b64encode(b"\x04" + public).decode()
    checkpoint = (
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )

    sig = note.parse_signer_key(skey).sign(checkpoint.encode(), timestamp=1679315147)

    assert sig[:8] == (1679315147).to_bytes(8, "big")
    signed_message = b"cosignature/v1\ntime 1679315147\n" + checkpoint.encode()
    Ed25519PublicKey.from_public_bytes(public).verify(sig[8:], signed_message)
    assert note.parse_verifier_key(vkey).verify(checkpoint.encode(), sig)
    line = note.Signature(name, int.from_bytes(key_id, "big"), sig).to_line()
    assert note.open(checkpoint + "\n" + line, [vkey]) == checkpoint


def test_cosignature_and_log_keys_are_not_interchangeable():
    skey, _ = note.generate_cosignature_key("w.example")
    cosigner = note.parse_signer_key(skey)
    as_log_key = note.Verifier(
        cosigner.name,
        note.key_hash(cosigner.name, note.ALG_ED25519, cosigner.verifier().public_key),
        note.ALG_ED25519,
        cosigner.verifier().public_key,
    )
    assert cosigner.verifier().key_hash != as_log_key.key_hash
    sig = cosigner.sign(b"text\n", timestamp=5)
    assert not as_log_key.verify(b"text\n", sig)
    assert not as_log_key.verify(b"text\n", sig[8:])


def test_cosignature_verifier_refuses_timestamps_beyond_the_spec_limit():
    seed = bytes(32)
    skey_signer = note.Signer("w", 0, note.ALG_COSIGNATURE_V1, seed)
    verifier = skey_signer.verifier()
    too_late = 2**63
    raw = Ed25519PrivateKey.from_private_bytes(seed).sign(note.cosigned_message(b"t\n", too_late))
    assert not verifier.verify(b"t\n", too_late.to_bytes(8, "big") + raw)
    with pytest.raises(note.NoteError, match="outside"):
        skey_signer.sign(b"t\n", timestamp=too_late)


def test_verifier_refuses_signatures_of_the_wrong_length():
    verifier = note.parse_verifier_key(PETER_VKEY)
    good = note.parse_signer_key(PETER_SKEY).sign(b"x\n")
    assert verifier.verify(b"x\n", good)
    assert not verifier.verify(b"x\n", good + b"\x00")
    assert not verifier.verify(b"x\n", good[:-1])


def test_signer_repr_does_not_show_the_seed():
    signer = note.parse_signer_key(PETER_SKEY)
    assert signer.seed.hex() not in repr(signer)
    assert repr(signer.seed) not in repr(signer)


@pytest.mark.parametrize("text", ["no newline", "", "bell\x07\n"])
def test_sign_refuses_text_that_cannot_be_a_note(text):
    with pytest.raises(note.NoteError):
        note.sign(text, PETER_SKEY)


def test_sign_needs_a_key():
    with pytest.raises(note.NoteError, match="at least one signer key"):
        note.sign(TEXT)


def test_sign_with_two_keys_verifies_with_either():
    cosign_skey, cosign_vkey = note.generate_cosignature_key("witness.example/a")
    signed = note.sign(TEXT, PETER_SKEY, cosign_skey)
    assert note.open_note(signed, [PETER_VKEY, cosign_vkey]).verified == [
        "PeterNeumann",
        "witness.example/a",
    ]
    assert note.open(signed, [cosign_vkey]) == TEXT


@pytest.mark.parametrize(
    "name",
    ["", "a+b", "a b", "tab\there", "nbsp\u00a0x", "em\u2003space", "line\u2028sep", "nul\x00"],
)
def test_bad_key_names_are_refused(name):
    with pytest.raises(note.MalformedKeyError):
        note.generate_key(name)


def test_every_substring_and_every_bumped_character_of_a_vkey_is_refused():
    # The same manglings Go's note tests apply to the published key.
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(note.MalformedKeyError):
                    note.parse_verifier_key(PETER_VKEY[i:j])
    for i, char in enumerate(PETER_VKEY):
        with pytest.raises(note.MalformedKeyError):
            note.parse_verifier_key(PETER_VKEY[:i] + chr(ord(char) + 1) + PETER_VKEY[i + 1 :])


def test_every_substring_and_every_bumped_character_of_an_skey_is_refused():
    for i in range(len(PETER_SKEY) + 1):
        for j in range(i + 1, len(PETER_SKEY) + 1):
            if (i, j) != (0, len(PETER_SKEY)):
                with pytest.raises(note.MalformedKeyError):
                    note.parse_signer_key(PETER_SKEY[i:j])
    for i, char in enumerate(PETER_SKEY):
        with pytest.raises(note.MalformedKeyError):
            note.parse_signer_key(PETER_SKEY[:i] + chr(ord(char) + 1) + PETER_SKEY[i + 1 :])


@pytest.mark.parametrize(
    ("vkey", "reason"),
    [
        (
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "not canonical",  # Go reads it leniently; "EY==" has its unused low bits set
        ),
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "unknown signature"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "lowercase hex"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=", "not canonical"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "base64"),
        ("PeterNeumann+c74f20a3", "must read"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "name"),
    ],
)
def test_malformed_vkeys_say_what_is_wrong(vkey, reason):
    with pytest.raises(note.MalformedKeyError, match=reason):
        note.parse_verifier_key(vkey)


def test_wrong_key_length_is_refused_even_with_a_matching_key_id():
    material = b"\x01" + bytes(range(35))
    key_id = note.key_hash("short", 1, material[1:])
    vkey = f"short+{key_id:08x}+" + base64.b64encode(material).decode()
    with pytest.raises(note.MalformedKeyError, match="holds 35 key bytes"):
        note.parse_verifier_key(vkey)


def test_base64_must_be_canonical():
    assert note.decode_base64_strictly("AA==") == b"\x00"
    with pytest.raises(ValueError, match="not canonical"):
        note.decode_base64_strictly("AB==")


def test_wrong_length_and_unknown_algorithm_vectors_have_consistent_key_ids():
    # Go's vectors adjust the key ID, so only the length or the type byte can refuse them.
    material = base64.b64decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    assert note.key_hash("PeterNeumann", material[0], material[1:]) == 0xCC469956
    material = base64.b64decode("ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    assert note.key_hash("PeterNeumann", material[0], material[1:]) == 0x173116AE


_KEYS = [PETER_VKEY, ENOCH_VKEY, PETER_SKEY]


@st.composite
def mutated_keys(draw):
    key = draw(st.sampled_from(_KEYS))
    position = draw(st.integers(0, len(key)))
    kind = draw(st.sampled_from(["replace", "insert", "delete"]))
    char = draw(st.characters() | st.sampled_from("+/=0123456789abcdefABZ \u00a0\u2014"))
    if kind == "replace" and position < len(key):
        return key, key[:position] + char + key[position + 1 :]
    if kind == "delete" and position < len(key):
        return key, key[:position] + key[position + 1 :]
    return key, key[:position] + char + key[position:]


@given(mutated_keys())
@settings(max_examples=400, deadline=None)
def test_any_mutated_key_is_refused_or_unchanged(pair):
    original, mutated = pair
    parse = note.parse_signer_key if original.startswith("PRIVATE") else note.parse_verifier_key
    try:
        parsed = parse(mutated)
    except note.MalformedKeyError:
        return
    assert parsed == parse(original)


@given(st.text(max_size=120))
@settings(max_examples=300, deadline=None)
def test_arbitrary_text_is_never_a_surprise_to_the_key_parsers(candidate):
    for parse in (note.parse_verifier_key, note.parse_signer_key):
        with contextlib.suppress(note.MalformedKeyError):
            parse(candidate)


def every_single_bit_flip(data: bytes):
    for position in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[position] ^= 1 << bit
            yield bytes(flipped).decode("utf-8", "surrogateescape")


_COSIGN_SKEY, _COSIGN_VKEY = note.generate_cosignature_key("witness.example/bits")
_TWO_SIGNATURE_NOTE = note.sign(TEXT, PETER_SKEY, _COSIGN_SKEY).encode("utf-8")


def _open_requiring_both_signatures(candidate: str) -> None:
    opened = note.open_note(candidate, [PETER_VKEY, _COSIGN_VKEY])
    if opened.verified != ["PeterNeumann", "witness.example/bits"]:
        raise note.NoteError(f"only {opened.verified} verified")


def test_every_single_bit_flip_anywhere_fails_verification():
    # Every signature is by a known key, so no line can change without being noticed.
    checked = 0
    for candidate in every_single_bit_flip(_TWO_SIGNATURE_NOTE):
        with pytest.raises(note.NoteError):
            _open_requiring_both_signatures(candidate)
        checked += 1
    assert checked == len(_TWO_SIGNATURE_NOTE) * 8


def test_the_unflipped_two_signature_note_verifies():
    opened = note.open_note(_TWO_SIGNATURE_NOTE.decode(), [PETER_VKEY, _COSIGN_VKEY])
    assert opened.verified == ["PeterNeumann", "witness.example/bits"]
