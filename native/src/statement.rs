//! What a segment claims (its statement), the contribution that commits to it, the job's
//! challenge over all contributions, and the `contribute` phase.

use crate::air::SegmentPublic;
use crate::ctx::Ctx;
use crate::error::{PmError, Result};
use crate::hex32::Hex32;
use crate::input::{InputRef, read_range, stream_states};
use crate::plan::read_hints;
use crate::segment::{Segment, check_segment};
use crate::sponge::{self, State};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What one segment claims: start state → end state over its blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub segment: Segment,
    pub input_size: u64,
    pub start: State,
    pub end: State,
    pub input_sha256: [u8; 32],
}

impl Statement {
    /// `SHA-256("proofmesh/contribution/rescue-sponge/1" ‖ u64be index ‖ u64be startBlock ‖
    /// u64be blockCount ‖ u64be inputSize ‖ start state (96 bytes) ‖ end state (96 bytes) ‖
    /// SHA-256(segment input slice))`.
    pub fn contribution(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"proofmesh/contribution/rescue-sponge/1");
        for x in [
            self.segment.index,
            self.segment.start_block,
            self.segment.block_count,
            self.input_size,
        ] {
            h.update(x.to_be_bytes());
        }
        h.update(sponge::elems_to_bytes(&self.start));
        h.update(sponge::elems_to_bytes(&self.end));
        h.update(self.input_sha256);
        h.finalize().into()
    }
}

/// `SHA-256("proofmesh/challenge/1" ‖ u32be len(job) ‖ job ‖ for each c_i: u32be len(c_i) ‖ c_i)`.
pub fn challenge(job: &str, contributions: &[[u8; 32]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"proofmesh/challenge/1");
    h.update((job.len() as u32).to_be_bytes());
    h.update(job.as_bytes());
    for c in contributions {
        h.update((c.len() as u32).to_be_bytes());
        h.update(c);
    }
    h.finalize().into()
}

/// Loads a segment's start state and input slice (and its end state when the hints give it).
pub(crate) fn load_segment(
    input_size: u64,
    seg: &Segment,
    input: &InputRef,
    hints: Option<&str>,
    ctx: &Ctx,
) -> Result<(State, Vec<u8>, Option<State>)> {
    check_segment(seg, input_size)?;
    let (start, hinted_end) = match hints {
        Some(path) => {
            let h = read_hints(path, input_size)?;
            let start = h.state_at(seg.start_block)?.ok_or_else(|| {
                PmError::hints(format!("no state for block {} in {path}", seg.start_block))
            })?;
            (start, h.state_at(seg.start_block + seg.block_count)?)
        }
        None => (
            stream_states(input, input_size, seg.start_block, &[], ctx, |_, _| {})?,
            None,
        ),
    };
    let slice = read_range(input, seg.input_offset, seg.input_length)?;
    Ok((start, slice, hinted_end))
}

/// The statement of a segment: hashes its slice from `start` (see [`statement_ending`]).
pub(crate) fn statement_of(
    input_size: u64,
    seg: &Segment,
    start: State,
    slice: &[u8],
    hinted_end: Option<State>,
) -> Result<Statement> {
    let mut end = start;
    sponge::run_blocks(
        &mut end,
        seg.start_block,
        seg.block_count,
        slice,
        input_size,
    );
    statement_ending(input_size, seg, start, end, slice, hinted_end)
}

/// The statement of a segment whose slice takes the sponge from `start` to `end` (computed by the
/// caller: the native hash, or the trace that proves it); a hinted end state must be that `end`.
pub(crate) fn statement_ending(
    input_size: u64,
    seg: &Segment,
    start: State,
    end: State,
    slice: &[u8],
    hinted_end: Option<State>,
) -> Result<Statement> {
    if let Some(h) = hinted_end
        && h != end
    {
        return Err(PmError::hints(format!(
            "the hinted state at block {} does not follow from the hinted start state and the \
             segment's input",
            seg.start_block + seg.block_count
        )));
    }
    Ok(Statement {
        segment: seg.clone(),
        input_size,
        start,
        end,
        input_sha256: Sha256::digest(slice).into(),
    })
}

/// `contribute`'s answer.
#[derive(Serialize, Debug)]
pub struct Contributed {
    pub segment: u64,
    pub contribution: Hex32,
}

/// The `contribute` phase.
pub fn contribute(
    input_size: u64,
    seg: &Segment,
    input: &InputRef,
    hints: Option<&str>,
    ctx: &Ctx,
) -> Result<[u8; 32]> {
    (ctx.progress)(0, 2);
    let (start, slice, hinted_end) = load_segment(input_size, seg, input, hints, ctx)?;
    (ctx.progress)(1, 2);
    ctx.check()?;
    let c = statement_of(input_size, seg, start, &slice, hinted_end)?.contribution();
    (ctx.progress)(2, 2);
    Ok(c)
}

pub(crate) fn public_of(st: &Statement, challenge: [u8; 32]) -> SegmentPublic {
    SegmentPublic {
        challenge,
        index: st.segment.index,
        start_block: st.segment.start_block,
        block_count: st.segment.block_count,
        input_size: st.input_size,
        start: st.start,
        end: st.end,
    }
}
