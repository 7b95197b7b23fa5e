//! The `rescue-sponge` program: segments, the statement of a segment and its contribution, the
//! `contribute` and `prove` phases. `plan` is in [`crate::plan`], `aggregate` and `verify` in
//! [`crate::verify`], the file formats in [`crate::proof_file`].

use crate::air::{SegmentPublic, Shape};
use crate::error::{PmError, Result};
use crate::plan::read_hints;
use crate::proof_file::{self, SEGMENT_MAGIC, SegmentHeader};
use crate::spans;
use crate::sponge::{self, BLOCK_BYTES, State};
use crate::stark::SpongeProver;
use crate::trace;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Instant;
use winterfell::Prover;

pub const PROGRAM_ID: &str = "rescue-sponge";
pub const PROGRAM_DESCRIPTION: &str = "Rescue-Prime Rp64_256 sponge hash of the input bytes \
     (7-byte LE chunks, 0x01 pad byte, element count in the capacity); range-checked STARK \
     (winterfell 0.13) per segment of blocks, 128-bit conjectured security for the final proof";
/// Default (and recommended) maximum blocks per segment: 2^15 blocks = 2^18 trace rows.
pub const MAX_SEGMENT_BLOCKS: u64 = 1 << 15;
/// Hard cap on a segment's size (2^17 blocks = 2^20 rows, ~10 GB of prover memory).
pub const HARD_MAX_SEGMENT_BLOCKS: u64 = 1 << 17;

/// Cancellation and progress hooks of a running request.
pub struct Ctx<'a> {
    pub cancelled: &'a (dyn Fn() -> bool + Sync),
    pub progress: &'a (dyn Fn(u64, u64) + Sync),
}

impl Ctx<'static> {
    /// A context that is never cancelled and reports nothing.
    pub fn none() -> Ctx<'static> {
        Ctx {
            cancelled: &|| false,
            progress: &|_, _| {},
        }
    }
}

impl Ctx<'_> {
    pub(crate) fn check(&self) -> Result<()> {
        if (self.cancelled)() {
            Err(PmError::cancelled())
        } else {
            Ok(())
        }
    }
}

pub fn check_program(id: &str) -> Result<()> {
    if id == PROGRAM_ID {
        Ok(())
    } else {
        Err(PmError::unknown_program(id))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    pub index: u64,
    pub start_block: u64,
    pub block_count: u64,
    pub input_offset: u64,
    pub input_length: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputRef {
    pub path: String,
    #[serde(default)]
    pub offset: u64,
}

/// The canonical segment covering blocks `[start_block, start_block + block_count)`.
pub fn segment_for(index: u64, start_block: u64, block_count: u64, input_size: u64) -> Segment {
    let off = (start_block * BLOCK_BYTES as u64).min(input_size);
    let end = ((start_block + block_count) * BLOCK_BYTES as u64).min(input_size);
    Segment {
        index,
        start_block,
        block_count,
        input_offset: off,
        input_length: end - off,
    }
}

/// Checks that a segment is canonical for the input size.
pub fn check_segment(seg: &Segment, input_size: u64) -> Result<()> {
    let total = sponge::num_blocks(input_size);
    if input_size == 0 {
        if seg.start_block != 0 || seg.block_count != 0 {
            return Err(PmError::segment(
                "the empty input has one segment: startBlock 0, blockCount 0",
            ));
        }
    } else {
        if seg.block_count == 0 {
            return Err(PmError::segment("blockCount must be at least 1"));
        }
        if seg.block_count > HARD_MAX_SEGMENT_BLOCKS {
            return Err(PmError::segment(format!(
                "blockCount {} exceeds the hard limit {HARD_MAX_SEGMENT_BLOCKS}",
                seg.block_count
            )));
        }
        if seg
            .start_block
            .checked_add(seg.block_count)
            .is_none_or(|e| e > total)
        {
            return Err(PmError::segment(format!(
                "blocks [{}, {}) exceed the input's {total} blocks",
                seg.start_block,
                seg.start_block.saturating_add(seg.block_count)
            )));
        }
    }
    let canon = segment_for(seg.index, seg.start_block, seg.block_count, input_size);
    if canon != *seg {
        return Err(PmError::segment(format!(
            "inputOffset/inputLength must be {}/{} for blocks starting at {} ({} bytes per block)",
            canon.input_offset, canon.input_length, seg.start_block, BLOCK_BYTES
        )));
    }
    Ok(())
}

pub(crate) fn file_size(path: &str) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| PmError::io(path, e))
}

