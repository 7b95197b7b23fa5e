//! Deterministic pseudo-random inputs for tests, examples and benchmarks, from one generator
//! (Marsaglia's xorshift64, shifts 13/7/17), so that a test's pinned values and a benchmark's
//! input are the same wherever they are built. Not for anything a proof's soundness rests on.

use crate::air::{SegmentPublic, Shape};
use crate::sponge::{self, BLOCK_BYTES};
use crate::trace::{self, SegmentTrace};
use winterfell::math::fields::f64::BaseElement;

/// The xorshift64 sequence from `seed` (non-zero): each call steps the state and returns it.
pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// `n` bytes: the low byte of each step from `seed`.
pub fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut next = xorshift(seed);
    (0..n).map(|_| next() as u8).collect()
}

/// `n` field elements: each step from `seed` taken as an integer (reduced mod p).
pub fn elements(n: usize, seed: u64) -> Vec<BaseElement> {
    let mut next = xorshift(seed);
    (0..n).map(|_| BaseElement::new(next())).collect()
}

/// Segment 0 of an input of `size` bytes that it holds whole (`bytes` covers every block: at
/// least `⌈size / 56⌉ · 56` bytes, those past `size` ignored), bound to `challenge`: its public
/// inputs (with the end state the trace reaches) and its main trace.
pub fn whole_segment(
    bytes: &[u8],
    size: u64,
    challenge: [u8; 32],
) -> (SegmentPublic, SegmentTrace) {
    let blocks = size.div_ceil(BLOCK_BYTES as u64);
    assert!(bytes.len() as u64 >= blocks * BLOCK_BYTES as u64);
    let start = sponge::initial_state(size);
    let mut public = SegmentPublic {
        challenge,
        index: 0,
        start_block: 0,
        block_count: blocks,
        input_size: size,
        start,
        end: start,
    };
    let shape = Shape::new(&public).expect("a valid segment");
    let values = |k: u64| sponge::block_values(k, &bytes[k as usize * BLOCK_BYTES..], size);
    let (main, end) =
        trace::build_main(&shape, &start, &values, &|| false).expect("never cancelled");
    public.end = end;
    (public, main)
}
