//! Low-degree extensions and their commitments, one matrix segment as wide as the trace.
//!
//! Winterfell's default trace LDE and constraint commitment evaluate columns in segments of 8
//! base-field columns and then transpose the segments into one row-major matrix: our 42 main
//! columns would make 6 segments (48 columns of FFT work for 42), the 4 cubic auxiliary columns 2
//! (16 for 12), each followed by a copy of the whole LDE. Evaluated as one segment of exactly
//! their width, the columns cost what they are and need no transposition (nor its second copy of
//! the matrix in memory). Both trace LDEs go through [`crate::fft`] instead, a column at a time
//! with vector butterflies: winterfell's per-column interpolation and its row-array FFT cost 3×
//! and 2.5× as much for narrow matrices, and as much as a scalar column FFT for the 42 main
//! columns, which the vector one beats (measured at 2^18 rows, see `native/README.md`). The
//! composition polynomial's interpolation and LDE go through [`crate::fft`] too.
//! Everything else is winterfell's: the same polynomials, evaluations, row hashes and vector
//! commitments, so proofs verify with winterfell's verifier unchanged.

use crate::air::{AUX_WIDTH, MAIN_WIDTH};
use crate::fft::{self, Extension};
use crate::hasher::RowHasher;
use std::marker::PhantomData;
use winter_air::proof::Queries;
use winter_prover::ConstraintCommitment;
use winterfell::{
    CompositionPolyTrace, EvaluationFrame, PartitionOptions, StarkDomain, TraceInfo, TraceLde,
    TracePolyTable,
    crypto::{ElementHasher, Hasher, VectorCommitment},
    math::{FieldElement, fields::f64::BaseElement},
    matrix::ColMatrix,
};

/// Base-field columns of the auxiliary trace in the cubic extension.
const AUX_BASE_WIDTH: usize = AUX_WIDTH * 3;
/// Base-field columns of the composition polynomial: 3 columns (constraint degree 4, one column
/// per unit of degree above the divisor's) in the cubic extension.
const COMPOSITION_BASE_WIDTH: usize = 3 * 3;

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

/// A row-major matrix of `E` rows stored as their base-field coordinates.
struct Rows<E> {
    data: Vec<BaseElement>,
    /// Base elements per row.
    width: usize,
    _e: PhantomData<E>,
}

impl<E: FieldElement<BaseField = BaseElement>> Rows<E> {
    fn num_rows(&self) -> usize {
        self.data.len() / self.width
    }

    fn row(&self, i: usize) -> &[E] {
        E::slice_from_base_elements(&self.data[i * self.width..(i + 1) * self.width])
    }

    /// Winterfell's commitment to a matrix's rows (`RowMatrix::commit_to_rows`, one partition):
    /// each row hashed whole, the digests committed.
    fn commit<H, V>(&self, partition: PartitionOptions) -> V
    where
        H: RowHasher,
        V: VectorCommitment<H>,
    {
        let cols = self.width / E::EXTENSION_DEGREE;
        assert_eq!(
            partition.partition_size::<E>(cols),
            cols,
            "rows are hashed in one partition"
        );
        V::new(H::hash_rows(&self.data, self.width)).expect("a power-of-two number of row digests")
    }
}

/// The LDE, as rows of `E`, of base-field `columns` (an `E` value's coordinates side by side) and
/// the columns' polynomials.
fn extend<E>(columns: &[&[BaseElement]], ext: &Extension) -> (Rows<E>, Vec<Vec<BaseElement>>)
where
    E: FieldElement<BaseField = BaseElement>,
{
    let polys = ext.interpolate(columns);
    let width = columns.len();
    let rows = Rows {
        data: ext.evaluate_rows(&polys, width),
        width,
        _e: PhantomData,
    };
    (rows, polys.into_columns())
}

/// The polynomials of extension-field columns and their LDE, as rows: each base coordinate of a
/// column is extended apart.
fn extend_ext<E>(trace: &ColMatrix<E>, ext: &Extension) -> (Rows<E>, ColMatrix<E>)
where
    E: FieldElement<BaseField = BaseElement>,
{
    let d = E::EXTENSION_DEGREE;
    let coords: Vec<Vec<BaseElement>> = (0..trace.num_cols() * d)
        .map(|i| fft::coordinate(trace.get_column(i / d), i % d))
        .collect();
    let refs: Vec<&[BaseElement]> = coords.iter().map(|c| c.as_slice()).collect();
    let (rows, polys) = extend(&refs, ext);
    let polys = ColMatrix::new(
        polys
            .chunks(d)
            .map(|c| fft::from_coordinates::<E>(c))
            .collect(),
    );
    (rows, polys)
}

