//! The main constraints' share of the composition, eight consecutive points at a time in AVX-512
//! lanes: `Σ_k c_k·C_k(x)` over the Rescue round, the cube, the capacity and the step constraints
//! (41 of the 48), in the base field, each extension coordinate of the sum a vector of its own.
//!
//! Trace values stay in winterfell's raw (Montgomery) form `a·R`; a product of two trace values is
//! `raw(a) · int(b) = raw(a·b)` with the plain Goldilocks reduction, `int(b)` taken by
//! [`avx512::mont_to_int`], and the coefficients, the MDS entries and the inverse MDS entries are
//! canonical integers, so no Montgomery multiplication is needed. Every result is canonical, so
//! the sums are bit for bit the scalar path's (`super::main_composition`; a test compares them).

use super::{LANES, Position};
use crate::air::{BACK_CUBE, CUBE, MAIN_WIDTH, STEP};
use crate::goldilocks::avx512::{self, WideSum};
use crate::goldilocks::avx512_detected;
use crate::mds::lanes as mds;
use crate::sponge::STATE_WIDTH;
use core::arch::x86_64::*;
use winterfell::{
    EvaluationFrame,
    math::{FieldElement, fields::f64::BaseElement},
};

/// The most coordinates an extension element has here (the cubic extension).
const MAX_DEGREE: usize = 3;

type Lanes = [u64; LANES];

/// What varies by lane for eight consecutive positions in the block: the round and capacity
/// constraints' coefficients (canonical, by coordinate) and the round constants (raw).
struct Group {
    round: [[Lanes; MAX_DEGREE]; STATE_WIDTH],
    capacity: [[Lanes; MAX_DEGREE]; 4],
    ark1: [Lanes; STATE_WIDTH],
    ark2: [Lanes; STATE_WIDTH],
}

/// The vector evaluator of the main constraints; it exists only where AVX-512F was detected.
pub struct MainLanes {
    degree: usize,
    /// By position / 8.
    groups: Vec<Group>,
    /// The 24 cube constraints' coefficients, canonical, by coordinate.
    cube: [[u64; MAX_DEGREE]; 2 * STATE_WIDTH],
    step: [u64; MAX_DEGREE],
}

/// An extension element's coordinates as canonical integers.
fn coords<E: FieldElement<BaseField = BaseElement>>(e: &E) -> [u64; MAX_DEGREE] {
    let mut c = [0; MAX_DEGREE];
    for (out, b) in c
        .iter_mut()
        .zip(E::slice_as_base_elements(std::slice::from_ref(e)))
    {
        *out = b.as_int();
    }
    c
}

impl MainLanes {
    /// The vector evaluator for these positions and coefficients; None where the CPU has no
    /// AVX-512F (the scalar path runs), or the positions do not come in whole groups of 8.
    pub fn new<E: FieldElement<BaseField = BaseElement>>(
        by_position: &[Position<E>],
        cube_coef: &[E],
        step_coef: E,
    ) -> Option<MainLanes> {
        if !avx512_detected()
            || E::EXTENSION_DEGREE > MAX_DEGREE
            || !by_position.len().is_multiple_of(LANES)
        {
            return None;
        }
        let lanes = |f: &dyn Fn(&Position<E>) -> u64, g: &[Position<E>]| -> Lanes {
            std::array::from_fn(|l| f(&g[l]))
        };
        let groups = by_position
            .chunks(LANES)
            .map(|g| Group {
                round: std::array::from_fn(|i| {
                    std::array::from_fn(|c| lanes(&|p| coords(&p.round[i])[c], g))
                }),
                capacity: std::array::from_fn(|i| {
                    std::array::from_fn(|c| lanes(&|p| coords(&p.capacity[i])[c], g))
                }),
                ark1: std::array::from_fn(|i| lanes(&|p| p.arks[i].inner(), g)),
                ark2: std::array::from_fn(|i| lanes(&|p| p.arks[STATE_WIDTH + i].inner(), g)),
            })
            .collect();
        Some(MainLanes {
            degree: E::EXTENSION_DEGREE,
            groups,
            cube: std::array::from_fn(|i| coords(&cube_coef[i])),
            step: coords(&step_coef),
        })
    }

