//! Our prove pipeline: winterfell's `Prover::generate_proof` protocol for [`SpongeProver`], step
//! for step and challenge for challenge (the same proof bytes), with its generic pieces
//! replaced where ours are faster:
//!
//! - the transcript ([`channel`]): winterfell's, specialised, with a reproducible grinding nonce;
//! - the composition polynomial ([`CompositionCommitment`]): interpolated, split and extended
//!   through [`crate::fft`];
//! - the out-of-domain frame and the DEEP composition polynomial ([`deep`]): the weighted sum of
//!   the trace and composition polynomials made once instead of twice, in vector lanes
//!   ([`lincomb`]); its evaluation over the LDE domain through [`crate::fft`].
//!
//! The trace LDE and the constraint evaluator are the prover's own, through its `Prover` impl;
//! FRI is winterfell's. The `tracing`
//! spans are winterfell's names, which [`crate::spans`] reports as progress and profiles.

mod channel;
mod deep;
mod lincomb;

use crate::fft::{self, Extension};
use crate::lde::CompositionCommitment;
use crate::stark::{HashFn, SpongeProver, VC};
use crate::trace::SegmentTrace;
use channel::{Channel, E3};
use tracing::info_span;
use winter_fri::FriProver;
use winter_prover::ConstraintCommitment;
use winterfell::{
    Air, ConstraintEvaluator, Proof, Prover, ProverError, StarkDomain, Trace, TraceLde,
    math::{ToElements, fields::f64::BaseElement},
};

type B = BaseElement;

/// Proves `trace` as winterfell's `Prover::prove(prover, trace)` does, with the same bytes.
pub fn prove(prover: &SpongeProver, trace: SegmentTrace) -> Result<Proof, ProverError> {
    let public = prover.get_pub_inputs(&trace);
    let public_elements = public.to_elements();
    let air =
        <SpongeProver as Prover>::Air::new(trace.info().clone(), public, prover.options().clone());
    let mut channel = Channel::new(&air, public_elements);

    // 1: the trace, extended and committed.
    let n = air.trace_length();
    let domain = info_span!("build_domain").in_scope(|| StarkDomain::new(&air));
    let (mut trace_lde, mut trace_polys) =
        info_span!("commit_to_main_trace_segment").in_scope(|| {
            let (lde, polys) = prover.new_trace_lde::<E3>(
                trace.info(),
                trace.main_segment(),
                &domain,
                prover.options().partition_options(),
            );
            channel.commit(lde.get_main_trace_commitment());
            (lde, polys)
        });
    let aux_rand_elements = channel.aux_rand_elements();
    let aux_trace = prover.build_aux_trace(&trace, &aux_rand_elements);
    info_span!("commit_to_aux_trace_segment").in_scope(|| {
        let (polys, root) = trace_lde.set_aux_trace(&aux_trace, &domain);
        channel.commit(root);
        trace_polys.add_aux_segment(polys);
    });
    #[cfg(debug_assertions)]
    trace.validate(
        &air,
        Some(&winterfell::AuxTraceWithMetadata {
            aux_trace: aux_trace.clone(),
            aux_rand_elements: aux_rand_elements.clone(),
        }),
    );
    drop((trace, aux_trace));

    // 2: the constraints, evaluated and combined.
    let coefficients = channel.constraint_composition_coeffs();
    let evaluations = prover
        .new_evaluator(&air, Some(aux_rand_elements), coefficients)
        .evaluate(&trace_lde, &domain);

    // 3: the composition polynomial, committed; `ext` extends it and the DEEP polynomial.
    let (constraint_commitment, composition, ext) = info_span!("commit_to_constraint_evaluations")
        .in_scope(|| {
            let ext = Extension::new(n, domain.trace_to_lde_blowup(), domain.offset());
            let (commitment, columns) = CompositionCommitment::<E3, HashFn, VC>::new(
                evaluations,
                air.context().num_constraint_composition_columns(),
                &domain,
                prover.options().partition_options(),
                &ext,
            );
            channel.commit(commitment.commitment());
            (commitment, columns, ext)
        });

    // 4: the out-of-domain frame and the DEEP composition polynomial.
    let deep_coefficients = info_span!("build_deep_composition_poly").in_scope(|| {
        let aux: Vec<Vec<B>> = trace_polys
            .aux_trace_polys()
            .flat_map(|c| (0..3).map(move |d| fft::coordinate(c, d)))
            .collect();
        let polys = deep::Polys::new(trace_polys.main_trace_polys().collect(), &aux, &composition);
        let z = channel.ood_point();
        let (trace_frame, quotient_frame) = polys.ood_frames(z);
        channel.send_ood_evaluations(&trace_frame, &quotient_frame);
        let cc = channel.deep_composition_coeffs();
        polys.deep(z, &cc)
    });
    debug_assert_eq!(
        winterfell::math::polynom::degree_of(&deep_coefficients),
        n - 2
    );
    drop((trace_polys, composition));

    // 5: the DEEP polynomial over the LDE domain.
    let deep_evaluations = info_span!("evaluate_deep_composition_poly")
        .in_scope(|| ext.evaluate_ext(&deep_coefficients));
    drop(deep_coefficients);

    // 6: FRI.
    let fri_options = air.options().to_fri_options();
    let mut fri = FriProver::<E3, Channel, _, VC>::new(fri_options);
    info_span!("compute_fri_layers").in_scope(|| fri.build_layers(&mut channel, deep_evaluations));

    // 7: the queries.
    let positions = info_span!("determine_query_positions").in_scope(|| {
        channel.grind_query_seed();
        channel.query_positions()
    });

    // 8: the proof.
    Ok(info_span!("build_proof_object").in_scope(|| {
        let fri_proof = fri.build_proof(&positions);
        let trace_queries = trace_lde.query(&positions);
        let constraint_queries = constraint_commitment.query(&positions);
        channel.build_proof(
            trace_queries,
            constraint_queries,
            fri_proof,
            positions.len(),
        )
    }))
}
