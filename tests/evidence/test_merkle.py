"""Merkle hashing, proofs and verification against the published RFC 6962 / 9162 vectors."""

from __future__ import annotations

import hashlib
import multiprocessing
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amparo.evidence.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    LogCorruptError,
    MerkleLog,
    ProofError,
    consistency_proof_from_leaf_hashes,
    consistency_proof_size,
    inclusion_proof_from_leaf_hashes,
    inclusion_proof_size,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

# The reference tree of eight leaves used by Certificate Transparency's test suites.
REFERENCE_LEAVES = [
    bytes.fromhex(value)
    for value in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
REFERENCE_HASHES = [leaf_hash(leaf) for leaf in REFERENCE_LEAVES]

# Published roots of the reference tree after 1, 2, ..., 8 leaves.
PUBLISHED_ROOTS = [
    bytes.fromhex(value)
    for value in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]


def _hashes(*values: str) -> list[bytes]:
    return [bytes.fromhex(value) for value in values]


# (index from 0, tree size, published audit path)
PUBLISHED_INCLUSION_PROOFS = [
    (0, 1, []),
    (
        0,
        8,
        _hashes(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        5,
        8,
        _hashes(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (2, 3, _hashes("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (
        1,
        5,
        _hashes(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
]

# (first size, second size, published consistency proof)
PUBLISHED_CONSISTENCY_PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        _hashes(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        _hashes(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (
        2,
        5,
        _hashes(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
]


def _root(size: int) -> bytes:
    return EMPTY_ROOT if size == 0 else PUBLISHED_ROOTS[size - 1]


def test_empty_root_is_sha256_of_nothing():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert HASH_SIZE == 32


def test_leaf_and_node_hashes_are_domain_separated():
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert leaf_hash(left + right) != node_hash(left, right)


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_published_reference_tree(size):
    assert root_from_leaf_hashes(REFERENCE_HASHES[:size]) == PUBLISHED_ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "published"), PUBLISHED_INCLUSION_PROOFS)
def test_inclusion_proofs_match_the_published_paths(index, size, published):
    proof = inclusion_proof_from_leaf_hashes(REFERENCE_HASHES, index, size)
    assert proof == published
    verify_inclusion(REFERENCE_HASHES[index], index, size, published, _root(size))


@pytest.mark.parametrize(("size1", "size2", "published"), PUBLISHED_CONSISTENCY_PROOFS)
def test_consistency_proofs_match_the_published_proofs(size1, size2, published):
    proof = consistency_proof_from_leaf_hashes(REFERENCE_HASHES, size1, size2)
    assert proof == published
    verify_consistency(size1, size2, published, _root(size1), _root(size2))


def test_every_proof_of_the_reference_tree_verifies():
    for size in range(1, 9):
        for index in range(size):
            proof = inclusion_proof_from_leaf_hashes(REFERENCE_HASHES, index, size)
            assert len(proof) == inclusion_proof_size(index, size)
            verify_inclusion(REFERENCE_HASHES[index], index, size, proof, _root(size))
        for size1 in range(size + 1):
            proof = consistency_proof_from_leaf_hashes(REFERENCE_HASHES, size1, size)
            verify_consistency(size1, size, proof, _root(size1), _root(size))


def test_wrong_proof_length_is_named():
    proof = inclusion_proof_from_leaf_hashes(REFERENCE_HASHES, 5, 8)
    with pytest.raises(
        ProofError, match="inclusion proof has 2 hashes, a tree of size 8 at index 5 needs 3"
    ):
        verify_inclusion(REFERENCE_HASHES[5], 5, 8, proof[:2], _root(8))
    with pytest.raises(
        ProofError, match="consistency proof has 2 hashes, trees of sizes 6 and 8 need 3"
    ):
        verify_consistency(6, 8, PUBLISHED_CONSISTENCY_PROOFS[2][2][:2], _root(6), _root(8))


def test_wrong_root_is_named():
    proof = inclusion_proof_from_leaf_hashes(REFERENCE_HASHES, 5, 8)
    with pytest.raises(ProofError, match="computed root does not match"):
        verify_inclusion(REFERENCE_HASHES[5], 5, 8, proof, _root(7))
    proof = consistency_proof_from_leaf_hashes(REFERENCE_HASHES, 6, 8)
    with pytest.raises(ProofError, match=r"first tree \(size 6\) does not match root1"):
        verify_consistency(6, 8, proof, _root(5), _root(8))
    with pytest.raises(ProofError, match=r"second tree \(size 8\) does not match root2"):
        verify_consistency(6, 8, proof, _root(6), _root(7))


def test_index_outside_the_tree_is_refused():
    with pytest.raises(ProofError, match="leaf index 8 is outside a tree of size 8"):
        verify_inclusion(REFERENCE_HASHES[0], 8, 8, [], _root(8))
    with pytest.raises(ProofError, match="leaf index 0 is outside a tree of size 0"):
        verify_inclusion(REFERENCE_HASHES[0], 0, 0, [], EMPTY_ROOT)


def test_short_hashes_are_refused():
    with pytest.raises(ProofError, match="the leaf hash is 31 bytes"):
        verify_inclusion(REFERENCE_HASHES[0][:31], 0, 1, [], _root(1))
    with pytest.raises(ProofError, match="consistency proof hash 0 is 3 bytes"):
        verify_consistency(2, 5, [b"abc", REFERENCE_HASHES[0]], _root(2), _root(5))


def test_consistency_edge_cases_follow_the_rfc():
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(0, 8, [], EMPTY_ROOT, _root(8))
    verify_consistency(8, 8, [], _root(8), _root(8))
    with pytest.raises(ProofError, match="from the empty tree must be empty"):
        verify_consistency(0, 8, [_root(8)], EMPTY_ROOT, _root(8))
    with pytest.raises(ProofError, match="not the empty tree's root"):
        verify_consistency(0, 8, [], _root(1), _root(8))
    with pytest.raises(ProofError, match="two trees of size 8 must be empty"):
        verify_consistency(8, 8, [_root(8)], _root(8), _root(8))
    with pytest.raises(ProofError, match="roots of the two trees of size 8 differ"):
        verify_consistency(8, 8, [], _root(8), _root(7))
    with pytest.raises(ProofError, match="first tree size 8 is larger than second tree size 7"):
        verify_consistency(8, 7, [], _root(8), _root(7))
    with pytest.raises(ProofError, match="from size 2 to 5 is empty"):
        verify_consistency(2, 5, [], _root(2), _root(5))


def test_reference_proofs_refuse_sizes_outside_the_leaves():
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof_from_leaf_hashes(REFERENCE_HASHES, 0, 9)
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof_from_leaf_hashes(REFERENCE_HASHES, 3, 3)
    with pytest.raises(ValueError, match="outside"):
        consistency_proof_from_leaf_hashes(REFERENCE_HASHES, 5, 4)


def _leaves(count: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(count)]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_reference_inclusion_proofs_verify_and_tampering_fails(data):
    size = data.draw(st.integers(1, 300), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    hashes = _leaves(size)
    root = root_from_leaf_hashes(hashes)
    proof = inclusion_proof_from_leaf_hashes(hashes, index, size)
    assert len(proof) == inclusion_proof_size(index, size)
    verify_inclusion(hashes[index], index, size, proof, root)

    other_index = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other")
    with pytest.raises(ProofError):
        verify_inclusion(hashes[index], other_index, size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(hashes[index], index, size, proof, node_hash(root, root))
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        tampered = list(proof)
        tampered[position] = node_hash(tampered[position], b"")
        with pytest.raises(ProofError):
            verify_inclusion(hashes[index], index, size, tampered, root)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_reference_consistency_proofs_verify_and_tampering_fails(data):
    size2 = data.draw(st.integers(1, 300), label="size2")
    size1 = data.draw(st.integers(1, size2), label="size1")
    hashes = _leaves(size2)
    root1, root2 = root_from_leaf_hashes(hashes[:size1]), root_from_leaf_hashes(hashes)
    proof = consistency_proof_from_leaf_hashes(hashes, size1, size2)
    if size1 < size2:
        assert len(proof) == consistency_proof_size(size1, size2)
    verify_consistency(size1, size2, proof, root1, root2)

    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof, node_hash(root1, root1), root2)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof, root1, node_hash(root2, root2))
    if size1 < size2:
        if size2 > 2:
            wrong_size1 = data.draw(
                st.integers(1, size2 - 1).filter(lambda s: s != size1), label="wrong size1"
            )
            with pytest.raises(ProofError):
                verify_consistency(wrong_size1, size2, proof, root1, root2)
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        tampered = list(proof)
        tampered[position] = node_hash(tampered[position], b"")
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, tampered, root1, root2)


# The persistent log.


def test_log_of_the_reference_tree_gives_the_published_values(tmp_path):
    with MerkleLog.open(tmp_path / "log") as log:
        for position, leaf in enumerate(REFERENCE_LEAVES):
            assert log.append(leaf) == position
            assert log.root() == PUBLISHED_ROOTS[position]
        assert [log.root(size) for size in range(9)] == [_root(size) for size in range(9)]
        for index, size, published in PUBLISHED_INCLUSION_PROOFS:
            assert log.inclusion_proof(index, size) == published
        for size1, size2, published in PUBLISHED_CONSISTENCY_PROOFS:
            assert log.consistency_proof(size1, size2) == published


def test_empty_log(tmp_path):
    with MerkleLog.open(tmp_path / "log") as log:
        assert log.size == 0
        assert log.root() == EMPTY_ROOT
        assert log.root(0) == EMPTY_ROOT
        assert log.consistency_proof(0, 0) == []
        assert log.append_batch([]) == []
        with pytest.raises(IndexError, match="entry 0 is outside the log of 0 entries"):
            log.entry(0)


def _entries(count: int, salt: int = 0) -> list[bytes]:
    # Varied lengths, including the empty entry, so offsets are exercised.
    return [bytes([salt]) * (i % 5) + i.to_bytes(4, "big") * (i % 3) for i in range(count)]


@settings(max_examples=60, deadline=None)
@given(
    batch_sizes=st.lists(st.integers(1, 40), min_size=1, max_size=12),
    data=st.data(),
)
def test_log_matches_the_reference_and_its_proofs_verify(batch_sizes, data):
    entries = _entries(sum(batch_sizes))
    hashes = [leaf_hash(entry) for entry in entries]
    with tempfile.TemporaryDirectory() as directory, MerkleLog.open(Path(directory)) as log:
        appended = 0
        for batch in batch_sizes:
            indexes = log.append_batch(entries[appended : appended + batch])
            assert indexes == list(range(appended, appended + batch))
            appended += batch
            assert log.size == appended
            assert log.root() == root_from_leaf_hashes(hashes[:appended])

        size2 = data.draw(st.integers(1, appended), label="size2")
        size1 = data.draw(st.integers(0, size2), label="size1")
        index = data.draw(st.integers(0, size2 - 1), label="index")
        root1, root2 = log.root(size1), log.root(size2)
        assert root2 == root_from_leaf_hashes(hashes[:size2])
        assert log.entry(index) == entries[index]
        assert log.leaf_hash_at(index) == hashes[index]

        inclusion = log.inclusion_proof(index, size2)
        assert inclusion == inclusion_proof_from_leaf_hashes(hashes, index, size2)
        verify_inclusion(hashes[index], index, size2, inclusion, root2)
        consistency = log.consistency_proof(size1, size2)
        assert consistency == consistency_proof_from_leaf_hashes(hashes, size1, size2)
        verify_consistency(size1, size2, consistency, root1, root2)

        # Any tampering with the proof, the root, the index or the leaf must be caught.
        with pytest.raises(ProofError):
            verify_inclusion(hashes[index], index, size2, inclusion, node_hash(root2, root2))
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash(entries[index] + b"x"), index, size2, inclusion, root2)
        if size2 > 1:
            other = data.draw(st.integers(0, size2 - 1).filter(lambda i: i != index), label="i")
            with pytest.raises(ProofError):
                verify_inclusion(hashes[index], other, size2, inclusion, root2)
        if inclusion:
            tampered = list(inclusion)
            position = data.draw(st.integers(0, len(tampered) - 1), label="position")
            tampered[position] = bytes(HASH_SIZE)
            with pytest.raises(ProofError):
                verify_inclusion(hashes[index], index, size2, tampered, root2)
        if 0 < size1 < size2:
            tampered = list(consistency)
            position = data.draw(st.integers(0, len(tampered) - 1), label="position")
            tampered[position] = bytes(HASH_SIZE)
            with pytest.raises(ProofError):
                verify_consistency(size1, size2, tampered, root1, root2)
            with pytest.raises(ProofError):
                verify_consistency(size1, size2, consistency, root2, root2)


def test_reopening_keeps_every_entry_root_and_proof(tmp_path):
    entries = _entries(1000)
    hashes = [leaf_hash(entry) for entry in entries]
    with MerkleLog.open(tmp_path / "log") as log:
        log.append_batch(entries[:600])
        for entry in entries[600:700]:
            log.append(entry)
    with MerkleLog.open(tmp_path / "log") as log:
        assert log.size == 700
        log.append_batch(entries[700:])
    with MerkleLog.open(tmp_path / "log") as log:
        assert log.size == 1000
        assert [log.entry(i) for i in range(1000)] == entries
        for size in (1, 2, 3, 255, 256, 257, 600, 700, 999, 1000):
            assert log.root(size) == root_from_leaf_hashes(hashes[:size])
        for index, size in ((0, 1000), (699, 700), (999, 1000), (512, 513)):
            proof = log.inclusion_proof(index, size)
            verify_inclusion(hashes[index], index, size, proof, log.root(size))
        for size1, size2 in ((1, 1000), (600, 700), (700, 1000), (511, 512)):
            proof = log.consistency_proof(size1, size2)
            verify_consistency(size1, size2, proof, log.root(size1), log.root(size2))


def test_torn_tail_is_cut_off_on_open(tmp_path):
    directory = tmp_path / "log"
    with MerkleLog.open(directory) as log:
        log.append_batch(_entries(10))
        root = log.root()
    lengths = {name: (directory / name).stat().st_size for name in ("entries", "offsets", "hashes")}
    # An append that died before committing leaves bytes past the committed size.
    for name in lengths:
        with (directory / name).open("ab") as file:
            file.write(b"\xff" * 77)
    with MerkleLog.open(directory) as log:
        assert log.size == 10
        assert log.root() == root
        assert {name: (directory / name).stat().st_size for name in lengths} == lengths
        log.append(b"after the crash")
        assert log.entry(10) == b"after the crash"
        assert log.root() == root_from_leaf_hashes(
            [leaf_hash(entry) for entry in [*_entries(10), b"after the crash"]]
        )


def test_torn_commit_slot_falls_back_to_the_previous_size(tmp_path):
    directory = tmp_path / "log"
    with MerkleLog.open(directory) as log:
        log.append_batch(_entries(5))
        log.append_batch(_entries(3, salt=1))  # the second commit lands in slot 0
    # A crash while writing the third commit tears slot 1, which held the first commit.
    with (directory / "committed").open("r+b") as file:
        file.seek(4096)
        file.write(b"AMPLOG1\n\x00\x00\x00")
    with MerkleLog.open(directory) as log:
        assert log.size == 8


def test_missing_committed_data_is_reported_with_the_file(tmp_path):
    directory = tmp_path / "log"
    with MerkleLog.open(directory) as log:
        log.append_batch(_entries(20))
    with (directory / "hashes").open("r+b") as file:
        file.truncate(32 * 10)
    with pytest.raises(LogCorruptError, match=r"hashes: 320 bytes, but the committed size 20"):
        MerkleLog.open(directory)


def test_entry_not_matching_its_leaf_hash_is_reported(tmp_path):
    directory = tmp_path / "log"
    with MerkleLog.open(directory) as log:
        log.append_batch([b"first", b"second"])
    with (directory / "entries").open("r+b") as file:
        file.seek(5)
        file.write(b"S")
    with pytest.raises(LogCorruptError, match="entry 1 does not match its leaf hash"):
        MerkleLog.open(directory)


def test_two_bad_commit_slots_are_reported(tmp_path):
    directory = tmp_path / "log"
    with MerkleLog.open(directory) as log:
        log.append(b"one")
        log.append(b"two")
    with (directory / "committed").open("r+b") as file:
        file.write(b"garbage")
        file.seek(4096)
        file.write(b"garbage")
    with pytest.raises(LogCorruptError, match="neither commit slot passes its checksum"):
        MerkleLog.open(directory)


def test_bad_arguments_are_refused(tmp_path):
    with MerkleLog.open(tmp_path / "log") as log:
        log.append_batch(_entries(4))
        with pytest.raises(ValueError, match=r"tree size 5 is outside 0\.\.4"):
            log.root(5)
        with pytest.raises(ValueError, match="leaf index 4 is outside a tree of size 4"):
            log.inclusion_proof(4, 4)
        with pytest.raises(ValueError, match=r"first tree size 3 is outside 0\.\.2"):
            log.consistency_proof(3, 2)
        with pytest.raises(IndexError, match="entry -1 is outside"):
            log.entry(-1)
    with pytest.raises(ValueError, match="is closed"):
        log.append(b"late")


def test_threads_appending_at_once_lose_nothing(tmp_path):
    with MerkleLog.open(tmp_path / "log") as log:

        def append_many(worker: int) -> list[int]:
            return [log.append(f"{worker}-{i}".encode()) for i in range(25)]

        with ThreadPoolExecutor(max_workers=4) as pool:
            indexes = [i for result in pool.map(append_many, range(4)) for i in result]
        assert sorted(indexes) == list(range(100))
        assert sorted(log.entry(i) for i in range(100)) == sorted(
            f"{worker}-{i}".encode() for worker in range(4) for i in range(25)
        )
        hashes = [log.leaf_hash_at(i) for i in range(100)]
        assert log.root() == root_from_leaf_hashes(hashes)


def _append_from_another_process(directory: str, worker: int, count: int) -> list[int]:
    with MerkleLog.open(Path(directory)) as log:
        return [log.append_batch([f"{worker}-{i}".encode()])[0] for i in range(count)]


def test_processes_appending_at_once_lose_nothing(tmp_path):
    directory = tmp_path / "log"
    MerkleLog.open(directory).close()
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        results = pool.starmap(
            _append_from_another_process, [(str(directory), w, 40) for w in range(3)]
        )
    with MerkleLog.open(directory) as log:
        assert log.size == 120
        assert sorted(i for result in results for i in result) == list(range(120))
        for worker, result in enumerate(results):
            for i, index in enumerate(result):
                assert log.entry(index) == f"{worker}-{i}".encode()
        hashes = [leaf_hash(log.entry(i)) for i in range(120)]
        assert log.root() == root_from_leaf_hashes(hashes)
        assert [log.leaf_hash_at(i) for i in range(120)] == hashes


def test_a_second_handle_sees_appends_from_the_first(tmp_path):
    with MerkleLog.open(tmp_path / "log") as writer, MerkleLog.open(tmp_path / "log") as reader:
        writer.append_batch(_entries(7))
        assert reader.size == 7
        assert reader.root() == writer.root()
        reader.append(b"from the reader")
        assert writer.entry(7) == b"from the reader"
        assert writer.root() == reader.root()


def test_log_equals_the_reference_for_every_size_and_proof_up_to_48(tmp_path):
    entries = _entries(48)
    hashes = [leaf_hash(entry) for entry in entries]
    with MerkleLog.open(tmp_path / "log") as log:
        log.append_batch(entries[:5])
        for entry in entries[5:]:
            log.append(entry)
        for size in range(49):
            assert log.root(size) == root_from_leaf_hashes(hashes[:size]), size
            for index in range(size):
                assert log.inclusion_proof(index, size) == inclusion_proof_from_leaf_hashes(
                    hashes, index, size
                ), (index, size)
            for size1 in range(size + 1):
                assert log.consistency_proof(size1, size) == consistency_proof_from_leaf_hashes(
                    hashes, size1, size
                ), (size1, size)