/// Reads input bytes `[from, from + len)` (absolute positions in the job's input).
pub(crate) fn read_range(input: &InputRef, from: u64, len: u64) -> Result<Vec<u8>> {
    let size = file_size(&input.path)?;
    if from < input.offset || from + len > input.offset + size {
        return Err(PmError::segment(format!(
            "the input file {} holds bytes [{}, {}) of the input; bytes [{}, {}) are needed",
            input.path,
            input.offset,
            input.offset + size,
            from,
            from + len
        )));
    }
    let mut f = File::open(&input.path).map_err(|e| PmError::io(&input.path, e))?;
    f.seek(SeekFrom::Start(from - input.offset))
        .map_err(|e| PmError::io(&input.path, e))?;
    let mut buf = vec![0u8; len as usize];
    f.read_exact(&mut buf)
        .map_err(|e| PmError::io(&input.path, e))?;
    Ok(buf)
}

/// Streams the sponge over blocks `[0, upto)` of the input file (which must start at offset 0) and
/// calls `at(block, state)` for every block index in `marks` (sorted), before absorbing it.
pub(crate) fn stream_states(
    input: &InputRef,
    input_size: u64,
    upto: u64,
    marks: &[u64],
    ctx: &Ctx,
    mut at: impl FnMut(u64, &State),
) -> Result<State> {
    if input.offset != 0 {
        return Err(PmError::segment(
            "without hints the input file must start at offset 0 (the prover recomputes the \
             start state from the bytes before the segment)",
        ));
    }
    let need = (upto * BLOCK_BYTES as u64).min(input_size);
    let size = file_size(&input.path)?;
    if size < need {
        return Err(PmError::segment(format!(
            "the input file {} has {size} bytes; {need} are needed",
            input.path
        )));
    }
    let mut f = File::open(&input.path).map_err(|e| PmError::io(&input.path, e))?;
    let mut state = sponge::initial_state(input_size);
    const CHUNK_BLOCKS: u64 = 4096;
    let mut buf = vec![0u8; CHUNK_BLOCKS as usize * BLOCK_BYTES];
    let mut block = 0u64;
    let mut mi = 0usize;
    while block < upto || mi < marks.len() {
        while mi < marks.len() && marks[mi] == block {
            at(block, &state);
            mi += 1;
        }
        if block >= upto {
            break;
        }
        ctx.check()?;
        let n = CHUNK_BLOCKS.min(upto - block);
        let lo = block * BLOCK_BYTES as u64;
        let hi = ((block + n) * BLOCK_BYTES as u64).min(input_size);
        let bytes = &mut buf[..(hi - lo) as usize];
        f.read_exact(bytes)
            .map_err(|e| PmError::io(&input.path, e))?;
        // Marks inside this chunk: run block by block up to each.
        let mut b = block;
        while b < block + n {
            let next_mark = marks[mi..]
                .iter()
                .copied()
                .find(|&m| m > b)
                .unwrap_or(u64::MAX);
            let stop = next_mark.min(block + n);
            let off = ((b - block) as usize) * BLOCK_BYTES;
            sponge::run_blocks(&mut state, b, stop - b, &bytes[off..], input_size);
            b = stop;
            while mi < marks.len() && marks[mi] == b && b < block + n {
                at(b, &state);
                mi += 1;
            }
        }
        block += n;
    }
    Ok(state)
}

