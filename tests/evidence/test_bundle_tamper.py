"""Any change to any file of a bundle, or a file removed or added, fails verification by name."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.evidence import bagit, note
from amparo.evidence.bundle import SIGNATURE_FILE, signature_text
from amparo.evidence.verify import VerificationFailure, verify_bundle
from tests.evidence.test_bundle import BuiltBundle, build_bundle

TAMPER_SETTINGS = settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltBundle:
    return build_bundle(tmp_path_factory.mktemp("tamper"), zip_too=True)


def bag_files(bag: Path) -> list[str]:
    return sorted(path.relative_to(bag).as_posix() for path in bag.rglob("*") if path.is_file())


def assert_fails_naming_a_file(bag: Path, built: BuiltBundle, known: list[str]) -> str:
    with pytest.raises(VerificationFailure) as failure:
        verify_bundle(bag, built.log_vkey, built.witness_vkeys)
    message = f"{failure.value.file}: {failure.value.check}"
    assert failure.value.file, message
    assert any(name in message for name in known), message
    return message


def test_the_untouched_bundle_verifies(built: BuiltBundle) -> None:
    report = verify_bundle(built.bag, built.log_vkey, built.witness_vkeys)
    assert report.witnesses_cosigned == len(built.witness_vkeys)


def test_every_kind_of_file_is_covered(built: BuiltBundle) -> None:
    files = bag_files(built.bag)
    for expected in (
        "bagit.txt",
        "bag-info.txt",
        "bag-signature.txt",
        "manifest-sha256.txt",
        "manifest-sha512.txt",
        "tagmanifest-sha256.txt",
        "tagmanifest-sha512.txt",
        "data/checkpoint.txt",
        "data/keys/log.vkey",
        "data/keys/witnesses.vkey",
        "data/HOW_TO_VERIFY.txt",
    ):
        assert expected in files
    for folder in ("data/originals/", "data/metadata/", "data/custody/", "data/receipts/"):
        assert any(name.startswith(folder) for name in files), folder


@TAMPER_SETTINGS
@given(data=st.data())
def test_flipping_any_bit_of_any_file_fails(built: BuiltBundle, data: st.DataObject) -> None:
    files = bag_files(built.bag)
    target = data.draw(st.sampled_from(files), label="file")
    size = (built.bag / target).stat().st_size
    bit = data.draw(st.integers(0, size * 8 - 1), label="bit")
    with tempfile.TemporaryDirectory() as scratch:
        bag = Path(shutil.copytree(built.bag, Path(scratch) / "bag"))
        content = bytearray((bag / target).read_bytes())
        content[bit // 8] ^= 1 << (bit % 8)
        (bag / target).write_bytes(bytes(content))
        assert_fails_naming_a_file(bag, built, files)


def test_flipping_one_bit_in_each_file_in_turn_fails(tmp_path: Path, built: BuiltBundle) -> None:
    # Hypothesis samples files at random; this hits every file once, whatever the sample.
    files = bag_files(built.bag)
    for number, target in enumerate(files):
        bag = Path(shutil.copytree(built.bag, tmp_path / f"bag-{number}"))
        content = bytearray((bag / target).read_bytes())
        content[len(content) // 2] ^= 0x10
        (bag / target).write_bytes(bytes(content))
        assert_fails_naming_a_file(bag, built, files)


@pytest.mark.parametrize("kind", ["originals", "metadata", "custody", "receipts", "keys"])
def test_flipping_the_last_bit_of_each_payload_kind_fails(
    tmp_path: Path, built: BuiltBundle, kind: str
) -> None:
    # Hypothesis samples files at random; this makes sure each kind is hit at least once.
    bag = Path(shutil.copytree(built.bag, tmp_path / "bag"))
    target = sorted((bag / "data" / kind).iterdir())[0]
    content = bytearray(target.read_bytes())
    content[-1] ^= 1
    target.write_bytes(bytes(content))
    message = assert_fails_naming_a_file(bag, built, bag_files(built.bag))
    assert target.relative_to(bag).as_posix() in message


def test_deleting_any_file_fails(tmp_path: Path, built: BuiltBundle) -> None:
    files = bag_files(built.bag)
    for number, target in enumerate(files):
        bag = Path(shutil.copytree(built.bag, tmp_path / f"bag-{number}"))
        (bag / target).unlink()
        message = assert_fails_naming_a_file(bag, built, files)
        assert target in message, message


@pytest.mark.parametrize(
    "added",
    [
        "data/originals/extra.jpg",
        "data/custody/999.json",
        "data/receipts/999.tlog-proof",
        "data/notes.txt",
        "extra-tag-file.txt",
        "data/keys/another.vkey",
    ],
)
def test_adding_a_file_fails(tmp_path: Path, built: BuiltBundle, added: str) -> None:
    bag = Path(shutil.copytree(built.bag, tmp_path / "bag"))
    (bag / added).write_bytes(b"planted\n")
    message = assert_fails_naming_a_file(bag, built, [added])
    assert message.startswith(added)


def test_a_re_manifested_bag_fails_the_bag_signature(tmp_path: Path, built: BuiltBundle) -> None:
    bag = Path(shutil.copytree(built.bag, tmp_path / "bag"))
    original = sorted((bag / "data/originals").iterdir())[0]
    original.write_bytes(original.read_bytes() + b"doctored")
    digests = {path: bagit.hash_file(bag / path) for path in bagit.payload_files(bag)}
    bagit.write_manifests(bag, digests)
    bagit.write_tag_manifests(
        bag,
        ["bagit.txt", "bag-info.txt"]
        + [f"manifest-{algorithm}.txt" for algorithm in bagit.ALGORITHMS],
    )
    message = assert_fails_naming_a_file(bag, built, [SIGNATURE_FILE])
    assert message.startswith(f"{SIGNATURE_FILE}: signed text does not match")


def test_a_bag_re_signed_with_another_key_is_untrusted(tmp_path: Path, built: BuiltBundle) -> None:
    bag = Path(shutil.copytree(built.bag, tmp_path / "bag"))
    skey, vkey = note.generate_key(built.log_vkey.split("+")[0])
    (bag / "data/keys/log.vkey").write_text(vkey + "\n")
    digests = {path: bagit.hash_file(bag / path) for path in bagit.payload_files(bag)}
    bagit.write_manifests(bag, digests)
    tag_digests = bagit.write_tag_manifests(
        bag,
        ["bagit.txt", "bag-info.txt"]
        + [f"manifest-{algorithm}.txt" for algorithm in bagit.ALGORITHMS],
    )
    (bag / SIGNATURE_FILE).write_text(note.sign(signature_text("bag", tag_digests), skey))
    message = assert_fails_naming_a_file(bag, built, ["data/keys/log.vkey"])
    assert "untrusted key" in message


def test_a_checkpoint_without_a_witness_cosignature_fails(
    tmp_path: Path, built: BuiltBundle
) -> None:
    bag = Path(shutil.copytree(built.bag, tmp_path / "bag"))
    checkpoint = bag / "data/checkpoint.txt"
    lines = checkpoint.read_text().splitlines(keepends=True)
    witness_name = built.witness_vkeys[1].split("+")[0]
    checkpoint.write_text("".join(line for line in lines if witness_name not in line))
    digests = {path: bagit.hash_file(bag / path) for path in bagit.payload_files(bag)}
    bagit.write_manifests(bag, digests)
    # Manifests no longer match the signed tag manifests, so the payload check catches it
    # first; without the manifests the cosignature check would.
    message = assert_fails_naming_a_file(bag, built, ["manifest-sha256.txt"])
    assert "tagmanifest" in message


@TAMPER_SETTINGS
@given(data=st.data())
def test_flipping_any_bit_of_the_zip_fails_or_leaves_the_bag_unchanged(
    built: BuiltBundle, data: st.DataObject
) -> None:
    # Some zip header fields (version needed, timestamps) carry no bag content; a flip there
    # must leave every extracted file identical, and any other flip must fail verification.
    source = built.bag.with_name("bag.zip")
    content = bytearray(source.read_bytes())
    bit = data.draw(st.integers(0, len(content) * 8 - 1), label="bit")
    content[bit // 8] ^= 1 << (bit % 8)
    with tempfile.TemporaryDirectory() as scratch:
        tampered = Path(scratch) / "bag.zip"
        tampered.write_bytes(bytes(content))
        try:
            verify_bundle(tampered, built.log_vkey, built.witness_vkeys)
        except VerificationFailure as failure:
            named = failure.file
        else:
            named = ""
        if named:
            return
        with zipfile.ZipFile(tampered) as archive, zipfile.ZipFile(source) as intact:
            assert archive.namelist() == intact.namelist()
            for name in intact.namelist():
                assert archive.read(name) == intact.read(name), name


def test_the_command_line_names_the_tampered_file(tmp_path: Path, built: BuiltBundle) -> None:
    bag = Path(shutil.copytree(built.bag, tmp_path / "bag"))
    metadata = sorted((bag / "data/metadata").iterdir())[0]
    metadata.write_text(metadata.read_text().replace('"size": ', '"size": 1'))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "amparo.evidence.verify_cli",
            str(bag),
            "--key",
            built.log_vkey,
        ],
        capture_output=True,
        text=True,
    )
    relative = metadata.relative_to(bag).as_posix()
    assert result.returncode == 1
    assert result.stdout == f"FAIL: {relative}: sha256 does not match manifest-sha256.txt\n"
    assert (
        hashlib.sha256(metadata.read_bytes()).hexdigest()
        not in (bag / "manifest-sha256.txt").read_text()
    )


def re_sign(bag: Path, log_skey: str) -> None:
    """Recompute every manifest and the bag signature with the real log key.

    Only someone holding the network's private key can do this; it lets the tests reach the
    checks that come after the signatures.
    """
    digests = {path: bagit.hash_file(bag / path) for path in bagit.payload_files(bag)}
    bagit.write_manifests(bag, digests)
    info = bagit.parse_bag_info((bag / "bag-info.txt").read_text())
    oxum = f"{sum(value.size for value in digests.values())}.{len(digests)}"
    info = [(label, oxum if label == "Payload-Oxum" else value) for label, value in info]
    bagit.write_text(bag / "bag-info.txt", bagit.format_bag_info(info))
    tag_digests = bagit.write_tag_manifests(
        bag, ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"]
    )
    (bag / SIGNATURE_FILE).write_text(note.sign(signature_text("bag", tag_digests), log_skey))


@pytest.fixture
def signed_copy(tmp_path: Path, built: BuiltBundle) -> tuple[Path, str]:
    bag = Path(shutil.copytree(built.bag, tmp_path / "bag"))
    log_skey = (built.store_dir / "keys/log.skey").read_text().strip()
    re_sign(bag, log_skey)
    verify_bundle(bag, built.log_vkey, built.witness_vkeys)  # re-signing alone changes nothing
    return bag, log_skey


def first(bag: Path, folder: str) -> Path:
    return sorted((bag / "data" / folder).iterdir())[0]


def failure_after_re_signing(bag: Path, log_skey: str, built: BuiltBundle) -> str:
    re_sign(bag, log_skey)
    with pytest.raises(VerificationFailure) as failure:
        verify_bundle(bag, built.log_vkey, built.witness_vkeys)
    return str(failure.value)


def test_signed_but_non_canonical_custody_entry(
    signed_copy: tuple[Path, str], built: BuiltBundle
) -> None:
    bag, log_skey = signed_copy
    entry = first(bag, "custody")
    entry.write_bytes(entry.read_bytes().replace(b",", b", ", 1))
    message = failure_after_re_signing(bag, log_skey, built)
    relative = entry.relative_to(bag).as_posix()
    assert message == f"{relative}: custody entry: not in RFC 8785 canonical form"


def test_signed_but_swapped_receipts(signed_copy: tuple[Path, str], built: BuiltBundle) -> None:
    bag, log_skey = signed_copy
    receipts = sorted((bag / "data/receipts").iterdir())
    first_text, second_text = receipts[0].read_text(), receipts[1].read_text()
    receipts[0].write_text(second_text)
    receipts[1].write_text(first_text)
    message = failure_after_re_signing(bag, log_skey, built)
    assert message.startswith(f"{receipts[0].relative_to(bag).as_posix()}: inclusion proof")


def test_signed_but_wrong_nonce(signed_copy: tuple[Path, str], built: BuiltBundle) -> None:
    bag, log_skey = signed_copy
    metadata = first(bag, "metadata")
    record = json.loads(metadata.read_text())
    record["nonce"] = "00" * 32
    metadata.write_text(json.dumps(record))
    message = failure_after_re_signing(bag, log_skey, built)
    assert message.startswith("data/custody/")
    assert message.endswith(
        f"commitment does not match {record['original']} and data/metadata/{metadata.name}"
    )


def test_signed_but_wrong_digest_in_metadata(
    signed_copy: tuple[Path, str], built: BuiltBundle
) -> None:
    bag, log_skey = signed_copy
    metadata = first(bag, "metadata")
    record = json.loads(metadata.read_text())
    record["sha256"] = hashlib.sha256(b"another file").hexdigest()
    metadata.write_text(json.dumps(record))
    message = failure_after_re_signing(bag, log_skey, built)
    assert message == f"{record['original']}: digest does not match data/metadata/{metadata.name}"


def test_signed_but_custody_entry_withheld(
    signed_copy: tuple[Path, str], built: BuiltBundle
) -> None:
    bag, log_skey = signed_copy
    record = json.loads(first(bag, "metadata").read_text())
    index = record["custody_entries"][0]
    (bag / f"data/custody/{index}.json").unlink()
    (bag / f"data/receipts/{index}.tlog-proof").unlink()
    message = failure_after_re_signing(bag, log_skey, built)
    assert message.endswith(f"custody entry {index} is not in the bag")


def test_signed_but_cosignatures_stripped(
    signed_copy: tuple[Path, str], built: BuiltBundle
) -> None:
    bag, log_skey = signed_copy
    checkpoint = bag / "data/checkpoint.txt"
    text, _, _signatures = checkpoint.read_text().partition("\n\n")
    checkpoint.write_text(note.sign(text + "\n", log_skey))
    message = failure_after_re_signing(bag, log_skey, built)
    assert message == "data/checkpoint.txt: too few witnesses: 0 of 2 required"


def test_signed_but_an_original_without_metadata(
    signed_copy: tuple[Path, str], built: BuiltBundle
) -> None:
    bag, log_skey = signed_copy
    (bag / "data/originals/ffff-extra.bin").write_bytes(b"unexplained")
    message = failure_after_re_signing(bag, log_skey, built)
    assert message == "data/originals/ffff-extra.bin: no metadata in data/metadata/"
