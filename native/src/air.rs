//! The AIR of one `rescue-sponge` segment and its winterfell prover.
//!
//! # Trace layout (12 columns, 8 rows per block)
//!
//! Columns are the 12 elements of the sponge state. Block `k` of the segment occupies rows
//! `8k .. 8k+7`:
//!
//! * row `8k` holds `A_k`, the state right after block `k`'s 8 input elements were added to the
//!   rate (`state[4..12]`);
//! * rows `8k+1 .. 8k+7` hold the state after Rescue rounds 0..6, so row `8k+7` is the state after
//!   the permutation;
//! * the step `8k+7 → 8k+8` is the *absorb* step: the capacity `state[0..4]` is copied, the rate
//!   receives the next block's input, which is **not** constrained (it is a free witness).
//!
//! The trace length is the next power of two ≥ 8·blockCount (at least 8); the rows after the last
//! real block continue the sponge with zero input and are ignored by the assertions.
//!
//! # Constraints
//!
//! Periodic columns (period 8): `ARK1[r]`, `ARK2[r]` (12 each) and a round flag `f` that is 1 on
//! rows `8k+r` for `r < 7` and 0 on row `8k+7`. With `x` the current row and `y` the next:
//!
//! * round (12 constraints, degree 7 + the flag):
//!   `f · ( (INV_MDS·(y − ARK2))^7 − (MDS·x^7 + ARK1) ) = 0`, which is the Rescue-XLIX round
//!   `y = MDS·(MDS·x^7 + ARK1)^{1/7} + ARK2` without an inverse S-box in the constraint;
//! * absorb (4 constraints, degree 1 + the flag): `(1 − f) · (y_i − x_i) = 0` for `i in 0..4`.
//!
//! Assertions: row 0, columns 0..4 = the capacity of the segment's start state; row
//! `8·blockCount − 1`, all 12 columns = the segment's end state.
//!
//! # What is and is not bound
//!
//! The proof shows: *there exist field elements `in_0 … in_{n−1}` (8 each) such that absorbing
//! them from the start state and permuting after each block yields the end state.* The rate of the
//! start state is absorbed together with the free `in_0`, so only its capacity is asserted (which
//! loses nothing: any rate can be compensated by `in_0`). The AIR does **not** check that the
//! absorbed elements are 7-byte chunks (< 2^56) nor the `0x01` padding; it shows knowledge of a
//! preimage chain. What pins a segment to its data is the pair (start state, end state): finding a
//! second input with the same end state is a Rescue collision. The segment's public inputs also
//! carry the job's challenge, the segment index, first block, block count and input size, all of
//! which enter winterfell's Fiat–Shamir transcript, so a proof verifies only for that statement.

use crate::sponge::{STATE_WIDTH, State};
use winter_crypto::hashers::Rp64_256;
use winterfell::{
    Air, AirContext, Assertion, AuxRandElements, BatchingMethod, CompositionPoly,
    CompositionPolyTrace, ConstraintCompositionCoefficients, DefaultConstraintCommitment,
    DefaultConstraintEvaluator, DefaultTraceLde, EvaluationFrame, FieldExtension, PartitionOptions,
    ProofOptions, Prover, StarkDomain, TraceInfo, TracePolyTable, TraceTable,
    TransitionConstraintDegree,
    crypto::{DefaultRandomCoin, MerkleTree, hashers::Blake3_256},
    math::{FieldElement, ToElements, fields::f64::BaseElement},
    matrix::ColMatrix,
};

pub type HashFn = Blake3_256<BaseElement>;
pub type VC = MerkleTree<HashFn>;
pub type Coin = DefaultRandomCoin<HashFn>;

/// Rows per block (7 rounds + 1 absorb step).
pub const CYCLE: usize = 8;
const NUM_ROUNDS: usize = 7;

/// The only proof options a verifier accepts: 30 queries, blowup 8, 16 bits of grinding, quadratic
/// extension of Goldilocks, FRI folding 8, remainder degree ≤ 127, Blake3-256 commitments.
/// Conjectured security ≈ 30·log2(8) + 16 = 106 bits (winterfell reports 105 for 2^18 rows);
/// proven security (list decoding, winterfell's estimate) is much lower, ≈ 56 bits.
pub fn proof_options() -> ProofOptions {
    ProofOptions::new(
        30,
        8,
        16,
        FieldExtension::Quadratic,
        8,
        127,
        BatchingMethod::Linear,
        BatchingMethod::Linear,
    )
}

/// Public inputs of a segment proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentPublic {
    pub challenge: [u8; 32],
    pub index: u64,
    pub start_block: u64,
    pub block_count: u64,
    pub input_size: u64,
    pub start: State,
    pub end: State,
}

