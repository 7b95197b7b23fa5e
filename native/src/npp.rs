//! NPP server (versions 1 and 2): newline-delimited JSON-RPC 2.0 over stdin/stdout.
//!
//! `hello` picks the highest version both sides speak. The versions differ only in `plan`: in v2
//! the daemon gives the segments and the prover checks them, in v1 the prover splits the input
//! for weighted workers. `serve` tells them apart by `plan`'s params (`segments` or `workers`),
//! so a daemon that negotiated either version is served.
//!
//! One thread reads stdin; every long request (`plan`, `contribute`, `prove`, `aggregate`,
//! `verify`) runs on its own worker thread, so requests run concurrently and replies may come out
//! of order. A single writer thread owns stdout; every reply and notification goes through its
//! channel, one line each. Logs go to stderr.
//!
//! Cancellation: `cancel {job}` sets the cancel flag of every running request of that name (a
//! request's `name`, else its `job`: a daemon names each session's `aggregate`). Each
//! request is watched by a waiter thread that polls the flag every 50 ms and answers `CANCELLED`
//! at once. The work polls the flag between steps (every 4096 blocks while hashing, every 1024
//! blocks while building the trace, between phases). Winterfell's `prove` call itself cannot be
//! interrupted, so segment proves run in a child process that is killed on cancel; `aggregate`
//! and `verify`, which decode other peers' bytes, run in a child with a capped address space, so
//! that no fault in a decoder can end `serve` (see [`crate::child`]). If no child can be started,
//! the work runs in-process: a cancelled prove then keeps one worker thread busy until winterfell
//! returns, and its result is discarded and its `out` file is not written.

use crate::child::{self, ChildRequest};
use crate::ctx::Ctx;
use crate::error::{self, PmError, Result};
use crate::hex32::Hex32;
use crate::params::{
    AggregateParams, ContributeParams, LayoutParams, PlanParams, ProveParams, VerifyParams,
};
use crate::plan;
use crate::program::{self, PROGRAM_DESCRIPTION, PROGRAM_ID};
use crate::segment::MAX_SEGMENT_BLOCKS;
use crate::statement::{self, Contributed};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The NPP versions this prover speaks, oldest first.
pub const PROTOCOLS: [u64; 2] = [1, 2];

type Flags = Arc<Mutex<HashMap<String, Vec<(u64, Arc<AtomicBool>)>>>>;

struct Server {
    out: Sender<String>,
    flags: Flags,
    next: AtomicU64,
    /// Requests whose reply has not been queued yet.
    active: AtomicU64,
    /// The id of the `shutdown` request, answered once the running requests have answered.
    shutdown_id: Mutex<Option<Value>>,
}

fn reply_ok(id: &Value, result: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string()
}

fn reply_err(id: &Value, e: &PmError) -> String {
    let mut err = json!({"code": e.code, "message": e.message});
    if let Some(d) = &e.data {
        err["data"] = d.clone();
    }
    json!({"jsonrpc": "2.0", "id": id, "error": err}).to_string()
}

fn notify(method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string()
}

fn parse<T: for<'de> Deserialize<'de>>(params: Value) -> Result<T> {
    serde_json::from_value(params).map_err(|e| PmError::params(format!("bad params: {e}")))
}

fn check_job(job: &str) -> Result<()> {
    if job.len() > 128 {
        return Err(PmError::params("job is longer than 128 characters"));
    }
    Ok(())
}

/// The name `cancel` and `progress` know a request by: v2's optional `name` (a daemon's session of
/// the job: two sessions of one job id on one peer must not share `cancel {job}`), else `job`.
fn request_name(params: &Value) -> Result<Option<&str>> {
    let name = params.get("name").or_else(|| params.get("job"));
    match name {
        None => Ok(None),
        Some(n) => {
            let n = n
                .as_str()
                .ok_or_else(|| PmError::params("name and job must be strings"))?;
            check_job(n)?;
            Ok(Some(n))
        }
    }
}

