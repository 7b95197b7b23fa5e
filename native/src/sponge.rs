//! The `rescue-sponge` byte hash: Rescue-Prime Rp64_256 over the Goldilocks field.
//!
//! # Packing and padding (normative, NPP v1)
//!
//! * The input of `n` bytes is cut into `m = ceil(n / 7)` chunks of 7 bytes (the last one may be
//!   shorter). Each chunk becomes one field element: its bytes, followed — **for the last chunk
//!   only** — by one byte `0x01`, zero-filled to 8 bytes and read as a little-endian `u64`
//!   (always < 2^57 < p, so no reduction happens).
//! * The sponge state is 12 elements: capacity `state[0..4]`, rate `state[4..12]`. The initial
//!   state is all zeros except `state[0] = m` (the element count).
//! * Elements are absorbed 8 at a time (one *block* = 8 elements = 56 input bytes) by field
//!   addition into `state[4..12]`; after each block the Rp64_256 permutation (7 rounds) is applied.
//!   A last, partial block absorbs its remaining elements and zeros in the other rate positions
//!   (i.e. adds nothing there) and is permuted like any other block.
//! * The digest is `state[4..8]` after the last permutation, serialised as four little-endian
//!   `u64`s (32 bytes, the same bytes as winter-crypto's `ElementDigest::as_bytes`).
//! * The empty input has `m = 0`, no block and no permutation: its digest is 32 zero bytes.
//!
//! This is exactly `Rp64_256::hash_elements(pack(bytes))` of winter-crypto 0.13, and equals
//! `Rp64_256::hash(bytes)` for every input of at most 56 bytes. For longer inputs
//! winter-crypto 0.13.1's `Rp64_256::hash` is broken (it panics when `n > 56` and `n % 7 != 0`,
//! and omits the `0x01` byte when `n > 56` and `n % 7 == 0`, because it compares the position in
//! the rate with the element count); we follow the padding that its own comments describe.

use crate::rescue;
use winterfell::math::{FieldElement, StarkField, fields::f64::BaseElement};

/// Width of the sponge state.
pub const STATE_WIDTH: usize = 12;
/// Elements absorbed per block (the rate).
pub const RATE: usize = 8;
/// Input bytes per field element.
pub const ELEMENT_BYTES: usize = 7;
/// Input bytes per block.
pub const BLOCK_BYTES: usize = RATE * ELEMENT_BYTES;

pub type State = [BaseElement; STATE_WIDTH];

/// Number of field elements the input of `input_size` bytes packs into.
pub fn num_elements(input_size: u64) -> u64 {
    input_size.div_ceil(ELEMENT_BYTES as u64)
}

/// Number of blocks (permutations) the input of `input_size` bytes needs.
pub fn num_blocks(input_size: u64) -> u64 {
    num_elements(input_size).div_ceil(RATE as u64)
}

/// The sponge state before the first block for an input of `input_size` bytes.
pub fn initial_state(input_size: u64) -> State {
    let mut s = [BaseElement::ZERO; STATE_WIDTH];
    s[0] = BaseElement::new(num_elements(input_size));
    s
}

/// The 8 packed values (each `< 2^57`) that block `block` absorbs. `bytes` must be the input bytes
/// starting at byte `block * BLOCK_BYTES` (at least up to the end of the block or the end of the
/// input), `input_size` is the size of the whole input. Values after the last element are 0.
pub fn block_values(block: u64, bytes: &[u8], input_size: u64) -> [u64; RATE] {
    let mut out = [0u64; RATE];
    let m = num_elements(input_size);
    for (j, slot) in out.iter_mut().enumerate() {
        let e = block * RATE as u64 + j as u64;
        if e >= m {
            break;
        }
        let lo = j * ELEMENT_BYTES;
        let global_lo = e * ELEMENT_BYTES as u64;
        let len = ((input_size - global_lo) as usize).min(ELEMENT_BYTES);
        let mut buf = [0u8; 8];
        buf[..len].copy_from_slice(&bytes[lo..lo + len]);
        if e == m - 1 {
            buf[len] = 1;
        }
        *slot = u64::from_le_bytes(buf);
    }
    out
}

