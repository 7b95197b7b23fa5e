//! The AIR of one `rescue-sponge` segment.
//!
//! # Statement
//!
//! A segment proof with public inputs (challenge, index, first block `s`, block count `B`, input
//! size `n`, start state, end state) shows knowledge of the input bytes of blocks `[s, s + B)`,
//! packed as the hash defines (7-byte little-endian chunks, `0x01` after the last chunk's data,
//! zero elements after it), such that absorbing them from the start state and permuting after
//! every block gives the end state. Every absorbed element is range-checked to its packing: an
//! ordinary element is `< 2^56`; in the segment that holds the input's last block, the last
//! element is exactly `d + 2^(8·len)` with `d < 2^(8·len)` (`len = n − 7·(m − 1)` data bytes,
//! `m = ceil(n / 7)`) and every element after it is zero. Together with the initial state
//! (`state[0] = m`), which the chain of segments starts from, this binds `n`: a different length
//! moves the pad byte or changes `m`.
//!
//! # Main trace (42 columns, 8 rows per block)
//!
//! * columns 0..12, the sponge state. Block `k` occupies rows `8k .. 8k+7`: row `8k` holds `A_k`,
//!   the state right after block `k`'s elements were added to the rate (`state[4..12]`), rows
//!   `8k+1 .. 8k+7` the state after Rescue rounds 0..6. The step `8k+7 → 8k+8` absorbs the next
//!   block: the capacity is copied, the rate grows by the block's 8 elements.
//! * columns 12..24, `X3`: the cube of the row's state, `x^3`.
//! * columns 24..36, `B3`: the cube of `b = INV_MDS·(y − ARK2)`, the next row's state taken back
//!   through the round's second half. With `X3` and `B3` every constraint has degree ≤ 4, so the
//!   LDE blowup is 4, not the 8 that Rescue's `x^7` S-box needs as one constraint: twice the
//!   columns of state, but half the LDE domain, half the constraint evaluation points and a
//!   composition polynomial of 3 columns instead of 7 (see `native/README.md`, "Figures").
//! * columns 36..40, limbs: row `8k + j` holds element `j` of block `k` (for the input's last
//!   element: its data `d`, without the pad) as four 14-bit limbs, little-endian.
//! * column 40, `M`: LogUp multiplicities of the range table `T = [0, 2^14)`.
//! * column 41, `G`: a step column, 0 before one row and 1 from it on (see "the last row").
//!
//! The trace has `max(2^14, next power of two ≥ 8·B)` rows (2^15 in one case, see below): the
//! range table is a periodic column of 2^14 rows. Rows after the segment's last block continue the
//! sponge with zero elements; nothing is asserted about them but what every row satisfies.
//!
//! # Auxiliary trace (4 columns in the cubic extension; random `α`, `γ`, `δ`)
//!
//! * `S`, the LogUp running sum: `S(r+1) = S(r) + H1(r) + H2(r) − M(r)/(α − T(r))`, from
//!   `S(0) = 0`; the whole sum (every row's lookups less the table side) must be 0, which proves
//!   every limb is in `[0, 2^14)`.
//! * `H1`, `H2`: a row's lookups in pairs, `H1 = 1/(α − L_0) + 1/(α − L_1)` and `H2` the same of
//!   `L_2`, `L_3` (one column of all four would be a degree-5 constraint).
//! * `Z`, the link between limbs and absorbed elements: per block, `res_k = Σ_j γ^j·(e_kj − R_kj)`
//!   with `e_kj` the element absorbed (a difference of two rows' rates, or of row 0's rate and the
//!   public start state for the first block) and `R_kj = Σ_i 2^(14i)·L_i` its limbs; `Z` runs
//!   `Σ_k δ^(B−1−k)·res_k` and is asserted at the last block's last row. Any element that differs
//!   from its limbs makes this a non-zero polynomial in (γ, δ): it passes with probability
//!   ≤ (B + 7) / 2^192.
//!
//! # Constraints
//!
//! Periodic columns: `ARK1`, `ARK2` (period 8, Rescue's round constants), the row-in-block
//! selectors `σ_0 … σ_7` (period 8), `T` and `T_next = T(r+1)` (period 2^14). With `x` the current
//! row, `y` the next and `b = INV_MDS·(y − ARK2)`:
//!
//! * cubes (24, degree 3): `X3 − x^3 = 0`, `B3 − b^3 = 0`;
//! * round (12, degree 3): `(1 − σ_7)·(B3^2·b − (MDS·(X3^2·x) + ARK1)) = 0`, Rescue's round
//!   `b^7 = MDS·x^7 + ARK1` (a round's forward half meets its backward half);
//! * absorb (4, degree 1): `σ_7·(y_i − x_i) = 0` for the capacity `i < 4`;
//! * step (degree 2): `ΔG·(ΔG − 1) = 0` with `ΔG = G(y) − G(x)`;
//! * pairs (aux, degree 3): `H1·(α − L_0)(α − L_1) = 2α − L_0 − L_1`, and `H2`;
//! * LogUp (aux, degree 1, or 3 with the extra lookup below);
//! * link (aux, degree 1): the `Z` recurrence, by row type.
//!
//! # The last row, and the last element
//!
//! `n` rows give `n − 1` transitions, so a running sum over transitions misses one row. The step
//! column covers it: when `G` steps at the last row (`G(n−2) = 0`, `G(n−1) = 1`), constraints
//! gated by `ΔG` check the last row's `H1`, `H2` (degree 4), add its lookups and table entry and
//! require the total to be 0 ("shape A"). The input's last element needs one more lookup: with
//! `u = ceil(8·len / 14)` limbs the top one must be `< 2^b`, `b = 8·len − 14·(u − 1)`, shown by
//! looking up `2^(14−b)·L_(u−1)` too; limbs from `u` on are asserted zero. If that element sits on
//! the last row, the extra lookup joins the gated last-row constraint. Otherwise ("shape B") the
//! last row is padding or a zero element (its limbs and `M` are asserted 0, so its lookups are
//! known and `S(n−1)` is asserted), and `G` steps right after the last element instead, so that
//! `ΔG` carries the extra lookup there. In shape B the last row's table entry is unused, so the
//! trace has at least 2^15 rows (each table value then appears on another row too).

