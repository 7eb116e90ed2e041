"""Hostile bundles and misleading keys: each case here was once accepted or misreported."""

from __future__ import annotations

import shutil
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from amparo.evidence import bagit, note
from amparo.evidence.bundle import SIGNATURE_FILE, TAG_FILES, signature_text
from amparo.evidence.verify import VerificationFailure, verify_bundle
from amparo.evidence.verify_cli import main
from amparo.evidence.witness import QuorumError, add_cosignatures, verify_cosigned
from tests.evidence.test_bundle import BuiltBundle, build_bundle
from tests.evidence.test_bundle_tamper import re_sign, signed_copy

__all__ = ["signed_copy"]  # a fixture, used by name


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


def test_the_log_key_does_not_count_as_a_witness(built: BuiltBundle) -> None:
    with pytest.raises(ValueError, match="log's own key"):
        verify_bundle(built.bag, built.log_vkey, [built.log_vkey], 1)
    checkpoint = (built.bag / "data/checkpoint.txt").read_text()
    with pytest.raises(note.MalformedKeyError, match="log's own key"):
        verify_cosigned(checkpoint, built.log_vkey, [built.log_vkey], 1)


def test_the_log_key_under_another_name_does_not_count_as_a_witness(
    built: BuiltBundle,
) -> None:
    public_key = note.parse_verifier_key(built.log_vkey).public_key
    for alg in (note.ALG_ED25519, note.ALG_COSIGNATURE_V1):
        renamed = str(
            note.Verifier(
                "notary.example", note.key_hash("notary.example", alg, public_key), alg, public_key
            )
        )
        with pytest.raises(ValueError, match="log's own key"):
            verify_bundle(built.bag, built.log_vkey, [renamed], 1)


def test_a_plain_ed25519_key_is_not_a_witness_key(built: BuiltBundle) -> None:
    _skey, plain = note.generate_key("witness.example")
    with pytest.raises(ValueError, match="not a cosignature/v1"):
        verify_bundle(built.bag, built.log_vkey, [plain], 1)


def test_one_witness_named_twice_counts_once(built: BuiltBundle, tmp_path: Path) -> None:
    log_skey = (built.store_dir / "keys/log.skey").read_text().strip()
    witness_skey, witness_vkey = note.generate_cosignature_key("witness-a.example")
    signer = note.parse_signer_key(witness_skey)
    alias = note.Signer(
        "witness-b.example",
        note.key_hash("witness-b.example", note.ALG_COSIGNATURE_V1, signer.verifier().public_key),
        note.ALG_COSIGNATURE_V1,
        signer.seed,
    )
    signed = note.sign("legal-aid.example/evidence\n1\n" + "A" * 43 + "=\n", log_skey)
    text = note.parse_note(signed)[0].encode()
    lines = [note.Signature(s.name, s.key_hash, s.sign(text, 1)).to_line() for s in (signer, alias)]
    cosigned = add_cosignatures(signed, *lines)
    both = [witness_vkey, alias.vkey()]
    with pytest.raises(QuorumError, match="1 of 1 known"):
        verify_cosigned(cosigned, built.log_vkey, both, 2)
    with pytest.raises(ValueError, match="given twice"):
        verify_bundle(built.bag, built.log_vkey, [*built.witness_vkeys, built.witness_vkeys[0]])


