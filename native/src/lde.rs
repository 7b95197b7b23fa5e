//! Low-degree extensions and their commitments, one matrix segment as wide as the trace.
//!
//! The trace LDEs (400 MB at 2^18 rows) are read only while the constraints are evaluated; the
//! evaluator then releases them (a frame read at [`RELEASE_STEP`]) before the composition
//! polynomial's LDE is built, and the 43 queried rows are evaluated from the trace polynomials at
//! the end. That keeps a 2^18-row prove under 1 GB. (Winterfell's `TraceLde` has no call that
//! says the evaluation is over, and its prover holds the LDE to the end; the sentinel step is that
//! call, between our evaluator and our LDE.)
//!
//! Winterfell's default trace LDE and constraint commitment evaluate columns in segments of 8
//! base-field columns and then transpose the segments into one row-major matrix. Our 18 main
//! columns made 3 segments (24 columns of FFT work for 18) and the 7 cubic composition columns
//! 3 (24 for 21), each followed by a copy of the whole LDE. Evaluated as one segment of exactly
//! their width, the columns cost what they are and need no transposition (nor its second copy of
//! the matrix in memory). Everything else is winterfell's: the same polynomials, evaluations,
//! row hashes and vector commitments, so proofs verify with winterfell's verifier unchanged.

use crate::air::{AUX_WIDTH, MAIN_WIDTH};
use rayon::prelude::*;
use std::marker::PhantomData;
use std::sync::RwLock;
use winter_air::proof::Queries;
use winter_prover::ConstraintCommitment;
use winterfell::{
    CompositionPoly, CompositionPolyTrace, EvaluationFrame, PartitionOptions, StarkDomain,
    TraceInfo, TraceLde, TracePolyTable,
    crypto::{ElementHasher, Hasher, VectorCommitment},
    math::{FieldElement, StarkField, fields::f64::BaseElement},
    matrix::{ColMatrix, RowMatrix},
};

/// Base-field columns of the auxiliary trace in the cubic extension.
const AUX_BASE_WIDTH: usize = AUX_WIDTH * 3;
/// Base-field columns of the composition polynomial: 7 columns (constraint degree 7, one column
/// per unit of degree above the divisor's) in the cubic extension.
const COMPOSITION_BASE_WIDTH: usize = 7 * 3;

