//! `proofmesh-prover`: the reference native prover of proofmesh (program `rescue-sponge`).
//!
//! Exit codes: 0 ok, 1 verification failed, 2 usage or I/O error.

use clap::{Args, Parser, Subcommand};
use proofmesh_prover::ctx::Ctx;
use proofmesh_prover::error::{self, PmError};
use proofmesh_prover::hex32::Hex32;
use proofmesh_prover::input::InputRef;
use proofmesh_prover::out_file::write_atomic;
use proofmesh_prover::segment::{self, MAX_SEGMENT_BLOCKS, Segment};
use proofmesh_prover::statement::{self, Contributed};
use proofmesh_prover::verify::{self, Expect};
use proofmesh_prover::{npp, plan, prove, sponge};
use serde_json::json;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "proofmesh-prover",
    version,
    about = "Reference native prover of proofmesh: STARK proofs (winterfell 0.13) that a digest is \
             the Rescue-Prime Rp64_256 sponge hash of an input, split into segments.",
    long_about = "Reference native prover of proofmesh: STARK proofs (winterfell 0.13) that a \
                  digest is the Rescue-Prime Rp64_256 sponge hash of an input, split into \
                  segments of blocks (56 bytes per block).\n\n`serve` speaks NPP v1 \
                  (protocols/native-prover.md) on stdin/stdout; the other commands run one phase \
                  and print JSON on stdout.\n\nExit codes: 0 ok, 1 verification failed, 2 usage \
                  or I/O error."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve NPP v1 (newline-delimited JSON-RPC 2.0) on stdin/stdout; logs go to stderr.
    Serve,
    /// Internal: one prove, aggregate or verify for `serve` (request as a JSON line on stdin).
    #[command(hide = true)]
    Child,
    /// Print the rescue-sponge digest (hex, 4 little-endian u64) of a file.
    Hash {
        /// The input file.
        input: String,
    },
    /// Split an input into segments for workers (prints the plan as JSON).
    Plan {
        /// The whole input file.
        #[arg(long)]
        input: String,
        /// Workers and their compute units, e.g. `A=10,B=5` (default: one worker `local=1`).
        #[arg(long, default_value = "local=1", value_delimiter = ',')]
        workers: Vec<String>,
        /// At most this many blocks per segment (default 32768 = 2^18 trace rows).
        #[arg(long, default_value_t = MAX_SEGMENT_BLOCKS)]
        max_segment_blocks: u64,
        /// Also write the hints file (sponge states at segment boundaries) here.
        #[arg(long)]
        hints_out: Option<String>,
    },
    /// Phase 1: print the deterministic contribution (commitment) of one segment.
    Contribute(SegArgs),
    /// Phase 2: prove one segment bound to the job's challenge; writes the segment proof.
    Prove {
        #[command(flatten)]
        seg: SegArgs,
        /// The job's global challenge (64 lower-case hex digits).
        #[arg(long)]
        challenge: Hex32,
        /// Where to write the segment proof.
        #[arg(long)]
        out: String,
    },
    /// Phase 3: verify every segment proof, check the chain and the challenge, write the bundle.
    /// Exit 1 when a segment proof is invalid.
    Aggregate {
        /// The job id (enters the challenge).
        #[arg(long)]
        job: String,
        /// The size of the whole input in bytes.
        #[arg(long)]
        input_size: u64,
        /// The job's global challenge (64 lower-case hex digits).
        #[arg(long)]
        challenge: Hex32,
        /// The contributions in segment order (64 lower-case hex digits each, comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        contributions: Vec<Hex32>,
        /// The segment proof files in segment order.
        #[arg(long, num_args = 1.., required = true)]
        proofs: Vec<String>,
        /// Where to write the final proof (bundle).
        #[arg(long)]
        out: String,
    },
    /// Verify a final proof; exit 0 when valid, 1 when not (the reason is printed). Prints only
    /// what the proof proves: digest, input size, job, segment count.
    Verify {
        /// The final proof (bundle) file.
        #[arg(long)]
        proof: String,
        /// The expected digest (hex); when given it must equal the proven one.
        #[arg(long, conflicts_with = "input")]
        digest: Option<String>,
        /// The input the proof must be about: its size and digest must be the proven ones, and
        /// each segment's slice must have the SHA-256 its proof names.
        #[arg(long)]
        input: Option<String>,
        /// The expected job id.
        #[arg(long)]
        job: Option<String>,
    },
    /// Run every phase on this machine: plan N segments, contribute, derive the challenge,
    /// prove, aggregate, verify. Writes the final proof; exit 1 if it does not verify.
    ProveAll {
        /// The input file.
        #[arg(long)]
        input: String,
        /// Number of segments (each at most --max-segment-blocks blocks; more if needed).
        #[arg(long, default_value_t = 1)]
        segments: u64,
        /// At most this many blocks per segment.
        #[arg(long, default_value_t = MAX_SEGMENT_BLOCKS)]
        max_segment_blocks: u64,
        /// The job id.
        #[arg(long, default_value = "local")]
        job: String,
        /// Where to write the final proof.
        #[arg(long)]
        out: String,
        /// Folder for the hints and segment proofs (default: next to --out).
        #[arg(long)]
        work_dir: Option<String>,
    },
}