    /// The main constraints' composition at eight consecutive points, the first at `position`
    /// (a multiple of 8) in the block, from their main frames.
    pub fn evaluate<E: FieldElement<BaseField = BaseElement>>(
        &self,
        position: usize,
        frames: &[EvaluationFrame<BaseElement>],
        out: &mut [E],
    ) {
        assert!(position.is_multiple_of(LANES) && frames.len() == LANES && out.len() == LANES);
        let mut cur = [[0u64; LANES]; MAIN_WIDTH];
        let mut next = [[0u64; LANES]; MAIN_WIDTH];
        for (l, frame) in frames.iter().enumerate() {
            for (c, v) in frame.current().iter().enumerate() {
                cur[c][l] = v.inner();
            }
            for (c, v) in frame.next().iter().enumerate() {
                next[c][l] = v.inner();
            }
        }
        let group = &self.groups[position / LANES];
        let mut sums = [[0u64; LANES]; MAX_DEGREE];
        // SAFETY: a `MainLanes` is made only after `avx512_detected()` (see `new`).
        unsafe { self.compose(group, &cur, &next, &mut sums) };
        for (l, e) in out.iter_mut().enumerate() {
            let c: [BaseElement; MAX_DEGREE] =
                std::array::from_fn(|c| BaseElement::from_mont(sums[c][l]));
            *e = E::slice_from_base_elements(&c[..self.degree])[0];
        }
    }

    #[target_feature(enable = "avx512f")]
    fn compose(
        &self,
        g: &Group,
        cur: &[Lanes; MAIN_WIDTH],
        next: &[Lanes; MAIN_WIDTH],
        sums: &mut [Lanes; MAX_DEGREE],
    ) {
        use avx512::{load, mont_to_int, mul, sub};
        let zero = _mm512_setzero_si512();
        let mut x7 = [zero; STATE_WIDTH];
        let mut cube = [zero; STATE_WIDTH];
        let mut y = [zero; STATE_WIDTH];
        for i in 0..STATE_WIDTH {
            let x = load(&cur[i]);
            let x_int = mont_to_int(x);
            let x3 = load(&cur[CUBE + i]);
            x7[i] = mul(mul(x3, mont_to_int(x3)), x_int);
            cube[i] = sub(x3, mul(mul(x, x_int), x_int));
            y[i] = sub(load(&next[i]), load(&g.ark2[i]));
        }
        let fwd = mds::mds(&x7);
        let back = mds::inv_mds(&y);
        let mut round = [zero; STATE_WIDTH];
        let mut back_cube = [zero; STATE_WIDTH];
        for i in 0..STATE_WIDTH {
            let b_int = mont_to_int(back[i]);
            let b3 = load(&cur[BACK_CUBE + i]);
            let b7 = mul(mul(b3, mont_to_int(b3)), b_int);
            round[i] = sub(sub(b7, fwd[i]), load(&g.ark1[i]));
            back_cube[i] = sub(b3, mul(mul(back[i], b_int), b_int));
        }
        let dg = sub(load(&next[STEP]), load(&cur[STEP]));
        let one = _mm512_set1_epi64(BaseElement::ONE.inner() as i64);
        let step = mul(dg, mont_to_int(sub(dg, one)));
        for (c, out) in sums.iter_mut().enumerate().take(self.degree) {
            let mut sum = WideSum::new();
            for i in 0..STATE_WIDTH {
                sum.add(round[i], load(&g.round[i][c]));
                sum.add(cube[i], _mm512_set1_epi64(self.cube[i][c] as i64));
                sum.add(
                    back_cube[i],
                    _mm512_set1_epi64(self.cube[STATE_WIDTH + i][c] as i64),
                );
            }
            for i in 0..4 {
                sum.add(sub(load(&next[i]), load(&cur[i])), load(&g.capacity[i][c]));
            }
            sum.add(step, _mm512_set1_epi64(self.step[c] as i64));
            avx512::store(out, sum.reduce());
        }
    }
}
