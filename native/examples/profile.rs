//! Where a segment prove spends its time: `cargo run --release --example profile [-- ROWS_LOG2]`.
//!
//! Builds the trace of one segment of 2^ROWS_LOG2 rows (default 18) and proves it, printing the
//! wall time and this process's CPU time of each of winterfell's steps as it ends (nested steps
//! first, then the step that holds them). On a shared machine the CPU seconds are the steadier
//! figure.

use proofmesh_prover::sponge::BLOCK_BYTES;
use proofmesh_prover::stark::SpongeProver;
use proofmesh_prover::{pipeline, sample, spans};
use std::sync::Mutex;
use std::time::Instant;

fn main() {
    let log_rows: u32 = std::env::args()
        .nth(1)
        .map_or(18, |s| s.parse().expect("ROWS_LOG2"));
    let blocks = (1u64 << log_rows) / 8;
    let bytes = sample::bytes(blocks as usize * BLOCK_BYTES, 0x9e37_79b9_7f4a_7c15);
    let line = |name: &str, ms: f64, cpu: f64| eprintln!("{name:>40} {ms:9.1} ms {cpu:7.2} cpu-s");
    let t = Instant::now();
    let cpu0 = spans::cpu_seconds();
    let (public, tr) = sample::whole_segment(&bytes, bytes.len() as u64, [1; 32]);
    line(
        "build main trace",
        t.elapsed().as_secs_f64() * 1e3,
        spans::cpu_seconds() - cpu0,
    );
    let t = Instant::now();
    let last_cpu = Mutex::new(spans::cpu_seconds());
    let proof = spans::with_steps(
        true,
        move |name, took| {
            let mut last = last_cpu.lock().unwrap();
            let now = spans::cpu_seconds();
            line(name, took.as_secs_f64() * 1e3, now - *last);
            *last = now;
        },
        || pipeline::prove(&SpongeProver::new(public), tr).expect("proves"),
    );
    eprintln!(
        "prove {:.1} ms, {:.2} cpu-s in all, proof {} bytes, peak RSS {}",
        t.elapsed().as_secs_f64() * 1e3,
        spans::cpu_seconds(),
        proof.to_bytes().len(),
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmHWM"))
            .unwrap_or("VmHWM: ?")
            .trim_start_matches("VmHWM:")
            .trim()
    );
}