/// The LDE of a segment's main and auxiliary traces.
pub struct SegmentLde<E: FieldElement, H, V> {
    main: Rows<BaseElement>,
    aux: Option<Rows<E>>,
    main_commitment: V,
    aux_commitment: Option<V>,
    blowup: usize,
    trace_info: TraceInfo,
    partition: PartitionOptions,
    ext: Extension,
    _h: PhantomData<H>,
}

impl<E, H, V> SegmentLde<E, H, V>
where
    E: FieldElement<BaseField = BaseElement>,
    H: RowHasher,
    V: VectorCommitment<H>,
{
    pub fn new(
        trace_info: &TraceInfo,
        main_trace: &ColMatrix<BaseElement>,
        domain: &StarkDomain<BaseElement>,
        partition: PartitionOptions,
    ) -> (Self, TracePolyTable<E>) {
        assert!(main_trace.num_base_cols() <= MAIN_WIDTH);
        let ext = Extension::new(
            main_trace.num_rows(),
            domain.trace_to_lde_blowup(),
            domain.offset(),
        );
        let (main, polys) = tracing::info_span!("extend_execution_trace").in_scope(|| {
            let columns: Vec<&[BaseElement]> = (0..main_trace.num_cols())
                .map(|i| main_trace.get_column(i))
                .collect();
            let (main, polys) = extend(&columns, &ext);
            let polys = ColMatrix::new(polys);
            (main, polys)
        });
        let main_commitment = tracing::info_span!("compute_execution_trace_commitment")
            .in_scope(|| main.commit::<H, V>(partition));
        let lde = SegmentLde {
            main,
            aux: None,
            main_commitment,
            aux_commitment: None,
            blowup: domain.trace_to_lde_blowup(),
            trace_info: trace_info.clone(),
            partition,
            ext,
            _h: PhantomData,
        };
        (lde, TracePolyTable::new(polys))
    }
}

/// The rows at `positions` of an LDE.
fn rows<'a, E: FieldElement + 'a>(
    row: impl Fn(usize) -> &'a [E],
    positions: &[usize],
) -> Vec<Vec<E>> {
    positions.iter().map(|&p| row(p).to_vec()).collect()
}