/// The version `hello`'s params ask for: the highest of `versions` this prover speaks (a v2
/// client), else `protocol` (a v1 client sends only that); INVALID_PARAMS naming both sides'
/// versions when there is none in common.
fn negotiate(params: &Value) -> Result<u64> {
    let offered: Vec<u64> = match params.get("versions") {
        Some(v) => v
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .ok_or_else(|| PmError::params("hello: versions must be an array of numbers"))?,
        None => params
            .get("protocol")
            .and_then(Value::as_u64)
            .into_iter()
            .collect(),
    };
    PROTOCOLS
        .iter()
        .rev()
        .find(|v| offered.contains(v))
        .copied()
        .ok_or_else(|| {
            PmError::params(format!(
                "this prover speaks NPP {}; the client offered {}",
                list(&PROTOCOLS),
                if offered.is_empty() {
                    "no version".to_string()
                } else {
                    list(&offered)
                }
            ))
        })
}

fn list(versions: &[u64]) -> String {
    versions
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn hello_result(protocol: u64) -> Value {
    json!({
        "name": "proofmesh-prover",
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": protocol,
        "programs": [{
            "id": PROGRAM_ID,
            "description": PROGRAM_DESCRIPTION,
            "segmented": true,
            "blockBytes": crate::sponge::BLOCK_BYTES,
            "maxSegmentBlocks": MAX_SEGMENT_BLOCKS,
        }],
        "gpus": [],
    })
}

/// Runs a request in a child process (see [`crate::child`]), or here if none can be started.
fn run_child_or_here(req: ChildRequest, ctx: &Ctx) -> Result<Value> {
    child::run_in_child(&req, ctx).unwrap_or_else(|| child::run(&req, ctx))
}

/// Runs one long method. `cancelled` must be checked before writing any output file.
fn run_method(method: &str, params: Value, ctx: &Ctx) -> Result<Value> {
    request_name(&params)?;
    match method {
        "plan" if params.get("segments").is_some() => {
            let p: LayoutParams = parse(params)?;
            check_job(&p.job)?;
            program::check_program(&p.program)?;
            let r = plan::prepare(&p.input, &p.segments, p.hints_out.as_deref(), ctx)?;
            Ok(child::to_value(r))
        }
        "plan" => {
            let p: PlanParams = parse(params)?;
            check_job(&p.job)?;
            program::check_program(&p.program)?;
            let workers: Vec<(String, u64)> =
                p.workers.into_iter().map(|w| (w.id, w.units)).collect();
            let r = plan::plan(
                &p.input,
                &workers,
                p.max_segment_blocks.unwrap_or(MAX_SEGMENT_BLOCKS),
                p.hints_out.as_deref(),
                ctx,
            )?;
            Ok(child::to_value(r))
        }
        "contribute" => {
            let p: ContributeParams = parse(params)?;
            check_job(&p.job)?;
            program::check_program(&p.program)?;
            let c =
                statement::contribute(p.input_size, &p.segment, &p.input, p.hints.as_deref(), ctx)?;
            Ok(child::to_value(Contributed {
                segment: p.segment.index,
                contribution: Hex32(c),
            }))
        }
        "prove" => {
            let p: ProveParams = parse(params)?;
            check_job(&p.seg.job)?;
            program::check_program(&p.seg.program)?;
            run_child_or_here(ChildRequest::Prove(p), ctx)
        }
        "aggregate" => {
            let p: AggregateParams = parse(params)?;
            check_job(&p.job)?;
            program::check_program(&p.program)?;
            run_child_or_here(ChildRequest::Aggregate(p), ctx)
        }
        "verify" => {
            let p: VerifyParams = parse(params)?;
            program::check_program(&p.program)?;
            run_child_or_here(ChildRequest::Verify(p), ctx)
        }
        _ => Err(PmError::new(
            error::METHOD_NOT_FOUND,
            format!("unknown method '{method}'"),
        )),
    }
}

impl Server {
    fn send(&self, line: String) {
        let _ = self.out.send(line);
    }

    fn register(&self, job: &str) -> (u64, Arc<AtomicBool>) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let flag = Arc::new(AtomicBool::new(false));
        self.flags
            .lock()
            .unwrap()
            .entry(job.to_string())
            .or_default()
            .push((n, flag.clone()));
        (n, flag)
    }

    fn spawn(self: &Arc<Self>, id: Value, method: String, params: Value) {
        // a bad name is answered by run_method; meanwhile the request is known by none
        let job = request_name(&params)
            .ok()
            .flatten()
            .unwrap_or("")
            .to_string();
        let (key, flag) = self.register(&job);
        self.active.fetch_add(1, Ordering::SeqCst);
        let phase = method.clone();
        let server = self.clone();
        std::thread::spawn(move || {
            let (tx, rx) = mpsc::channel::<Result<Value>>();
            let wflag = flag.clone();
            let out = server.out.clone();
            let wjob = job.clone();
            let segment = params
                .get("segment")
                .and_then(|s| s.get("index"))
                .and_then(|i| i.as_u64());
            let worker = std::thread::Builder::new()
                .name(format!("npp-{method}"))
                .spawn(move || {
                    let cancelled = || wflag.load(Ordering::Relaxed);
                    let progress = |done: u64, total: u64| {
                        if wflag.load(Ordering::Relaxed) {
                            return;
                        }
                        let mut p =
                            json!({"job": wjob, "phase": phase, "done": done, "total": total});
                        if let Some(s) = segment {
                            p["segment"] = json!(s);
                        }
                        let _ = out.send(notify("progress", p));
                    };
                    let ctx = Ctx {
                        cancelled: &cancelled,
                        progress: &progress,
                    };
                    let res = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        run_method(&method, params, &ctx)
                    }))
                    .unwrap_or_else(|p| {
                        let msg = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "unknown panic".into());
                        Err(PmError::internal(format!("the prover panicked: {msg}")))
                    });
                    let _ = tx.send(res);
                });
            let res = match worker {
                Err(e) => Err(PmError::internal(format!("cannot start a thread: {e}"))),
                Ok(_) => loop {
                    if flag.load(Ordering::Relaxed) {
                        break Err(PmError::cancelled());
                    }
                    match rx.recv_timeout(Duration::from_millis(50)) {
                        Ok(r) => break r,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => {
                            break Err(PmError::internal("the worker thread died"));
                        }
                    }
                },
            };
            let res = match res {
                Ok(_) if flag.load(Ordering::Relaxed) => Err(PmError::cancelled()),
                r => r,
            };
            {
                let mut flags = server.flags.lock().unwrap();
                if let Some(v) = flags.get_mut(&job) {
                    v.retain(|(k, _)| *k != key);
                    if v.is_empty() {
                        flags.remove(&job);
                    }
                }
            }
            server.send(match res {
                Ok(v) => reply_ok(&id, v),
                Err(e) => reply_err(&id, &e),
            });
            server.active.fetch_sub(1, Ordering::SeqCst);
        });
    }

    fn cancel(&self, job: &str) -> usize {
        let flags = self.flags.lock().unwrap();
        match flags.get(job) {
            None => 0,
            Some(v) => {
                let mut n = 0;
                for (_, f) in v {
                    if !f.swap(true, Ordering::Relaxed) {
                        n += 1;
                    }
                }
                n
            }
        }
    }

    fn cancel_all(&self) {
        for v in self.flags.lock().unwrap().values() {
            for (_, f) in v {
                f.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Handles one line; returns false when the server must stop.
    fn handle_line(self: &Arc<Self>, line: &str) -> bool {
        if line.trim().is_empty() {
            return true;
        }
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                self.send(reply_err(
                    &Value::Null,
                    &PmError::new(error::PARSE_ERROR, format!("parse error: {e}")),
                ));
                return true;
            }
        };
        let id = v.get("id").cloned();
        let valid_id = matches!(id, Some(Value::Number(_)) | Some(Value::String(_)));
        let method = v.get("method").and_then(|m| m.as_str());
        let params = v.get("params").cloned().unwrap_or(json!({}));
        let ok = v.is_object()
            && v.get("jsonrpc") == Some(&json!("2.0"))
            && method.is_some()
            && (id.is_none() || valid_id)
            && (params.is_object() || params.is_array());
        if !ok {
            let id = if valid_id { id.unwrap() } else { Value::Null };
            self.send(reply_err(
                &id,
                &PmError::new(error::INVALID_REQUEST, "not a JSON-RPC 2.0 request"),
            ));
            return true;
        }
        let method = method.unwrap().to_string();
        let Some(id) = id else {
            eprintln!("proofmesh-prover: ignoring notification '{method}' from the client");
            return true;
        };
        match method.as_str() {
            "hello" => self.send(match negotiate(&params) {
                Ok(protocol) => reply_ok(&id, hello_result(protocol)),
                Err(e) => reply_err(&id, &e),
            }),
            "ping" => self.send(reply_ok(&id, json!({}))),
            "cancel" => match params.get("job").and_then(|j| j.as_str()) {
                Some(job) => {
                    let n = self.cancel(job);
                    self.send(reply_ok(&id, json!({"cancelled": n})));
                }
                None => self.send(reply_err(&id, &PmError::params("cancel needs params.job"))),
            },
            "shutdown" => {
                *self.shutdown_id.lock().unwrap() = Some(id);
                return false;
            }
            "plan" | "contribute" | "prove" | "aggregate" | "verify" => {
                self.spawn(id, method, params)
            }
            _ => self.send(reply_err(
                &id,
                &PmError::new(
                    error::METHOD_NOT_FOUND,
                    format!("unknown method '{method}'"),
                ),
            )),
        }
        true
    }
}