/// The 8 rate elements that block `block` absorbs (see [`block_values`]).
pub fn block_elements(block: u64, bytes: &[u8], input_size: u64) -> [BaseElement; RATE] {
    block_values(block, bytes, input_size).map(BaseElement::new)
}

/// Absorbs one block of rate elements and applies the permutation.
pub fn absorb_permute(state: &mut State, elems: &[BaseElement; RATE]) {
    for (s, e) in state[4..].iter_mut().zip(elems) {
        *s += *e;
    }
    rescue::permute(state);
}

/// Runs the sponge over blocks `[start_block, start_block + blocks)`; `bytes` holds the input from
/// byte `start_block * BLOCK_BYTES` on.
pub fn run_blocks(state: &mut State, start_block: u64, blocks: u64, bytes: &[u8], input_size: u64) {
    for b in 0..blocks {
        let off = (b as usize) * BLOCK_BYTES;
        let end = (off + BLOCK_BYTES).min(bytes.len());
        let elems = block_elements(start_block + b, &bytes[off..end], input_size);
        absorb_permute(state, &elems);
    }
}

/// Packs bytes into field elements (see the module documentation).
pub fn pack(bytes: &[u8]) -> Vec<BaseElement> {
    let n = bytes.len();
    let m = n.div_ceil(ELEMENT_BYTES);
    (0..m)
        .map(|i| {
            let chunk = &bytes[i * ELEMENT_BYTES..((i + 1) * ELEMENT_BYTES).min(n)];
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            if i == m - 1 {
                buf[chunk.len()] = 1;
            }
            BaseElement::new(u64::from_le_bytes(buf))
        })
        .collect()
}

/// The digest (4 elements) of a final state.
pub fn digest_of(state: &State) -> [BaseElement; 4] {
    [state[4], state[5], state[6], state[7]]
}

/// Hashes a whole input in memory.
pub fn hash(bytes: &[u8]) -> [BaseElement; 4] {
    let size = bytes.len() as u64;
    let mut s = initial_state(size);
    run_blocks(&mut s, 0, num_blocks(size), bytes, size);
    digest_of(&s)
}

/// Serialises elements as little-endian u64s.
pub fn elems_to_bytes(e: &[BaseElement]) -> Vec<u8> {
    e.iter().flat_map(|x| x.as_int().to_le_bytes()).collect()
}

/// Parses little-endian u64s; fails on a wrong length or a non-canonical value.
pub fn elems_from_bytes(b: &[u8]) -> Option<Vec<BaseElement>> {
    if !b.len().is_multiple_of(8) {
        return None;
    }
    b.chunks(8)
        .map(|c| {
            let v = u64::from_le_bytes(c.try_into().unwrap());
            (v < BaseElement::MODULUS).then(|| BaseElement::new(v))
        })
        .collect()
}

pub fn state_to_hex(s: &State) -> String {
    hex::encode(elems_to_bytes(s))
}

/// Parses 96 bytes of lower-case hex into a state (canonical field elements only).
pub fn state_from_hex(h: &str) -> Option<State> {
    if !h
        .bytes()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return None;
    }
    let b = hex::decode(h).ok()?;
    let v = elems_from_bytes(&b)?;
    v.try_into().ok()
}

pub fn digest_to_hex(d: &[BaseElement; 4]) -> String {
    hex::encode(elems_to_bytes(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use winter_crypto::hashers::Rp64_256;
    use winter_crypto::{ElementHasher, Hasher};

    fn input(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 + 7) as u8).collect()
    }

    #[test]
    fn equals_reference_for_short_inputs() {
        for n in 0..=56 {
            let b = input(n);
            let r = Rp64_256::hash(&b);
            assert_eq!(r.as_elements(), &hash(&b)[..], "n={n}");
        }
    }

    #[test]
    fn equals_hash_elements_of_packing() {
        for n in [57, 63, 100, 112, 113, 1000, 4096] {
            let b = input(n);
            let r = Rp64_256::hash_elements(&pack(&b));
            assert_eq!(r.as_elements(), &hash(&b)[..], "n={n}");
        }
    }

    #[test]
    fn trailing_zero_changes_digest() {
        let a = input(63);
        let mut b = a.clone();
        b.push(0);
        assert_ne!(hash(&a), hash(&b));
    }
}
