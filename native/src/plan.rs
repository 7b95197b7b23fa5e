//! The `plan` phase: segments for workers, and the hints file (the sponge states at segment
//! boundaries, so that a peer needs only its own slice of the input).
//!
//! Hints file: JSON `{"format":"proofmesh-hints/1","program","inputSize","totalBlocks",
//! "states":[{"block","state"}]}` where `state` is the hex of 12 u64 LE (96 bytes), the sponge
//! state *before* block `block` (block = totalBlocks: the final state).

use crate::ctx::Ctx;
use crate::error::{PmError, Result};
use crate::input::{InputRef, file_size, stream_states};
use crate::out_file::write_atomic;
use crate::program::PROGRAM_ID;
use crate::segment::{HARD_MAX_SEGMENT_BLOCKS, Segment, segment_for};
use crate::sponge::{self, State};
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

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PlanResult {
    pub program: String,
    pub input_size: u64,
    pub total_blocks: u64,
    pub initial_state: String,
    pub segments: Vec<PlannedSegment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hints: Option<HintsInfo>,
    /// The statement (lower-case hex of the final `state[4..8]`); present when the prover read the
    /// whole input, i.e. when it wrote the hints file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
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

/// The `plan` phase; writes the hints file when `hints_out` is given, and then also returns the
/// digest (it hashed the whole input to write the hints).
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
    let total = sponge::num_blocks(input_size);
    let (hints, digest) = match hints_out {
        None => (None, None),
        Some(out) => {
            let mut marks: Vec<u64> = segments.iter().map(|s| s.segment.start_block).collect();
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
    Ok(PlanResult {
        program: PROGRAM_ID.into(),
        input_size,
        total_blocks: total,
        initial_state: sponge::state_to_hex(&sponge::initial_state(input_size)),
        segments,
        hints,
        digest,
    })
}
