//! The phases of a `rescue-sponge` job: plan, contribute, prove, aggregate, verify.
//!
//! File formats (all integers little-endian unless said otherwise):
//!
//! * hints file: JSON `{"format":"proofmesh-hints/1","program","inputSize","totalBlocks",
//!   "states":[{"block","state"}]}` where `state` is the hex of 12 u64 LE (96 bytes), the sponge
//!   state *before* block `block` (block = totalBlocks: the final state).
//! * segment proof file: `"PMSEG\x01\n\0"` ‖ u32 header length ‖ header JSON ([`SegmentHeader`]) ‖
//!   winterfell `Proof::to_bytes()` (empty for the 0-block segment of the empty input).
//! * bundle (final proof): `"PMBUNDL\x01"` ‖ u32 header length ‖ header JSON ([`BundleHeader`]) ‖
//!   for each segment in index order: u32 length ‖ the segment proof file bytes.

use crate::air::{SegmentPublic, Shape};
use crate::error::{PmError, Result};
use crate::sponge::{self, BLOCK_BYTES, State};
use crate::stark::{self, SpongeProver};
use crate::trace;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Instant;
use winterfell::{Proof, Prover, math::fields::f64::BaseElement};

pub const PROGRAM_ID: &str = "rescue-sponge";
pub const PROGRAM_DESCRIPTION: &str = "Rescue-Prime Rp64_256 sponge hash of the input bytes \
     (7-byte LE chunks, 0x01 pad byte, element count in the capacity); STARK (winterfell 0.13, \
     ~105-bit conjectured security) per segment of blocks";
/// Default (and recommended) maximum blocks per segment: 2^15 blocks = 2^18 trace rows.
pub const MAX_SEGMENT_BLOCKS: u64 = 1 << 15;
/// Hard cap on a segment's size (2^17 blocks = 2^20 rows, ~10 GB of prover memory).
pub const HARD_MAX_SEGMENT_BLOCKS: u64 = 1 << 17;
const SEG_MAGIC: &[u8; 8] = b"PMSEG\x01\n\0";
const BUNDLE_MAGIC: &[u8; 8] = b"PMBUNDL\x01";
const HINTS_FORMAT: &str = "proofmesh-hints/1";

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
    fn check(&self) -> Result<()> {
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

fn file_size(path: &str) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| PmError::io(path, e))
}

/// Reads input bytes `[from, from + len)` (absolute positions in the job's input).
fn read_range(input: &InputRef, from: u64, len: u64) -> Result<Vec<u8>> {
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
fn stream_states(
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

// HINTS
// ================================================================================================

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
    fn state_at(&self, block: u64) -> Result<Option<State>> {
        match self.states.iter().find(|s| s.block == block) {
            None => Ok(None),
            Some(s) => sponge::state_from_hex(&s.state)
                .map(Some)
                .ok_or_else(|| PmError::hints(format!("bad state for block {block}"))),
        }
    }
}

// PLAN
// ================================================================================================

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

/// Writes a file atomically: a temporary file in the same folder, fsync, rename.
pub fn write_atomic(path: &str, bytes: &[u8]) -> Result<()> {
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
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, p)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(PmError::io(path, e));
    }
    Ok(())
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

fn statement_of(
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

/// The JSON header of a segment proof file.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct SegmentHeader {
    pub program: String,
    #[serde(flatten)]
    pub segment: Segment,
    pub input_size: u64,
    pub challenge: String,
    pub start_state: String,
    pub end_state: String,
    pub input_sha256: String,
    pub contribution: String,
}

#[derive(Debug)]
pub struct ProveResult {
    pub bytes: Vec<u8>,
    pub millis: u64,
}

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
    (ctx.progress)(0, 4);
    let (start, slice, hinted_end) = load_segment(input_size, seg, input, hints, ctx)?;
    let st = statement_of(input_size, seg, start, &slice, hinted_end)?;
    (ctx.progress)(1, 4);
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
        (ctx.progress)(2, 4);
        ctx.check()?;
        let proof = SpongeProver::new(public)
            .prove(trace)
            .map_err(|e| PmError::internal(format!("winterfell prover failed: {e}")))?;
        ctx.check()?;
        proof.to_bytes()
    };
    (ctx.progress)(3, 4);
    let header = SegmentHeader {
        program: PROGRAM_ID.into(),
        segment: seg.clone(),
        input_size,
        challenge: hex::encode(challenge),
        start_state: sponge::state_to_hex(&st.start),
        end_state: sponge::state_to_hex(&st.end),
        input_sha256: hex::encode(st.input_sha256),
        contribution: hex::encode(st.contribution()),
    };
    let bytes = frame(SEG_MAGIC, &header, &[&proof_bytes]);
    (ctx.progress)(4, 4);
    Ok(ProveResult {
        bytes,
        millis: t0.elapsed().as_millis() as u64,
    })
}