/// Domain-separation tag "pmrs1" entering the transcript first.
const PUB_TAG: u64 = 0x0070_6d72_7331;

impl ToElements<BaseElement> for SegmentPublic {
    fn to_elements(&self) -> Vec<BaseElement> {
        let mut v = vec![BaseElement::new(PUB_TAG)];
        for c in self.challenge.chunks(4) {
            v.push(BaseElement::new(
                u32::from_le_bytes(c.try_into().unwrap()) as u64
            ));
        }
        for x in [
            self.index,
            self.start_block,
            self.block_count,
            self.input_size,
        ] {
            v.push(BaseElement::new(x & 0xffff_ffff));
            v.push(BaseElement::new(x >> 32));
        }
        v.extend_from_slice(&self.start);
        v.extend_from_slice(&self.end);
        v
    }
}

/// Trace length for a segment of `blocks` blocks.
pub fn trace_length(blocks: u64) -> usize {
    ((blocks as usize) * CYCLE).next_power_of_two().max(CYCLE)
}

pub struct SpongeAir {
    context: AirContext<BaseElement>,
    start_capacity: [BaseElement; 4],
    end: State,
    last_row: usize,
}

impl Air for SpongeAir {
    type BaseField = BaseElement;
    type PublicInputs = SegmentPublic;

    fn new(trace_info: TraceInfo, pub_inputs: SegmentPublic, options: ProofOptions) -> Self {
        let mut degrees = Vec::with_capacity(STATE_WIDTH + 4);
        for _ in 0..STATE_WIDTH {
            degrees.push(TransitionConstraintDegree::with_cycles(7, vec![CYCLE]));
        }
        for _ in 0..4 {
            degrees.push(TransitionConstraintDegree::with_cycles(1, vec![CYCLE]));
        }
        // The caller checks that the trace is long enough; clamp so that a bad proof cannot make
        // us index past the trace here.
        let last_row =
            ((pub_inputs.block_count as usize) * CYCLE).clamp(1, trace_info.length()) - 1;
        SpongeAir {
            context: AirContext::new(trace_info, degrees, 4 + STATE_WIDTH, options),
            start_capacity: [
                pub_inputs.start[0],
                pub_inputs.start[1],
                pub_inputs.start[2],
                pub_inputs.start[3],
            ],
            end: pub_inputs.end,
            last_row,
        }
    }

    fn context(&self) -> &AirContext<BaseElement> {
        &self.context
    }

    fn evaluate_transition<E: FieldElement<BaseField = BaseElement>>(
        &self,
        frame: &EvaluationFrame<E>,
        periodic_values: &[E],
        result: &mut [E],
    ) {
        let cur = frame.current();
        let next = frame.next();
        let ark1 = &periodic_values[0..STATE_WIDTH];
        let ark2 = &periodic_values[STATE_WIDTH..2 * STATE_WIDTH];
        let flag = periodic_values[2 * STATE_WIDTH];

        let mut x7 = [E::ZERO; STATE_WIDTH];
        let mut y = [E::ZERO; STATE_WIDTH];
        for i in 0..STATE_WIDTH {
            let x = cur[i];
            let x2 = x * x;
            let x4 = x2 * x2;
            x7[i] = x4 * x2 * x;
            y[i] = next[i] - ark2[i];
        }
        for i in 0..STATE_WIDTH {
            let mut fwd = ark1[i];
            let mut back = E::ZERO;
            for j in 0..STATE_WIDTH {
                fwd += x7[j] * E::from(Rp64_256::MDS[i][j]);
                back += y[j] * E::from(Rp64_256::INV_MDS[i][j]);
            }
            let b2 = back * back;
            let b4 = b2 * b2;
            let back7 = b4 * b2 * back;
            result[i] = flag * (back7 - fwd);
        }
        for i in 0..4 {
            result[STATE_WIDTH + i] = (E::ONE - flag) * (next[i] - cur[i]);
        }
    }

    fn get_assertions(&self) -> Vec<Assertion<BaseElement>> {
        let mut a = Vec::with_capacity(4 + STATE_WIDTH);
        for (i, v) in self.start_capacity.iter().enumerate() {
            a.push(Assertion::single(i, 0, *v));
        }
        for (i, v) in self.end.iter().enumerate() {
            a.push(Assertion::single(i, self.last_row, *v));
        }
        a
    }

    fn get_periodic_column_values(&self) -> Vec<Vec<BaseElement>> {
        let mut cols = Vec::with_capacity(2 * STATE_WIDTH + 1);
        for ark in [&Rp64_256::ARK1, &Rp64_256::ARK2] {
            for i in 0..STATE_WIDTH {
                let mut c: Vec<BaseElement> = ark.iter().map(|round| round[i]).collect();
                c.resize(CYCLE, BaseElement::ZERO);
                cols.push(c);
            }
        }
        let mut flag = vec![BaseElement::ONE; CYCLE];
        flag[CYCLE - 1] = BaseElement::ZERO;
        cols.push(flag);
        cols
    }
}

