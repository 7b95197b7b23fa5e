//! Helpers shared by the integration tests: temporary folders, input bytes, a job run through
//! every phase, verification of a final proof's bytes.

#![allow(dead_code)]

use proofmesh_prover::ctx::Ctx;
use proofmesh_prover::error;
use proofmesh_prover::input::InputRef;
use proofmesh_prover::plan;
use proofmesh_prover::segment::{self, Segment};
use proofmesh_prover::verify::{self, Expect};
use proofmesh_prover::{prove, statement};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

pub fn tmpdir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "pm-native-test-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn data(n: usize, seed: u64) -> Vec<u8> {
    proofmesh_prover::sample::bytes(n, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
}

/// A job run through every phase.
pub struct Job {
    pub dir: PathBuf,
    pub name: String,
    pub input: InputRef,
    pub size: u64,
    pub segments: Vec<Segment>,
    pub hints: String,
    pub contributions: Vec<[u8; 32]>,
    pub challenge: [u8; 32],
    pub proofs: Vec<String>,
}

/// A job's folder (its input, hints and proofs) goes with it.
impl Drop for Job {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Job {
    pub fn aggregate(&self) -> Result<Aggregated, error::PmError> {
        let out = self.dir.join("final").to_string_lossy().to_string();
        let r = verify::aggregate(
            &self.name,
            self.size,
            self.challenge,
            &self.contributions,
            &self.proofs,
            &out,
            &Ctx::none(),
        )?;
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(r.size, bytes.len() as u64);
        Ok(Aggregated {
            digest: r.digest,
            bytes,
        })
    }
}

/// A final proof and its digest.
#[derive(Debug)]
pub struct Aggregated {
    pub digest: String,
    pub bytes: Vec<u8>,
}

pub fn job_with_segments(bytes: &[u8], segments: Vec<Segment>, tag: &str) -> Job {
    let dir = tmpdir(tag);
    let path = dir.join("input");
    std::fs::write(&path, bytes).unwrap();
    let input = InputRef {
        path: path.to_string_lossy().into(),
        offset: 0,
    };
    let size = bytes.len() as u64;
    let ctx = Ctx::none();
    let hints = dir.join("hints").to_string_lossy().to_string();
    // hints covering every block boundary
    let workers: Vec<(String, u64)> = vec![("w".into(), 1)];
    plan::plan(&input, &workers, 1, Some(&hints), &ctx).unwrap();
    let contributions: Vec<[u8; 32]> = segments
        .iter()
        .map(|s| statement::contribute(size, s, &input, Some(&hints), &ctx).unwrap())
        .collect();
    let name = format!("job-{tag}");
    let challenge = statement::challenge(&name, &contributions);
    let proofs = segments
        .iter()
        .map(|s| {
            let r = prove::prove(size, s, &input, Some(&hints), challenge, &ctx).unwrap();
            let p = dir.join(format!("seg{}", s.index));
            std::fs::write(&p, &r.bytes).unwrap();
            p.to_string_lossy().to_string()
        })
        .collect();
    Job {
        dir,
        name,
        input,
        size,
        segments,
        hints,
        contributions,
        challenge,
        proofs,
    }
}

pub fn job(bytes: &[u8], n_segments: u64, tag: &str) -> Job {
    let dir = tmpdir("plan");
    let path = dir.join("input");
    std::fs::write(&path, bytes).unwrap();
    let workers: Vec<(String, u64)> = (0..n_segments).map(|i| (format!("w{i}"), 1)).collect();
    let plan = plan::plan(
        &InputRef {
            path: path.to_string_lossy().into(),
            offset: 0,
        },
        &workers,
        segment::MAX_SEGMENT_BLOCKS,
        None,
        &Ctx::none(),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let segs = plan.segments.into_iter().map(|s| s.segment).collect();
    job_with_segments(bytes, segs, tag)
}

/// Verifies a final proof's bytes (written to a file, as `verify` reads one).
pub fn verify_with(bytes: &[u8], expect: Expect) -> verify::VerifyResult {
    let dir = tmpdir("verify");
    let path = dir.join("final");
    std::fs::write(&path, bytes).unwrap();
    let result = verify::verify_bundle(&path.to_string_lossy(), expect, &Ctx::none());
    // The sweeps verify thousands of proofs: each leaves no folder behind.
    let _ = std::fs::remove_dir_all(&dir);
    result.unwrap()
}

pub fn verify(bytes: &[u8], digest: Option<&str>) -> verify::VerifyResult {
    verify_with(
        bytes,
        Expect {
            digest,
            ..Default::default()
        },
    )
}
