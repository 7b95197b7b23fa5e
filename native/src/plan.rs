//! The `plan` phase: the hints file (the sponge states at segment boundaries, so that a peer needs
//! only its own slice of the input) for a layout of segments. In NPP v2 the daemon gives the
//! layout and the prover checks it ([`prepare`]); in v1 the prover also splits the input for
//! weighted workers ([`plan`]).
//!
//! Hints file: JSON `{"format":"proofmesh-hints/1","program","inputSize","totalBlocks",
//! "states":[{"block","state"}]}` where `state` is the hex of 12 u64 LE (96 bytes), the sponge
//! state *before* block `block` (block = totalBlocks: the final state).

use crate::ctx::Ctx;
use crate::error::{PmError, Result};
use crate::input::{InputRef, file_size, stream_states};
use crate::out_file::write_atomic;
use crate::program::PROGRAM_ID;
use crate::segment::{
    HARD_MAX_SEGMENT_BLOCKS, MAX_SEGMENT_BLOCKS, Segment, check_segment, segment_for,
};
use crate::sponge::{self, State};
use crate::stark::MAX_BUNDLE_SEGMENTS;
use serde::{Deserialize, Serialize};

const HINTS_FORMAT: &str = "proofmesh-hints/1";

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HintState {
    pub block: u64,
    pub state: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hints {
    pub format: String,
    pub program: String,
    pub input_size: u64,
    pub total_blocks: u64,
    pub states: Vec<HintState>,
}

pub fn read_hints(path: &str, input_size: u64) -> Result<Hints> {
    let text = std::fs::read(path).map_err(|e| PmError::io(path, e))?;
    let h: Hints = serde_json::from_slice(&text)
        .map_err(|e| PmError::hints(format!("{path}: not a hints file: {e}")))?;
    if h.format != HINTS_FORMAT || h.program != PROGRAM_ID {
        return Err(PmError::hints(format!(
            "{path}: format '{}' / program '{}' is not {HINTS_FORMAT} / {PROGRAM_ID}",
            h.format, h.program
        )));
    }
    if h.input_size != input_size || h.total_blocks != sponge::num_blocks(input_size) {
        return Err(PmError::hints(format!(
            "{path}: the hints are for an input of {} bytes, the job's has {input_size}",
            h.input_size
        )));
    }
    Ok(h)
}

impl Hints {
    pub(crate) fn state_at(&self, block: u64) -> Result<Option<State>> {
        match self.states.iter().find(|s| s.block == block) {
            None => Ok(None),
            Some(s) => sponge::state_from_hex(&s.state)
                .map(Some)
                .ok_or_else(|| PmError::hints(format!("bad state for block {block}"))),
        }
    }
}

#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct PlannedSegment {
    #[serde(flatten)]
    pub segment: Segment,
    pub worker: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct HintsInfo {
    pub path: String,
    pub size: u64,
}

/// What `plan` adds to a layout (NPP v2's whole answer).
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Prepared {
    pub program: String,
    pub input_size: u64,
    pub total_blocks: u64,
    pub initial_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hints: Option<HintsInfo>,
    /// The statement (lower-case hex of the final `state[4..8]`); present when the prover read the
    /// whole input, i.e. when it wrote the hints file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// NPP v1's answer: the split it chose, and what [`Prepared`] holds.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PlanResult {
    #[serde(flatten)]
    pub prepared: Prepared,
    pub segments: Vec<PlannedSegment>,
}

/// Checks a layout the daemon chose (NPP v2): at least one and at most [`MAX_BUNDLE_SEGMENTS`]
/// segments (more could not be aggregated), numbered from 0 in input order, each canonical and
/// at most `max_blocks` long, contiguous, covering every block of the input.
pub fn check_layout(segments: &[Segment], input_size: u64, max_blocks: u64) -> Result<()> {
    if segments.is_empty() || segments.len() > MAX_BUNDLE_SEGMENTS {
        return Err(PmError::segment(format!(
            "a layout has 1 to {MAX_BUNDLE_SEGMENTS} segments, got {}",
            segments.len()
        )));
    }
    let total = sponge::num_blocks(input_size);
    let mut next = 0u64;
    for (i, seg) in segments.iter().enumerate() {
        if seg.index != i as u64 {
            return Err(PmError::segment(format!(
                "segment {i} has index {}: segments are numbered from 0 in order",
                seg.index
            )));
        }
        if seg.block_count > max_blocks {
            return Err(PmError::segment(format!(
                "segment {i} has {} blocks, over the program's maxSegmentBlocks {max_blocks}",
                seg.block_count
            )));
        }
        if seg.start_block != next {
            return Err(PmError::segment(format!(
                "segment {i} starts at block {}, the previous one ended at {next}",
                seg.start_block
            )));
        }
        check_segment(seg, input_size)?;
        next += seg.block_count;
    }
    if next != total {
        return Err(PmError::segment(format!(
            "the segments cover {next} blocks, the input has {total}"
        )));
    }
    Ok(())
}

/// Splits `input_size` bytes into segments: each worker gets a share of the blocks proportional
/// to its units (largest remainder), cut into near-equal segments of at most `max_blocks`.
pub fn split(
    input_size: u64,
    workers: &[(String, u64)],
    max_blocks: u64,
) -> Result<Vec<PlannedSegment>> {
    if max_blocks == 0 || max_blocks > HARD_MAX_SEGMENT_BLOCKS {
        return Err(PmError::params(format!(
            "maxSegmentBlocks must be in [1, {HARD_MAX_SEGMENT_BLOCKS}]"
        )));
    }
    let sum: u128 = workers.iter().map(|w| w.1 as u128).sum();
    if sum == 0 {
        return Err(PmError::params("no worker has compute units"));
    }
    let total = sponge::num_blocks(input_size);
    if total == 0 {
        let w = workers.iter().find(|w| w.1 > 0).unwrap();
        return Ok(vec![PlannedSegment {
            segment: segment_for(0, 0, 0, 0),
            worker: w.0.clone(),
        }]);
    }
    let mut shares: Vec<u64> = workers
        .iter()
        .map(|w| (total as u128 * w.1 as u128 / sum) as u64)
        .collect();
    let mut rest = total - shares.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..workers.len()).filter(|&i| workers[i].1 > 0).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(total as u128 * workers[i].1 as u128 % sum));
    for &i in order.iter().cycle() {
        if rest == 0 {
            break;
        }
        shares[i] += 1;
        rest -= 1;
    }
    let mut out = Vec::new();
    let mut block = 0u64;
    for (w, &share) in workers.iter().zip(&shares) {
        if share == 0 {
            continue;
        }
        let k = share.div_ceil(max_blocks);
        for j in 0..k {
            let n = share / k + u64::from(j < share % k);
            out.push(PlannedSegment {
                segment: segment_for(out.len() as u64, block, n, input_size),
                worker: w.0.clone(),
            });
            block += n;
        }
    }
    debug_assert_eq!(block, total);
    Ok(out)
}

