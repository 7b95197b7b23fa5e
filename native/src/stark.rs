//! The STARK of one segment: proof options, security level, the winterfell prover and verifier.
//!
//! # Security (stated here, in `native/README.md` and in the NPP spec, identically)
//!
//! Options: blowup 4, 64 queries, 16 grinding bits, cubic extension of Goldilocks (192 bits),
//! FRI folding 8, remainder degree ≤ 127, Blake3-256 commitments (128-bit collision resistance, see
//! [`crate::hasher`]).
//! Per segment, winterfell's conjectured security is `min(192, 64·log2(4) + 16) − 1 = 143` bits,
//! capped by the hash at 128. A final proof bundles `k ≤ 2^14` segments and is broken when any one
//! segment is: by the union bound it loses `log2(k) ≤ 14` bits, `143 − 14 = 129`, so the final
//! proof as a whole has **128 bits of conjectured security** (the hash's bound). Proven security
//! (winterfell's list-decoding estimate) is far lower, see [`proven_bits`]; the figures per trace
//! size are in `native/README.md`.

use crate::air::{SegmentPublic, SpongeAir};
use crate::evaluator::SpongeEvaluator;
use crate::fft::Extension;
use crate::hasher::Blake3Mont;
use crate::lde::{CompositionCommitment, SegmentLde};
use crate::merkle::Merkle;
use crate::trace::{self, SegmentTrace};
use winterfell::{
    AcceptableOptions, AuxRandElements, BatchingMethod, CompositionPoly, CompositionPolyTrace,
    ConstraintCompositionCoefficients, FieldExtension, PartitionOptions, Proof, ProofOptions,
    Prover, StarkDomain, TraceInfo, TracePolyTable,
    crypto::{DefaultRandomCoin, Hasher},
    math::{FieldElement, fields::f64::BaseElement},
    matrix::ColMatrix,
};

pub type HashFn = Blake3Mont;
pub type VC = Merkle;
pub type Coin = DefaultRandomCoin<HashFn>;

/// FRI queries.
pub const QUERIES: usize = 64;
/// LDE blowup (the constraints have degree ≤ 4, so 4 is the least winterfell accepts).
pub const BLOWUP: usize = 4;
/// Proof-of-work bits on the query seed.
pub const GRINDING_BITS: u32 = 16;
/// Most segments one final proof may bundle (the daemon's MAX_SEGMENTS_PER_JOB).
pub const MAX_BUNDLE_SEGMENTS: usize = 1 << 14;
/// The conjectured security of a whole final proof, in bits (see the module documentation).
pub const BUNDLE_CONJECTURED_BITS: u32 = 128;

/// The only proof options a verifier accepts.
pub fn proof_options() -> ProofOptions {
    ProofOptions::new(
        QUERIES,
        BLOWUP,
        GRINDING_BITS,
        FieldExtension::Cubic,
        8,
        127,
        BatchingMethod::Linear,
        BatchingMethod::Linear,
    )
}

/// Conjectured security of one segment proof, winterfell's formula: `min(field bits, query bits
/// + grinding) − 1`, capped by the hash's collision resistance.
pub fn segment_conjectured_bits() -> u32 {
    let field = 64 * 3;
    let queries = BLOWUP.ilog2() * QUERIES as u32 + GRINDING_BITS;
    (field.min(queries) - 1).min(HashFn::COLLISION_RESISTANCE)
}

/// Soundness bits of a final proof of `segments` segments before the hash's cap: each segment's
/// soundness error adds up (union bound), so `log2(segments)` bits are lost.
pub fn bundle_soundness_bits(segments: usize) -> u32 {
    let field = 64 * 3;
    let queries = BLOWUP.ilog2() * QUERIES as u32 + GRINDING_BITS;
    let loss = segments.max(1).next_power_of_two().ilog2();
    field.min(queries) - 1 - loss
}

/// Conjectured security of a final proof of `segments` segments: the soundness bits, capped by
/// the hash's collision resistance (which does not depend on the segment count).
pub fn bundle_conjectured_bits(segments: usize) -> u32 {
    bundle_soundness_bits(segments).min(HashFn::COLLISION_RESISTANCE)
}

/// Proven security (winterfell's list-decoding estimate) of a segment proof, and of a final proof
/// of `segments` such segments.
pub fn proven_bits(proof: &Proof, segments: usize) -> (u32, u32) {
    let one = proof.proven_security::<HashFn>().ldr_bits();
    let loss = segments.max(1).next_power_of_two().ilog2();
    (one, one.saturating_sub(loss))
}

