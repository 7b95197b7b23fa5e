//! Low-degree extensions and their commitments, one matrix segment as wide as the trace.
//!
//! Winterfell's default trace LDE and constraint commitment evaluate columns in segments of 8
//! base-field columns and then transpose the segments into one row-major matrix. Our 18 main
//! columns made 3 segments (24 columns of FFT work for 18) and the 7 cubic composition columns
//! 3 (24 for 21), each followed by a copy of the whole LDE. Evaluated as one segment of exactly
//! their width, the columns cost what they are and need no transposition (nor its second copy of
//! the matrix in memory). Everything else is winterfell's: the same polynomials, evaluations,
//! row hashes and vector commitments, so proofs verify with winterfell's verifier unchanged.

use crate::air::{AUX_WIDTH, MAIN_WIDTH};
use std::marker::PhantomData;
use winter_air::proof::Queries;
use winter_prover::ConstraintCommitment;
use winterfell::{
    CompositionPoly, CompositionPolyTrace, EvaluationFrame, PartitionOptions, StarkDomain,
    TraceInfo, TraceLde, TracePolyTable,
    crypto::{ElementHasher, Hasher, VectorCommitment},
    math::{FieldElement, fields::f64::BaseElement},
    matrix::{ColMatrix, RowMatrix},
};

/// Base-field columns of the auxiliary trace in the cubic extension.
const AUX_BASE_WIDTH: usize = AUX_WIDTH * 3;
/// Base-field columns of the composition polynomial: 7 columns (constraint degree 7, one column
/// per unit of degree above the divisor's) in the cubic extension.
const COMPOSITION_BASE_WIDTH: usize = 7 * 3;

/// The rows of `lde` at `positions` with a batch opening of their commitment.
fn queries<E, H, V>(lde: &RowMatrix<E>, commitment: &V, positions: &[usize]) -> Queries
where
    E: FieldElement<BaseField = BaseElement>,
    H: ElementHasher<BaseField = BaseElement>,
    V: VectorCommitment<H>,
{
    let rows = positions.iter().map(|&p| lde.row(p).to_vec()).collect();
    let opening = commitment
        .open_many(positions)
        .expect("positions are inside the committed domain");
    Queries::new::<H, E, V>(opening.1, rows)
}

/// Interpolates `trace`'s columns, evaluates them over the LDE domain as one segment of `N`
/// base columns (`N` ≥ their base width) and commits to the rows.
fn extend_and_commit<const N: usize, E, H, V>(
    trace: &ColMatrix<E>,
    domain: &StarkDomain<BaseElement>,
    partition: PartitionOptions,
) -> (RowMatrix<E>, V, ColMatrix<E>)
where
    E: FieldElement<BaseField = BaseElement>,
    H: ElementHasher<BaseField = BaseElement>,
    V: VectorCommitment<H>,
{
    let (lde, polys) = tracing::info_span!("extend_execution_trace").in_scope(|| {
        let polys = trace.interpolate_columns();
        (RowMatrix::evaluate_polys_over::<N>(&polys, domain), polys)
    });
    let commitment = tracing::info_span!("compute_execution_trace_commitment")
        .in_scope(|| lde.commit_to_rows::<H, V>(partition));
    (lde, commitment, polys)
}

/// The LDE of a segment's main and auxiliary traces.
pub struct SegmentLde<E: FieldElement, H, V> {
    main: RowMatrix<BaseElement>,
    main_commitment: V,
    aux: Option<(RowMatrix<E>, V)>,
    blowup: usize,
    trace_info: TraceInfo,
    partition: PartitionOptions,
    _h: PhantomData<H>,
}

impl<E, H, V> SegmentLde<E, H, V>
where
    E: FieldElement<BaseField = BaseElement>,
    H: ElementHasher<BaseField = BaseElement>,
    V: VectorCommitment<H>,
{
    pub fn new(
        trace_info: &TraceInfo,
        main_trace: &ColMatrix<BaseElement>,
        domain: &StarkDomain<BaseElement>,
        partition: PartitionOptions,
    ) -> (Self, TracePolyTable<E>) {
        assert!(main_trace.num_base_cols() <= MAIN_WIDTH);
        let (main, main_commitment, polys) =
            extend_and_commit::<MAIN_WIDTH, BaseElement, H, V>(main_trace, domain, partition);
        let lde = SegmentLde {
            main,
            main_commitment,
            aux: None,
            blowup: domain.trace_to_lde_blowup(),
            trace_info: trace_info.clone(),
            partition,
            _h: PhantomData,
        };
        (lde, TracePolyTable::new(polys))
    }
}

