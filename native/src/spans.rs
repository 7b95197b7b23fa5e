//! Winterfell's proving steps, seen through its `tracing` spans.
//!
//! Winterfell's `prove` is one uninterruptible call of several seconds; the only view inside it is
//! the `tracing` spans it opens around each step. [`with_steps`] runs a closure with a
//! subscriber that reports every finished top-level step (name and wall time) to a callback: the
//! prover turns that into `progress` notifications, the bench into a profile.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

/// The top-level steps of winterfell 0.13's `Prover::prove`, in the order it runs them (span
/// names from winter-prover's `generate_proof`, which [`crate::pipeline::prove`] keeps). Nested
/// spans are not reported.
pub const PROVER_STEPS: [&str; 11] = [
    "build_domain",
    "commit_to_main_trace_segment",
    "build_aux_trace",
    "commit_to_aux_trace_segment",
    "evaluate_constraints",
    "commit_to_constraint_evaluations",
    "build_deep_composition_poly",
    "evaluate_deep_composition_poly",
    "compute_fri_layers",
    "determine_query_positions",
    "build_proof_object",
];

/// Nested spans worth a line in a profile (inside `commit_to_main_trace_segment` and
/// `commit_to_constraint_evaluations`).
pub const NESTED_STEPS: [&str; 5] = [
    "extend_execution_trace",
    "compute_execution_trace_commitment",
    "build_composition_poly_columns",
    "evaluate_composition_poly_columns",
    "compute_constraint_evaluation_commitment",
];

struct StepSubscriber<F> {
    on_step: F,
    nested: bool,
    spans: Mutex<SpanTable>,
}

#[derive(Default)]
struct SpanTable {
    next: u64,
    names: HashMap<u64, &'static str>,
    entered: HashMap<u64, Instant>,
}

impl<F: Fn(&'static str, Duration) + Send + Sync + 'static> Subscriber for StepSubscriber<F> {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if meta.is_span() {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        meta.is_span()
            && (PROVER_STEPS.contains(&meta.name())
                || (self.nested && NESTED_STEPS.contains(&meta.name())))
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut t = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        t.next += 1;
        let id = t.next;
        t.names.insert(id, span.metadata().name());
        Id::from_u64(id)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, span: &Id) {
        let mut t = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        t.entered.insert(span.into_u64(), Instant::now());
    }

    fn exit(&self, span: &Id) {
        let step = {
            let mut t = self.spans.lock().unwrap_or_else(|e| e.into_inner());
            let id = span.into_u64();
            let since = t.entered.remove(&id);
            let name = t.names.remove(&id);
            since.zip(name)
        };
        if let Some((since, name)) = step {
            (self.on_step)(name, since.elapsed());
        }
    }
}

/// Runs `work` on this thread with a subscriber that calls `on_step(name, wall time)` when each
/// of winterfell's [`PROVER_STEPS`] ends (and the [`NESTED_STEPS`] too when `nested`). Spans
/// opened on other threads (rayon's workers open none) are not seen.
pub fn with_steps<T>(
    nested: bool,
    on_step: impl Fn(&'static str, Duration) + Send + Sync + 'static,
    work: impl FnOnce() -> T,
) -> T {
    let sub = StepSubscriber {
        on_step,
        nested,
        spans: Mutex::new(SpanTable::default()),
    };
    tracing::subscriber::with_default(sub, work)
}

/// User + system CPU seconds of this process so far (Linux; 0 elsewhere): on a shared machine a
/// profile's steadier figure than wall time.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the last ')'.
    let f: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime, in clock ticks of 1/100 s (USER_HZ on Linux)
    (ticks(11) + ticks(12)) / 100.0
}
