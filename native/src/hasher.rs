//! The commitment hash: Blake3-256 over field elements as winterfell holds them in memory.
//!
//! Winterfell keeps a Goldilocks element in Montgomery form, one `u64` in `[0, p)`, so its
//! in-memory bytes are as injective an encoding as the canonical value. Winterfell's own
//! `Blake3_256` converts every element out of Montgomery form before hashing it (the field is not
//! "canonical" in its terms); hashing the bytes as they are spares that conversion for the 2^21
//! trace and composition rows of a 2^18-row segment. Prover and verifier use this same hasher for
//! the Merkle trees and the Fiat–Shamir coin, so the encoding only has to be fixed, which it is:
//! little-endian `u64`s (the targets are little-endian; elsewhere the bytes are written out).

use winter_crypto::{Digest, ElementHasher, Hasher, hashers::Blake3_256};
use winterfell::math::{FieldElement, fields::f64::BaseElement};

/// Winterfell's 32-byte digest (its type is reachable only through a hasher).
type ByteDigest = <Blake3_256<BaseElement> as Hasher>::Digest;

/// Blake3-256 with 128-bit collision resistance.
#[derive(Debug, PartialEq, Eq)]
pub struct Blake3Mont;

impl Hasher for Blake3Mont {
    type Digest = ByteDigest;

    const COLLISION_RESISTANCE: u32 = 128;

    fn hash(bytes: &[u8]) -> Self::Digest {
        ByteDigest::new(*blake3::hash(bytes).as_bytes())
    }

    fn merge(values: &[Self::Digest; 2]) -> Self::Digest {
        ByteDigest::new(*blake3::hash(ByteDigest::digests_as_bytes(values)).as_bytes())
    }

    fn merge_many(values: &[Self::Digest]) -> Self::Digest {
        ByteDigest::new(*blake3::hash(ByteDigest::digests_as_bytes(values)).as_bytes())
    }

    fn merge_with_int(seed: Self::Digest, value: u64) -> Self::Digest {
        let mut data = [0u8; 40];
        data[..32].copy_from_slice(&seed.as_bytes());
        data[32..].copy_from_slice(&value.to_le_bytes());
        ByteDigest::new(*blake3::hash(&data).as_bytes())
    }
}

impl ElementHasher for Blake3Mont {
    type BaseField = BaseElement;

    fn hash_elements<E: FieldElement<BaseField = BaseElement>>(elements: &[E]) -> Self::Digest {
        let bases = E::slice_as_base_elements(elements);
        if cfg!(target_endian = "little") {
            Self::hash(BaseElement::elements_as_bytes(bases))
        } else {
            let mut h = blake3::Hasher::new();
            for b in bases {
                h.update(&b.inner().to_le_bytes());
            }
            ByteDigest::new(*h.finalize().as_bytes())
        }
    }
}

/// A hasher that hashes a matrix's rows (the commitments' leaves) many at a time, each exactly as
/// `hash_elements` hashes the row's base elements.
pub trait RowHasher: ElementHasher<BaseField = BaseElement> {
    /// The digest of each `width`-element row of `data`, in order.
    fn hash_rows(data: &[BaseElement], width: usize) -> Vec<Self::Digest>;
}

impl RowHasher for Blake3Mont {
    fn hash_rows(data: &[BaseElement], width: usize) -> Vec<ByteDigest> {
        if cfg!(target_endian = "little") {
            crate::row_hash::hash_rows(BaseElement::elements_as_bytes(data), width * 8)
                .into_iter()
                .map(ByteDigest::new)
                .collect()
        } else {
            data.chunks_exact(width).map(Self::hash_elements).collect()
        }
    }
}