/// Queried rows with a batch opening of their commitment.
fn opened<E, H, V>(rows: Vec<Vec<E>>, commitment: &V, positions: &[usize]) -> Queries
where
    E: FieldElement<BaseField = BaseElement>,
    H: ElementHasher<BaseField = BaseElement>,
    V: VectorCommitment<H>,
{
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

/// Reading the main frame at this step releases the LDE matrices: after it, only `query` may be
/// called, and its rows are evaluated from the polynomials.
pub const RELEASE_STEP: usize = usize::MAX;

/// The LDE matrices, held until the constraints are evaluated.
struct Matrices<E: FieldElement> {
    main: RowMatrix<BaseElement>,
    aux: Option<RowMatrix<E>>,
}

/// The LDE of a segment's main and auxiliary traces.
pub struct SegmentLde<E: FieldElement, H, V> {
    matrices: RwLock<Option<Matrices<E>>>,
    /// The trace polynomials, to evaluate queried rows once the matrices are released.
    main_polys: ColMatrix<BaseElement>,
    aux_polys: Option<ColMatrix<E>>,
    main_commitment: V,
    aux_commitment: Option<V>,
    /// The LDE domain: its offset and generator, and its size.
    offset: BaseElement,
    generator: BaseElement,
    size: usize,
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
        let size = domain.lde_domain_size();
        let lde = SegmentLde {
            matrices: RwLock::new(Some(Matrices { main, aux: None })),
            main_polys: polys.clone(),
            aux_polys: None,
            main_commitment,
            aux_commitment: None,
            offset: domain.offset(),
            generator: BaseElement::get_root_of_unity(size.ilog2()),
            size,
            blowup: domain.trace_to_lde_blowup(),
            trace_info: trace_info.clone(),
            partition,
            _h: PhantomData,
        };
        (lde, TracePolyTable::new(polys))
    }

    fn matrices(&self) -> std::sync::RwLockReadGuard<'_, Option<Matrices<E>>> {
        self.matrices.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// The rows of `polys` at the points `xs`: each column is evaluated at every point in one pass
/// over its coefficients (Horner at all points at once, so the multiplications of different
/// points overlap instead of waiting on each other), columns in parallel.
fn rows_at<E: FieldElement<BaseField = BaseElement>>(
    polys: &ColMatrix<E>,
    xs: &[BaseElement],
) -> Vec<Vec<E>> {
    let columns: Vec<Vec<E>> = (0..polys.num_cols())
        .into_par_iter()
        .map(|c| {
            let mut acc = vec![E::ZERO; xs.len()];
            for coef in polys.get_column(c).iter().rev() {
                for (a, x) in acc.iter_mut().zip(xs) {
                    *a = a.mul_base(*x) + *coef;
                }
            }
            acc
        })
        .collect();
    (0..xs.len())
        .map(|p| columns.iter().map(|col| col[p]).collect())
        .collect()
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
        assert!(
            self.aux_commitment.is_none(),
            "the auxiliary trace is set once"
        );
        assert!(aux_trace.num_base_cols() <= AUX_BASE_WIDTH);
        let (lde, commitment, polys) =
            extend_and_commit::<AUX_BASE_WIDTH, E, H, V>(aux_trace, domain, self.partition);
        let root = commitment.commitment();
        self.matrices
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
            .expect("the LDE is not released before the auxiliary trace is set")
            .aux = Some(lde);
        self.aux_commitment = Some(commitment);
        self.aux_polys = Some(polys.clone());
        (polys, root)
    }

    fn read_main_trace_frame_into(&self, step: usize, frame: &mut EvaluationFrame<BaseElement>) {
        if step == RELEASE_STEP {
            *self.matrices.write().unwrap_or_else(|e| e.into_inner()) = None;
            return;
        }
        let next = (step + self.blowup) % self.size;
        let m = self.matrices();
        let m = m
            .as_ref()
            .expect("frames are read before the LDE is released");
        frame.current_mut().copy_from_slice(m.main.row(step));
        frame.next_mut().copy_from_slice(m.main.row(next));
    }

    fn read_aux_trace_frame_into(&self, step: usize, frame: &mut EvaluationFrame<E>) {
        let next = (step + self.blowup) % self.size;
        let m = self.matrices();
        let aux = m
            .as_ref()
            .and_then(|m| m.aux.as_ref())
            .expect("frames are read before the LDE is released, after the aux trace is set");
        frame.current_mut().copy_from_slice(aux.row(step));
        frame.next_mut().copy_from_slice(aux.row(next));
    }

    fn query(&self, positions: &[usize]) -> Vec<Queries> {
        let m = self.matrices();
        let xs: Vec<BaseElement> = positions
            .iter()
            .map(|&p| self.offset * self.generator.exp(p as u64))
            .collect();
        let rows_of = |lde: Option<&RowMatrix<E>>, polys: &ColMatrix<E>| -> Vec<Vec<E>> {
            match lde {
                Some(lde) => positions.iter().map(|&p| lde.row(p).to_vec()).collect(),
                None => rows_at(polys, &xs),
            }
        };
        let main_rows = match m.as_ref() {
            Some(m) => positions.iter().map(|&p| m.main.row(p).to_vec()).collect(),
            None => rows_at(&self.main_polys, &xs),
        };
        let mut result = vec![opened::<BaseElement, H, V>(
            main_rows,
            &self.main_commitment,
            positions,
        )];
        if let (Some(commitment), Some(polys)) = (&self.aux_commitment, &self.aux_polys) {
            let aux = m.as_ref().and_then(|m| m.aux.as_ref());
            result.push(opened::<E, H, V>(
                rows_of(aux, polys),
                commitment,
                positions,
            ));
        }
        result
    }

    fn trace_len(&self) -> usize {
        self.size
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
        let rows = positions
            .iter()
            .map(|&p| self.evaluations.row(p).to_vec())
            .collect();
        opened::<E, H, V>(rows, &self.commitment, positions)
    }
}
