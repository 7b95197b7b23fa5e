//! The commitments' hashing on its own: `cargo run --release --example merkle [-- LEAVES_LOG2]`.
//!
//! Times winterfell's `MerkleTree::new` against [`Merkle::new`] (the same tree) over 2^LEAVES_LOG2
//! leaves (default 20, a 2^18-row segment's trace trees), and the row hash of as many rows of 42, 12
//! and 9 values (the main trace's, auxiliary trace's and composition's leaves), alternating, and
//! prints the fastest of 7 runs of each in wall ms and this process's CPU-s. The fastest run is the steadier figure on a shared machine; run
//! it with `RAYON_NUM_THREADS=1` for one core's cost.

use proofmesh_prover::hasher::{Blake3Mont, RowHasher};
use proofmesh_prover::merkle::Merkle;
use std::time::Instant;
use winter_crypto::{Hasher, MerkleTree};
use winterfell::math::fields::f64::BaseElement;

const RUNS: usize = 7;
/// The rows the commitments hash: main trace, auxiliary trace, composition (base values).
const ROW_WIDTHS: [usize; 3] = [42, 12, 9];

fn main() {
    let log_leaves: u32 = std::env::args()
        .nth(1)
        .map_or(20, |s| s.parse().expect("LEAVES_LOG2"));
    let n = 1usize << log_leaves;
    let leaves: Vec<_> = (0..n as u64)
        .map(|i| Blake3Mont::hash(&i.to_le_bytes()))
        .collect();
    let rows: Vec<BaseElement> = (0..(n * ROW_WIDTHS[0]) as u64)
        .map(|i| BaseElement::new(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
        .collect();
    let hash_rows = |width: usize| drop(Blake3Mont::hash_rows(&rows[..n * width], width));
    let mut best = [(f64::MAX, f64::MAX); 5];
    for _ in 0..RUNS {
        let runs: [&dyn Fn(); 5] = [
            &|| drop(MerkleTree::<Blake3Mont>::new(leaves.clone()).unwrap()),
            &|| drop(Merkle::new(leaves.clone()).unwrap()),
            &|| hash_rows(ROW_WIDTHS[0]),
            &|| hash_rows(ROW_WIDTHS[1]),
            &|| hash_rows(ROW_WIDTHS[2]),
        ];
        for (run, best) in runs.iter().zip(&mut best) {
            let (t, cpu) = (Instant::now(), cpu_seconds());
            run();
            best.0 = best.0.min(t.elapsed().as_secs_f64() * 1e3);
            best.1 = best.1.min(cpu_seconds() - cpu);
        }
    }
    let names = [
        "MerkleTree::new",
        "Merkle::new",
        "row hash, 42 values a row",
        "row hash, 12 values a row",
        "row hash, 9 values a row",
    ];
    for (name, (ms, cpu)) in names.iter().zip(best) {
        println!("2^{log_leaves} leaves: {name:>30} {ms:8.1} ms {cpu:7.3} cpu-s");
    }
}

/// This process's CPU time to the nanosecond (`spans::cpu_seconds` counts 10 ms ticks, coarse for
/// steps of tens of milliseconds).
fn cpu_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime");
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}