fn public_of(st: &Statement, challenge: [u8; 32]) -> SegmentPublic {
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

fn frame<T: Serialize>(magic: &[u8; 8], header: &T, parts: &[&[u8]]) -> Vec<u8> {
    let h = serde_json::to_vec(header).expect("header serialises");
    let mut out = Vec::with_capacity(16 + h.len() + parts.iter().map(|p| p.len()).sum::<usize>());
    out.extend_from_slice(magic);
    out.extend_from_slice(&(h.len() as u32).to_le_bytes());
    out.extend_from_slice(&h);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

fn unframe<'a, T: for<'de> Deserialize<'de>>(
    magic: &[u8; 8],
    bytes: &'a [u8],
    what: &str,
) -> std::result::Result<(T, &'a [u8]), String> {
    if bytes.len() < 12 || &bytes[..8] != magic {
        return Err(format!("not a {what} (bad magic)"));
    }
    let n = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    if bytes.len() < 12 + n {
        return Err(format!("truncated {what} header"));
    }
    let h = serde_json::from_slice(&bytes[12..12 + n])
        .map_err(|e| format!("bad {what} header: {e}"))?;
    Ok((h, &bytes[12 + n..]))
}

/// A segment proof whose STARK verified.
#[derive(Clone, Debug)]
pub struct VerifiedSegment {
    pub statement: Statement,
    pub challenge: [u8; 32],
    pub contribution: [u8; 32],
}

/// Decodes 32 bytes of lower-case hex (the only encoding NPP uses, so that a value has one form).
fn hex32(s: &str, what: &str) -> std::result::Result<[u8; 32], String> {
    if !s
        .bytes()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return Err(format!("{what} is not lower-case hex"));
    }
    hex::decode(s)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| format!("{what} is not 32 bytes of hex"))
}

/// Decodes and verifies one segment proof file: the header is well formed, the contribution is
/// the one its statement gives, and the STARK verifies for that statement and challenge.
pub fn verify_segment(bytes: &[u8]) -> std::result::Result<VerifiedSegment, String> {
    let (h, proof_bytes): (SegmentHeader, &[u8]) = unframe(SEG_MAGIC, bytes, "segment proof")?;
    if h.program != PROGRAM_ID {
        return Err(format!("program '{}' is not {PROGRAM_ID}", h.program));
    }
    check_segment(&h.segment, h.input_size).map_err(|e| e.message)?;
    let start = sponge::state_from_hex(&h.start_state).ok_or("bad startState")?;
    let end = sponge::state_from_hex(&h.end_state).ok_or("bad endState")?;
    let challenge = hex32(&h.challenge, "challenge")?;
    let st = Statement {
        segment: h.segment.clone(),
        input_size: h.input_size,
        start,
        end,
        input_sha256: hex32(&h.input_sha256, "inputSha256")?,
    };
    let contribution = hex32(&h.contribution, "contribution")?;
    if st.contribution() != contribution {
        return Err("the contribution in the header does not match its statement".into());
    }
    if h.segment.block_count == 0 {
        if !proof_bytes.is_empty() || start != end || start != sponge::initial_state(0) {
            return Err(
                "a 0-block segment must have no STARK and start = end = the initial \
                        state of the empty input"
                    .into(),
            );
        }
    } else {
        let proof = Proof::from_bytes(proof_bytes)
            .map_err(|e| format!("the STARK proof does not decode: {e}"))?;
        let public = public_of(&st, challenge);
        let shape = Shape::new(&public)?;
        let info = proof.trace_info();
        if info.length() != shape.trace_len
            || info.main_trace_width() != crate::air::MAIN_WIDTH
            || info.aux_segment_width() != crate::air::AUX_WIDTH
            || info.get_num_aux_segment_rand_elements() != crate::air::AUX_RANDS
            || !info.meta().is_empty()
        {
            return Err(format!(
                "trace shape {}x{}+{} is not {}x{}+{}",
                info.length(),
                info.main_trace_width(),
                info.aux_segment_width(),
                shape.trace_len,
                crate::air::MAIN_WIDTH,
                crate::air::AUX_WIDTH
            ));
        }
        std::panic::catch_unwind(|| stark::verify(proof, public))
            .map_err(|_| "the STARK verifier panicked on this proof".to_string())??;
    }
    Ok(VerifiedSegment {
        statement: st,
        challenge,
        contribution,
    })
}