use crate::mds;
use crate::sponge::{self, STATE_WIDTH, State};
use std::sync::OnceLock;
use winter_crypto::{RandomCoin, RandomCoinError, hashers::Rp64_256};
use winterfell::{
    Air, AirContext, Assertion, AuxRandElements, EvaluationFrame, ProofOptions, TraceInfo,
    TransitionConstraintDegree,
    math::{ExtensionOf, FieldElement, ToElements, fft, fields::f64::BaseElement},
};

/// Rows per block (7 rounds + 1 absorb step).
pub const CYCLE: usize = 8;
/// Rescue-XLIX rounds per permutation.
pub const NUM_ROUNDS: usize = 7;
/// Bits per limb; the range table holds `[0, 2^LIMB_BITS)`.
pub const LIMB_BITS: u32 = 14;
/// Limbs per element (4 × 14 = 56 bits = 7 bytes).
pub const LIMBS: usize = 4;
/// Rows of the range table (a periodic column, so the trace has at least this many rows).
pub const TABLE_LEN: usize = 1 << LIMB_BITS;
/// The shortest trace.
pub const MIN_TRACE_LEN: usize = TABLE_LEN;

/// First column of the state's cubes `X3`.
pub const CUBE: usize = STATE_WIDTH;
/// First column of the cubes `B3` of the next state taken back through a round's second half.
pub const BACK_CUBE: usize = CUBE + STATE_WIDTH;
/// First limb column.
pub const LIMB: usize = BACK_CUBE + STATE_WIDTH;
/// The multiplicity column.
pub const MULT: usize = LIMB + LIMBS;
/// The step column.
pub const STEP: usize = MULT + 1;
/// Main trace width.
pub const MAIN_WIDTH: usize = STEP + 1;
/// Auxiliary columns: the LogUp sum, the link, and a row's lookups in pairs.
pub const AUX_S: usize = 0;
pub const AUX_Z: usize = 1;
pub const AUX_H1: usize = 2;
pub const AUX_H2: usize = 3;
pub const AUX_WIDTH: usize = 4;
/// Random elements drawn for the auxiliary trace: α (LogUp), γ (positions), δ (blocks).
pub const AUX_RANDS: usize = 3;
/// Where the powers `γ^2 … γ^7` follow the drawn elements in [`AuxRandElements`] (computed once
/// per proof instead of at every evaluation point).
const R_GAMMA_POW: usize = AUX_RANDS;
const NUM_RANDS: usize = R_GAMMA_POW + CYCLE - 2;
/// Main transition constraints: rounds, the two cube sets, the capacity copy, the step column.
pub const NUM_MAIN_CONSTRAINTS: usize = 3 * STATE_WIDTH + 4 + 1;