pub struct SpongeProver {
    options: ProofOptions,
    public: SegmentPublic,
}

impl SpongeProver {
    pub fn new(public: SegmentPublic) -> Self {
        SpongeProver {
            options: proof_options(),
            public,
        }
    }
}

impl Prover for SpongeProver {
    type BaseField = BaseElement;
    type Air = SpongeAir;
    type Trace = SegmentTrace;
    type HashFn = HashFn;
    type VC = VC;
    type RandomCoin = Coin;
    type TraceLde<E: FieldElement<BaseField = BaseElement>> = SegmentLde<E, HashFn, VC>;
    type ConstraintCommitment<E: FieldElement<BaseField = BaseElement>> =
        CompositionCommitment<E, HashFn, VC>;
    type ConstraintEvaluator<'a, E: FieldElement<BaseField = BaseElement>> = SpongeEvaluator<'a, E>;

    fn get_pub_inputs(&self, _trace: &Self::Trace) -> SegmentPublic {
        self.public.clone()
    }

    fn options(&self) -> &ProofOptions {
        &self.options
    }

    fn new_trace_lde<E: FieldElement<BaseField = BaseElement>>(
        &self,
        trace_info: &TraceInfo,
        main_trace: &ColMatrix<BaseElement>,
        domain: &StarkDomain<BaseElement>,
        partition_option: PartitionOptions,
    ) -> (Self::TraceLde<E>, TracePolyTable<E>) {
        SegmentLde::new(trace_info, main_trace, domain, partition_option)
    }

    /// Winterfell's `Prover::prove` (the reference `crate::pipeline` is tested against) needs
    /// winterfell's `CompositionPoly`, which only it can build: the commitment is ours, the
    /// polynomial winterfell's, from the same evaluations.
    fn build_constraint_commitment<E: FieldElement<BaseField = BaseElement>>(
        &self,
        composition_poly_trace: CompositionPolyTrace<E>,
        num_constraint_composition_columns: usize,
        domain: &StarkDomain<BaseElement>,
        partition_options: PartitionOptions,
    ) -> (Self::ConstraintCommitment<E>, CompositionPoly<E>) {
        let values = composition_poly_trace.into_inner();
        let ext = Extension::new(
            domain.trace_length(),
            domain.trace_to_lde_blowup(),
            domain.offset(),
        );
        let (commitment, _) = CompositionCommitment::new(
            CompositionPolyTrace::new(values.clone()),
            num_constraint_composition_columns,
            domain,
            partition_options,
            &ext,
        );
        let poly = CompositionPoly::new(
            CompositionPolyTrace::new(values),
            domain,
            num_constraint_composition_columns,
        );
        (commitment, poly)
    }

    fn new_evaluator<'a, E: FieldElement<BaseField = BaseElement>>(
        &self,
        air: &'a SpongeAir,
        aux_rand_elements: Option<AuxRandElements<E>>,
        composition_coefficients: ConstraintCompositionCoefficients<E>,
    ) -> Self::ConstraintEvaluator<'a, E> {
        SpongeEvaluator::new(air, aux_rand_elements, composition_coefficients)
    }

    fn build_aux_trace<E: FieldElement<BaseField = BaseElement>>(
        &self,
        main_trace: &SegmentTrace,
        aux_rand_elements: &AuxRandElements<E>,
    ) -> ColMatrix<E> {
        let _span = tracing::info_span!("build_aux_trace").entered();
        let rands = aux_rand_elements.rand_elements();
        trace::build_aux(main_trace, rands, &self.public.start)
    }
}

/// Verifies a decoded segment STARK against its public inputs.
pub fn verify(proof: Proof, public: SegmentPublic) -> Result<(), String> {
    let acc = AcceptableOptions::OptionSet(vec![proof_options()]);
    winterfell::verify::<SpongeAir, HashFn, Coin, VC>(proof, public, &acc)
        .map_err(|e| format!("the STARK proof does not verify: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stated_security_holds_for_the_largest_bundle() {
        assert_eq!(segment_conjectured_bits(), 128);
        assert_eq!(bundle_soundness_bits(1), 143);
        assert_eq!(bundle_soundness_bits(MAX_BUNDLE_SEGMENTS), 129);
        assert_eq!(
            bundle_conjectured_bits(MAX_BUNDLE_SEGMENTS),
            BUNDLE_CONJECTURED_BITS
        );
    }
}