/// NPP v1's `plan`: splits the input for `workers` (see [`split`]), then [`prepare`]s that layout.
pub fn plan(
    input: &InputRef,
    workers: &[(String, u64)],
    max_blocks: u64,
    hints_out: Option<&str>,
    ctx: &Ctx,
) -> Result<PlanResult> {
    if input.offset != 0 {
        return Err(PmError::params("plan needs the whole input (offset 0)"));
    }
    let input_size = file_size(&input.path)?;
    let segments = split(input_size, workers, max_blocks)?;
    let starts: Vec<u64> = segments.iter().map(|s| s.segment.start_block).collect();
    let prepared = write_hints(input, input_size, &starts, hints_out, ctx)?;
    Ok(PlanResult { prepared, segments })
}

/// NPP v2's `plan`: checks the daemon's layout (see [`check_layout`]) and, when `hints_out` is
/// given, writes the hints file for it and returns the digest (it hashed the whole input).
pub fn prepare(
    input: &InputRef,
    segments: &[Segment],
    hints_out: Option<&str>,
    ctx: &Ctx,
) -> Result<Prepared> {
    if input.offset != 0 {
        return Err(PmError::params("plan needs the whole input (offset 0)"));
    }
    let input_size = file_size(&input.path)?;
    check_layout(segments, input_size, MAX_SEGMENT_BLOCKS)?;
    let starts: Vec<u64> = segments.iter().map(|s| s.start_block).collect();
    write_hints(input, input_size, &starts, hints_out, ctx)
}

/// The hints file with the states before each of `starts` and the final state, when `hints_out`
/// is given (and then the digest).
fn write_hints(
    input: &InputRef,
    input_size: u64,
    starts: &[u64],
    hints_out: Option<&str>,
    ctx: &Ctx,
) -> Result<Prepared> {
    let total = sponge::num_blocks(input_size);
    let (hints, digest) = match hints_out {
        None => (None, None),
        Some(out) => {
            let mut marks = starts.to_vec();
            marks.push(total);
            marks.dedup();
            let mut states = Vec::new();
            let last = stream_states(input, input_size, total, &marks, ctx, |b, s| {
                (ctx.progress)(b, total);
                states.push(HintState {
                    block: b,
                    state: sponge::state_to_hex(s),
                })
            })?;
            let h = Hints {
                format: HINTS_FORMAT.into(),
                program: PROGRAM_ID.into(),
                input_size,
                total_blocks: total,
                states,
            };
            let bytes = serde_json::to_vec(&h).map_err(|e| PmError::internal(e.to_string()))?;
            write_atomic(out, &bytes)?;
            let info = HintsInfo {
                path: out.into(),
                size: bytes.len() as u64,
            };
            let digest = sponge::digest_to_hex(&sponge::digest_of(&last));
            (Some(info), Some(digest))
        }
    };
    Ok(Prepared {
        program: PROGRAM_ID.into(),
        input_size,
        total_blocks: total,
        initial_state: sponge::state_to_hex(&sponge::initial_state(input_size)),
        hints,
        digest,
    })
}