#[derive(Args)]
struct SegArgs {
    /// The input file (the whole input, or a slice with --input-offset and --hints).
    #[arg(long)]
    input: String,
    /// The position in the whole input of the file's first byte.
    #[arg(long, default_value_t = 0)]
    input_offset: u64,
    /// The size of the whole input (default: the file's size, when --input-offset is 0).
    #[arg(long)]
    input_size: Option<u64>,
    /// Segment index.
    #[arg(long)]
    index: u64,
    /// First block of the segment.
    #[arg(long)]
    start_block: u64,
    /// Number of blocks of the segment.
    #[arg(long)]
    block_count: u64,
    /// Hints file written by `plan --hints-out`.
    #[arg(long)]
    hints: Option<String>,
}

impl SegArgs {
    fn resolve(&self) -> Result<(u64, Segment, InputRef), PmError> {
        let size = match self.input_size {
            Some(s) => s,
            None if self.input_offset == 0 => std::fs::metadata(&self.input)
                .map_err(|e| PmError::io(&self.input, e))?
                .len(),
            None => {
                return Err(PmError::params(
                    "--input-size is needed with --input-offset",
                ));
            }
        };
        let seg = segment::segment_for(self.index, self.start_block, self.block_count, size);
        Ok((
            size,
            seg,
            InputRef {
                path: self.input.clone(),
                offset: self.input_offset,
            },
        ))
    }
}

fn print(v: impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(&v).expect("a result serialises")
    );
}

fn workers(list: &[String]) -> Result<Vec<(String, u64)>, PmError> {
    list.iter()
        .map(|w| {
            let (id, units) = w
                .split_once('=')
                .ok_or_else(|| PmError::params(format!("worker '{w}' is not ID=UNITS")))?;
            let units = units
                .parse()
                .map_err(|_| PmError::params(format!("bad units in '{w}'")))?;
            Ok((id.to_string(), units))
        })
        .collect()
}

