//! Segment proves in a child process, so that `cancel` really stops them.
//!
//! Winterfell's `prove` call cannot be interrupted. In `serve` mode a `prove` request therefore
//! runs `proofmesh-prover prove-child` (a hidden command): the parent writes one JSON line with
//! the request on the child's stdin and keeps that pipe open; the child prints `{"progress":[d,t]}`
//! lines and then one `{"result":{…}}` or `{"error":{…}}` line on stdout, after writing the proof
//! to a temporary file next to `out`. On cancel the parent kills the child (CPU and memory are
//! freed at once) and removes the temporary file; on success it renames the file to `out`. The
//! child exits by itself when its stdin closes, so it does not outlive a killed parent.
//! If the child cannot be started, the prove runs in-process (then a cancelled prove keeps a
//! thread busy until winterfell returns, and its result is discarded).

use crate::error::{PmError, Result};
use crate::program::{self, Ctx, InputRef, Segment};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChildRequest {
    pub input_size: u64,
    pub segment: Segment,
    pub input: InputRef,
    pub hints: Option<String>,
    pub challenge: String,
    pub tmp_out: String,
}

fn line(v: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

/// The `prove-child` command: returns the exit code.
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
    let res = (|| -> Result<Value> {
        let req: ChildRequest = serde_json::from_str(&first)
            .map_err(|e| PmError::params(format!("prove-child: bad request: {e}")))?;
        let challenge: [u8; 32] = hex::decode(&req.challenge)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| PmError::params("challenge must be 32 bytes of hex"))?;
        let progress = |d: u64, t: u64| line(json!({"progress": [d, t]}));
        let ctx = Ctx {
            cancelled: &|| false,
            progress: &progress,
        };
        let r = program::prove(
            req.input_size,
            &req.segment,
            &req.input,
            req.hints.as_deref(),
            challenge,
            &ctx,
        )?;
        program::write_atomic(&req.tmp_out, &r.bytes)?;
        use sha2::Digest;
        Ok(
            json!({"size": r.bytes.len(), "sha256": hex::encode(sha2::Sha256::digest(&r.bytes)),
                  "millis": r.millis}),
        )
    })();
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

/// Proves in a child process and moves the proof to `out`. Returns `None` when no child could be
/// started (the caller then proves in-process).
pub fn prove_in_child(
    input_size: u64,
    segment: &Segment,
    input: &InputRef,
    hints: Option<&str>,
    challenge: &str,
    out: &str,
    ctx: &Ctx,
) -> Option<Result<Value>> {
    let exe = std::env::current_exe().ok()?;
    let tmp = tmp_path(out);
    let req = ChildRequest {
        input_size,
        segment: segment.clone(),
        input: input.clone(),
        hints: hints.map(|h| h.to_string()),
        challenge: challenge.to_string(),
        tmp_out: tmp.clone(),
    };
    let mut child = Command::new(exe)
        .arg("prove-child")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let stdout = child.stdout.take()?;
    if writeln!(stdin, "{}", serde_json::to_string(&req).unwrap()).is_err() {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    }
    let _ = stdin.flush();
    let child = Mutex::new(child);
    let finished = AtomicBool::new(false);
    let mut answer: Option<Value> = None;
    std::thread::scope(|s| {
        s.spawn(|| {
            while !finished.load(Ordering::Relaxed) {
                if (ctx.cancelled)() {
                    let _ = child.lock().unwrap().kill();
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
                (ctx.progress)(d, t);
            } else {
                answer = Some(v);
            }
        }
        finished.store(true, Ordering::Relaxed);
    });
    drop(stdin);
    let status = child.into_inner().unwrap().wait();
    let result = if (ctx.cancelled)() {
        Err(PmError::cancelled())
    } else {
        match answer {
            Some(v) if v.get("result").is_some() => match std::fs::rename(&tmp, out) {
                Ok(()) => Ok(v["result"].clone()),
                Err(e) => Err(PmError::io(out, e)),
            },
            Some(v) if v.get("error").is_some() => {
                let e = &v["error"];
                Err(PmError {
                    code: e["code"].as_i64().unwrap_or(crate::error::INTERNAL_ERROR),
                    message: e["message"].as_str().unwrap_or("prove failed").to_string(),
                    data: e.get("data").filter(|d| !d.is_null()).cloned(),
                })
            }
            _ => Err(PmError::internal(format!(
                "the prove child process ended without an answer ({})",
                status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|e| e.to_string())
            ))),
        }
    };
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    Some(result)
}
