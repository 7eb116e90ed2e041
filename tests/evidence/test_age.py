"""age v1: interoperability with the real `age` tool, streaming, tampering and truncation."""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from amparo.evidence import age, bech32
from amparo.evidence.age import (
    CHUNK_SIZE,
    AgeError,
    DecryptingReader,
    EncryptingWriter,
    decrypt_bytes,
    encrypt_bytes,
    format_identity_file,
    generate_identity,
    parse_identity_file,
    recipient_of,
)

# Sizes around the 64 KiB chunk boundary, where the final-chunk rules bite.
BOUNDARY_SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE, 200_000]


@pytest.fixture(scope="module")
def age_tool() -> str:
    path = shutil.which("age")
    assert path, "the age command-line tool is not installed (make system-deps installs it)"
    return path


@pytest.fixture
def keypair(tmp_path: Path) -> tuple[str, str, Path]:
    identity, recipient = generate_identity()
    identity_file = tmp_path / "identity.txt"
    identity_file.write_text(format_identity_file(identity))
    return identity, recipient, identity_file


def age_decrypt(age_tool: str, identity_file: Path, ciphertext: bytes) -> bytes:
    result = subprocess.run(
        [age_tool, "-d", "-i", str(identity_file)], input=ciphertext, capture_output=True
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def age_encrypt(age_tool: str, recipients: list[str], plaintext: bytes) -> bytes:
    arguments = [argument for recipient in recipients for argument in ("-r", recipient)]
    result = subprocess.run([age_tool, *arguments], input=plaintext, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


# --- keys ---------------------------------------------------------------------------------


def test_specification_key_pair_matches() -> None:
    # The X25519 example from age-encryption.org/v1.
    identity = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
    expected = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
    assert recipient_of(identity) == expected


def test_generated_identity_agrees_with_age_keygen(tmp_path: Path) -> None:
    identity, recipient = generate_identity()
    assert identity.startswith("AGE-SECRET-KEY-1")
    assert identity == identity.upper()
    assert recipient.startswith("age1")
    assert recipient_of(identity) == recipient
    identity_file = tmp_path / "key.txt"
    identity_file.write_text(format_identity_file(identity))
    keygen = shutil.which("age-keygen")
    assert keygen, "age-keygen is not installed"
    result = subprocess.run([keygen, "-y", str(identity_file)], capture_output=True, check=True)
    assert result.stdout.decode().strip() == recipient


def test_age_keygen_identity_file_parses(tmp_path: Path) -> None:
    keygen = shutil.which("age-keygen")
    assert keygen, "age-keygen is not installed"
    key_file = tmp_path / "key.txt"
    subprocess.run([keygen, "-o", str(key_file)], capture_output=True, check=True)
    text = key_file.read_text()
    identities = parse_identity_file(text)
    assert len(identities) == 1
    assert f"# public key: {recipient_of(identities[0])}" in text


def test_two_generated_identities_differ() -> None:
    assert generate_identity()[0] != generate_identity()[0]


@pytest.mark.parametrize(
    ("bad_identity", "fragment"),
    [
        ("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj", "AGE-SECRET-KEY-1"),
        (
            "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEY",
            "checksum",
        ),
        ("AGE-SECRET-KEY-1" + bech32.encode("x", b"short")[2:].upper(), "malformed"),
    ],
)
def test_bad_identities_are_refused(bad_identity: str, fragment: str) -> None:
    with pytest.raises(AgeError, match=fragment):
        recipient_of(bad_identity)


@pytest.mark.parametrize(
    "bad_recipient",
    [
        "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwk",  # checksum
        "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82HZRYE869xeexvn73equnujwj",  # mixed case
        "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",  # not a key
        "ssh-ed25519 AAAA",
    ],
)
def test_bad_recipients_are_refused(bad_recipient: str) -> None:
    with pytest.raises(AgeError):
        encrypt_bytes(b"x", [bad_recipient])


def test_no_recipients_is_refused() -> None:
    with pytest.raises(AgeError, match="no recipients"):
        encrypt_bytes(b"x", [])


# --- interoperability with the age tool ----------------------------------------------------


@pytest.mark.parametrize("size", BOUNDARY_SIZES)
def test_age_tool_decrypts_what_we_encrypt(
    size: int, age_tool: str, keypair: tuple[str, str, Path]
) -> None:
    _, recipient, identity_file = keypair
    plaintext = os.urandom(size)
    assert age_decrypt(age_tool, identity_file, encrypt_bytes(plaintext, [recipient])) == plaintext


@pytest.mark.parametrize("size", BOUNDARY_SIZES)
def test_we_decrypt_what_the_age_tool_encrypts(
    size: int, age_tool: str, keypair: tuple[str, str, Path]
) -> None:
    identity, recipient, _ = keypair
    plaintext = os.urandom(size)
    assert decrypt_bytes(age_encrypt(age_tool, [recipient], plaintext), [identity]) == plaintext


def test_multiple_recipients_each_decrypt(age_tool: str, tmp_path: Path) -> None:
    pairs = [generate_identity() for _ in range(3)]
    plaintext = os.urandom(CHUNK_SIZE + 5)
    ours = encrypt_bytes(plaintext, [recipient for _, recipient in pairs])
    theirs = age_encrypt(age_tool, [recipient for _, recipient in pairs], plaintext)
    for index, (identity, _) in enumerate(pairs):
        identity_file = tmp_path / f"identity-{index}.txt"
        identity_file.write_text(format_identity_file(identity))
        assert age_decrypt(age_tool, identity_file, ours) == plaintext
        assert decrypt_bytes(theirs, [identity]) == plaintext


def test_stranger_identity_is_told_no_identity_matched(keypair: tuple[str, str, Path]) -> None:
    _, recipient, _ = keypair
    stranger, _ = generate_identity()
    with pytest.raises(AgeError, match="no identity matched"):
        decrypt_bytes(encrypt_bytes(b"secret", [recipient]), [stranger])


def test_second_identity_in_list_is_tried(keypair: tuple[str, str, Path]) -> None:
    identity, recipient, _ = keypair
    stranger, _ = generate_identity()
    assert decrypt_bytes(encrypt_bytes(b"secret", [recipient]), [stranger, identity]) == b"secret"


# --- streaming ----------------------------------------------------------------------------


def test_writes_of_any_size_make_the_same_plaintext(
    age_tool: str, keypair: tuple[str, str, Path]
) -> None:
    identity, recipient, identity_file = keypair
    plaintext = os.urandom(5 * CHUNK_SIZE + 123)
    out = io.BytesIO()
    with EncryptingWriter(out, [recipient]) as writer:
        position = 0
        for piece in [1, 7000, CHUNK_SIZE, 3, 2 * CHUNK_SIZE + 1, 10**6]:
            assert writer.write(plaintext[position : position + piece]) == len(
                plaintext[position : position + piece]
            )
            position += piece
    assert not out.closed, "close() must leave the underlying stream open"
    assert age_decrypt(age_tool, identity_file, out.getvalue()) == plaintext
    assert decrypt_bytes(out.getvalue(), [identity]) == plaintext


@pytest.mark.parametrize("read_size", [1, 1000, CHUNK_SIZE, CHUNK_SIZE + 1, 10**6])
def test_reads_of_any_size_return_the_plaintext(
    read_size: int, keypair: tuple[str, str, Path]
) -> None:
    identity, recipient, _ = keypair
    plaintext = os.urandom(3 * CHUNK_SIZE + 77)
    reader = DecryptingReader(io.BytesIO(encrypt_bytes(plaintext, [recipient])), [identity])
    pieces = []
    while piece := reader.read(read_size):
        assert len(piece) <= read_size
        pieces.append(piece)
    assert b"".join(pieces) == plaintext
    assert reader.read(10) == b""


def test_readinto_fills_a_buffer(keypair: tuple[str, str, Path]) -> None:
    identity, recipient, _ = keypair
    plaintext = os.urandom(CHUNK_SIZE + 10)
    reader = DecryptingReader(io.BytesIO(encrypt_bytes(plaintext, [recipient])), [identity])
    buffer = bytearray(CHUNK_SIZE + 100)
    assert reader.readinto(buffer) == CHUNK_SIZE + 10
    assert bytes(buffer[: CHUNK_SIZE + 10]) == plaintext
    assert reader.readinto(buffer) == 0


def test_an_exception_inside_the_writer_leaves_no_complete_file(
    keypair: tuple[str, str, Path],
) -> None:
    identity, recipient, _ = keypair
    out = io.BytesIO()

    def interrupted_upload() -> None:
        with EncryptingWriter(out, [recipient]) as writer:
            writer.write(os.urandom(3 * CHUNK_SIZE))
            raise RuntimeError("upload interrupted")

    with pytest.raises(RuntimeError):
        interrupted_upload()
    with pytest.raises(AgeError, match="truncated"):
        decrypt_bytes(out.getvalue(), [identity])


def test_writing_after_close_is_refused(keypair: tuple[str, str, Path]) -> None:
    _, recipient, _ = keypair
    writer = EncryptingWriter(io.BytesIO(), [recipient])
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"late")


# --- tampering and truncation -------------------------------------------------------------


def header_end(ciphertext: bytes) -> int:
    # "\n--- " then 43 base64 characters of MAC and a newline close the header.
    return ciphertext.index(b"\n--- ") + 5 + 43 + 1


def flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def test_a_flipped_byte_anywhere_in_the_header_fails(keypair: tuple[str, str, Path]) -> None:
    identity, recipient, _ = keypair
    _, other_recipient = generate_identity()
    ciphertext = encrypt_bytes(b"observer notes", [recipient, other_recipient])
    header_length = header_end(ciphertext)
    for position in range(header_length):
        with pytest.raises(AgeError):
            decrypt_bytes(flip(ciphertext, position), [identity])


def test_a_flipped_byte_anywhere_in_the_payload_fails(keypair: tuple[str, str, Path]) -> None:
    identity, recipient, _ = keypair
    ciphertext = encrypt_bytes(os.urandom(2 * CHUNK_SIZE + 300), [recipient])
    payload_start = header_end(ciphertext)
    positions = {*range(payload_start, len(ciphertext), 997), len(ciphertext) - 1}
    positions |= {payload_start + 16 + CHUNK_SIZE + offset for offset in range(-2, 18)}
    for position in sorted(positions):
        with pytest.raises(AgeError, match=r"altered|cut"):
            decrypt_bytes(flip(ciphertext, position), [identity])


def test_header_mac_mismatch_is_named(keypair: tuple[str, str, Path]) -> None:
    identity, recipient, _ = keypair
    ciphertext = encrypt_bytes(b"x", [recipient])
    mac_start = ciphertext.index(b"\n--- ") + 5
    # Another letter of the base64 alphabet, so that the line stays well formed whatever the
    # MAC is ("/" with one bit flipped would be ".", which is refused as malformed instead).
    replacement = b"A" if ciphertext[mac_start : mac_start + 1] != b"A" else b"B"
    altered = ciphertext[:mac_start] + replacement + ciphertext[mac_start + 1 :]
    with pytest.raises(AgeError, match="header MAC mismatch"):
        decrypt_bytes(altered, [identity])


@pytest.mark.parametrize("size", [1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE])
def test_truncation_fails_everywhere(size: int, keypair: tuple[str, str, Path]) -> None:
    identity, recipient, _ = keypair
    ciphertext = encrypt_bytes(os.urandom(size), [recipient])
    payload_start = header_end(ciphertext)
    encrypted_chunk = CHUNK_SIZE + 16
    cuts = {payload_start, payload_start + 10, payload_start + 16, len(ciphertext) - 1}
    cuts |= {payload_start + 16 + n * encrypted_chunk for n in range(1, size // CHUNK_SIZE + 1)}
    for cut in sorted(cut for cut in cuts if cut < len(ciphertext)):
        with pytest.raises(AgeError):
            decrypt_bytes(ciphertext[:cut], [identity])


def test_truncation_at_a_chunk_boundary_of_an_age_tool_file_fails(
    age_tool: str, keypair: tuple[str, str, Path]
) -> None:
    identity, recipient, _ = keypair
    ciphertext = age_encrypt(age_tool, [recipient], os.urandom(2 * CHUNK_SIZE + 10))
    without_final_chunk = ciphertext[: len(ciphertext) - (10 + 16)]
    reader = DecryptingReader(io.BytesIO(without_final_chunk), [identity], name="report.mp4")
    with pytest.raises(AgeError, match=r"report\.mp4: payload chunk 2 .*truncated"):
        reader.read()


def test_data_after_the_final_chunk_fails(keypair: tuple[str, str, Path]) -> None:
    identity, recipient, _ = keypair
    ciphertext = encrypt_bytes(os.urandom(CHUNK_SIZE), [recipient])
    with pytest.raises(AgeError):
        decrypt_bytes(ciphertext + b"\x00", [identity])


@pytest.mark.parametrize(
    "garbage",
    [b"", b"hello world\n", b"age-encryption.org/v2\n", b"age-encryption.org/v1\n--- \n"],
)
def test_things_that_are_not_age_files_fail(garbage: bytes) -> None:
    identity, _ = generate_identity()
    with pytest.raises(AgeError):
        decrypt_bytes(garbage, [identity])


def test_header_without_newline_is_bounded() -> None:
    identity, _ = generate_identity()
    with pytest.raises(AgeError, match="too long"):
        decrypt_bytes(b"age-encryption.org/v1\n-> " + b"A" * 100_000, [identity])


# --- hand-built files, judged by both this reader and the age tool --------------------------


def build_age_file(
    recipient: str,
    chunks: list[tuple[bytes, bool]],
    extra_stanzas: tuple[bytes, ...] = (),
) -> bytes:
    """An age file assembled piece by piece, so that it can break the rules on purpose."""
    file_key = os.urandom(16)
    recipient_key = bech32.decode(recipient)[1]
    signed = (
        b"age-encryption.org/v1\n"
        + age._wrap_file_key(file_key, recipient_key).encode()
        + b"".join(extra_stanzas)
        + b"---"
    )
    header = signed + b" " + age._b64encode(age._header_mac(file_key, signed)) + b"\n"
    nonce = os.urandom(16)
    aead = ChaCha20Poly1305(age._hkdf(file_key, nonce, b"payload"))
    payload = b"".join(
        aead.encrypt(age._chunk_nonce(counter, last=last), plaintext, None)
        for counter, (plaintext, last) in enumerate(chunks)
    )
    return header + nonce + payload


def age_tool_accepts(age_tool: str, identity_file: Path, ciphertext: bytes) -> bool:
    result = subprocess.run(
        [age_tool, "-d", "-i", str(identity_file)], input=ciphertext, capture_output=True
    )
    return result.returncode == 0


FULL = os.urandom(CHUNK_SIZE)
GREASE_48 = b"-> grease.example/x a b\n" + b"A" * 64 + b"\n\n"  # 48-byte body, empty last line


@pytest.mark.parametrize(
    ("case", "chunks", "extra", "valid"),
    [
        ("final chunk full", [(FULL, True)], (), True),
        ("empty payload", [(b"", True)], (), True),
        ("unknown stanza with a 48-byte body", [(b"hi", True)], (GREASE_48,), True),
        ("no chunks at all", [], (), False),
        ("empty final chunk after data", [(FULL, False), (b"", True)], (), False),
        ("no final flag", [(FULL, False), (b"x", False)], (), False),
        ("final flag too early", [(FULL, True), (b"x", True)], (), False),
        ("body without its short last line", [(b"hi", True)], (GREASE_48[:-1],), False),
    ],
)
def test_hand_built_files_are_judged_like_the_age_tool(
    case: str,
    chunks: list[tuple[bytes, bool]],
    extra: tuple[bytes, ...],
    valid: bool,
    age_tool: str,
    keypair: tuple[str, str, Path],
) -> None:
    identity, recipient, identity_file = keypair
    ciphertext = build_age_file(recipient, chunks, extra)
    assert age_tool_accepts(age_tool, identity_file, ciphertext) is valid, case
    if valid:
        assert decrypt_bytes(ciphertext, [identity]) == b"".join(text for text, _ in chunks)
    else:
        with pytest.raises(AgeError):
            decrypt_bytes(ciphertext, [identity])


def test_random_write_splits_round_trip(keypair: tuple[str, str, Path]) -> None:
    identity, recipient, _ = keypair
    generator = random.Random()
    for _ in range(25):
        plaintext = os.urandom(generator.choice([CHUNK_SIZE * 2, CHUNK_SIZE * 3 + 1, 150_000]))
        out = io.BytesIO()
        with EncryptingWriter(out, [recipient]) as writer:
            position = 0
            while position < len(plaintext):
                step = generator.choice([0, 1, 100, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1])
                writer.write(memoryview(plaintext)[position : position + step])
                position += step
        assert decrypt_bytes(out.getvalue(), [identity]) == plaintext


def test_partial_writes_of_a_raw_stream_are_completed(keypair: tuple[str, str, Path]) -> None:
    identity, recipient, _ = keypair

    class Stingy(io.RawIOBase):
        """Takes at most 1000 bytes per write, as a raw stream may."""

        def __init__(self) -> None:
            self.received = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data: bytes | bytearray | memoryview, /) -> int:  # type: ignore[override]
            self.received += bytes(data[:1000])
            return min(len(data), 1000)

    plaintext = os.urandom(2 * CHUNK_SIZE + 5)
    out = Stingy()
    with EncryptingWriter(out, [recipient]) as writer:
        writer.write(plaintext)
    assert decrypt_bytes(bytes(out.received), [identity]) == plaintext