/// Periodic column indices: the round constants, the row-in-block selectors (period 8), the
/// range table and its next row (period 2^14).
pub const P_ARK1: usize = 0;
pub const P_ARK2: usize = STATE_WIDTH;
pub const P_SEL: usize = 2 * STATE_WIDTH;
pub const P_T: usize = P_SEL + CYCLE;
pub const P_TN: usize = P_T + 1;

/// Domain-separation tag "pmrs3" entering the transcript first: the proof format version
/// ([`crate::proof_file::FORMAT_VERSION`]), so a proof is bound to the statement of its version.
const PUB_TAG: u64 = 0x0070_6d72_7333;

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

impl ToElements<BaseElement> for SegmentPublic {
    fn to_elements(&self) -> Vec<BaseElement> {
        let mut v = vec![BaseElement::new(PUB_TAG)];
        for c in self.challenge.chunks(4) {
            v.push(BaseElement::new(
                u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u64,
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

/// The input's last element, when this segment absorbs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastElement {
    /// Its row (`8·(B − 1) + j`).
    pub row: usize,
    /// Its position `j` in the last block.
    pub pos: usize,
    /// Data bytes in it (1..=7).
    pub len: usize,
    /// Limbs that may be non-zero (`ceil(8·len / 14)`).
    pub limbs: usize,
    /// `2^(14 − b)` when the top limb must be `< 2^b` with `b < 14` (the extra lookup), else None.
    pub scale: Option<u64>,
}

impl LastElement {
    /// The pad `2^(8·len)` added to the data.
    pub fn pad(&self) -> u64 {
        1u64 << (8 * self.len)
    }
}

/// Everything about a segment's trace that follows from its public inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    pub blocks: usize,
    pub trace_len: usize,
    pub last: Option<LastElement>,
    /// Shape A: `G` steps at the last row and a gated constraint closes the LogUp sum there.
    pub gated_last_row: bool,
    /// `G(step_row − 1) = 0`, `G(step_row) = 1`.
    pub step_row: usize,
}

impl Shape {
    /// The shape of a segment; an error for a segment no prover may make (no block, too many).
    pub fn new(p: &SegmentPublic) -> Result<Shape, String> {
        Shape::of_blocks(p.start_block, p.block_count, p.input_size)
    }

    /// The shape of the segment of `block_count` blocks from `start_block` of an input of
    /// `input_size` bytes (all a shape depends on).
    pub fn of_blocks(start_block: u64, block_count: u64, input_size: u64) -> Result<Shape, String> {
        if block_count == 0 {
            return Err("a segment of 0 blocks has no STARK".into());
        }
        if block_count > crate::segment::HARD_MAX_SEGMENT_BLOCKS {
            return Err(format!("{block_count} blocks is over the hard limit"));
        }
        let total = sponge::num_blocks(input_size);
        let end = start_block
            .checked_add(block_count)
            .filter(|&e| e <= total)
            .ok_or("the segment's blocks exceed the input")?;
        let blocks = block_count as usize;
        let last = (end == total).then(|| {
            let m = sponge::num_elements(input_size);
            let pos = ((m - 1) % sponge::RATE as u64) as usize;
            let len = (input_size - sponge::ELEMENT_BYTES as u64 * (m - 1)) as usize;
            let bits = 8 * len as u32;
            let limbs = bits.div_ceil(LIMB_BITS) as usize;
            let top = bits - LIMB_BITS * (limbs as u32 - 1);
            LastElement {
                row: CYCLE * (blocks - 1) + pos,
                pos,
                len,
                limbs,
                scale: (top < LIMB_BITS).then(|| 1u64 << (LIMB_BITS - top)),
            }
        });
        let n0 = (CYCLE * blocks).next_power_of_two().max(MIN_TRACE_LEN);
        let shape_b = last.is_some_and(|l| l.scale.is_some() && l.row < n0 - 1);
        let trace_len = if shape_b && n0 == MIN_TRACE_LEN {
            2 * MIN_TRACE_LEN
        } else {
            n0
        };
        let step_row = match last {
            Some(l) if shape_b => l.row + 1,
            _ => trace_len - 1,
        };
        Ok(Shape {
            blocks,
            trace_len,
            last,
            gated_last_row: !shape_b,
            step_row,
        })
    }

    /// A stand-in for a segment `Shape::new` refuses, sized to the trace: the verifier checks the
    /// shape before it builds an AIR, so this is never proven against; it only keeps `Air::new`
    /// from panicking.
    fn fallback(trace_len: usize) -> Shape {
        Shape {
            blocks: (trace_len / CYCLE).max(1),
            trace_len,
            last: None,
            gated_last_row: true,
            step_row: trace_len - 1,
        }
    }

    /// The extra lookup's limb and factor, when there is one.
    pub fn scaled(&self) -> Option<(usize, u64)> {
        self.last
            .and_then(|l| l.scale.map(|s| (LIMB + l.limbs - 1, s)))
    }

    /// Rows whose limbs must be zero: the elements after the last one, the last element's unused
    /// limbs and, in shape B, the last row.
    fn zero_limbs(&self) -> Vec<(usize, usize)> {
        let mut cells = Vec::new();
        if let Some(l) = self.last {
            for i in l.limbs..LIMBS {
                cells.push((LIMB + i, l.row));
            }
            for row in l.row + 1..CYCLE * self.blocks {
                for i in 0..LIMBS {
                    cells.push((LIMB + i, row));
                }
            }
        }
        if !self.gated_last_row && self.trace_len > CYCLE * self.blocks {
            for i in 0..LIMBS {
                cells.push((LIMB + i, self.trace_len - 1));
            }
        }
        cells
    }

    /// The main-trace assertions, without duplicates.
    fn main_assertions(&self, p: &SegmentPublic) -> Vec<Assertion<BaseElement>> {
        let zero = BaseElement::ZERO;
        let one = BaseElement::ONE;
        let mut cells: Vec<(usize, usize, BaseElement)> = Vec::new();
        for (i, v) in p.start.iter().take(4).enumerate() {
            cells.push((i, 0, *v));
        }
        for (i, v) in p.end.iter().enumerate() {
            cells.push((i, CYCLE * self.blocks - 1, *v));
        }
        cells.push((STEP, 0, zero));
        cells.push((STEP, self.step_row - 1, zero));
        cells.push((STEP, self.step_row, one));
        cells.push((STEP, self.trace_len - 1, one));
        for (col, row) in self.zero_limbs() {
            cells.push((col, row, zero));
        }
        if !self.gated_last_row {
            cells.push((MULT, self.trace_len - 1, zero));
        }
        cells.sort_by_key(|c| (c.0, c.1));
        cells.dedup_by_key(|c| (c.0, c.1));
        cells
            .into_iter()
            .map(|(c, r, v)| Assertion::single(c, r, v))
            .collect()
    }
}

/// `Σ_i 2^(14i)·L_i` of a row.
#[inline(always)]
pub fn recompose<F: FieldElement<BaseField = BaseElement>>(row: &[F]) -> F {
    let mut r = row[LIMB + LIMBS - 1];
    for i in (0..LIMBS - 1).rev() {
        r = r * F::from(BaseElement::new(1 << LIMB_BITS)) + row[LIMB + i];
    }
    r
}

/// `(α − a)(α − b)·H − (2α − a − b)`: zero when `H = 1/(α − a) + 1/(α − b)`. `alpha2 = α^2`.
#[inline(always)]
fn pair_residual<F, E>(h: E, a: F, b: F, alpha: E, alpha2: E) -> E
where
    F: FieldElement<BaseField = BaseElement>,
    E: FieldElement<BaseField = BaseElement> + ExtensionOf<F>,
{
    let sum = a + b;
    let den = alpha2 - alpha.mul_base(sum) + E::from(a * b);
    h * den - (alpha.double() - E::from(sum))
}

/// The main constraints before their periodic factors: the Rescue round residual
/// `B3^2·b − MDS·(X3^2·x) − ARK1` (multiplied by `1 − σ_7`), the cubes `X3 − x^3` and
/// `B3 − b^3`, the capacity step `next_i − cur_i` (by `σ_7`), and the step column's
/// `ΔG·(ΔG − 1)`; `b = INV_MDS·(next − ARK2)`.
pub struct MainResiduals<E> {
    pub round: [E; STATE_WIDTH],
    pub cube: [E; STATE_WIDTH],
    pub back_cube: [E; STATE_WIDTH],
    pub capacity: [E; 4],
    pub step: E,
}

/// The main residuals of a frame; `periodic` holds at least ARK1 and ARK2.
#[inline(always)]
pub fn main_residuals<E: FieldElement<BaseField = BaseElement>>(
    cur: &[E],
    next: &[E],
    periodic: &[E],
) -> MainResiduals<E> {
    let ark1 = &periodic[P_ARK1..P_ARK1 + STATE_WIDTH];
    let ark2 = &periodic[P_ARK2..P_ARK2 + STATE_WIDTH];
    let x = &cur[..STATE_WIDTH];
    let x3 = &cur[CUBE..CUBE + STATE_WIDTH];
    let b3 = &cur[BACK_CUBE..BACK_CUBE + STATE_WIDTH];
    let x7: [E; STATE_WIDTH] = std::array::from_fn(|i| x3[i].square() * x[i]);
    let y: [E; STATE_WIDTH] = std::array::from_fn(|i| next[i] - ark2[i]);
    let fwd = mds::mds(&x7);
    let back = mds::inv_mds(&y);
    let dg = next[STEP] - cur[STEP];
    MainResiduals {
        round: std::array::from_fn(|i| b3[i].square() * back[i] - fwd[i] - ark1[i]),
        cube: std::array::from_fn(|i| x3[i] - x[i].square() * x[i]),
        back_cube: std::array::from_fn(|i| b3[i] - back[i].square() * back[i]),
        capacity: std::array::from_fn(|i| next[i] - cur[i]),
        step: dg * (dg - E::ONE),
    }
}

/// What the auxiliary constraints need of the random elements and the row-in-block periodic
/// columns at one point: they depend on the point only through its position in the block, so the
/// prover computes them once per position instead of at every point (the evaluator's vector
/// path reads the fields).
pub struct AuxTerms<F, E> {
    pub(crate) alpha: E,
    pub(crate) alpha2: E,
    /// `γ^j`, j = 0..7.
    pub(crate) w: [E; CYCLE],
    /// `Σ_{j<7} σ_j·γ^j`: the weight of this row's element in the link.
    pub(crate) weight: E,
    /// `σ_6·γ^7`: the weight of the next row's element (the block's last) in the link.
    pub(crate) weight_next: E,
    /// `(1 − σ_7) + σ_7·δ`: what the link carries from this row to the next.
    pub(crate) carry: E,
    /// `σ_0 − σ_7`: +1 where the block's rate enters the link, −1 where the previous one leaves it.
    pub(crate) rate_sign: F,
}

impl<F, E> AuxTerms<F, E>
where
    F: FieldElement<BaseField = BaseElement>,
    E: FieldElement<BaseField = BaseElement> + ExtensionOf<F>,
{
    pub fn new(periodic: &[F], rands: &[E]) -> Self {
        let (alpha, gamma, delta) = (rands[0], rands[1], rands[2]);
        let w: [E; CYCLE] = std::array::from_fn(|j| match j {
            0 => E::ONE,
            1 => gamma,
            _ => rands[R_GAMMA_POW + j - 2],
        });
        let sel = &periodic[P_SEL..P_SEL + CYCLE];
        let absorb = sel[CYCLE - 1];
        let mut weight = E::ZERO;
        for j in 0..CYCLE - 1 {
            weight += w[j].mul_base(sel[j]);
        }
        AuxTerms {
            alpha,
            alpha2: alpha.square(),
            w,
            weight,
            weight_next: w[CYCLE - 1].mul_base(sel[CYCLE - 2]),
            carry: E::from(F::ONE - absorb) + delta.mul_base(absorb),
            rate_sign: sel[0] - absorb,
        }
    }
}

/// The current and next rows of the auxiliary trace.
#[derive(Clone, Copy)]
pub struct AuxRows<'a, E> {
    pub cur: &'a [E],
    pub next: &'a [E],
}

pub struct SpongeAir {
    context: AirContext<BaseElement>,
    public: SegmentPublic,
    shape: Shape,
}

impl SpongeAir {
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The auxiliary constraints at one point, in order: the LogUp recurrence, the link, the two
    /// pairs and, in shape A, the gated last row (its total, its two pairs). `t` and `tn` are the
    /// range table's periodic values `T` and `T_next`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn aux_residuals<F, E>(
        &self,
        cur: &[F],
        next: &[F],
        aux: AuxRows<E>,
        t: F,
        tn: F,
        terms: &AuxTerms<F, E>,
        result: &mut [E],
    ) where
        F: FieldElement<BaseField = BaseElement>,
        E: FieldElement<BaseField = BaseElement> + ExtensionOf<F>,
    {
        let (alpha, alpha2) = (terms.alpha, terms.alpha2);
        let dg = next[STEP] - cur[STEP];
        let scaled = self.shape.scaled();
        let (s, s_next) = (aux.cur[AUX_S], aux.next[AUX_S]);
        let l = &cur[LIMB..LIMB + LIMBS];

        // LogUp: S' − S = H1 + H2 (+ the extra lookup, shape B) − M/(α − T).
        let t = alpha - E::from(t);
        let step = s_next - s - aux.cur[AUX_H1] - aux.cur[AUX_H2];
        result[0] = match scaled {
            Some((col, factor)) if !self.shape.gated_last_row => {
                let x = alpha - E::from(dg * cur[col] * F::from(BaseElement::new(factor)));
                step * t * x - t + x.mul_base(cur[MULT])
            }
            _ => step * t + E::from(cur[MULT]),
        };

        // The link.
        let mut rate = E::ZERO;
        for (i, wi) in terms.w.iter().enumerate() {
            rate += wi.mul_base(cur[4 + i]);
        }
        let (z, z_next) = (aux.cur[AUX_Z], aux.next[AUX_Z]);
        let expect = z * terms.carry + rate.mul_base(terms.rate_sign)
            - terms.weight.mul_base(recompose(cur))
            - terms.weight_next.mul_base(recompose(next));
        result[1] = z_next - expect;

        // The pairs.
        result[2] = pair_residual(aux.cur[AUX_H1], l[0], l[1], alpha, alpha2);
        result[3] = pair_residual(aux.cur[AUX_H2], l[2], l[3], alpha, alpha2);

        // Shape A: the last row's pairs, lookups and table entry close the sum (ΔG = 1 only
        // there).
        if self.shape.gated_last_row {
            let ln = &next[LIMB..LIMB + LIMBS];
            let (h1, h2) = (aux.next[AUX_H1], aux.next[AUX_H2]);
            let tn = alpha - E::from(tn);
            let open = s_next + h1 + h2;
            let close = match scaled {
                Some((col, factor)) => {
                    let x = alpha - E::from(next[col] * F::from(BaseElement::new(factor)));
                    open * tn * x + tn - x.mul_base(next[MULT])
                }
                None => open * tn - E::from(next[MULT]),
            };
            result[4] = close.mul_base(dg);
            result[5] = pair_residual(h1, ln[0], ln[1], alpha, alpha2).mul_base(dg);
            result[6] = pair_residual(h2, ln[2], ln[3], alpha, alpha2).mul_base(dg);
        }
    }
}

impl Air for SpongeAir {
    type BaseField = BaseElement;
    type PublicInputs = SegmentPublic;

