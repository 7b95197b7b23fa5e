//! The transition constraints' share of the composition, several consecutive points at a time
//! in vector lanes: `Σ_k c_k·C_k(x)` over the 41 main constraints (the Rescue round, the cubes,
//! the capacity, the step) and the auxiliary ones (LogUp, link, pairs, the gated last row), each
//! coordinate of a cubic-extension value a vector of its own. One macro makes the evaluator for
//! each width from the lane operations of the same names: eight lanes with AVX-512F
//! ([`avx512`]), four with AVX2 ([`avx2`], the AMD CPUs before Zen 4); [`TransitionLanes`] takes
//! the widest the CPU has.
//!
//! Trace values stay in winterfell's raw (Montgomery) form `a·R`; a product of two values is
//! `raw(a) · int(b) = raw(a·b)` with the plain Goldilocks reduction, `int(b)` taken by
//! `mont_to_int`, and constants (coefficients, MDS and inverse-MDS entries, random elements) are
//! kept as canonical integers, so no Montgomery multiplication is needed. An extension product is
//! a 3×3 matrix of base products summed in a `WideSum`, reduced once per coordinate. Every result
//! is canonical, so each point's sum is bit for bit the scalar path's
//! (`super::Transition::at`; a test compares them for every shape of the AIR).

use super::Transition;
use winterfell::{
    EvaluationFrame,
    math::{FieldElement, fields::f64::BaseElement},
};

/// The vector evaluator of the transition constraints at the widest width the CPU has.
pub enum TransitionLanes {
    Avx512(avx512::TransitionLanes),
    Avx2(avx2::TransitionLanes),
}

impl TransitionLanes {
    /// The vector evaluator of `t`; None where the CPU has neither AVX-512F nor AVX2 (the scalar
    /// path runs), the extension is not cubic, or the positions do not come in whole groups.
    pub fn new<E: FieldElement<BaseField = BaseElement>>(
        t: &Transition<'_, E>,
    ) -> Option<TransitionLanes> {
        avx512::TransitionLanes::new(t)
            .map(TransitionLanes::Avx512)
            .or_else(|| avx2::TransitionLanes::new(t).map(TransitionLanes::Avx2))
    }

    /// The vector evaluators of `t` at every width the CPU has, the widest first.
    #[cfg(test)]
    pub fn each_width<E: FieldElement<BaseField = BaseElement>>(
        t: &Transition<'_, E>,
    ) -> Vec<TransitionLanes> {
        let wide = avx512::TransitionLanes::new(t).map(TransitionLanes::Avx512);
        let narrow = avx2::TransitionLanes::new(t).map(TransitionLanes::Avx2);
        wide.into_iter().chain(narrow).collect()
    }

    /// The transition constraints' composition at `out.len()` consecutive points (a multiple of
    /// 8), the first at `position` (a multiple of 8) in the block.
    pub fn evaluate<E: FieldElement<BaseField = BaseElement>>(
        &self,
        position: usize,
        main: &[EvaluationFrame<BaseElement>],
        aux: &[EvaluationFrame<E>],
        table: (&[BaseElement], &[BaseElement]),
        out: &mut [E],
    ) {
        match self {
            TransitionLanes::Avx512(v) => v.evaluate(position, main, aux, table, out),
            TransitionLanes::Avx2(v) => v.evaluate(position, main, aux, table, out),
        }
    }
}

/// Coordinates of an extension element (the cubic extension; others take the scalar path).
const DEGREE: usize = 3;
/// Base columns of the auxiliary trace.
const AUX_BASE: usize = crate::air::AUX_WIDTH * DEGREE;
/// The product by an extension value `b` as a matrix: `(a·b)_j = Σ_i a_i·m[i][j]`.
type Times<T> = [[T; DEGREE]; DEGREE];

/// An extension element's coordinates, raw.
fn raw<E: FieldElement<BaseField = BaseElement>>(e: &E) -> [u64; DEGREE] {
    let b = E::slice_as_base_elements(std::slice::from_ref(e));
    std::array::from_fn(|c| b[c].inner())
}

