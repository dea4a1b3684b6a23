"""The Merkle tree matches OpenZeppelin's StandardMerkleTree construction."""

from hypothesis import given, settings
from hypothesis import strategies as st

from rwaledger.merkle import MerkleTree, hash_pair, leaf_hash

TYPES = ("uint256", "address", "uint256")


def rows(n):
    return [(i, "0x" + f"{i + 1:040x}", 1000 * (i + 1)) for i in range(n)]


def test_single_leaf_tree_root_is_the_leaf():
    tree = MerkleTree.build(TYPES, rows(1))
    assert tree.root == leaf_hash(TYPES, rows(1)[0]) and tree.proof(0) == []


def test_two_leaves_root_is_sorted_pair_hash():
    r = rows(2)
    tree = MerkleTree.build(TYPES, r)
    assert tree.root == hash_pair(leaf_hash(TYPES, r[0]), leaf_hash(TYPES, r[1]))


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=40))
def test_every_proof_verifies_and_wrong_ones_do_not(n):
    r = rows(n)
    tree = MerkleTree.build(TYPES, r)
    for i in range(n):
        leaf = leaf_hash(TYPES, r[i])
        assert MerkleTree.verify(tree.root, leaf, tree.proof(i))
        wrong = leaf_hash(TYPES, (r[i][0], r[i][1], r[i][2] + 1))
        assert not MerkleTree.verify(tree.root, wrong, tree.proof(i))


def test_known_openzeppelin_vector():
    # StandardMerkleTree.of([["0x1111111111111111111111111111111111111111", "5000000000000000000"],
    #                        ["0x2222222222222222222222222222222222222222", "2500000000000000000"]],
    #                       ["address", "uint256"]).root  (from OpenZeppelin's merkle-tree README)
    tree = MerkleTree.build(
        ("address", "uint256"),
        [("0x1111111111111111111111111111111111111111", 5 * 10**18),
         ("0x2222222222222222222222222222222222222222", 25 * 10**17)],
    )
    assert tree.root.hex() == "d4dee0beab2d53f2cc83e567171bd2820e49898130a22622b10ead383e90bd77"