    fn new(trace_info: TraceInfo, public: SegmentPublic, options: ProofOptions) -> Self {
        let shape = Shape::new(&public)
            .ok()
            .filter(|s| s.trace_len == trace_info.length())
            .unwrap_or_else(|| Shape::fallback(trace_info.length()));
        // The degree of a constraint's highest term, a periodic factor counted apart (see
        // `native/README.md` for why no constraint exceeds 4: the LDE blowup is 4).
        let cube = TransitionConstraintDegree::new(3);
        let periodic =
            |d: usize, cycle: usize| TransitionConstraintDegree::with_cycles(d, vec![cycle]);
        let mut main = Vec::with_capacity(NUM_MAIN_CONSTRAINTS);
        main.extend((0..STATE_WIDTH).map(|_| periodic(3, CYCLE)));
        main.extend((0..2 * STATE_WIDTH).map(|_| cube.clone()));
        main.extend((0..4).map(|_| periodic(1, CYCLE)));
        main.push(TransitionConstraintDegree::new(2));
        let scaled = shape.scaled().is_some();
        let mut aux = vec![
            // LogUp: (S' − S − H1 − H2)·(α − T) + M; the extra lookup in shape B, ΔG times a
            // limb, adds a factor of degree 2.
            periodic(
                if scaled && !shape.gated_last_row {
                    3
                } else {
                    1
                },
                TABLE_LEN,
            ),
            periodic(1, CYCLE),
            cube.clone(),
            cube.clone(),
        ];
        if shape.gated_last_row {
            // ΔG·((S' + H1' + H2')·(α − T_next)(α − X') + …), and ΔG times the pairs.
            aux.push(periodic(if scaled { 3 } else { 2 }, TABLE_LEN));
            aux.push(TransitionConstraintDegree::new(4));
            aux.push(TransitionConstraintDegree::new(4));
        }
        let num_main = shape.main_assertions(&public).len();
        let num_aux = if shape.gated_last_row { 3 } else { 4 };
        let context =
            AirContext::new_multi_segment(trace_info, main, aux, num_main, num_aux, options);
        SpongeAir {
            context,
            public,
            shape,
        }
    }

