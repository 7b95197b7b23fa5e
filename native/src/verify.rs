//! Checking proofs: one segment proof, the chain of a job's segment proofs (`aggregate`), a final
//! proof (`verify`), and a final proof against its input file (`verify --input`).
//!
//! Everything here reads bytes that may come from an attacker. Files are read one segment at a
//! time with every length checked against its cap and against the bytes left before anything is
//! allocated; decoding and the STARK verifier run under `catch_unwind`; a defect in segment `i`
//! is reported as that segment's (so the peer that made it can be blamed).

use crate::air::{AUX_RANDS, AUX_WIDTH, MAIN_WIDTH, Shape};
use crate::ctx::Ctx;
use crate::error::{PmError, Result};
use crate::hex32::{Hex32, hex32};
use crate::input::{InputRef, read_range};
use crate::out_file::write_atomic_with;
use crate::program::PROGRAM_ID;
use crate::proof_file::{
    self, BUNDLE_MAGIC, BundleHeader, MAX_BUNDLE_HEADER_BYTES, MAX_SEGMENT_FILE_BYTES,
    SEGMENT_MAGIC,
};
use crate::segment::{Segment, check_segment};
use crate::sponge::{self, State};
use crate::stark::{self, MAX_BUNDLE_SEGMENTS};
use crate::statement::{self, Statement, public_of};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use winterfell::math::fields::f64::BaseElement;

/// A segment proof whose STARK verified.
#[derive(Clone, Debug)]
pub struct VerifiedSegment {
    pub statement: Statement,
    pub challenge: [u8; 32],
    pub contribution: [u8; 32],
}

