//! Work that `serve` runs in a child process (`proofmesh-prover child`, a hidden command).
//!
//! * `prove`: winterfell's `prove` call cannot be interrupted; a child can be killed on `cancel`,
//!   which frees its CPU and memory at once.
//! * `aggregate` and `verify`: they decode bytes other peers made. `catch_unwind` turns a panic
//!   into an answer, but not an abort or a stack overflow; in a child with a capped address space
//!   such a fault ends the child, not `serve` (the daemon's prover), and the parent answers it as
//!   the proof's fault: `PROOF_INVALID` naming the segment being checked, or `valid: false`.
//!
//! The parent writes one JSON line with the request on the child's stdin and keeps that pipe
//! open; the child prints `{"progress":[d,t]}` lines, then one `{"result":…}` or `{"error":…}`
//! line. Output files go to a temporary path next to `out` that the parent renames on success
//! and removes otherwise. The child exits by itself when its stdin closes, so it does not outlive
//! a killed parent. If no child can be started, the work runs in-process.

use crate::ctx::Ctx;
use crate::error::{self, PmError, Result};
use crate::out_file::write_atomic_with;
use crate::params::{AggregateParams, ProveParams, VerifyParams};
use crate::prove;
use crate::verify::{self, Expect};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The address space of an `aggregate` or `verify` child: checking one segment proof takes a few
/// tens of MB; the cap leaves room for the runtime's thread stacks and arenas.
const CHECK_ADDRESS_SPACE_BYTES: u64 = 2 << 30;

/// A request run in a child: the method and its NPP parameters.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(tag = "method", content = "params", rename_all = "camelCase")]
pub enum ChildRequest {
    Prove(ProveParams),
    Aggregate(AggregateParams),
    Verify(VerifyParams),
}

impl ChildRequest {
    fn out_mut(&mut self) -> Option<&mut String> {
        match self {
            ChildRequest::Prove(p) => Some(&mut p.out),
            ChildRequest::Aggregate(p) => Some(&mut p.out),
            ChildRequest::Verify(_) => None,
        }
    }
}

/// Runs a request here (in the child, or in `serve` when no child can be started).
pub fn run(req: &ChildRequest, ctx: &Ctx) -> Result<Value> {
    match req {
        ChildRequest::Prove(p) => {
            let r = prove::prove(
                p.seg.input_size,
                &p.seg.segment,
                &p.seg.input,
                p.seg.hints.as_deref(),
                p.challenge.0,
                ctx,
            )?;
            write_atomic_with(&p.out, ctx, |f| f.write_all(&r.bytes))?;
            Ok(to_value(r.summary(p.seg.segment.index)))
        }
        ChildRequest::Aggregate(p) => {
            let contributions: Vec<[u8; 32]> = p.contributions.iter().map(|c| c.0).collect();
            let r = verify::aggregate(
                &p.job,
                p.input_size,
                p.challenge.0,
                &contributions,
                &p.proofs,
                &p.out,
                ctx,
            )?;
            Ok(to_value(r))
        }
        ChildRequest::Verify(p) => {
            let expect = Expect {
                digest: p.digest.as_deref(),
                job: p.job.as_deref(),
                input: p.input.as_deref(),
            };
            Ok(to_value(verify::verify_bundle(&p.proof, expect, ctx)?))
        }
    }
}

/// A method's typed result as the JSON of its NPP answer (the types hold strings and numbers
/// only, so this cannot fail).
pub(crate) fn to_value(r: impl Serialize) -> Value {
    serde_json::to_value(r).expect("a result serialises")
}

fn line(v: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

/// Caps this process's address space (Linux; elsewhere the cap is not set).
fn cap_address_space(bytes: u64) {
    #[cfg(target_os = "linux")]
    {
        let lim = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: bytes,
        };
        // SAFETY: setrlimit reads the struct we pass and changes only this process's limits.
        unsafe {
            libc::setrlimit(libc::RLIMIT_AS, &lim);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = bytes;
}

/// The `child` command: returns the exit code.
pub fn child_main() -> u8 {
    let mut first = String::new();
    if std::io::stdin().lock().read_line(&mut first).is_err() {
        return 2;
    }
    // Exit when the parent closes our stdin (or dies).
    std::thread::spawn(|| {
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin();
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => std::process::exit(4),
                Ok(_) => {}
            }
        }
    });
    let res = serde_json::from_str::<ChildRequest>(&first)
        .map_err(|e| PmError::params(format!("child: bad request: {e}")))
        .and_then(|req| {
            if !matches!(req, ChildRequest::Prove(_)) {
                cap_address_space(CHECK_ADDRESS_SPACE_BYTES);
            }
            let progress = |d: u64, t: u64| line(json!({"progress": [d, t]}));
            let ctx = Ctx {
                cancelled: &|| false,
                progress: &progress,
            };
            run(&req, &ctx)
        });
    match res {
        Ok(v) => line(json!({ "result": v })),
        Err(e) => line(json!({"error": {"code": e.code, "message": e.message, "data": e.data}})),
    }
    0
}