/// Error for a cancelled trace build.
#[derive(Debug)]
pub struct Cancelled;

/// Builds the execution trace of a segment. `elems(k)` gives the rate elements of block `k` of the
/// segment (`k < blocks`). `cancelled` is polled every 1024 blocks.
pub fn build_trace(
    start: &State,
    blocks: u64,
    elems: &dyn Fn(u64) -> [BaseElement; 8],
    cancelled: &dyn Fn() -> bool,
) -> Result<(TraceTable<BaseElement>, State), Cancelled> {
    let len = trace_length(blocks);
    let mut cols: Vec<Vec<BaseElement>> =
        (0..STATE_WIDTH).map(|_| Vec::with_capacity(len)).collect();
    let mut state = *start;
    let mut end = *start;
    let total_blocks = (len / CYCLE) as u64;
    for k in 0..total_blocks {
        if k % 1024 == 0 && cancelled() {
            return Err(Cancelled);
        }
        if k < blocks {
            let e = elems(k);
            for j in 0..8 {
                state[4 + j] += e[j];
            }
        }
        for (c, v) in cols.iter_mut().zip(state.iter()) {
            c.push(*v);
        }
        for r in 0..NUM_ROUNDS {
            Rp64_256::apply_round(&mut state, r);
            for (c, v) in cols.iter_mut().zip(state.iter()) {
                c.push(*v);
            }
        }
        if k + 1 == blocks {
            end = state;
        }
    }
    Ok((TraceTable::init(cols), end))
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
    type Trace = TraceTable<BaseElement>;
    type HashFn = HashFn;
    type VC = VC;
    type RandomCoin = Coin;
    type TraceLde<E: FieldElement<BaseField = BaseElement>> = DefaultTraceLde<E, HashFn, VC>;
    type ConstraintCommitment<E: FieldElement<BaseField = BaseElement>> =
        DefaultConstraintCommitment<E, HashFn, VC>;
    type ConstraintEvaluator<'a, E: FieldElement<BaseField = BaseElement>> =
        DefaultConstraintEvaluator<'a, SpongeAir, E>;

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
        DefaultTraceLde::new(trace_info, main_trace, domain, partition_option)
    }

    fn build_constraint_commitment<E: FieldElement<BaseField = BaseElement>>(
        &self,
        composition_poly_trace: CompositionPolyTrace<E>,
        num_constraint_composition_columns: usize,
        domain: &StarkDomain<BaseElement>,
        partition_options: PartitionOptions,
    ) -> (Self::ConstraintCommitment<E>, CompositionPoly<E>) {
        DefaultConstraintCommitment::new(
            composition_poly_trace,
            num_constraint_composition_columns,
            domain,
            partition_options,
        )
    }

    fn new_evaluator<'a, E: FieldElement<BaseField = BaseElement>>(
        &self,
        air: &'a SpongeAir,
        aux_rand_elements: Option<AuxRandElements<E>>,
        composition_coefficients: ConstraintCompositionCoefficients<E>,
    ) -> Self::ConstraintEvaluator<'a, E> {
        DefaultConstraintEvaluator::new(air, aux_rand_elements, composition_coefficients)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sponge;
    use winterfell::{AcceptableOptions, Trace};

    #[test]
    fn small_segment_proves_and_verifies() {
        let bytes: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        let size = bytes.len() as u64;
        let blocks = sponge::num_blocks(size);
        let start = sponge::initial_state(size);
        let elems = |k: u64| {
            let off = (k as usize) * sponge::BLOCK_BYTES;
            sponge::block_elements(k, &bytes[off..], size)
        };
        let (trace, end) = build_trace(&start, blocks, &elems, &|| false).unwrap();
        assert_eq!(sponge::digest_of(&end), sponge::hash(&bytes));
        assert_eq!(trace.length(), 64);
        let public = SegmentPublic {
            challenge: [7; 32],
            index: 0,
            start_block: 0,
            block_count: blocks,
            input_size: size,
            start,
            end,
        };
        let proof = SpongeProver::new(public.clone()).prove(trace).unwrap();
        let acc = AcceptableOptions::OptionSet(vec![proof_options()]);
        winterfell::verify::<SpongeAir, HashFn, Coin, VC>(proof.clone(), public.clone(), &acc)
            .unwrap();
        let mut bad = public;
        bad.challenge[0] ^= 1;
        assert!(winterfell::verify::<SpongeAir, HashFn, Coin, VC>(proof, bad, &acc).is_err());
    }
}