/// Decodes and verifies one segment proof file: the header is well formed and canonical, the
/// contribution is the one its statement gives, and the STARK verifies for that statement and
/// challenge.
pub fn verify_segment(bytes: &[u8]) -> std::result::Result<VerifiedSegment, String> {
    let (h, stark_bytes) = proof_file::decode_segment(bytes)?;
    if h.program != PROGRAM_ID {
        return Err(format!("program '{}' is not {PROGRAM_ID}", h.program));
    }
    let segment = Segment {
        index: h.index,
        start_block: h.start_block,
        block_count: h.block_count,
        input_offset: h.input_offset,
        input_length: h.input_length,
    };
    check_segment(&segment, h.input_size).map_err(|e| e.message)?;
    let start = sponge::state_from_hex(&h.start_state).ok_or("bad startState")?;
    let end = sponge::state_from_hex(&h.end_state).ok_or("bad endState")?;
    let challenge = hex32(&h.challenge, "challenge")?;
    let st = Statement {
        segment,
        input_size: h.input_size,
        start,
        end,
        input_sha256: hex32(&h.input_sha256, "inputSha256")?,
    };
    let contribution = hex32(&h.contribution, "contribution")?;
    if st.contribution() != contribution {
        return Err("the contribution in the header does not match its statement".into());
    }
    if st.segment.block_count == 0 {
        if !stark_bytes.is_empty() || start != end || start != sponge::initial_state(0) {
            return Err(
                "a 0-block segment must have no STARK and start = end = the initial \
                        state of the empty input"
                    .into(),
            );
        }
    } else {
        let proof = proof_file::decode_stark(stark_bytes)?;
        if *proof.options() != stark::proof_options() {
            return Err("the proof's options are not the only ones accepted".into());
        }
        let public = public_of(&st, challenge);
        let shape = Shape::new(&public)?;
        let info = proof.trace_info();
        if info.length() != shape.trace_len
            || info.main_trace_width() != MAIN_WIDTH
            || info.aux_segment_width() != AUX_WIDTH
            || info.get_num_aux_segment_rand_elements() != AUX_RANDS
            || !info.meta().is_empty()
        {
            return Err(format!(
                "trace shape {} rows × {}+{} columns is not {} × {MAIN_WIDTH}+{AUX_WIDTH}",
                info.length(),
                info.main_trace_width(),
                info.aux_segment_width(),
                shape.trace_len,
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

/// The checks that tie a job's segment proofs together, fed one proof at a time: each verifies,
/// is for its index, carries the job's challenge, matches its contribution, and starts at the
/// block and the state where the previous one ended (the first at the initial state).
pub struct Chain<'a> {
    input_size: u64,
    challenge: [u8; 32],
    contributions: &'a [[u8; 32]],
    next_block: u64,
    state: State,
    slices: Vec<SliceClaim>,
}

/// A failed chain: the segment to blame (None: the job's parameters), and why.
pub type ChainError = (Option<usize>, String);

impl<'a> Chain<'a> {
    /// Checks the parameters no segment is to blame for: the counts and the challenge formula.
    pub fn new(
        job: &str,
        input_size: u64,
        challenge: [u8; 32],
        contributions: &'a [[u8; 32]],
    ) -> std::result::Result<Self, String> {
        if contributions.is_empty() || contributions.len() > MAX_BUNDLE_SEGMENTS {
            return Err(format!(
                "{} contributions; a job has 1 to {MAX_BUNDLE_SEGMENTS} segments",
                contributions.len()
            ));
        }
        if statement::challenge(job, contributions) != challenge {
            return Err("the challenge is not SHA-256 of the job and its contributions".into());
        }
        Ok(Chain {
            input_size,
            challenge,
            contributions,
            next_block: 0,
            state: sponge::initial_state(input_size),
            slices: Vec::with_capacity(contributions.len()),
        })
    }

    /// Verifies the next segment proof.
    pub fn push(&mut self, bytes: &[u8]) -> std::result::Result<(), ChainError> {
        let i = self.slices.len();
        let fail = |r: String| Err((Some(i), r));
        if i >= self.contributions.len() {
            return Err((None, "more proofs than contributions".into()));
        }
        let v = match verify_segment(bytes) {
            Ok(v) => v,
            Err(r) => return fail(r),
        };
        let s = &v.statement;
        if s.segment.index != i as u64 {
            return fail(format!(
                "the proof is for segment {}, not {i}",
                s.segment.index
            ));
        }
        if v.challenge != self.challenge {
            return fail("the proof carries another challenge than the job's".into());
        }
        if s.input_size != self.input_size {
            return fail(format!(
                "the proof is for an input of {} bytes, not {}",
                s.input_size, self.input_size
            ));
        }
        if v.contribution != self.contributions[i] {
            return fail("the proof does not match the segment's contribution".into());
        }
        if s.segment.start_block != self.next_block {
            return fail(format!(
                "the segment starts at block {}, expected {} (gap or overlap)",
                s.segment.start_block, self.next_block
            ));
        }
        if s.start != self.state {
            return fail(if i == 0 {
                "the first segment does not start at the initial state for this input size".into()
            } else {
                format!(
                    "the start state does not equal segment {}'s end state",
                    i - 1
                )
            });
        }
        self.next_block += s.segment.block_count;
        self.state = s.end;
        self.slices.push(SliceClaim {
            segment: s.segment.clone(),
            sha256: s.input_sha256,
        });
        Ok(())
    }

    /// After the last proof: the segments cover the input; returns the proven digest.
    pub fn finish(self) -> std::result::Result<Proven, ChainError> {
        let n = self.contributions.len();
        if self.slices.len() != n {
            return Err((
                None,
                format!("{} proofs for {n} contributions", self.slices.len()),
            ));
        }
        let total = sponge::num_blocks(self.input_size);
        if self.next_block != total {
            return Err((
                Some(n - 1),
                format!(
                    "the segments cover {} blocks, the input has {total}",
                    self.next_block
                ),
            ));
        }
        Ok(Proven {
            digest: sponge::digest_of(&self.state),
            slices: self.slices,
        })
    }
}

/// A segment's input slice and the SHA-256 its header claims for it (the STARK does not prove it).
pub struct SliceClaim {
    pub segment: Segment,
    pub sha256: [u8; 32],
}

/// What a chain of segment proofs proved, and the slice hashes its headers claim.
pub struct Proven {
    pub digest: [BaseElement; 4],
    pub slices: Vec<SliceClaim>,
}

/// `aggregate`'s answer: the proven digest, the bundle's size and SHA-256, its segment count.
#[derive(Serialize, Debug)]
pub struct AggregateResult {
    pub digest: String,
    pub size: u64,
    pub sha256: Hex32,
    pub segments: usize,
}

/// Reads one partial proof file, refusing one over the cap before reading it.
fn read_proof(path: &str, i: usize) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .map_err(|e| PmError::io(path, e))?
        .len();
    if len > MAX_SEGMENT_FILE_BYTES as u64 {
        return Err(PmError::proof_invalid(
            i,
            format!("the proof has {len} bytes, over the {MAX_SEGMENT_FILE_BYTES} allowed"),
        ));
    }
    std::fs::read(path).map_err(|e| PmError::io(path, e))
}

/// The `aggregate` phase: verifies every segment proof one at a time (a bad one is
/// `PROOF_INVALID` naming it, one of another prover version `UNSUPPORTED_VERSION`), then writes the bundle to `out` (atomically; nothing on cancel).
pub fn aggregate(
    job: &str,
    input_size: u64,
    challenge: [u8; 32],
    contributions: &[[u8; 32]],
    proof_paths: &[String],
    out: &str,
    ctx: &Ctx,
) -> Result<AggregateResult> {
    if contributions.len() != proof_paths.len() {
        return Err(PmError::params(format!(
            "{} contributions for {} proofs",
            contributions.len(),
            proof_paths.len()
        )));
    }
    let mut chain =
        Chain::new(job, input_size, challenge, contributions).map_err(PmError::params)?;
    let mut hashes = Vec::with_capacity(proof_paths.len());
    for (i, path) in proof_paths.iter().enumerate() {
        ctx.check()?;
        (ctx.progress)(i as u64, proof_paths.len() as u64);
        let bytes = read_proof(path, i)?;
        if let Some(v) = proof_file::other_version(&bytes, SEGMENT_MAGIC) {
            return Err(PmError::unsupported_version(i, v));
        }
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| chain.push(&bytes)))
            .unwrap_or_else(|_| Err((Some(i), "the verifier panicked on this proof".into())));
        checked.map_err(|(seg, r)| match seg {
            Some(s) => PmError::proof_invalid(s, r),
            None => PmError::params(r),
        })?;
        hashes.push(Sha256::digest(&bytes));
    }
    let proven = chain.finish().map_err(|(seg, r)| match seg {
        Some(s) => PmError::proof_invalid(s, r),
        None => PmError::params(r),
    })?;
    (ctx.progress)(proof_paths.len() as u64, proof_paths.len() as u64);
    let digest = sponge::digest_to_hex(&proven.digest);
    let header = BundleHeader {
        program: PROGRAM_ID.into(),
        job: job.into(),
        input_size,
        total_blocks: sponge::num_blocks(input_size),
        challenge: hex::encode(challenge),
        contributions: contributions.iter().map(hex::encode).collect(),
        digest: digest.clone(),
        segments: proof_paths.len() as u64,
    };
    // Second pass: copy the checked files into the bundle, refusing any that changed meanwhile.
    let mut sha = Sha256::new();
    let mut size = 0u64;
    write_atomic_with(out, ctx, |f| {
        let mut put = |b: &[u8]| -> std::io::Result<()> {
            sha.update(b);
            size += b.len() as u64;
            f.write_all(b)
        };
        put(&proof_file::encode_header(BUNDLE_MAGIC, &header))?;
        for (path, hash) in proof_paths.iter().zip(&hashes) {
            let bytes = std::fs::read(path)?;
            if Sha256::digest(&bytes) != *hash {
                return Err(std::io::Error::other(format!(
                    "{path} changed while it was being aggregated"
                )));
            }
            put(&(bytes.len() as u32).to_le_bytes())?;
            put(&bytes)?;
        }
        Ok(())
    })?;
    Ok(AggregateResult {
        digest,
        size,
        sha256: Hex32(sha.finalize().into()),
        segments: proof_paths.len(),
    })
}

/// The answer of `verify`: an invalid proof carries its reason and nothing it did not prove.
#[derive(Serialize, Debug, Default, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResult {
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl VerifyResult {
    pub fn invalid(reason: impl Into<String>) -> Self {
        VerifyResult {
            valid: false,
            reason: Some(reason.into()),
            ..Default::default()
        }
    }
}

/// What a final proof must also satisfy.
#[derive(Default, Clone, Copy)]
pub struct Expect<'a> {
    /// The statement (hex, any case).
    pub digest: Option<&'a str>,
    pub job: Option<&'a str>,
    /// The input file: its length, digest and every slice SHA-256 are checked.
    pub input: Option<&'a str>,
}