    fn context(&self) -> &AirContext<BaseElement> {
        &self.context
    }

    fn evaluate_transition<E: FieldElement<BaseField = BaseElement>>(
        &self,
        frame: &EvaluationFrame<E>,
        periodic: &[E],
        result: &mut [E],
    ) {
        let absorb = periodic[P_SEL + CYCLE - 1];
        let round = E::ONE - absorb;
        let r = main_residuals(frame.current(), frame.next(), periodic);
        let (rounds, rest) = result.split_at_mut(STATE_WIDTH);
        let (cubes, rest) = rest.split_at_mut(2 * STATE_WIDTH);
        for (out, v) in rounds.iter_mut().zip(&r.round) {
            *out = round * *v;
        }
        for (out, v) in cubes.iter_mut().zip(r.cube.iter().chain(&r.back_cube)) {
            *out = *v;
        }
        for (out, v) in rest.iter_mut().zip(&r.capacity) {
            *out = absorb * *v;
        }
        rest[4] = r.step;
    }

    fn evaluate_aux_transition<F, E>(
        &self,
        main: &EvaluationFrame<F>,
        aux: &EvaluationFrame<E>,
        periodic: &[F],
        rands: &AuxRandElements<E>,
        result: &mut [E],
    ) where
        F: FieldElement<BaseField = BaseElement>,
        E: FieldElement<BaseField = BaseElement> + ExtensionOf<F>,
    {
        let terms = AuxTerms::new(periodic, rands.rand_elements());
        let aux = AuxRows {
            cur: aux.current(),
            next: aux.next(),
        };
        self.aux_residuals(
            main.current(),
            main.next(),
            aux,
            periodic[P_T],
            periodic[P_TN],
            &terms,
            result,
        );
    }

