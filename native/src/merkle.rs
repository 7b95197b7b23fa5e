//! The proofs' vector commitment: winterfell's Merkle tree, its inner nodes hashed eight at a time.
//!
//! Every commitment of a proof (trace, aux trace, composition and each FRI layer) is a Merkle tree
//! of [`Blake3Mont`] digests. Winterfell's `MerkleTree::new` merges each pair of children alone,
//! one Blake3 of 64 bytes through the `blake3` crate's one-block compressor (~3·2^20 merges for a
//! 2^18-row segment). A parent is `Blake3Mont::merge` of its two children, which is Blake3 of their
//! 64 concatenated bytes, so a whole level of parents is the row hash of the level below read as
//! 64-byte rows: [`row_hash::hash_rows_into`] hashes those eight at a time in AVX2 lanes (and
//! shares large levels between threads). The node array, laid out as winterfell lays it out, then
//! becomes a `MerkleTree` through `from_raw_parts`, and every other operation (openings, proofs,
//! verification, their bytes) is `MerkleTree`'s own.

use crate::hasher::Blake3Mont;
use crate::row_hash;
use winter_crypto::{BatchMerkleProof, Hasher, MerkleTree, MerkleTreeError, VectorCommitment};

type Digest = <Blake3Mont as Hasher>::Digest;
type Tree = MerkleTree<Blake3Mont>;

/// A Merkle tree over [`Blake3Mont`] digests, built level by level with [`row_hash`].
#[derive(Debug)]
pub struct Merkle(Tree);

/// The bytes of two concatenated digests, one parent's input.
const PAIR_LEN: usize = 64;

impl Merkle {
    /// The tree over `leaves` (a power of two, at least two of them), equal node for node to
    /// `MerkleTree::new(leaves)`.
    pub fn new(leaves: Vec<Digest>) -> Result<Self, MerkleTreeError> {
        if leaves.len() < 2 {
            return Err(MerkleTreeError::TooFewLeaves(2, leaves.len()));
        }
        if !leaves.len().is_power_of_two() {
            return Err(MerkleTreeError::NumberOfLeavesNotPowerOfTwo(leaves.len()));
        }
        let nodes = inner_nodes(&leaves).into_iter().map(Digest::new).collect();
        Tree::from_raw_parts(nodes, leaves).map(Self)
    }
}

/// Winterfell's node array for `leaves.len() = n` leaves: `n` digests, the root at 1, the children
/// of node `i` at `2i` and `2i + 1`, the leaves' parents at `n/2..n`; slot 0 is unused (zero, as
/// winterfell leaves it: `Digest::default()`).
fn inner_nodes(leaves: &[Digest]) -> Vec<[u8; 32]> {
    let n = leaves.len();
    let mut nodes = vec![[0u8; 32]; n];
    row_hash::hash_rows_into(
        Digest::digests_as_bytes(leaves),
        PAIR_LEN,
        &mut nodes[n / 2..],
    );
    // Level `k..2k` holds the children of `k/2..k`.
    let mut k = n / 2;
    while k > 1 {
        let (parents, children) = nodes.split_at_mut(k);
        row_hash::hash_rows_into(
            children[..k].as_flattened(),
            PAIR_LEN,
            &mut parents[k / 2..],
        );
        k /= 2;
    }
    nodes
}

impl VectorCommitment<Blake3Mont> for Merkle {
    type Options = ();
    type Proof = <Tree as VectorCommitment<Blake3Mont>>::Proof;
    type MultiProof = BatchMerkleProof<Blake3Mont>;
    type Error = MerkleTreeError;

    fn with_options(items: Vec<Digest>, _options: ()) -> Result<Self, MerkleTreeError> {
        Self::new(items)
    }

    fn commitment(&self) -> Digest {
        self.0.commitment()
    }

    fn domain_len(&self) -> usize {
        self.0.domain_len()
    }

