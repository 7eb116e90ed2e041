"""Merkle hashing, proofs and verification against the published RFC 6962 / 9162 vectors."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amparo.evidence.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
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
