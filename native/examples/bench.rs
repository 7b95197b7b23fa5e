//! Benchmark of the reference prover: `cargo run --release --example bench [-- ROWS_LOG2...]`.
//!
//! For each trace size (default 2^14, 2^16 and 2^18 rows = 2^11, 2^13, 2^15 blocks) a child
//! process proves one segment, so that its peak RSS (VmHWM) and CPU time are its own; then prints
//! prove time (wall and CPU: on a shared machine the CPU seconds divided by the cores are the
//! steadier figure), segment proof size, verify time (median of 11) and the security level of a
//! segment and of the largest final proof; and the native hash's throughput.

use proofmesh_prover::air::CYCLE;
use proofmesh_prover::ctx::Ctx;
use proofmesh_prover::input::InputRef;
use proofmesh_prover::sponge::{self, BLOCK_BYTES};
use proofmesh_prover::stark::{self, HashFn, MAX_BUNDLE_SEGMENTS};
use proofmesh_prover::verify;
use proofmesh_prover::{prove, segment};
use proofmesh_prover::{sample, spans};
use std::process::Command;
use std::time::Instant;
use winterfell::Proof;

fn data(n: usize) -> Vec<u8> {
    sample::bytes(n, 0x9e37_79b9_7f4a_7c15)
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn child(log_rows: u32) {
    let blocks = (1u64 << log_rows) / CYCLE as u64;
    let bytes = data(blocks as usize * BLOCK_BYTES);
    let path = std::env::temp_dir().join(format!("pm-bench-{}-{log_rows}", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let input = InputRef {
        path: path.to_string_lossy().into(),
        offset: 0,
    };
    let size = bytes.len() as u64;
    let seg = segment::segment_for(0, 0, blocks, size);
    let t = Instant::now();
    let cpu0 = spans::cpu_seconds();
    let r = prove::prove(size, &seg, &input, None, [1; 32], &Ctx::none()).unwrap();
    let prove_ms = t.elapsed().as_secs_f64() * 1e3;
    let prove_cpu = spans::cpu_seconds() - cpu0;
    let _ = std::fs::remove_file(&path);
    let mut times: Vec<f64> = (0..11)
        .map(|_| {
            let t = Instant::now();
            verify::verify_segment(&r.bytes).unwrap();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let hl = u32::from_le_bytes(r.bytes[8..12].try_into().unwrap()) as usize;
    let proof = Proof::from_bytes(&r.bytes[12 + hl..]).unwrap();
    let (proven, proven_bundle) = stark::proven_bits(&proof, MAX_BUNDLE_SEGMENTS);
    println!(
        "RESULT {log_rows} {prove_ms:.0} {} {:.2} {} {}/{} {}/{} {prove_cpu:.2}",
        r.bytes.len(),
        times[5],
        vm_hwm_kib(),
        proof.conjectured_security::<HashFn>().bits(),
        stark::bundle_conjectured_bits(MAX_BUNDLE_SEGMENTS),
        proven,
        proven_bundle,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(|s| s.as_str()) == Some("--child") {
        child(args[1].parse().unwrap());
        return;
    }
    let sizes: Vec<u32> = if args.is_empty() {
        vec![14, 16, 18]
    } else {
        args.iter().map(|a| a.parse().expect("ROWS_LOG2")).collect()
    };
    println!(
        "segment proofs (winterfell 0.13, blowup {}, {} queries, grinding {}, cubic ext., \
         Blake3), {} threads; security bits: one segment / a final proof of {} segments",
        stark::BLOWUP,
        stark::QUERIES,
        stark::GRINDING_BITS,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        MAX_BUNDLE_SEGMENTS
    );
    println!(
        "{:>8} {:>8} {:>10} {:>10} {:>11} {:>10} {:>10} {:>12} {:>12}",
        "rows",
        "blocks",
        "prove s",
        "cpu s",
        "proof KB",
        "verify ms",
        "peak MB",
        "conjectured",
        "proven"
    );
    let exe = std::env::current_exe().unwrap();
    for s in sizes {
        let out = Command::new(&exe)
            .args(["--child", &s.to_string()])
            .output()
            .expect("run the child");
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(line) = text.lines().find(|l| l.starts_with("RESULT ")) else {
            println!("2^{s}: failed: {}", String::from_utf8_lossy(&out.stderr));
            continue;
        };
        let f: Vec<&str> = line.split_whitespace().collect();
        let ms: f64 = f[2].parse().unwrap();
        let size: f64 = f[3].parse().unwrap();
        let hwm: f64 = f[5].parse().unwrap();
        println!(
            "{:>8} {:>8} {:>10.2} {:>10} {:>11.1} {:>10} {:>10.0} {:>12} {:>12}",
            format!("2^{s}"),
            (1u64 << s) / CYCLE as u64,
            ms / 1e3,
            f[8],
            size / 1e3,
            f[4],
            hwm / 1024.0,
            f[6],
            f[7]
        );
    }
    let bytes = data(8 << 20);
    let t = Instant::now();
    let d = sponge::hash(&bytes);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "native Rp64_256 sponge hash: {:.1} MB/s ({} MiB in {:.2} s, digest {}…)",
        bytes.len() as f64 / secs / 1e6,
        bytes.len() >> 20,
        secs,
        &sponge::digest_to_hex(&d)[..16]
    );
}