/// Writes a file atomically: `write` fills a temporary file in the same folder, which is synced
/// and renamed to `path` unless the request was cancelled meanwhile (then nothing is left).
pub fn write_atomic_with(
    path: &str,
    ctx: &Ctx,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<()> {
    let p = Path::new(path);
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = p
        .file_name()
        .ok_or_else(|| PmError::io(path, "not a file path"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{:?}",
        name.to_string_lossy(),
        std::process::id(),
        std::thread::current().id()
    ));
    let res = (|| {
        let mut f = File::create(&tmp)?;
        write(&mut f)?;
        f.sync_all()
    })();
    let res = match res {
        Ok(()) if (ctx.cancelled)() => Err(PmError::cancelled()),
        Ok(()) => std::fs::rename(&tmp, p).map_err(|e| PmError::io(path, e)),
        Err(e) => Err(PmError::io(path, e)),
    };
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &str, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, &Ctx::none(), |f| f.write_all(bytes))
}

// STATEMENT AND CONTRIBUTION
// ================================================================================================

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
pub fn challenge(job: &str, contributions: &[Vec<u8>]) -> [u8; 32] {
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

/// Loads a segment's start state and input slice.
fn load_segment(
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

// SEGMENT PROOFS
// ================================================================================================

#[derive(Debug)]
pub struct ProveResult {
    pub bytes: Vec<u8>,
    pub millis: u64,
}

impl ProveResult {
    /// `prove`'s answer for segment `index`: `{segment, size, sha256, millis}`.
    pub fn summary(&self, index: u64) -> serde_json::Value {
        serde_json::json!({"segment": index, "size": self.bytes.len(),
                           "sha256": hex::encode(Sha256::digest(&self.bytes)),
                           "millis": self.millis})
    }
}

/// `prove` reports progress in hundredths: the segment loaded, its trace built, then each of
/// winterfell's proving steps as it ends (weighted by its usual share of the time, measured at
/// 2^18 rows), then the file encoded.
pub const PROVE_PROGRESS_TOTAL: u64 = 100;
const PROVE_LOADED: u64 = 2;
const PROVE_TRACE_BUILT: u64 = 6;
/// Progress when each of winterfell's steps ends (see `spans::PROVER_STEPS`).
const PROVE_STEP_DONE: [(&str, u64); 11] = [
    ("build_domain", 6),
    ("commit_to_main_trace_segment", 24),
    ("build_aux_trace", 25),
    ("commit_to_aux_trace_segment", 31),
    ("evaluate_constraints", 50),
    ("commit_to_constraint_evaluations", 76),
    ("build_deep_composition_poly", 80),
    ("evaluate_deep_composition_poly", 90),
    ("compute_fri_layers", 97),
    ("determine_query_positions", 98),
    ("build_proof_object", 99),
];

/// The `prove` phase: returns the segment proof file's bytes. The winterfell call itself cannot be
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
    let st = statement_of(input_size, seg, start, &slice, hinted_end)?;
    (ctx.progress)(PROVE_LOADED, PROVE_PROGRESS_TOTAL);
    ctx.check()?;
    let proof_bytes = if seg.block_count == 0 {
        Vec::new()
    } else {
        let public = public_of(&st, challenge);
        let shape = Shape::new(&public).map_err(PmError::internal)?;
        let values = |k: u64| {
            let off = (k as usize) * BLOCK_BYTES;
            sponge::block_values(seg.start_block + k, &slice[off..], input_size)
        };
        let (trace, end) = trace::build_main(&shape, &st.start, &values, ctx.cancelled)
            .map_err(|_| PmError::cancelled())?;
        if end != st.end {
            return Err(PmError::internal(
                "trace end state differs from the native hash",
            ));
        }
        (ctx.progress)(PROVE_TRACE_BUILT, PROVE_PROGRESS_TOTAL);
        ctx.check()?;
        let proof = prove_with_progress(SpongeProver::new(public), trace, ctx)?;
        ctx.check()?;
        proof.to_bytes()
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

/// Runs winterfell's prover, reporting each of its steps as it ends. The steps are seen through
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
            || prover.prove(trace),
        )
    })
    .map_err(|e| PmError::internal(format!("winterfell prover failed: {e}")))
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
