"""Merkle trees of distribution entitlements, compatible with OpenZeppelin's.

Same construction as ``@openzeppelin/merkle-tree``'s ``StandardMerkleTree``, so
``MerkleProof.verify`` on chain accepts the proofs:

* leaf = ``keccak256(bytes.concat(keccak256(abi.encode(values...))))``
  (double hashing, so a leaf can never be mistaken for an inner node);
* inner node = ``keccak256`` of the two children sorted ascending;
* leaves sorted by hash, laid out at the end of an array-form complete binary tree.

Pure logic: no chain, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from eth_abi import encode
from eth_utils import keccak


def leaf_hash(types: Sequence[str], values: Sequence[Any]) -> bytes:
    return keccak(keccak(encode(list(types), list(values))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


@dataclass(frozen=True)
class MerkleTree:
    """A standard Merkle tree over rows of ``types``."""

    types: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    tree: tuple[bytes, ...]
    leaf_index: dict[int, int]  # row number -> position of its leaf in `tree`

    @classmethod
    def build(cls, types: Sequence[str], rows: Sequence[Sequence[Any]]) -> "MerkleTree":
        if not rows:
            raise ValueError("a Merkle tree needs at least one leaf")
        hashed = sorted(((leaf_hash(types, row), i) for i, row in enumerate(rows)), key=lambda x: x[0])
        n = len(hashed)
        tree: list[bytes] = [b""] * (2 * n - 1)
        leaf_index: dict[int, int] = {}
        for k, (h, row_no) in enumerate(hashed):
            pos = len(tree) - 1 - k
            tree[pos] = h
            leaf_index[row_no] = pos
        for i in range(len(tree) - 1 - n, -1, -1):
            tree[i] = hash_pair(tree[2 * i + 1], tree[2 * i + 2])
        return cls(tuple(types), tuple(tuple(r) for r in rows), tuple(tree), leaf_index)

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def proof(self, row: int) -> list[bytes]:
        """The sibling hashes from row ``row``'s leaf up to the root."""
        i = self.leaf_index[row]
        path = []
        while i > 0:
            sibling = i - 1 if i % 2 == 0 else i + 1
            path.append(self.tree[sibling])
            i = (i - 1) // 2
        return path

    @staticmethod
    def verify(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
        node = leaf
        for sibling in proof:
            node = hash_pair(node, sibling)
        return node == root