impl<E, H, V> TraceLde<E> for SegmentLde<E, H, V>
where
    E: FieldElement<BaseField = BaseElement>,
    H: ElementHasher<BaseField = BaseElement> + Sync,
    V: VectorCommitment<H> + Sync,
{
    type HashFn = H;
    type VC = V;

    fn get_main_trace_commitment(&self) -> <H as Hasher>::Digest {
        self.main_commitment.commitment()
    }

    fn set_aux_trace(
        &mut self,
        aux_trace: &ColMatrix<E>,
        domain: &StarkDomain<BaseElement>,
    ) -> (ColMatrix<E>, <H as Hasher>::Digest) {
        assert!(self.aux.is_none(), "the auxiliary trace is set once");
        assert!(aux_trace.num_base_cols() <= AUX_BASE_WIDTH);
        let (lde, commitment, polys) =
            extend_and_commit::<AUX_BASE_WIDTH, E, H, V>(aux_trace, domain, self.partition);
        let root = commitment.commitment();
        self.aux = Some((lde, commitment));
        (polys, root)
    }

    fn read_main_trace_frame_into(&self, step: usize, frame: &mut EvaluationFrame<BaseElement>) {
        let next = (step + self.blowup) % self.trace_len();
        frame.current_mut().copy_from_slice(self.main.row(step));
        frame.next_mut().copy_from_slice(self.main.row(next));
    }

    fn read_aux_trace_frame_into(&self, step: usize, frame: &mut EvaluationFrame<E>) {
        let next = (step + self.blowup) % self.trace_len();
        let (aux, _) = self.aux.as_ref().expect("the auxiliary trace is set");
        frame.current_mut().copy_from_slice(aux.row(step));
        frame.next_mut().copy_from_slice(aux.row(next));
    }

    fn query(&self, positions: &[usize]) -> Vec<Queries> {
        let mut result = vec![queries::<BaseElement, H, V>(
            &self.main,
            &self.main_commitment,
            positions,
        )];
        if let Some((aux, commitment)) = &self.aux {
            result.push(queries::<E, H, V>(aux, commitment, positions));
        }
        result
    }

    fn trace_len(&self) -> usize {
        self.main.num_rows()
    }

    fn blowup(&self) -> usize {
        self.blowup
    }

    fn trace_info(&self) -> &TraceInfo {
        &self.trace_info
    }
}

/// The composition polynomial's LDE and its commitment.
pub struct CompositionCommitment<E: FieldElement, H, V> {
    evaluations: RowMatrix<E>,
    commitment: V,
    _h: PhantomData<H>,
}

impl<E, H, V> CompositionCommitment<E, H, V>
where
    E: FieldElement<BaseField = BaseElement>,
    H: ElementHasher<BaseField = BaseElement>,
    V: VectorCommitment<H>,
{
    pub fn new(
        trace: CompositionPolyTrace<E>,
        num_columns: usize,
        domain: &StarkDomain<BaseElement>,
        partition: PartitionOptions,
    ) -> (Self, CompositionPoly<E>) {
        let poly = tracing::info_span!("build_composition_poly_columns")
            .in_scope(|| CompositionPoly::new(trace, domain, num_columns));
        assert!(poly.data().num_base_cols() <= COMPOSITION_BASE_WIDTH);
        let evaluations = tracing::info_span!("evaluate_composition_poly_columns").in_scope(|| {
            RowMatrix::evaluate_polys_over::<COMPOSITION_BASE_WIDTH>(poly.data(), domain)
        });
        let commitment = tracing::info_span!("compute_constraint_evaluation_commitment")
            .in_scope(|| evaluations.commit_to_rows::<H, V>(partition));
        let c = CompositionCommitment {
            evaluations,
            commitment,
            _h: PhantomData,
        };
        (c, poly)
    }
}

impl<E, H, V> ConstraintCommitment<E> for CompositionCommitment<E, H, V>
where
    E: FieldElement<BaseField = BaseElement>,
    H: ElementHasher<BaseField = BaseElement> + Sync,
    V: VectorCommitment<H> + Sync,
{
    type HashFn = H;
    type VC = V;

    fn commitment(&self) -> <H as Hasher>::Digest {
        self.commitment.commitment()
    }

    fn query(self, positions: &[usize]) -> Queries {
        queries::<E, H, V>(&self.evaluations, &self.commitment, positions)
    }
}