    fn get_aux_rand_elements<E, R>(
        &self,
        coin: &mut R,
    ) -> Result<AuxRandElements<E>, RandomCoinError>
    where
        E: FieldElement<BaseField = BaseElement>,
        R: RandomCoin<BaseField = BaseElement>,
    {
        let mut r = Vec::with_capacity(NUM_RANDS);
        for _ in 0..AUX_RANDS {
            r.push(coin.draw()?);
        }
        let gamma = r[1];
        let mut g = gamma;
        for _ in 2..CYCLE {
            g *= gamma;
            r.push(g);
        }
        Ok(AuxRandElements::new(r))
    }

    fn get_assertions(&self) -> Vec<Assertion<BaseElement>> {
        self.shape.main_assertions(&self.public)
    }

    fn get_aux_assertions<E: FieldElement<BaseField = BaseElement>>(
        &self,
        rands: &AuxRandElements<E>,
    ) -> Vec<Assertion<E>> {
        let r = rands.rand_elements();
        let (alpha, gamma) = (r[0], r[1]);
        let mut w = E::ONE;
        let mut z0 = E::ZERO;
        for i in 0..sponge::RATE {
            z0 -= w.mul_base(self.public.start[4 + i]);
            w *= gamma;
        }
        let z_end = match self.shape.last {
            Some(l) => gamma
                .exp((l.pos as u64).into())
                .mul_base(BaseElement::new(l.pad())),
            None => E::ZERO,
        };
        let mut a = vec![
            Assertion::single(AUX_S, 0, E::ZERO),
            Assertion::single(AUX_Z, 0, z0),
            Assertion::single(AUX_Z, CYCLE * self.shape.blocks - 1, z_end),
        ];
        if !self.shape.gated_last_row {
            // Zero limbs on the last row: four lookups of 0, no table entry.
            let four = E::from(BaseElement::new(LIMBS as u64));
            a.push(Assertion::single(
                AUX_S,
                self.shape.trace_len - 1,
                E::ZERO - four * alpha.inv(),
            ));
        }
        a
    }