/// An extension element's coordinates, canonical.
fn int<E: FieldElement<BaseField = BaseElement>>(e: &E) -> [u64; DEGREE] {
    let b = E::slice_as_base_elements(std::slice::from_ref(e));
    std::array::from_fn(|c| b[c].as_int())
}

/// The product matrix of `b` in the cubic extension (`x^3 = x + 1`), canonical.
fn times<E: FieldElement<BaseField = BaseElement>>(b: &E) -> Times<u64> {
    let b = E::slice_as_base_elements(std::slice::from_ref(b));
    let (b0, b1, b2) = (b[0], b[1], b[2]);
    [[b0, b1, b2], [b2, b0 + b2, b1], [b1, b1 + b2, b0 + b2]].map(|row| row.map(|v| v.as_int()))
}

/// The evaluator of one vector width: `$width` names the module of lane operations in
/// `crate::goldilocks` and `crate::mds` (and the module made here), `$vector` its register type,
/// `$feature` and `$detected` the target feature and its run-time check, `$lanes` the lanes.
macro_rules! transition_lanes {
    ($width:ident, $vector:ty, $feature:literal, $detected:ident, $lanes:literal) => {
        pub mod $width {
            use super::{AUX_BASE, DEGREE, Times, Transition, int, raw, times};
            use crate::air::{
                AUX_H1, AUX_H2, AUX_S, AUX_Z, BACK_CUBE, CUBE, CYCLE, LIMB, LIMB_BITS, LIMBS,
                MAIN_WIDTH, MULT, STEP,
            };
            use crate::goldilocks::$detected;
            use crate::goldilocks::$width::{
                WideSum, add, load, mont_to_int, mul, splat, store, sub, zero,
            };
            use crate::mds::$width as mds;
            use crate::sponge::STATE_WIDTH;
            use core::arch::x86_64::*;
            use winterfell::{
                EvaluationFrame,
                math::{FieldElement, fields::f64::BaseElement},
            };

            /// Points evaluated together.
            const WIDTH: usize = $lanes;

            type Lanes = [u64; WIDTH];
            /// `WIDTH` extension values, a vector per coordinate.
            type Ext = [$vector; DEGREE];

            /// What varies by lane for `WIDTH` consecutive positions in the block, as canonical integers (the
            /// round constants raw).
            struct Group {
                round: [[Lanes; DEGREE]; STATE_WIDTH],
                capacity: [[Lanes; DEGREE]; 4],
                ark1: [Lanes; STATE_WIDTH],
                ark2: [Lanes; STATE_WIDTH],
                carry: [Lanes; DEGREE],
                weight: [Lanes; DEGREE],
                weight_next: [Lanes; DEGREE],
                rate_sign: Lanes,
            }

            /// The vector evaluator of the transition constraints; it exists only where its feature was
            /// detected.
            pub struct TransitionLanes {
                /// By position / `WIDTH`.
                groups: Vec<Group>,
                /// The 24 cube constraints' and the step constraint's coefficients, canonical.
                cube: [[u64; DEGREE]; 2 * STATE_WIDTH],
                step: [u64; DEGREE],
                /// α, α^2 and 2α raw; α canonical.
                alpha: [u64; DEGREE],
                alpha2: [u64; DEGREE],
                two_alpha: [u64; DEGREE],
                alpha_int: [u64; DEGREE],
                /// γ^j, canonical.
                w: [[u64; DEGREE]; CYCLE],
                /// The auxiliary constraints' coefficients as product matrices, canonical.
                aux_coef: Vec<Times<u64>>,
                gated: bool,
                scaled: Option<(usize, u64)>,
            }

            impl TransitionLanes {
                /// The vector evaluator of `t`; None where the CPU lacks this width's feature,
                /// the extension is not cubic, or the positions do not come in whole groups.
                pub fn new<E: FieldElement<BaseField = BaseElement>>(
                    t: &Transition<'_, E>,
                ) -> Option<TransitionLanes> {
                    let by_position = &t.by_position;
                    if !$detected()
                        || E::EXTENSION_DEGREE != DEGREE
                        || by_position.is_empty()
                        || !by_position.len().is_multiple_of(WIDTH)
                    {
                        return None;
                    }
                    let lanes = |f: &dyn Fn(usize) -> u64| -> Lanes { std::array::from_fn(f) };
                    let groups = by_position
                        .chunks(WIDTH)
                        .map(|g| Group {
                            round: std::array::from_fn(|i| {
                                std::array::from_fn(|c| lanes(&|l| int(&g[l].round[i])[c]))
                            }),
                            capacity: std::array::from_fn(|i| {
                                std::array::from_fn(|c| lanes(&|l| int(&g[l].capacity[i])[c]))
                            }),
                            ark1: std::array::from_fn(|i| lanes(&|l| g[l].arks[i].inner())),
                            ark2: std::array::from_fn(|i| {
                                lanes(&|l| g[l].arks[STATE_WIDTH + i].inner())
                            }),
                            carry: std::array::from_fn(|c| lanes(&|l| int(&g[l].aux.carry)[c])),
                            weight: std::array::from_fn(|c| lanes(&|l| int(&g[l].aux.weight)[c])),
                            weight_next: std::array::from_fn(|c| {
                                lanes(&|l| int(&g[l].aux.weight_next)[c])
                            }),
                            rate_sign: lanes(&|l| g[l].aux.rate_sign.as_int()),
                        })
                        .collect();
                    let terms = &by_position[0].aux;
                    let shape = t.air.shape();
                    Some(TransitionLanes {
                        groups,
                        cube: std::array::from_fn(|i| int(&t.cube_coef[i])),
                        step: int(&t.step_coef),
                        alpha: raw(&terms.alpha),
                        alpha2: raw(&terms.alpha2),
                        two_alpha: raw(&terms.alpha.double()),
                        alpha_int: int(&terms.alpha),
                        w: terms.w.map(|w| int(&w)),
                        aux_coef: t.aux_coef.iter().map(times).collect(),
                        gated: shape.gated_last_row,
                        scaled: shape.scaled(),
                    })
                }

                /// The transition constraints' composition at `out.len()` consecutive points (a multiple of
                /// the width), the first at `position` (a multiple of the width) in the block, from their
                /// frames and range-table values.
                pub fn evaluate<E: FieldElement<BaseField = BaseElement>>(
                    &self,
                    position: usize,
                    main: &[EvaluationFrame<BaseElement>],
                    aux: &[EvaluationFrame<E>],
                    table: (&[BaseElement], &[BaseElement]),
                    out: &mut [E],
                ) {
                    let n = out.len();
                    assert!(position.is_multiple_of(WIDTH) && n.is_multiple_of(WIDTH));
                    assert!(main.len() == n && aux.len() == n);
                    assert!(table.0.len() == n && table.1.len() == n);
                    for first in (0..n).step_by(WIDTH) {
                        let points = first..first + WIDTH;
                        let (main, aux) = (&main[points.clone()], &aux[points.clone()]);
                        let mut rows = Rows {
                            cur: [[0; WIDTH]; MAIN_WIDTH],
                            next: [[0; WIDTH]; MAIN_WIDTH],
                            aux_cur: [[0; WIDTH]; AUX_BASE],
                            aux_next: [[0; WIDTH]; AUX_BASE],
                            t: std::array::from_fn(|l| table.0[first + l].inner()),
                            tn: std::array::from_fn(|l| table.1[first + l].inner()),
                        };
                        for (l, (m, a)) in main.iter().zip(aux).enumerate() {
                            for (c, v) in m.current().iter().enumerate() {
                                rows.cur[c][l] = v.inner();
                            }
                            for (c, v) in m.next().iter().enumerate() {
                                rows.next[c][l] = v.inner();
                            }
                            for (c, v) in E::slice_as_base_elements(a.current()).iter().enumerate()
                            {
                                rows.aux_cur[c][l] = v.inner();
                            }
                            for (c, v) in E::slice_as_base_elements(a.next()).iter().enumerate() {
                                rows.aux_next[c][l] = v.inner();
                            }
                        }
                        let mut sums = [[0u64; WIDTH]; DEGREE];
                        let group = &self.groups[(position + first) / WIDTH];
                        // SAFETY: a `TransitionLanes` is made only after the feature was detected (`new`).
                        unsafe { self.compose(group, &rows, &mut sums) };
                        for (l, e) in out[points].iter_mut().enumerate() {
                            let c: [BaseElement; DEGREE] =
                                std::array::from_fn(|c| BaseElement::from_mont(sums[c][l]));
                            *e = E::slice_from_base_elements(&c)[0];
                        }
                    }
                }

                #[target_feature(enable = $feature)]
                fn compose(&self, g: &Group, rows: &Rows, out: &mut [Lanes; DEGREE]) {
                    let mut sums = [WideSum::new(), WideSum::new(), WideSum::new()];
                    self.main(g, rows, &mut sums);
                    self.aux(g, rows, &mut sums);
                    for (out, sum) in out.iter_mut().zip(sums) {
                        store(out, sum.reduce());
                    }
                }

                /// Adds the main constraints times their coefficients to `sums`.
                #[target_feature(enable = $feature)]
                fn main(&self, g: &Group, rows: &Rows, sums: &mut [WideSum; DEGREE]) {
                    let (cur, next) = (&rows.cur, &rows.next);
                    let zero = zero();
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
                    for i in 0..STATE_WIDTH {
                        let b_int = mont_to_int(back[i]);
                        let b3 = load(&cur[BACK_CUBE + i]);
                        let round = sub(
                            sub(mul(mul(b3, mont_to_int(b3)), b_int), fwd[i]),
                            load(&g.ark1[i]),
                        );
                        let back_cube = sub(b3, mul(mul(back[i], b_int), b_int));
                        for (c, sum) in sums.iter_mut().enumerate() {
                            sum.add(round, load(&g.round[i][c]));
                            sum.add(cube[i], splat(self.cube[i][c]));
                            sum.add(back_cube, splat(self.cube[STATE_WIDTH + i][c]));
                        }
                    }
                    for i in 0..4 {
                        let capacity = sub(load(&next[i]), load(&cur[i]));
                        for (c, sum) in sums.iter_mut().enumerate() {
                            sum.add(capacity, load(&g.capacity[i][c]));
                        }
                    }
                    let dg = sub(load(&next[STEP]), load(&cur[STEP]));
                    let step = mul(dg, mont_to_int(sub(dg, splat(BaseElement::ONE.inner()))));
                    for (c, sum) in sums.iter_mut().enumerate() {
                        sum.add(step, splat(self.step[c]));
                    }
                }

                /// Adds the auxiliary constraints times their coefficients to `sums`, in the order and
                /// shape of `SpongeAir::aux_residuals`.
                #[target_feature(enable = $feature)]
                fn aux(&self, g: &Group, rows: &Rows, sums: &mut [WideSum; DEGREE]) {
                    let (cur, next) = (&rows.cur, &rows.next);
                    let col = |c: usize| load(&cur[c]);
                    let col_next = |c: usize| load(&next[c]);
                    let ext = |rows: &[Lanes; AUX_BASE], c: usize| -> Ext {
                        std::array::from_fn(|d| load(&rows[DEGREE * c + d]))
                    };
                    let alpha = splat_ext(&self.alpha);
                    let dg = sub(col_next(STEP), col(STEP));
                    let dg_int = mont_to_int(dg);
                    let (s, s_next) = (ext(&rows.aux_cur, AUX_S), ext(&rows.aux_next, AUX_S));
                    let mut residuals: Vec<Ext> = Vec::with_capacity(self.aux_coef.len());

                    // LogUp.
                    let t = ext_sub(alpha, embed(load(&rows.t)));
                    let step = ext_sub(
                        ext_sub(ext_sub(s_next, s), ext(&rows.aux_cur, AUX_H1)),
                        ext(&rows.aux_cur, AUX_H2),
                    );
                    let mult = col(MULT);
                    residuals.push(match self.scaled {
                        Some((c, factor)) if !self.gated => {
                            let looked_up = mul(mul(dg, mont_to_int(col(c))), splat(factor));
                            let x = ext_sub(alpha, embed(looked_up));
                            ext_add(
                                ext_sub(ext_mul(ext_mul(step, t), x), t),
                                ext_mul_base(x, mont_to_int(mult)),
                            )
                        }
                        _ => ext_add(ext_mul(step, t), embed(mult)),
                    });

                    // The link.
                    let mut rate = [WideSum::new(), WideSum::new(), WideSum::new()];
                    for (i, w) in self.w.iter().enumerate() {
                        for (sum, w) in rate.iter_mut().zip(w) {
                            sum.add(col(4 + i), splat(*w));
                        }
                    }
                    let [r0, r1, r2] = rate;
                    let rate = [r0.reduce(), r1.reduce(), r2.reduce()];
                    let carried = ext_times(
                        ext(&rows.aux_cur, AUX_Z),
                        &times_lanes(std::array::from_fn(|c| load(&g.carry[c]))),
                    );
                    let weight = |w: &[Lanes; DEGREE], v: $vector| -> Ext {
                        std::array::from_fn(|c| mul(v, load(&w[c])))
                    };
                    let expect = ext_sub(
                        ext_sub(
                            ext_add(carried, ext_mul_base(rate, load(&g.rate_sign))),
                            weight(&g.weight, recompose(cur)),
                        ),
                        weight(&g.weight_next, recompose(next)),
                    );
                    residuals.push(ext_sub(ext(&rows.aux_next, AUX_Z), expect));

                    // The pairs.
                    let pair = |h: Ext, a: $vector, b: $vector| -> Ext {
                        let sum = add(a, b);
                        let alpha_sum: Ext =
                            std::array::from_fn(|c| mul(sum, splat(self.alpha_int[c])));
                        let den = ext_add(
                            ext_sub(splat_ext(&self.alpha2), alpha_sum),
                            embed(mul(a, mont_to_int(b))),
                        );
                        ext_sub(
                            ext_mul(h, den),
                            ext_sub(splat_ext(&self.two_alpha), embed(sum)),
                        )
                    };
                    let limb = |c: usize| col(LIMB + c);
                    residuals.push(pair(ext(&rows.aux_cur, AUX_H1), limb(0), limb(1)));
                    residuals.push(pair(ext(&rows.aux_cur, AUX_H2), limb(2), limb(3)));

                    // Shape A: the gated last row.
                    if self.gated {
                        let limb_next = |c: usize| col_next(LIMB + c);
                        let (h1, h2) = (ext(&rows.aux_next, AUX_H1), ext(&rows.aux_next, AUX_H2));
                        let tn = ext_sub(alpha, embed(load(&rows.tn)));
                        let open = ext_add(ext_add(s_next, h1), h2);
                        let mult_next = col_next(MULT);
                        let close = match self.scaled {
                            Some((c, factor)) => {
                                let x = ext_sub(alpha, embed(mul(col_next(c), splat(factor))));
                                ext_sub(
                                    ext_add(ext_mul(ext_mul(open, tn), x), tn),
                                    ext_mul_base(x, mont_to_int(mult_next)),
                                )
                            }
                            None => ext_sub(ext_mul(open, tn), embed(mult_next)),
                        };
                        residuals.push(ext_mul_base(close, dg_int));
                        residuals.push(ext_mul_base(pair(h1, limb_next(0), limb_next(1)), dg_int));
                        residuals.push(ext_mul_base(pair(h2, limb_next(2), limb_next(3)), dg_int));
                    }

                    assert_eq!(residuals.len(), self.aux_coef.len());
                    for (r, m) in residuals.iter().zip(&self.aux_coef) {
                        for (i, row) in m.iter().enumerate() {
                            for (sum, entry) in sums.iter_mut().zip(row) {
                                sum.add(r[i], splat(*entry));
                            }
                        }
                    }
                }
            }

            /// `WIDTH` points' main and auxiliary rows, a lane array per base column.
            struct Rows {
                cur: [Lanes; MAIN_WIDTH],
                next: [Lanes; MAIN_WIDTH],
                aux_cur: [Lanes; AUX_BASE],
                aux_next: [Lanes; AUX_BASE],
                /// The range table's `T` and `T_next`.
                t: Lanes,
                tn: Lanes,
            }

            #[target_feature(enable = $feature)]
            fn splat_ext(v: &[u64; DEGREE]) -> Ext {
                [splat(v[0]), splat(v[1]), splat(v[2])]
            }

            /// A base value as an extension value.
            #[target_feature(enable = $feature)]
            fn embed(v: $vector) -> Ext {
                let zero = zero();
                [v, zero, zero]
            }

            #[target_feature(enable = $feature)]
            fn ext_add(a: Ext, b: Ext) -> Ext {
                [add(a[0], b[0]), add(a[1], b[1]), add(a[2], b[2])]
            }

            #[target_feature(enable = $feature)]
            fn ext_sub(a: Ext, b: Ext) -> Ext {
                [sub(a[0], b[0]), sub(a[1], b[1]), sub(a[2], b[2])]
            }

            /// `a·b` for a base value `b` given as its canonical integer.
            #[target_feature(enable = $feature)]
            fn ext_mul_base(a: Ext, b_int: $vector) -> Ext {
                [mul(a[0], b_int), mul(a[1], b_int), mul(a[2], b_int)]
            }

            /// The product matrix of canonical lanes `b` (see [`times`]).
            #[target_feature(enable = $feature)]
            fn times_lanes(b: Ext) -> Times<$vector> {
                let (b02, b12) = (add(b[0], b[2]), add(b[1], b[2]));
                [[b[0], b[1], b[2]], [b[2], b02, b[1]], [b[1], b12, b02]]
            }

            /// `a·b` with `b` as its product matrix.
            #[target_feature(enable = $feature)]
            fn ext_times(a: Ext, m: &Times<$vector>) -> Ext {
                let mut sums = [WideSum::new(), WideSum::new(), WideSum::new()];
                for (i, row) in m.iter().enumerate() {
                    for (sum, entry) in sums.iter_mut().zip(row) {
                        sum.add(a[i], *entry);
                    }
                }
                let [s0, s1, s2] = sums;
                [s0.reduce(), s1.reduce(), s2.reduce()]
            }

            #[target_feature(enable = $feature)]
            fn ext_mul(a: Ext, b: Ext) -> Ext {
                let b_int = [mont_to_int(b[0]), mont_to_int(b[1]), mont_to_int(b[2])];
                ext_times(a, &times_lanes(b_int))
            }

            /// `Σ_i 2^(14i)·L_i` of `WIDTH` rows (`air::recompose`).
            #[target_feature(enable = $feature)]
            fn recompose(rows: &[Lanes; MAIN_WIDTH]) -> $vector {
                let shift = splat(1 << LIMB_BITS);
                let mut r = load(&rows[LIMB + LIMBS - 1]);
                for i in (0..LIMBS - 1).rev() {
                    r = add(mul(r, shift), load(&rows[LIMB + i]));
                }
                r
            }
        }
    };
}

transition_lanes!(avx512, __m512i, "avx512f", avx512_detected, 8);
transition_lanes!(avx2, __m256i, "avx2", avx2_detected, 4);