/// Serves NPP on the given streams until `shutdown` or the end of input.
pub fn serve(input: impl BufRead, mut output: impl Write + Send + 'static) {
    let (tx, rx) = mpsc::channel::<String>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        for line in rx {
            if line.is_empty() {
                // The flush marker sent at shutdown.
                break;
            }
            if output
                .write_all(line.as_bytes())
                .and_then(|_| output.write_all(b"\n"))
                .and_then(|_| output.flush())
                .is_err()
            {
                break;
            }
        }
        let _ = output.flush();
        let _ = done_tx.send(());
    });
    let server = Arc::new(Server {
        out: tx,
        flags: Arc::new(Mutex::new(HashMap::new())),
        next: AtomicU64::new(0),
        active: AtomicU64::new(0),
        shutdown_id: Mutex::new(None),
    });
    eprintln!(
        "proofmesh-prover {}: serving NPP {} on stdio",
        env!("CARGO_PKG_VERSION"),
        list(&PROTOCOLS)
    );
    for line in input.split(b'\n') {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("proofmesh-prover: stdin: {e}");
                break;
            }
        };
        let text = String::from_utf8_lossy(&line);
        let keep = std::panic::catch_unwind(AssertUnwindSafe(|| server.handle_line(&text)))
            .unwrap_or_else(|_| {
                server.send(reply_err(
                    &Value::Null,
                    &PmError::internal("the prover panicked on this line"),
                ));
                true
            });
        if !keep {
            break;
        }
    }
    // Stop every running request and give each up to a second to queue its reply (finished, or
    // CANCELLED), let the writer drain what is queued (the empty line is the flush marker), then
    // return: the caller exits without waiting for uninterruptible work.
    server.cancel_all();
    let t = std::time::Instant::now();
    while server.active.load(Ordering::SeqCst) > 0 && t.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(10));
    }
    if let Some(id) = server.shutdown_id.lock().unwrap().take() {
        server.send(reply_ok(&id, json!({})));
    }
    server.send(String::new());
    let _ = done_rx.recv_timeout(Duration::from_secs(5));
}