impl<E, H, V> TraceLde<E> for SegmentLde<E, H, V>
where
    E: FieldElement<BaseField = BaseElement>,
    H: RowHasher + Sync,
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
        assert_eq!(domain.trace_to_lde_blowup(), self.blowup);
        let (lde, polys) = tracing::info_span!("extend_execution_trace")
            .in_scope(|| extend_ext(aux_trace, &self.ext));
        let commitment = tracing::info_span!("compute_execution_trace_commitment")
            .in_scope(|| lde.commit::<H, V>(self.partition));
        let root = commitment.commitment();
        self.aux = Some(lde);
        self.aux_commitment = Some(commitment);
        (polys, root)
    }

    fn read_main_trace_frame_into(&self, step: usize, frame: &mut EvaluationFrame<BaseElement>) {
        let next = (step + self.blowup) % self.main.num_rows();
        frame.current_mut().copy_from_slice(self.main.row(step));
        frame.next_mut().copy_from_slice(self.main.row(next));
    }

    fn read_aux_trace_frame_into(&self, step: usize, frame: &mut EvaluationFrame<E>) {
        let aux = self
            .aux
            .as_ref()
            .expect("frames are read after the aux trace is set");
        let next = (step + self.blowup) % aux.num_rows();
        frame.current_mut().copy_from_slice(aux.row(step));
        frame.next_mut().copy_from_slice(aux.row(next));
    }

    fn query(&self, positions: &[usize]) -> Vec<Queries> {
        let mut result = vec![opened::<BaseElement, H, V>(
            rows(|p| self.main.row(p), positions),
            &self.main_commitment,
            positions,
        )];
        if let (Some(lde), Some(commitment)) = (&self.aux, &self.aux_commitment) {
            result.push(opened::<E, H, V>(
                rows(|p| lde.row(p), positions),
                commitment,
                positions,
            ));
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
    evaluations: Rows<E>,
    commitment: V,
    _h: PhantomData<H>,
}

impl<E, H, V> CompositionCommitment<E, H, V>
where
    E: FieldElement<BaseField = BaseElement>,
    H: RowHasher,
    V: VectorCommitment<H>,
{
    /// The composition polynomial of the constraint evaluations `trace` (winterfell's
    /// `CompositionPoly::new`: `num_columns` columns of `n` coefficients), its LDE over `ext`'s
    /// domain and the commitment to its rows. Returns the columns' coefficients, natural order,
    /// each extension column as its base coordinates in turn.
    pub fn new(
        trace: CompositionPolyTrace<E>,
        num_columns: usize,
        domain: &StarkDomain<BaseElement>,
        partition: PartitionOptions,
        ext: &Extension,
    ) -> (Self, Vec<Vec<BaseElement>>) {
        let width = num_columns * E::EXTENSION_DEGREE;
        assert!(width <= COMPOSITION_BASE_WIDTH);
        let polys = tracing::info_span!("build_composition_poly_columns").in_scope(|| {
            ext.interpolate_columns(&trace.into_inner(), domain.offset(), num_columns)
        });
        let evaluations =
            tracing::info_span!("evaluate_composition_poly_columns").in_scope(|| Rows {
                data: ext.evaluate_rows(&polys, width),
                width,
                _e: PhantomData,
            });
        let commitment = tracing::info_span!("compute_constraint_evaluation_commitment")
            .in_scope(|| evaluations.commit::<H, V>(partition));
        let c = CompositionCommitment {
            evaluations,
            commitment,
            _h: PhantomData,
        };
        (c, polys.into_columns())
    }
}

impl<E, H, V> ConstraintCommitment<E> for CompositionCommitment<E, H, V>
where
    E: FieldElement<BaseField = BaseElement>,
    H: RowHasher + Sync,
    V: VectorCommitment<H> + Sync,
{
    type HashFn = H;
    type VC = V;

    fn commitment(&self) -> <H as Hasher>::Digest {
        self.commitment.commitment()
    }

    fn query(self, positions: &[usize]) -> Queries {
        opened::<E, H, V>(
            rows(|p| self.evaluations.row(p), positions),
            &self.commitment,
            positions,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hasher::Blake3Mont;
    use winterfell::{
        CompositionPoly,
        crypto::MerkleTree,
        math::{StarkField, fft as wfft, fields::CubeExtension},
        matrix::RowMatrix,
    };

    type E3 = CubeExtension<BaseElement>;

    /// The composition polynomial's columns and LDE (ours through `crate::fft`) against
    /// winterfell's `CompositionPoly::new` and `RowMatrix::evaluate_polys_over`.
    #[test]
    fn composition_columns_and_lde_equal_winterfells() {
        let (n, blowup, columns) = (1 << 10, 4, 3);
        let mut step = crate::sample::xorshift(7);
        let mut next = || BaseElement::new(step());
        // A polynomial of degree < 3n, evaluated over the constraint domain (4n points).
        let mut coefficients: Vec<E3> = (0..n * blowup)
            .map(|_| E3::new(next(), next(), next()))
            .collect();
        coefficients[columns * n..].fill(E3::ZERO);
        let domain =
            StarkDomain::from_twiddles(wfft::get_twiddles(n), blowup, BaseElement::GENERATOR);
        let values = wfft::evaluate_poly_with_offset(
            &coefficients,
            &wfft::get_twiddles(n * blowup),
            domain.offset(),
            1,
        );
        let ext = Extension::new(n, blowup, domain.offset());
        let (ours, polys) = CompositionCommitment::<E3, Blake3Mont, MerkleTree<Blake3Mont>>::new(
            CompositionPolyTrace::new(values.clone()),
            columns,
            &domain,
            PartitionOptions::default(),
            &ext,
        );
        let theirs = CompositionPoly::new(CompositionPolyTrace::new(values), &domain, columns);
        for c in 0..columns {
            let coords: Vec<Vec<BaseElement>> = (0..3)
                .map(|d| fft::coordinate(theirs.data().get_column(c), d))
                .collect();
            assert_eq!(&polys[3 * c..3 * c + 3], coords.as_slice(), "column {c}");
        }
        let lde = RowMatrix::evaluate_polys_over::<9>(theirs.data(), &domain);
        for i in 0..n * blowup {
            assert_eq!(ours.evaluations.row(i), lde.row(i), "row {i}");
        }
    }
}