// AGGREGATE AND VERIFY
// ================================================================================================

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct BundleHeader {
    pub program: String,
    pub job: String,
    pub input_size: u64,
    pub total_blocks: u64,
    pub challenge: String,
    pub contributions: Vec<String>,
    pub digest: String,
    pub segments: u64,
}

/// Checks a list of segment proofs against the job: returns the digest, or (segment, reason).
pub fn check_chain(
    job: &str,
    input_size: u64,
    challenge: [u8; 32],
    contributions: &[[u8; 32]],
    proofs: &[&[u8]],
    ctx: &Ctx,
) -> std::result::Result<[BaseElement; 4], (Option<usize>, String)> {
    if contributions.is_empty() || contributions.len() != proofs.len() {
        return Err((
            None,
            format!(
                "{} contributions for {} proofs (need the same number, at least one)",
                contributions.len(),
                proofs.len()
            ),
        ));
    }
    let cs: Vec<Vec<u8>> = contributions.iter().map(|c| c.to_vec()).collect();
    if self::challenge(job, &cs) != challenge {
        return Err((
            None,
            "the challenge is not SHA-256 of the job and its contributions".into(),
        ));
    }
    let total = sponge::num_blocks(input_size);
    let mut next_block = 0u64;
    let mut state = sponge::initial_state(input_size);
    for (i, bytes) in proofs.iter().enumerate() {
        if (ctx.cancelled)() {
            return Err((None, "cancelled".into()));
        }
        (ctx.progress)(i as u64, proofs.len() as u64);
        let v = verify_segment(bytes).map_err(|r| (Some(i), r))?;
        let s = &v.statement;
        let fail = |r: String| Err((Some(i), r));
        if s.segment.index != i as u64 {
            return fail(format!(
                "the proof is for segment {}, not {i}",
                s.segment.index
            ));
        }
        if v.challenge != challenge {
            return fail("the proof carries another challenge than the job's".into());
        }
        if s.input_size != input_size {
            return fail(format!(
                "the proof is for an input of {} bytes, not {input_size}",
                s.input_size
            ));
        }
        if v.contribution != contributions[i] {
            return fail("the proof does not match the segment's contribution".into());
        }
        if s.segment.start_block != next_block {
            return fail(format!(
                "the segment starts at block {}, expected {next_block} (gap or overlap)",
                s.segment.start_block
            ));
        }
        if s.start != state {
            return fail(if i == 0 {
                "the first segment does not start at the initial state for this input size".into()
            } else {
                format!(
                    "the start state does not equal segment {}'s end state",
                    i - 1
                )
            });
        }
        next_block += s.segment.block_count;
        state = s.end;
    }
    if next_block != total {
        return Err((
            Some(proofs.len() - 1),
            format!("the segments cover {next_block} blocks, the input has {total}"),
        ));
    }
    (ctx.progress)(proofs.len() as u64, proofs.len() as u64);
    Ok(sponge::digest_of(&state))
}

#[derive(Debug)]
pub struct AggregateResult {
    pub digest: String,
    pub bytes: Vec<u8>,
}

