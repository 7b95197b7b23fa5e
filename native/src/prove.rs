//! The `prove` phase: one segment's STARK, in its proof file.

use crate::air::Shape;
use crate::ctx::Ctx;
use crate::error::{PmError, Result};
use crate::hex32::Hex32;
use crate::input::InputRef;
use crate::pipeline;
use crate::program::PROGRAM_ID;
use crate::proof_file::{self, SEGMENT_MAGIC, SegmentHeader};
use crate::segment::Segment;
use crate::spans;
use crate::sponge::{self, BLOCK_BYTES};
use crate::stark::SpongeProver;
use crate::statement::{load_segment, public_of, statement_ending};
use crate::trace;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Instant;

#[derive(Debug)]
pub struct ProveResult {
    pub bytes: Vec<u8>,
    pub millis: u64,
}

/// `prove`'s answer: the proof file's size and SHA-256, and the time it took.
#[derive(Serialize, Debug)]
pub struct ProveSummary {
    pub segment: u64,
    pub size: usize,
    pub sha256: Hex32,
    pub millis: u64,
}

impl ProveResult {
    /// `prove`'s answer for segment `index`.
    pub fn summary(&self, index: u64) -> ProveSummary {
        ProveSummary {
            segment: index,
            size: self.bytes.len(),
            sha256: Hex32(Sha256::digest(&self.bytes).into()),
            millis: self.millis,
        }
    }
}

/// `prove` reports progress in hundredths: the segment loaded, its trace built, then each of
/// the pipeline's proving steps as it ends (weighted by its share of the CPU time, measured at
/// 2^18 rows on the 2-core machine without AVX-512 after the pipeline's DEEP and composition
/// polynomial: trace 0.48 CPU-s, main LDE and commitment 1.91, auxiliary 0.71, constraints
/// 1.19, composition 0.46, DEEP 0.29 and 0.09, FRI 0.21), then the file encoded.
pub const PROVE_PROGRESS_TOTAL: u64 = 100;
const PROVE_LOADED: u64 = 2;
const PROVE_TRACE_BUILT: u64 = 11;
/// Progress when each of the pipeline's steps ends (see `spans::PROVER_STEPS`).
const PROVE_STEP_DONE: [(&str, u64); 11] = [
    ("build_domain", 11),
    ("commit_to_main_trace_segment", 45),
    ("build_aux_trace", 46),
    ("commit_to_aux_trace_segment", 58),
    ("evaluate_constraints", 79),
    ("commit_to_constraint_evaluations", 87),
    ("build_deep_composition_poly", 92),
    ("evaluate_deep_composition_poly", 94),
    ("compute_fri_layers", 98),
    ("determine_query_positions", 98),
    ("build_proof_object", 99),
];

/// The `prove` phase: returns the segment proof file's bytes. The prove call itself cannot be
/// interrupted; `ctx.cancelled` is polled before and after it and while the trace is built.
pub fn prove(
    input_size: u64,
    seg: &Segment,
    input: &InputRef,
    hints: Option<&str>,
    challenge: [u8; 32],
    ctx: &Ctx,
) -> Result<ProveResult> {
    let t0 = Instant::now();
    (ctx.progress)(0, PROVE_PROGRESS_TOTAL);
    let (start, slice, hinted_end) = load_segment(input_size, seg, input, hints, ctx)?;
    (ctx.progress)(PROVE_LOADED, PROVE_PROGRESS_TOTAL);
    ctx.check()?;
    // The trace runs the sponge over the slice: its end state is the statement's (the slice is
    // not hashed a second time, a serial pass as long as the trace's own).
    let (st, proof_bytes) = if seg.block_count == 0 {
        let st = statement_ending(input_size, seg, start, start, &slice, hinted_end)?;
        (st, Vec::new())
    } else {
        let shape = Shape::of_blocks(seg.start_block, seg.block_count, input_size)
            .map_err(PmError::internal)?;
        let values = |k: u64| {
            let off = (k as usize) * BLOCK_BYTES;
            sponge::block_values(seg.start_block + k, &slice[off..], input_size)
        };
        let (trace, end) = trace::build_main(&shape, &start, &values, ctx.cancelled)
            .map_err(|_| PmError::cancelled())?;
        let st = statement_ending(input_size, seg, start, end, &slice, hinted_end)?;
        (ctx.progress)(PROVE_TRACE_BUILT, PROVE_PROGRESS_TOTAL);
        ctx.check()?;
        let proof = prove_with_progress(SpongeProver::new(public_of(&st, challenge)), trace, ctx)?;
        ctx.check()?;
        (st, proof.to_bytes())
    };
    let header = SegmentHeader {
        program: PROGRAM_ID.into(),
        index: seg.index,
        start_block: seg.start_block,
        block_count: seg.block_count,
        input_offset: seg.input_offset,
        input_length: seg.input_length,
        input_size,
        challenge: hex::encode(challenge),
        start_state: sponge::state_to_hex(&st.start),
        end_state: sponge::state_to_hex(&st.end),
        input_sha256: hex::encode(st.input_sha256),
        contribution: hex::encode(st.contribution()),
    };
    let mut bytes = proof_file::encode_header(SEGMENT_MAGIC, &header);
    bytes.extend_from_slice(&proof_bytes);
    (ctx.progress)(PROVE_PROGRESS_TOTAL, PROVE_PROGRESS_TOTAL);
    Ok(ProveResult {
        bytes,
        millis: t0.elapsed().as_millis() as u64,
    })
}

/// Runs the prove pipeline ([`pipeline::prove`], winterfell's protocol), reporting each of its
/// steps as it ends. The steps are seen through
/// its `tracing` spans on this thread; a scoped thread turns them into `ctx.progress` calls
/// (the subscriber must be `'static`, the context is borrowed).
fn prove_with_progress(
    prover: SpongeProver,
    trace: trace::SegmentTrace,
    ctx: &Ctx,
) -> Result<winterfell::Proof> {
    let (tx, rx) = std::sync::mpsc::channel::<&'static str>();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut done = PROVE_TRACE_BUILT;
            for name in rx {
                if let Some((_, d)) = PROVE_STEP_DONE.iter().find(|(n, _)| *n == name) {
                    done = done.max(*d);
                    (ctx.progress)(done, PROVE_PROGRESS_TOTAL);
                }
            }
        });
        spans::with_steps(
            false,
            move |name, _| {
                let _ = tx.send(name);
            },
            || pipeline::prove(&prover, trace),
        )
    })
    .map_err(|e| PmError::internal(format!("the prover failed: {e}")))
}