def test_the_command_line_reports_a_witness_key_mistake_as_usage(
    built: BuiltBundle, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_status:
        main([str(built.bag), "--key", built.log_vkey, "--witness", built.log_vkey])
    assert exit_status.value.code == 2
    assert "log's own key" in capsys.readouterr().err


def _checkpoint_for_another_origin(bag: Path, log_skey: str) -> str:
    text = note.parse_note((bag / "data/checkpoint.txt").read_text())[0]
    _origin, rest = text.split("\n", 1)
    return note.sign("another-log.example/evidence\n" + rest, log_skey)


def test_a_checkpoint_for_another_origin_is_refused(
    signed_copy: tuple[Path, str], built: BuiltBundle
) -> None:
    bag, log_skey = signed_copy
    moved = _checkpoint_for_another_origin(bag, log_skey)
    (bag / "data/checkpoint.txt").write_text(moved)
    for receipt in (bag / "data/receipts").iterdir():
        head = receipt.read_text().partition("\n\n")[0]
        receipt.write_text(head + "\n\n" + moved)
    re_sign(bag, log_skey)
    with pytest.raises(VerificationFailure) as failure:
        verify_bundle(bag, built.log_vkey)
    assert failure.value.file == "data/checkpoint.txt"
    assert "another-log.example/evidence" in failure.value.check
    assert "legal-aid.example/evidence" in failure.value.check


def test_a_receipt_for_another_origin_is_refused(
    signed_copy: tuple[Path, str], built: BuiltBundle
) -> None:
    bag, log_skey = signed_copy
    receipt = sorted((bag / "data/receipts").iterdir())[0]
    head = receipt.read_text().partition("\n\n")[0]
    receipt.write_text(head + "\n\n" + _checkpoint_for_another_origin(bag, log_skey))
    re_sign(bag, log_skey)
    with pytest.raises(VerificationFailure) as failure:
        verify_bundle(bag, built.log_vkey, built.witness_vkeys)
    assert failure.value.file == receipt.relative_to(bag).as_posix()
    assert "the checkpoint is for the log 'another-log.example/evidence'" in failure.value.check


def _zip_with_extra_members(built: BuiltBundle, tmp_path: Path, *extra: str) -> Path:
    """The bundle's .zip with more members placed first, so that they are extracted first."""
    target = tmp_path / "bag.zip"
    with (
        zipfile.ZipFile(built.bag.with_name("bag.zip")) as intact,
        zipfile.ZipFile(target, "w") as hostile,
    ):
        for name in extra:
            hostile.writestr(name, b"not what was recorded")
        for info in intact.infolist():
            hostile.writestr(info, intact.read(info))
    return target


def _an_original_in_the_zip(built: BuiltBundle) -> str:
    with zipfile.ZipFile(built.bag.with_name("bag.zip")) as archive:
        return next(name for name in archive.namelist() if "/data/originals/" in name)


def test_zip_members_differing_only_in_letter_case_are_refused(
    tmp_path: Path, built: BuiltBundle
) -> None:
    # On Windows or macOS the real original overwrites this one when extracted, so the checker
    # would see only the recorded file while a person browsing the archive sees both.
    folder, name = _an_original_in_the_zip(built).rsplit("/", 1)
    hostile = _zip_with_extra_members(built, tmp_path, f"{folder}/{name.upper()}")
    with pytest.raises(VerificationFailure, match="twice in the archive") as failure:
        verify_bundle(hostile, built.log_vkey, built.witness_vkeys)
    assert name in failure.value.file


def test_zip_members_differing_only_in_unicode_normalisation_are_refused(
    tmp_path: Path, built: BuiltBundle
) -> None:
    folder = _an_original_in_the_zip(built).rsplit("/", 1)[0]
    composed = f"{folder}/caf\u00e9.jpg"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    hostile = _zip_with_extra_members(built, tmp_path, composed, decomposed)
    with pytest.raises(VerificationFailure, match="twice in the archive"):
        verify_bundle(hostile, built.log_vkey, built.witness_vkeys)


def test_a_payload_oxum_that_does_not_match_the_payload_is_refused(
    signed_copy: tuple[Path, str], built: BuiltBundle
) -> None:
    bag, log_skey = signed_copy
    info = bag / "bag-info.txt"
    fields = dict(bagit.parse_bag_info(info.read_text()))
    octets, count = fields["Payload-Oxum"].split(".")
    wrong = f"{int(octets) + 1}.{count}"
    info.write_text(info.read_text().replace(fields["Payload-Oxum"], wrong))
    # Only the tag manifests and the signature are redone: re_sign would correct the Oxum.
    tag_digests = bagit.write_tag_manifests(bag, TAG_FILES)
    (bag / SIGNATURE_FILE).write_text(note.sign(signature_text("bag", tag_digests), log_skey))
    with pytest.raises(VerificationFailure) as failure:
        verify_bundle(bag, built.log_vkey, built.witness_vkeys)
    assert failure.value.file == "bag-info.txt"
    assert f"Payload-Oxum {wrong}" in failure.value.check
    assert f"{octets} bytes in {count} files" in failure.value.check


def test_an_encrypted_zip_member_is_a_fail_line_not_a_crash(
    tmp_path: Path, built: BuiltBundle, capsys: pytest.CaptureFixture[str]
) -> None:
    content = bytearray(built.bag.with_name("bag.zip").read_bytes())
    # Set the "encrypted" flag bit of every local and central header.
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        position = content.find(signature)
        while position >= 0:
            content[position + flag_offset] |= 1
            position = content.find(signature, position + 4)
    hostile = tmp_path / "bag.zip"
    hostile.write_bytes(bytes(content))
    status = main([str(hostile), "--key", built.log_vkey])
    out = capsys.readouterr().out
    assert status == 1
    assert out.startswith("FAIL: bag.zip: bag/")
    assert "encrypted" in out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(lambda text: text.replace("\n", "\r\n"), "carriage return", id="crlf"),
        pytest.param(lambda text: "\ufeff" + text, "byte order mark", id="bom"),
    ],
)
def test_a_converted_manifest_is_named_with_what_changed(
    tmp_path: Path, built: BuiltBundle, change: Callable[[str], str], expected: str
) -> None:
    bag = copy_of(built, tmp_path)
    manifest = bag / "manifest-sha256.txt"
    manifest.write_bytes(change(manifest.read_text()).encode())
    with pytest.raises(VerificationFailure) as failure:
        verify_bundle(bag, built.log_vkey, built.witness_vkeys)
    assert failure.value.file == "manifest-sha256.txt"
    assert expected in failure.value.check


def test_a_payload_folder_that_is_a_symbolic_link_is_refused(
    tmp_path: Path, built: BuiltBundle
) -> None:
    bag = copy_of(built, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    (bag / "data").rename(elsewhere)
    (bag / "data").symlink_to(elsewhere)
    with pytest.raises(VerificationFailure) as failure:
        verify_bundle(bag, built.log_vkey, built.witness_vkeys)
    assert failure.value.file == "data/"
    assert "symbolic link" in failure.value.check


def test_a_key_file_saved_by_windows_notepad_is_read(
    tmp_path: Path, built: BuiltBundle, capsys: pytest.CaptureFixture[str]
) -> None:
    # Notepad has long saved UTF-8 with a byte order mark and CRLF line ends.
    key_file = tmp_path / "network-key.txt"
    key_file.write_bytes(("\ufeff" + built.log_vkey + "\r\n").encode())
    witness_file = tmp_path / "witnesses.txt"
    witness_file.write_bytes(("\ufeff" + "\r\n".join(built.witness_vkeys) + "\r\n").encode())
    status = main([str(built.bag), "--key", str(key_file), "--witness", str(witness_file)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.startswith("OK: ")