/// The `aggregate` phase: verifies and bundles; returns the bundle's bytes.
pub fn aggregate(
    job: &str,
    input_size: u64,
    challenge_hex: &str,
    contributions_hex: &[String],
    proof_paths: &[String],
    ctx: &Ctx,
) -> Result<AggregateResult> {
    let challenge = hex32(challenge_hex, "challenge").map_err(PmError::params)?;
    let contributions = contributions_hex
        .iter()
        .enumerate()
        .map(|(i, c)| hex32(c, &format!("contributions[{i}]")))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(PmError::params)?;
    let mut files = Vec::with_capacity(proof_paths.len());
    for p in proof_paths {
        files.push(std::fs::read(p).map_err(|e| PmError::io(p, e))?);
    }
    let refs: Vec<&[u8]> = files.iter().map(|f| f.as_slice()).collect();
    let digest = check_chain(job, input_size, challenge, &contributions, &refs, ctx).map_err(
        |(seg, reason)| match seg {
            _ if (ctx.cancelled)() => PmError::cancelled(),
            Some(i) => PmError::proof_invalid(i, reason),
            None => PmError::params(reason),
        },
    )?;
    let header = BundleHeader {
        program: PROGRAM_ID.into(),
        job: job.into(),
        input_size,
        total_blocks: sponge::num_blocks(input_size),
        challenge: hex::encode(challenge),
        contributions: contributions.iter().map(hex::encode).collect(),
        digest: sponge::digest_to_hex(&digest),
        segments: files.len() as u64,
    };
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for f in &files {
        parts.push((f.len() as u32).to_le_bytes().to_vec());
    }
    let mut body: Vec<&[u8]> = Vec::new();
    for (len, f) in parts.iter().zip(&files) {
        body.push(len);
        body.push(f);
    }
    Ok(AggregateResult {
        digest: header.digest.clone(),
        bytes: frame(BUNDLE_MAGIC, &header, &body),
    })
}

#[derive(Serialize, Debug, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResult {
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The `verify` phase on the bytes of a bundle.
pub fn verify_bundle(
    bytes: &[u8],
    expect_digest: Option<&str>,
    expect_job: Option<&str>,
    ctx: &Ctx,
) -> VerifyResult {
    let invalid = |reason: String, h: Option<&BundleHeader>| VerifyResult {
        valid: false,
        digest: h.map(|h| h.digest.clone()),
        job: h.map(|h| h.job.clone()),
        segments: h.map(|h| h.segments),
        reason: Some(reason),
    };
    let (h, mut rest): (BundleHeader, &[u8]) = match unframe(BUNDLE_MAGIC, bytes, "final proof") {
        Ok(x) => x,
        Err(r) => return invalid(r, None),
    };
    if h.program != PROGRAM_ID {
        return invalid(
            format!("program '{}' is not {PROGRAM_ID}", h.program),
            Some(&h),
        );
    }
    if let Some(j) = expect_job
        && j != h.job
    {
        return invalid(
            format!("the proof is for job '{}', not '{j}'", h.job),
            Some(&h),
        );
    }
    let mut proofs = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 4 {
            return invalid("truncated final proof".into(), Some(&h));
        }
        let n = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        if rest.len() < 4 + n {
            return invalid("truncated final proof".into(), Some(&h));
        }
        proofs.push(&rest[4..4 + n]);
        rest = &rest[4 + n..];
    }
    if proofs.len() as u64 != h.segments || h.contributions.len() != proofs.len() {
        return invalid(
            "the segment count does not match the header".into(),
            Some(&h),
        );
    }
    let parsed = (|| -> std::result::Result<_, String> {
        let c = hex32(&h.challenge, "challenge")?;
        let cs = h
            .contributions
            .iter()
            .map(|c| hex32(c, "contribution"))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok((c, cs))
    })();
    let (challenge, contributions) = match parsed {
        Ok(x) => x,
        Err(r) => return invalid(r, Some(&h)),
    };
    if h.total_blocks != sponge::num_blocks(h.input_size) {
        return invalid("totalBlocks does not match inputSize".into(), Some(&h));
    }
    match check_chain(
        &h.job,
        h.input_size,
        challenge,
        &contributions,
        &proofs,
        ctx,
    ) {
        Err((Some(i), r)) => invalid(format!("segment {i}: {r}"), Some(&h)),
        Err((None, r)) => invalid(r, Some(&h)),
        Ok(d) => {
            let d = sponge::digest_to_hex(&d);
            if d != h.digest {
                return invalid(
                    "the digest in the header is not the proven one".into(),
                    Some(&h),
                );
            }
            if let Some(e) = expect_digest
                && !e.eq_ignore_ascii_case(&d)
            {
                return invalid(
                    format!("the proven digest {d} is not the expected {e}"),
                    Some(&h),
                );
            }
            VerifyResult {
                valid: true,
                digest: Some(d),
                job: Some(h.job.clone()),
                segments: Some(h.segments),
                reason: None,
            }
        }
    }
}