fn read_exact_vec(
    f: &mut File,
    len: usize,
    left: &mut u64,
) -> std::result::Result<Vec<u8>, String> {
    if len as u64 > *left {
        return Err("truncated final proof".into());
    }
    let mut v = vec![0u8; len];
    f.read_exact(&mut v)
        .map_err(|e| format!("reading the final proof: {e}"))?;
    *left -= len as u64;
    Ok(v)
}

/// The `verify` phase on a final proof file. An unreadable file is `IO_ERROR` (as is an unreadable
/// `--input`); anything wrong with the proof is a `valid: false` answer.
pub fn verify_bundle(path: &str, expect: Expect, ctx: &Ctx) -> Result<VerifyResult> {
    let mut f = File::open(path).map_err(|e| PmError::io(path, e))?;
    let mut left = f.metadata().map_err(|e| PmError::io(path, e))?.len();
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_bundle(&mut f, &mut left, expect, ctx)
    }))
    .unwrap_or_else(|_| Ok(VerifyResult::invalid("the verifier panicked on this proof")))?;
    Ok(checked)
}

fn check_bundle(f: &mut File, left: &mut u64, expect: Expect, ctx: &Ctx) -> Result<VerifyResult> {
    macro_rules! invalid {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(r) => return Ok(VerifyResult::invalid(r)),
            }
        };
    }
    let prefix = invalid!(read_exact_vec(f, 12.min(*left as usize), left));
    let n = invalid!(proof_file::header_len(
        &prefix,
        BUNDLE_MAGIC,
        MAX_BUNDLE_HEADER_BYTES,
        "final proof"
    ));
    let header_bytes = invalid!(read_exact_vec(f, n, left));
    let h: BundleHeader = invalid!(proof_file::canonical_json(&header_bytes, "final proof"));
    if h.program != PROGRAM_ID {
        return Ok(VerifyResult::invalid(format!(
            "program '{}' is not {PROGRAM_ID}",
            h.program
        )));
    }
    if let Some(j) = expect.job
        && j != h.job
    {
        return Ok(VerifyResult::invalid(format!(
            "the proof is for another job than '{j}'"
        )));
    }
    if h.segments != h.contributions.len() as u64 {
        return Ok(VerifyResult::invalid(
            "the segment count does not match the contributions",
        ));
    }
    if h.total_blocks != sponge::num_blocks(h.input_size) {
        return Ok(VerifyResult::invalid(
            "totalBlocks does not match inputSize",
        ));
    }
    let challenge = invalid!(hex32(&h.challenge, "challenge"));
    let contributions = invalid!(
        h.contributions
            .iter()
            .map(|c| hex32(c, "contribution"))
            .collect::<std::result::Result<Vec<_>, _>>()
    );
    let mut chain = invalid!(Chain::new(&h.job, h.input_size, challenge, &contributions));
    for i in 0..contributions.len() {
        ctx.check()?;
        (ctx.progress)(i as u64, contributions.len() as u64);
        let len_bytes = invalid!(read_exact_vec(f, 4, left));
        let len =
            u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        if len > MAX_SEGMENT_FILE_BYTES {
            return Ok(VerifyResult::invalid(format!(
                "segment {i}: {len} bytes, over the {MAX_SEGMENT_FILE_BYTES} allowed"
            )));
        }
        let bytes = invalid!(read_exact_vec(f, len, left).map_err(|r| format!("segment {i}: {r}")));
        invalid!(
            chain
                .push(&bytes)
                .map_err(|(s, r)| s.map_or(r.clone(), |s| format!("segment {s}: {r}")))
        );
    }
    if *left != 0 {
        return Ok(VerifyResult::invalid(format!(
            "{left} bytes after the last segment"
        )));
    }
    let proven = invalid!(
        chain
            .finish()
            .map_err(|(s, r)| s.map_or(r.clone(), |s| format!("segment {s}: {r}")))
    );
    (ctx.progress)(contributions.len() as u64, contributions.len() as u64);
    let digest = sponge::digest_to_hex(&proven.digest);
    if digest != h.digest {
        return Ok(VerifyResult::invalid(
            "the digest in the header is not the proven one",
        ));
    }
    if let Some(e) = expect.digest
        && !e.eq_ignore_ascii_case(&digest)
    {
        return Ok(VerifyResult::invalid(format!(
            "the proven digest is not the expected {e}"
        )));
    }
    if let Some(input) = expect.input
        && let Err(r) = check_input(input, h.input_size, &proven, ctx)?
    {
        return Ok(VerifyResult::invalid(r));
    }
    Ok(VerifyResult {
        valid: true,
        digest: Some(digest),
        input_size: Some(h.input_size),
        job: Some(h.job),
        segments: Some(h.segments),
        reason: None,
    })
}

