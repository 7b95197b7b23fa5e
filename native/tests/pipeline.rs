//! Our prove pipeline against winterfell's own `Prover::prove`: the same proof, byte for byte, and
//! winterfell's verifier accepts it. Winterfell's parallel grinding takes whichever valid nonce a
//! thread finds first; on one thread that is the least one, which is the one ours always takes,
//! so the reference runs on a one-thread pool.

mod common;

use common::data;
use proofmesh_prover::air::SegmentPublic;
use proofmesh_prover::sponge::BLOCK_BYTES;
use proofmesh_prover::stark::{self, SpongeProver};
use proofmesh_prover::{pipeline, sample, trace};
use winterfell::Prover;
use winterfell::Trace;

/// The public inputs and main trace of one segment hashing `blocks` blocks of pseudo-random bytes.
fn segment(blocks: u64, seed: u64) -> (SegmentPublic, trace::SegmentTrace) {
    let bytes = data(blocks as usize * BLOCK_BYTES, seed);
    sample::whole_segment(&bytes, bytes.len() as u64, [seed as u8; 32])
}

fn assert_same_proof(blocks: u64, seed: u64) {
    let (public, t) = segment(blocks, seed);
    let rows = t.main_segment().num_rows();
    let ours = pipeline::prove(&SpongeProver::new(public.clone()), t).expect("proves");
    let (_, t) = segment(blocks, seed);
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a thread pool");
    let theirs = one_thread
        .install(|| SpongeProver::new(public.clone()).prove(t))
        .expect("proves");
    assert!(
        ours.to_bytes() == theirs.to_bytes(),
        "{blocks} blocks ({rows} rows): the proofs differ"
    );
    stark::verify(ours, public).expect("winterfell's verifier accepts our proof");
}

#[test]
fn a_full_segment_of_2_14_rows_is_winterfells_proof() {
    assert_same_proof(2048, 1);
}

#[test]
fn a_padded_segment_of_2_15_rows_is_winterfells_proof() {
    assert_same_proof(3000, 2);
}