    fn get_periodic_column_values(&self) -> Vec<Vec<BaseElement>> {
        periodic_columns()
    }

    /// The periodic columns' polynomials, interpolated once per process: they do not depend on
    /// the segment, and the range table's two columns of 2^14 values cost more to interpolate
    /// (winterfell's default does it at every call) than the rest of a segment's verification.
    fn get_periodic_column_polys(&self) -> Vec<Vec<BaseElement>> {
        static POLYS: OnceLock<Vec<Vec<BaseElement>>> = OnceLock::new();
        POLYS
            .get_or_init(|| {
                periodic_columns()
                    .into_iter()
                    .map(|mut values| {
                        let inv_twiddles = fft::get_inv_twiddles::<BaseElement>(values.len());
                        fft::interpolate_poly(&mut values, &inv_twiddles);
                        values
                    })
                    .collect()
            })
            .clone()
    }
}

/// The periodic columns: ARK1, ARK2, the row-in-block selectors, T and T_next.
pub fn periodic_columns() -> Vec<Vec<BaseElement>> {
    let mut cols = Vec::with_capacity(P_TN + 1);
    for ark in [&Rp64_256::ARK1, &Rp64_256::ARK2] {
        for i in 0..STATE_WIDTH {
            let mut c: Vec<BaseElement> = ark.iter().map(|round| round[i]).collect();
            c.resize(CYCLE, BaseElement::ZERO);
            cols.push(c);
        }
    }
    for r in 0..CYCLE {
        let mut c = vec![BaseElement::ZERO; CYCLE];
        c[r] = BaseElement::ONE;
        cols.push(c);
    }
    cols.push((0..TABLE_LEN as u64).map(BaseElement::new).collect());
    cols.push(
        (0..TABLE_LEN as u64)
            .map(|v| BaseElement::new((v + 1) % TABLE_LEN as u64))
            .collect(),
    );
    cols
}
