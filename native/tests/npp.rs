//! Spawns the built binary in `serve` mode and talks NPP to it (v1, and v2's hello, ping, plan and request names).

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

struct Prover {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    notifications: Vec<Value>,
    pending: Vec<Value>,
}

impl Prover {
    fn start() -> Prover {
        let mut child = Command::new(env!("CARGO_BIN_EXE_proofmesh-prover"))
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the prover");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Prover {
            child,
            stdin,
            lines: rx,
            notifications: Vec::new(),
            pending: Vec::new(),
        }
    }

    fn send_raw(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).unwrap();
        self.stdin.write_all(b"\n").unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, id: u64, method: &str, params: Value) {
        let req = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(&req.to_string());
    }

    /// Waits for the reply with this id (or null), keeping notifications and other replies.
    fn reply(&mut self, id: Value, timeout: Duration) -> Value {
        if let Some(i) = self.pending.iter().position(|v| v["id"] == id) {
            return self.pending.remove(i);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no reply to id {id} within {timeout:?}"));
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
            assert_eq!(v["jsonrpc"], "2.0", "{line}");
            if v.get("id").is_none() {
                self.notifications.push(v);
            } else if v["id"] == id {
                return v;
            } else {
                self.pending.push(v);
            }
        }
    }

    fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(id, method, params);
        self.reply(json!(id), Duration::from_secs(60))
    }
}

/// Live (not zombie) child processes of `pid`, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .map(|l| l[name.len()..].trim().to_string())
                .unwrap_or_default()
        };
        if field("PPid:") == pid.to_string() && !field("State:").starts_with('Z') {
            out.push(child);
        }
    }
    out
}