    fn get_proof_domain_len(proof: &Self::Proof) -> usize {
        Tree::get_proof_domain_len(proof)
    }

    fn get_multiproof_domain_len(proof: &Self::MultiProof) -> usize {
        Tree::get_multiproof_domain_len(proof)
    }

    fn open(&self, index: usize) -> Result<(Digest, Self::Proof), MerkleTreeError> {
        self.0.open(index)
    }

    fn open_many(
        &self,
        indexes: &[usize],
    ) -> Result<(Vec<Digest>, Self::MultiProof), MerkleTreeError> {
        self.0.open_many(indexes)
    }

    fn verify(
        commitment: Digest,
        index: usize,
        item: Digest,
        proof: &Self::Proof,
    ) -> Result<(), MerkleTreeError> {
        <Tree as VectorCommitment<Blake3Mont>>::verify(commitment, index, item, proof)
    }

    fn verify_many(
        commitment: Digest,
        indexes: &[usize],
        items: &[Digest],
        proof: &Self::MultiProof,
    ) -> Result<(), MerkleTreeError> {
        Tree::verify_many(commitment, indexes, items, proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Digest> {
        (0..n as u64)
            .map(|i| Blake3Mont::hash(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes()))
            .collect()
    }

    #[test]
    fn merge_is_the_row_hash_of_the_two_digests() {
        let pair = leaves(2);
        let bytes = Digest::digests_as_bytes(&pair);
        assert_eq!(
            Blake3Mont::merge(&[pair[0], pair[1]]),
            Digest::new(row_hash::hash_rows(bytes, PAIR_LEN)[0])
        );
    }

    /// Whether both trees hold the same nodes: the root, and every other node as some leaf's
    /// sibling on its path.
    fn same_tree(ours: &Merkle, theirs: &Tree) -> bool {
        ours.commitment() == *theirs.root()
            && (0..theirs.leaves().len()).all(|i| ours.open(i).unwrap() == theirs.prove(i).unwrap())
    }

    #[test]
    fn nodes_equal_winterfells_tree() {
        // 2^16 leaves share their lowest levels between threads.
        for n in [2, 8, 1 << 10, 1 << 16] {
            let leaves = leaves(n);
            let theirs = Tree::new(leaves.clone()).unwrap();
            assert!(
                same_tree(&Merkle::new(leaves).unwrap(), &theirs),
                "{n} leaves"
            );
        }
    }

    #[test]
    fn a_level_at_the_wrong_offset_is_caught() {
        // A planted error: the leaves' parents also written where the level above them belongs.
        let leaves = leaves(1 << 10);
        let theirs = Tree::new(leaves.clone()).unwrap();
        let mut nodes = inner_nodes(&leaves);
        nodes.copy_within(leaves.len() / 2.., leaves.len() / 4);
        let nodes = nodes.into_iter().map(Digest::new).collect();
        let planted = Merkle(Tree::from_raw_parts(nodes, leaves).unwrap());
        assert!(!same_tree(&planted, &theirs));
    }

    #[test]
    fn openings_verify_and_tampering_fails() {
        let leaves = leaves(1 << 12);
        let tree = Merkle::new(leaves.clone()).unwrap();
        let root = tree.commitment();
        let indexes = [0, 5, 6, 1000, 4095];
        let (items, proof) = tree.open_many(&indexes).unwrap();
        assert_eq!(items, indexes.map(|i| leaves[i]));
        Merkle::verify_many(root, &indexes, &items, &proof).unwrap();
        let (item, path) = tree.open(1000).unwrap();
        Merkle::verify(root, 1000, item, &path).unwrap();

        let mut wrong = items.clone();
        wrong[3] = leaves[1001];
        assert!(Merkle::verify_many(root, &indexes, &wrong, &proof).is_err());
        assert!(Merkle::verify(root, 1001, item, &path).is_err());
        assert!(Merkle::verify(leaves[0], 1000, item, &path).is_err());
    }
}