/// `verify --input`: the file has the proven size, hashes to the proven digest, and each
/// segment's slice has the SHA-256 its header claims. The outer error is an unreadable file.
fn check_input(
    path: &str,
    input_size: u64,
    proven: &Proven,
    ctx: &Ctx,
) -> Result<std::result::Result<(), String>> {
    let size = std::fs::metadata(path)
        .map_err(|e| PmError::io(path, e))?
        .len();
    if size != input_size {
        return Ok(Err(format!(
            "the input has {size} bytes; the proof is about {input_size}"
        )));
    }
    let input = InputRef {
        path: path.into(),
        offset: 0,
    };
    let mut state = sponge::initial_state(input_size);
    for (i, claim) in proven.slices.iter().enumerate() {
        ctx.check()?;
        let seg = &claim.segment;
        let bytes = read_range(&input, seg.input_offset, seg.input_length)?;
        if Sha256::digest(&bytes).as_slice() != claim.sha256 {
            return Ok(Err(format!(
                "segment {i}'s input slice does not have the SHA-256 its proof names"
            )));
        }
        sponge::run_blocks(
            &mut state,
            seg.start_block,
            seg.block_count,
            &bytes,
            input_size,
        );
    }
    if sponge::digest_of(&state) != proven.digest {
        return Ok(Err("the input does not hash to the proven digest".into()));
    }
    Ok(Ok(()))
}