/// A folder of this test's own: tests run in parallel threads of one process.
fn tmpdir(test: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("pm-npp-test-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn serve_exchange() {
    let dir = tmpdir("exchange");
    let input = dir.join("input");
    let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&input, &bytes).unwrap();
    let input = input.to_string_lossy().to_string();
    let hints = dir.join("hints").to_string_lossy().to_string();

    let mut p = Prover::start();

    // hello
    let r = p.call(1, "hello", json!({"protocol": 1, "client": "test"}));
    assert_eq!(r["result"]["protocol"], 1);
    assert_eq!(r["result"]["name"], "proofmesh-prover");
    assert_eq!(r["result"]["programs"][0]["id"], "rescue-sponge");
    assert_eq!(r["result"]["programs"][0]["blockBytes"], 56);

    // plan, as in the spec's example
    let r = p.call(
        2,
        "plan",
        json!({"job": "j1", "program": "rescue-sponge", "input": {"path": input, "offset": 0},
               "workers": [{"id": "A", "units": 10}, {"id": "B", "units": 10}],
               "hintsOut": hints}),
    );
    let plan = &r["result"];
    assert_eq!(plan["inputSize"], 1000, "{r}");
    assert_eq!(plan["totalBlocks"], 18);
    assert_eq!(plan["segments"].as_array().unwrap().len(), 2);
    assert_eq!(plan["segments"][1]["startBlock"], 9);
    assert_eq!(plan["segments"][1]["inputOffset"], 504);
    assert_eq!(plan["segments"][1]["inputLength"], 496);
    assert_eq!(plan["segments"][1]["worker"], "B");
    assert_eq!(plan["hints"]["path"], json!(hints));

    // contribute, prove, aggregate, verify through the protocol
    let mut contributions = Vec::new();
    for i in 0..2 {
        let mut seg = plan["segments"][i].clone();
        seg.as_object_mut().unwrap().remove("worker");
        let r = p.call(
            10 + i as u64,
            "contribute",
            json!({"job": "j1", "program": "rescue-sponge", "inputSize": 1000, "segment": seg,
                   "input": {"path": input, "offset": 0}, "hints": hints}),
        );
        contributions.push(r["result"]["contribution"].as_str().unwrap().to_string());
    }
    let challenge = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"proofmesh/challenge/1");
        h.update(2u32.to_be_bytes());
        h.update(b"j1");
        for c in &contributions {
            let c = hex::decode(c).unwrap();
            h.update((c.len() as u32).to_be_bytes());
            h.update(&c);
        }
        hex::encode(h.finalize())
    };
    let mut proofs = Vec::new();
    for i in 0..2 {
        let mut seg = plan["segments"][i].clone();
        seg.as_object_mut().unwrap().remove("worker");
        let out = dir.join(format!("proof-{i}")).to_string_lossy().to_string();
        let r = p.call(
            20 + i as u64,
            "prove",
            json!({"job": "j1", "program": "rescue-sponge", "inputSize": 1000, "segment": seg,
                   "input": {"path": input, "offset": 0}, "hints": hints,
                   "challenge": challenge, "out": out}),
        );
        assert_eq!(r["result"]["segment"], i, "{r}");
        assert!(r["result"]["size"].as_u64().unwrap() > 1000);
        proofs.push(out);
    }
    assert!(
        p.notifications
            .iter()
            .any(|n| n["method"] == "progress" && n["params"]["phase"] == "prove"),
        "progress notifications"
    );
    let final_proof = dir.join("final").to_string_lossy().to_string();
    let r = p.call(
        30,
        "aggregate",
        json!({"job": "j1", "program": "rescue-sponge", "inputSize": 1000, "challenge": challenge,
               "contributions": contributions, "proofs": proofs, "out": final_proof}),
    );
    let digest = r["result"]["digest"].as_str().unwrap().to_string();
    assert_eq!(r["result"]["segments"], 2);
    assert_eq!(
        plan["digest"],
        digest.as_str(),
        "plan read the whole input: {plan}"
    );
    let r = p.call(
        31,
        "verify",
        json!({"program": "rescue-sponge", "proof": final_proof, "digest": digest, "job": "j1"}),
    );
    assert_eq!(r["result"]["valid"], true, "{r}");
    let r = p.call(
        32,
        "verify",
        json!({"program": "rescue-sponge", "proof": proofs[0], "digest": digest}),
    );
    assert_eq!(
        r["result"]["valid"], false,
        "a segment proof is not a final proof: {r}"
    );
    // aggregate with the proofs swapped: PROOF_INVALID naming segment 0
    let r = p.call(
        33,
        "aggregate",
        json!({"job": "j1", "program": "rescue-sponge", "inputSize": 1000, "challenge": challenge,
               "contributions": contributions, "proofs": [proofs[1], proofs[0]],
               "out": dir.join("final2").to_string_lossy()}),
    );
    assert_eq!(r["error"]["code"], 1005, "{r}");
    assert_eq!(r["error"]["data"]["segment"], 0);

    // bad JSON
    p.send_raw("{this is not json");
    let r = p.reply(Value::Null, Duration::from_secs(10));
    assert_eq!(r["error"]["code"], -32700);
    // not a request
    p.send_raw(r#"{"jsonrpc":"2.0","id":40}"#);
    let r = p.reply(json!(40), Duration::from_secs(10));
    assert_eq!(r["error"]["code"], -32600);
    // unknown method
    let r = p.call(41, "frobnicate", json!({}));
    assert_eq!(r["error"]["code"], -32601);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("frobnicate")
    );
    // unknown program
    let r = p.call(
        42,
        "verify",
        json!({"program": "zisk-thing", "proof": final_proof}),
    );
    assert_eq!(r["error"]["code"], 1001);
    // missing file
    let r = p.call(
        43,
        "contribute",
        json!({"job": "j1", "program": "rescue-sponge", "inputSize": 1000,
               "segment": {"index": 0, "startBlock": 0, "blockCount": 9, "inputOffset": 0, "inputLength": 504},
               "input": {"path": "/nonexistent/pm/input", "offset": 0}}),
    );
    assert_eq!(r["error"]["code"], 1002, "{r}");
    assert_eq!(r["error"]["data"]["path"], "/nonexistent/pm/input");
    // missing params
    let r = p.call(44, "prove", json!({"job": "j1"}));
    assert_eq!(r["error"]["code"], -32602);
    // a wrong segment
    let r = p.call(
        45,
        "contribute",
        json!({"job": "j1", "program": "rescue-sponge", "inputSize": 1000,
               "segment": {"index": 0, "startBlock": 10, "blockCount": 9, "inputOffset": 560, "inputLength": 440},
               "input": {"path": input, "offset": 0}}),
    );
    assert_eq!(r["error"]["code"], 1003, "{r}");

    // cancel a running prove of 8192 blocks (2^16 rows)
    let big = dir.join("big");
    std::fs::write(&big, vec![5u8; 56 * 8192]).unwrap();
    let out = dir.join("cancelled-proof");
    p.send(
        50,
        "prove",
        json!({"job": "jc", "program": "rescue-sponge", "inputSize": 56 * 8192,
               "segment": {"index": 0, "startBlock": 0, "blockCount": 8192, "inputOffset": 0, "inputLength": 56 * 8192},
               "input": {"path": big.to_string_lossy(), "offset": 0},
               "challenge": "00".repeat(32), "out": out.to_string_lossy()}),
    );
    // wait until it has started (its first progress notification)
    let t = Instant::now();
    while !p.notifications.iter().any(|n| n["params"]["job"] == "jc") {
        assert!(t.elapsed() < Duration::from_secs(30), "prove did not start");
        let r = p.call(51, "hello", json!({"protocol": 1}));
        assert!(r.get("result").is_some());
    }
    let t = Instant::now();
    let r = p.call(52, "cancel", json!({"job": "jc"}));
    assert_eq!(r["result"]["cancelled"], 1, "{r}");
    let r = p.reply(json!(50), Duration::from_secs(1));
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(r["error"]["code"], 1004, "{r}");
    // the prove ran in a child process, which is gone: CPU and memory are freed
    let t = Instant::now();
    while !children_of(p.child.id()).is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "prove child still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // nothing to cancel any more
    let r = p.call(53, "cancel", json!({"job": "jc"}));
    assert_eq!(r["result"]["cancelled"], 0);

    // shutdown: reply, then exit 0
    let r = p.call(60, "shutdown", json!({}));
    assert_eq!(r["result"], json!({}));
    let t = Instant::now();
    loop {
        if let Some(status) = p.child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "prover did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !out.exists(),
        "a cancelled prove must not write its out file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn v2_negotiates_pings_and_checks_the_daemons_layout() {
    let dir = tmpdir("v2");
    let input = dir.join("input");
    let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 5 + 1) as u8).collect();
    std::fs::write(&input, &bytes).unwrap();
    let input = input.to_string_lossy().to_string();
    let mut p = Prover::start();

    let r = p.call(1, "hello", json!({"protocol": 1, "versions": [1, 2]}));
    assert_eq!(r["result"]["protocol"], 2, "{r}");
    let r = p.call(2, "hello", json!({"protocol": 1, "versions": [1]}));
    assert_eq!(r["result"]["protocol"], 1, "{r}");
    let r = p.call(3, "hello", json!({"protocol": 3, "versions": [3, 4]}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let message = r["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("NPP 1, 2") && message.contains("3, 4"),
        "{message}"
    );
    let r = p.call(4, "ping", json!({}));
    assert_eq!(r["result"], json!({}), "{r}");

    let seg = |index: u64, start: u64, count: u64| {
        let offset = (start * 56).min(1000);
        let end = ((start + count) * 56).min(1000);
        json!({"index": index, "startBlock": start, "blockCount": count,
               "inputOffset": offset, "inputLength": end - offset})
    };
    let plan = |segments: Value, hints: Option<String>| {
        let mut params = json!({"job": "v2", "program": "rescue-sponge",
                                "input": {"path": input, "offset": 0}, "segments": segments});
        if let Some(h) = hints {
            params["hintsOut"] = json!(h);
        }
        params
    };
    let hints = dir.join("hints").to_string_lossy().to_string();
    let r = p.call(
        5,
        "plan",
        plan(json!([seg(0, 0, 5), seg(1, 5, 13)]), Some(hints.clone())),
    );
    let result = &r["result"];
    assert_eq!(result["totalBlocks"], 18, "{r}");
    assert_eq!(result["inputSize"], 1000);
    assert!(result.get("segments").is_none(), "v2 answers no split: {r}");
    assert_eq!(result["hints"]["path"], json!(hints));
    let written: Value = serde_json::from_slice(&std::fs::read(&hints).unwrap()).unwrap();
    let blocks: Vec<u64> = written["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["block"].as_u64().unwrap())
        .collect();
    assert_eq!(
        blocks,
        [0, 5, 18],
        "a state at each segment start and the end"
    );

    let mut short = seg(0, 0, 18);
    short["inputLength"] = json!(999);
    for (id, segments) in [
        (6, json!([seg(0, 0, 5)])),                // does not cover the input
        (7, json!([seg(0, 0, 5), seg(1, 6, 12)])), // a gap
        (8, json!([seg(0, 0, 5), seg(2, 5, 13)])), // misnumbered
        (9, json!([])),                            // empty
        (10, json!([short])),                      // not canonical
    ] {
        let r = p.call(id, "plan", plan(segments, None));
        assert_eq!(r["error"]["code"], 1003, "{r}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn closing_stdin_exits() {
    let mut p = Prover::start();
    let r = p.call(1, "hello", json!({"protocol": 1}));
    assert_eq!(r["result"]["protocol"], 1);
    drop(p.stdin);
    let status = p.child.wait().unwrap();
    assert!(status.success());
}

#[test]
fn a_named_request_is_cancelled_by_its_name_alone() {
    let dir = tmpdir("names");
    let big = dir.join("big");
    std::fs::write(&big, vec![7u8; 56 * 8192]).unwrap();
    let mut p = Prover::start();
    let r = p.call(1, "hello", json!({"protocol": 1, "versions": [1, 2]}));
    assert_eq!(r["result"]["protocol"], 2, "{r}");
    // two sessions of one job on this peer: the same job, each request under its session's name
    for (id, name) in [(10u64, "jn-session-1"), (11, "jn-session-2")] {
        let out = dir.join(name);
        p.send(
            id,
            "prove",
            json!({"job": "jn", "name": name, "program": "rescue-sponge", "inputSize": 56 * 8192,
                   "segment": {"index": 0, "startBlock": 0, "blockCount": 8192, "inputOffset": 0, "inputLength": 56 * 8192},
                   "input": {"path": big.to_string_lossy(), "offset": 0},
                   "challenge": "00".repeat(32), "out": out.to_string_lossy()}),
        );
    }
    let t = Instant::now();
    while !["jn-session-1", "jn-session-2"]
        .iter()
        .all(|name| p.notifications.iter().any(|n| n["params"]["job"] == *name))
    {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "both proves report progress under their names: {:?}",
            p.notifications
        );
        let r = p.call(12, "ping", json!({}));
        assert!(r.get("result").is_some());
    }
    // the job id names neither request; each name names its own
    let r = p.call(13, "cancel", json!({"job": "jn"}));
    assert_eq!(r["result"]["cancelled"], 0, "{r}");
    let r = p.call(14, "cancel", json!({"job": "jn-session-1"}));
    assert_eq!(r["result"]["cancelled"], 1, "{r}");
    let r = p.reply(json!(10), Duration::from_secs(5));
    assert_eq!(r["error"]["code"], 1004, "{r}");
    let r = p.reply(json!(11), Duration::from_secs(300));
    assert_eq!(
        r["result"]["segment"], 0,
        "the other session's prove finishes: {r}"
    );
    assert!(dir.join("jn-session-2").exists());
    assert!(!dir.join("jn-session-1").exists());
    // a name that is not a string is refused, not ignored
    let r = p.call(
        15,
        "aggregate",
        json!({"job": "jn", "name": 7, "program": "rescue-sponge", "inputSize": 1,
               "challenge": "00".repeat(32), "contributions": [], "proofs": [], "out": "x"}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let _ = std::fs::remove_dir_all(&dir);
}