fn tmp_path(out: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let p = std::path::Path::new(out);
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    dir.join(format!(
        ".{name}.child-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
    .to_string_lossy()
    .to_string()
}

/// What a child that died without an answer means for its request.
fn died(req: &ChildRequest, status: String, last_done: u64) -> Result<Value> {
    match req {
        ChildRequest::Prove(_) => Err(PmError::internal(format!(
            "the prove child process ended without an answer ({status})"
        ))),
        ChildRequest::Aggregate(p) => Err(PmError::proof_invalid(
            (last_done as usize).min(p.proofs.len().saturating_sub(1)),
            format!("the verifier process died checking this proof ({status})"),
        )),
        ChildRequest::Verify(_) => Ok(json!({
            "valid": false,
            "reason": format!("the verifier process died on this proof ({status})"),
        })),
    }
}

/// Runs `req` in a child process; its output file (if any) is moved to the request's `out`.
/// Returns `None` when no child could be started (the caller then runs it in-process).
pub fn run_in_child(req: &ChildRequest, ctx: &Ctx) -> Option<Result<Value>> {
    let exe = std::env::current_exe().ok()?;
    let mut req = req.clone();
    let out = req.out_mut().map(|o| {
        let final_out = o.clone();
        *o = tmp_path(&final_out);
        (final_out, o.clone())
    });
    let mut child = Command::new(exe)
        .arg("child")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let stdout = child.stdout.take()?;
    let request = serde_json::to_string(&req).expect("a child request serialises");
    if writeln!(stdin, "{request}").is_err() {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    }
    let _ = stdin.flush();
    let child = Mutex::new(child);
    let finished = AtomicBool::new(false);
    let mut answer: Option<Value> = None;
    let mut last_done = 0u64;
    std::thread::scope(|s| {
        s.spawn(|| {
            while !finished.load(Ordering::Relaxed) {
                if (ctx.cancelled)() {
                    let _ = child.lock().unwrap_or_else(|e| e.into_inner()).kill();
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        for l in BufReader::new(stdout).lines() {
            let Ok(l) = l else { break };
            let Ok(v) = serde_json::from_str::<Value>(&l) else {
                continue;
            };
            if let Some(p) = v.get("progress").and_then(|p| p.as_array()) {
                let d = p.first().and_then(|x| x.as_u64()).unwrap_or(0);
                let t = p.get(1).and_then(|x| x.as_u64()).unwrap_or(0);
                last_done = d;
                (ctx.progress)(d, t);
            } else {
                answer = Some(v);
            }
        }
        finished.store(true, Ordering::Relaxed);
    });
    drop(stdin);
    let status = child
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .wait()
        .map(|s| s.to_string())
        .unwrap_or_else(|e| e.to_string());
    let result = if (ctx.cancelled)() {
        Err(PmError::cancelled())
    } else {
        match answer {
            Some(v) if v.get("result").is_some() => match &out {
                Some((final_out, tmp)) => std::fs::rename(tmp, final_out)
                    .map(|_| v["result"].clone())
                    .map_err(|e| PmError::io(final_out, e)),
                None => Ok(v["result"].clone()),
            },
            Some(v) if v.get("error").is_some() => {
                let e = &v["error"];
                Err(PmError {
                    code: e["code"].as_i64().unwrap_or(error::INTERNAL_ERROR),
                    message: e["message"]
                        .as_str()
                        .unwrap_or("the child failed")
                        .to_string(),
                    data: e.get("data").filter(|d| !d.is_null()).cloned(),
                })
            }
            _ => died(&req, status, last_done),
        }
    };
    if result.is_err()
        && let Some((_, tmp)) = &out
    {
        let _ = std::fs::remove_file(tmp);
    }
    Some(result)
}