fn prove_all(
    input: &str,
    segments: u64,
    max_blocks: u64,
    job: &str,
    out: &str,
    work_dir: Option<&str>,
) -> Result<ExitCode, PmError> {
    let ctx = Ctx::none();
    let t0 = Instant::now();
    let dir = match work_dir {
        Some(d) => std::path::PathBuf::from(d),
        None => std::path::Path::new(out)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| ".".into()),
    };
    std::fs::create_dir_all(&dir).map_err(|e| PmError::io(&dir.to_string_lossy(), e))?;
    let path = |name: &str| dir.join(name).to_string_lossy().to_string();
    let input_ref = InputRef {
        path: input.into(),
        offset: 0,
    };
    let ws: Vec<(String, u64)> = (0..segments.max(1)).map(|i| (format!("w{i}"), 1)).collect();
    let hints = path(&format!("{job}.hints"));
    let plan = plan::plan(&input_ref, &ws, max_blocks, Some(&hints), &ctx)?;
    let t_plan = t0.elapsed();
    let mut contributions = Vec::new();
    for s in &plan.segments {
        contributions.push(statement::contribute(
            plan.prepared.input_size,
            &s.segment,
            &input_ref,
            Some(&hints),
            &ctx,
        )?);
    }
    let challenge = statement::challenge(job, &contributions);
    let t1 = Instant::now();
    let mut proofs = Vec::new();
    let mut seg_ms = Vec::new();
    for s in &plan.segments {
        let r = prove::prove(
            plan.prepared.input_size,
            &s.segment,
            &input_ref,
            Some(&hints),
            challenge,
            &ctx,
        )?;
        let p = path(&format!("{job}.seg{}.proof", s.segment.index));
        write_atomic(&p, &r.bytes)?;
        seg_ms.push(r.millis);
        proofs.push(p);
    }
    let t_prove = t1.elapsed();
    let t2 = Instant::now();
    let agg = verify::aggregate(
        job,
        plan.prepared.input_size,
        challenge,
        &contributions,
        &proofs,
        out,
        &ctx,
    )?;
    let t_agg = t2.elapsed();
    let t3 = Instant::now();
    let expect = Expect {
        digest: Some(&agg.digest),
        job: Some(job),
        input: None,
    };
    let v = verify::verify_bundle(out, expect, &ctx)?;
    let t_verify = t3.elapsed();
    print(json!({
        "valid": v.valid,
        "reason": v.reason,
        "digest": agg.digest,
        "inputSize": plan.prepared.input_size,
        "totalBlocks": plan.prepared.total_blocks,
        "segments": plan.segments.len(),
        "proof": out,
        "proofSize": agg.size,
        "millis": {"plan": t_plan.as_millis() as u64, "prove": t_prove.as_millis() as u64,
                   "segments": seg_ms, "aggregate": t_agg.as_millis() as u64,
                   "verify": t_verify.as_millis() as u64},
    }));
    Ok(if v.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn run(cli: Cli) -> Result<ExitCode, PmError> {
    let ctx = Ctx::none();
    match cli.cmd {
        Cmd::Serve => {
            let stdin = std::io::stdin();
            npp::serve(stdin.lock(), std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Child => Ok(ExitCode::from(proofmesh_prover::child::child_main())),
        Cmd::Hash { input } => {
            let bytes = std::fs::read(&input).map_err(|e| PmError::io(&input, e))?;
            let t = Instant::now();
            let d = sponge::hash(&bytes);
            print(
                json!({"digest": sponge::digest_to_hex(&d), "inputSize": bytes.len(),
                         "blocks": sponge::num_blocks(bytes.len() as u64),
                         "millis": t.elapsed().as_millis() as u64}),
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Plan {
            input,
            workers: w,
            max_segment_blocks,
            hints_out,
        } => {
            let r = plan::plan(
                &InputRef {
                    path: input,
                    offset: 0,
                },
                &workers(&w)?,
                max_segment_blocks,
                hints_out.as_deref(),
                &ctx,
            )?;
            print(r);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Contribute(a) => {
            let (size, seg, input) = a.resolve()?;
            let c = statement::contribute(size, &seg, &input, a.hints.as_deref(), &ctx)?;
            print(Contributed {
                segment: seg.index,
                contribution: Hex32(c),
            });
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Prove {
            seg: a,
            challenge,
            out,
        } => {
            let (size, seg, input) = a.resolve()?;
            let r = prove::prove(size, &seg, &input, a.hints.as_deref(), challenge.0, &ctx)?;
            write_atomic(&out, &r.bytes)?;
            print(r.summary(seg.index));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Aggregate {
            job,
            input_size,
            challenge,
            contributions,
            proofs,
            out,
        } => {
            let contributions: Vec<[u8; 32]> = contributions.iter().map(|c| c.0).collect();
            let r = verify::aggregate(
                &job,
                input_size,
                challenge.0,
                &contributions,
                &proofs,
                &out,
                &ctx,
            )?;
            print(r);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Verify {
            proof,
            digest,
            input,
            job,
        } => {
            let expect = Expect {
                digest: digest.as_deref(),
                job: job.as_deref(),
                input: input.as_deref(),
            };
            let v = verify::verify_bundle(&proof, expect, &ctx)?;
            let valid = v.valid;
            print(v);
            Ok(if valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::ProveAll {
            input,
            segments,
            max_segment_blocks,
            job,
            out,
            work_dir,
        } => prove_all(
            &input,
            segments,
            max_segment_blocks,
            &job,
            &out,
            work_dir.as_deref(),
        ),
    }
}

/// The binary is built for x86-64-v3 by default (native/.cargo/config.toml): refuse clearly on a
/// CPU without AVX2/BMI2/FMA instead of dying of an illegal instruction.
fn check_cpu() -> Result<(), String> {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        let ok = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("bmi2")
            && std::arch::is_x86_feature_detected!("fma");
        if !ok {
            return Err(
                "this binary was built for x86-64-v3 (AVX2, BMI2, FMA) and this CPU lacks \
                        them; rebuild with RUSTFLAGS=\"-C target-cpu=x86-64\" cargo build --release"
                    .into(),
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    if let Err(e) = check_cpu() {
        eprintln!("proofmesh-prover: error: {e}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("proofmesh-prover: error: {e}");
            if e.code == error::PROOF_INVALID || e.code == error::UNSUPPORTED_VERSION {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}
