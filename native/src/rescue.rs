//! The Rescue-Prime permutation of winter-crypto 0.13's `Rp64_256`, which the sponge chain runs:
//! with the 12 state elements across vector lanes where the CPU has AVX-512F or AVX2, winterfell's
//! own rounds elsewhere.
//!
//! The chain is serial (each block's permutation needs the state the one before left), so it
//! cannot spread over cores: at 2^18 rows its 2^15 permutations took most of the trace build. A
//! round here works on the state in registers (AVX-512: elements 0–7, then 8–11 and four zero
//! lanes; AVX2: three registers of four) in plain (canonical integer) form; x^(1/7) is winterfell's
//! addition chain on all lanes at once, 63 of its 72 products squarings, and products inside a
//! chain are left below 2^64 rather than below p; the MDS product reduces once per output. Every
//! step is exact field arithmetic and every value that leaves a round is canonical, so the states
//! equal winterfell's bit for bit (the tests compare every round of every width the CPU has).
//!
//! The trace also needs each round's cubes (the AIR's `X3` and `B3` columns): `x^3` is a step of
//! the S-box `x^7`, and `b^3` of the inverse S-box's output `b` two more products, so the
//! permutation hands them out with the states ([`Rows`]) instead of the trace computing them again
//! (`B3` from the next state would cost an inverse-MDS product per row).

use crate::mds;
use crate::sponge::State;
use winter_crypto::hashers::Rp64_256;
use winterfell::math::FieldElement;

/// Rounds per permutation.
pub const NUM_ROUNDS: usize = Rp64_256::NUM_ROUNDS;

/// The trace rows one permutation fills, in winterfell's form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rows {
    /// The state before each round, then after the last.
    pub states: [State; NUM_ROUNDS + 1],
    /// `cubes[r] = states[r]^3`, element by element.
    pub cubes: [State; NUM_ROUNDS],
    /// `back_cubes[r] = b^3` for round `r`'s inverse S-box output `b`, which is
    /// `INV_MDS·(states[r + 1] − ARK2[r])` ([`back_cubes`]).
    pub back_cubes: [State; NUM_ROUNDS],
}

/// `b^3` element by element for `b = INV_MDS·(y − k)`: a state `y` taken back through the second
/// half of a round whose constants are `k`.
pub fn back_cubes(y: &State, k: &State) -> State {
    let b = mds::inv_mds(&std::array::from_fn(|i| y[i] - k[i]));
    b.map(|v| v.cube())
}

/// Applies the permutation to `state`.
pub fn permute(state: &mut State) {
    #[cfg(target_arch = "x86_64")]
    if crate::goldilocks::avx512_detected() {
        // SAFETY: AVX-512F was detected just above.
        *state = unsafe { avx512::permute(state, None) };
        return;
    } else if crate::goldilocks::avx2_detected() {
        // SAFETY: AVX2 was detected just above.
        *state = unsafe { avx2::permute(state, None) };
        return;
    }
    Rp64_256::apply_permutation(state);
}

/// Applies the permutation to `state` and returns the rows it fills (the last state is the new
/// `state`).
pub fn permute_rows(state: &mut State) -> Rows {
    let mut rows = Rows {
        states: [*state; NUM_ROUNDS + 1],
        cubes: [*state; NUM_ROUNDS],
        back_cubes: [*state; NUM_ROUNDS],
    };
    #[cfg(target_arch = "x86_64")]
    if crate::goldilocks::avx512_detected() {
        // SAFETY: AVX-512F was detected just above.
        *state = unsafe { avx512::permute(state, Some(&mut rows)) };
        return rows;
    } else if crate::goldilocks::avx2_detected() {
        // SAFETY: AVX2 was detected just above.
        *state = unsafe { avx2::permute(state, Some(&mut rows)) };
        return rows;
    }
    scalar_rows(state, &mut rows);
    rows
}

/// The rows from winterfell's rounds, the cubes computed from the states.
fn scalar_rows(state: &mut State, rows: &mut Rows) {
    for r in 0..NUM_ROUNDS {
        rows.cubes[r] = state.map(|v| v.cube());
        Rp64_256::apply_round(state, r);
        rows.states[r + 1] = *state;
        rows.back_cubes[r] = back_cubes(state, &Rp64_256::ARK2[r]);
    }
}

/// The permutation with a state across the lanes of `$regs` registers `$vector` of `$lanes` lanes
/// (the spare lanes hold zeros), made for each width from the lane operations of the same names
/// in `crate::goldilocks::$width`.
macro_rules! permutation_lanes {
    ($width:ident, $vector:ty, $feature:literal, $detected:ident, $regs:literal, $lanes:literal) => {
        #[cfg(target_arch = "x86_64")]
        mod $width {
            use super::{NUM_ROUNDS, Rows};
            use crate::goldilocks::$width::{
                add, dot_small_lanes, load, mul, mul_partial, splat, square_partial, store,
            };
            use crate::goldilocks::EPSILON;
            use crate::sponge::{STATE_WIDTH, State};
            use core::arch::x86_64::*;
            use std::sync::OnceLock;
            use winter_crypto::hashers::Rp64_256;
            use winterfell::math::fields::f64::BaseElement;

            /// A 12-vector in the lanes of the registers, zeros after it.
            type Lanes = [u64; $regs * $lanes];
            type X = [$vector; $regs];

            struct Constants {
                ark1: [Lanes; NUM_ROUNDS],
                ark2: [Lanes; NUM_ROUNDS],
                /// Column `j` of the MDS matrix (entries < 2^5).
                mds: [Lanes; STATE_WIDTH],
            }

            fn constants() -> &'static Constants {
                static C: OnceLock<Constants> = OnceLock::new();
                C.get_or_init(|| {
                    let lanes = |f: &dyn Fn(usize) -> BaseElement| -> Lanes {
                        std::array::from_fn(|i| if i < STATE_WIDTH { f(i).as_int() } else { 0 })
                    };
                    Constants {
                        ark1: std::array::from_fn(|r| lanes(&|i| Rp64_256::ARK1[r][i])),
                        ark2: std::array::from_fn(|r| lanes(&|i| Rp64_256::ARK2[r][i])),
                        mds: std::array::from_fn(|j| lanes(&|i| Rp64_256::MDS[i][j])),
                    }
                })
            }

            #[target_feature(enable = $feature)]
            fn load_all(v: &Lanes) -> X {
                std::array::from_fn(|h| load(&v[h * $lanes..]))
            }

            #[target_feature(enable = $feature)]
            fn store_all(x: X) -> Lanes {
                let mut v: Lanes = [0; $regs * $lanes];
                for (h, x) in x.into_iter().enumerate() {
                    store(&mut v[h * $lanes..], x);
                }
                v
            }

            /// `x + k` for canonical lanes.
            #[target_feature(enable = $feature)]
            fn add_constants(x: X, k: &Lanes) -> X {
                let k = load_all(k);
                std::array::from_fn(|h| add(x[h], k[h]))
            }

            /// `MDS·x` for any lanes, canonical: the state through memory, each element against
            /// the matrix column it multiplies.
            #[target_feature(enable = $feature)]
            fn mds(x: X, cols: &[Lanes; STATE_WIDTH]) -> X {
                let v = store_all(x);
                std::array::from_fn(|h| {
                    let c: [$vector; STATE_WIDTH] =
                        std::array::from_fn(|j| load(&cols[j][h * $lanes..]));
                    dot_small_lanes(&v[..STATE_WIDTH], &c)
                })
            }

            /// `base^(2^m)·tail` lane by lane, below 2^64; the registers' chains interleave to
            /// fill the multiplier.
            #[target_feature(enable = $feature)]
            fn exp_acc(base: X, tail: X, m: usize) -> X {
                let mut r = base;
                for _ in 0..m {
                    r = r.map(|v| square_partial(v));
                }
                std::array::from_fn(|h| mul_partial(r[h], tail[h]))
            }

            /// `x^(1/7)`, i.e. `x^10540996611094048183`, below 2^64: the addition chain of
            /// winter-crypto's Rp64_256 (72 products, 63 of them squarings).
            #[target_feature(enable = $feature)]
            fn exp_inv7(x: X) -> X {
                // Exponents in binary: t1 = x^10, t2 = x^100, t3 = x^100100, ...
                let t1 = x.map(|v| square_partial(v));
                let t2 = t1.map(|v| square_partial(v));
                let t3 = exp_acc(t2, t2, 3);
                let t4 = exp_acc(t3, t3, 6);
                let t5 = exp_acc(t4, t4, 12);
                let t6 = exp_acc(t5, t3, 6);
                let t7 = exp_acc(t6, t6, 31);
                // (t7^10·t6)^100 · t1·t2·x
                let a = exp_acc(t7, t6, 1);
                let b = exp_acc(exp_acc(t1, t2, 0), x, 0);
                exp_acc(a, b, 2)
            }

            /// The state in winterfell's form from any lanes: `a·R mod p` (`R = 2^64 ≡ 2^32 −
            /// 1`) is its Montgomery form of `a`.
            #[target_feature(enable = $feature)]
            fn to_state(x: X) -> State {
                let v = store_all(x.map(|v| mul(v, splat(EPSILON))));
                std::array::from_fn(|i| BaseElement::from_mont(v[i]))
            }

            /// One round on canonical lanes, with its cubes in `rows` (as `rows.cubes[r]` and
            /// `rows.back_cubes[r]`).
            #[target_feature(enable = $feature)]
            fn round(x: X, r: usize, c: &Constants, rows: Option<&mut Rows>) -> X {
                let x2 = x.map(|v| square_partial(v));
                let x3: X = std::array::from_fn(|h| mul_partial(x[h], x2[h]));
                let x7: X = std::array::from_fn(|h| {
                    mul_partial(x3[h], square_partial(x2[h]))
                });
                let b = exp_inv7(add_constants(mds(x7, &c.mds), &c.ark1[r]));
                if let Some(rows) = rows {
                    rows.cubes[r] = to_state(x3);
                    rows.back_cubes[r] = to_state(std::array::from_fn(|h| {
                        mul_partial(b[h], square_partial(b[h]))
                    }));
                }
                add_constants(mds(b, &c.mds), &c.ark2[r])
            }

            /// The permuted state; with `rows`, also the rows the permutation fills but
            /// `rows.states[0]`, which is left as it is.
            ///
            /// # Safety
            #[doc = concat!("The CPU must have `", $feature, "` (`goldilocks::", stringify!($detected), "`).")]
            #[target_feature(enable = $feature)]
            pub fn permute(state: &State, mut rows: Option<&mut Rows>) -> State {
                let c = constants();
                let v: Lanes = std::array::from_fn(|i| state.get(i).map_or(0, |e| e.as_int()));
                let mut x = load_all(&v);
                for r in 0..NUM_ROUNDS {
                    x = round(x, r, c, rows.as_deref_mut());
                    if let Some(rows) = rows.as_deref_mut() {
                        rows.states[r + 1] = to_state(x);
                    }
                }
                match rows {
                    Some(rows) => rows.states[NUM_ROUNDS],
                    None => to_state(x),
                }
            }

            #[cfg(test)]
            mod tests {
                use super::super::tests::{expected_rows, raw, states};
                use crate::goldilocks::$detected;

                #[test]
                fn rows_equal_the_scalar_ones() {
                    if !$detected() {
                        eprintln!(concat!("no ", $feature, " on this CPU: this path is not used here"));
                        return;
                    }
                    for s in states(1000) {
                        let expect = expected_rows(&s);
                        let mut rows = expect;
                        // SAFETY: the feature was detected just above.
                        let end = unsafe { super::permute(&s, Some(&mut rows)) };
                        assert_eq!(raw(&rows), raw(&expect), "state {s:?}");
                        assert_eq!(end, expect.states[super::NUM_ROUNDS]);
                        // SAFETY: as above.
                        assert_eq!(unsafe { super::permute(&s, None) }, end, "state {s:?}");
                    }
                }
            }
        }
    };
}

permutation_lanes!(avx512, __m512i, "avx512f", avx512_detected, 2, 8);
permutation_lanes!(avx2, __m256i, "avx2", avx2_detected, 3, 4);

#[cfg(test)]
mod tests {
    use super::*;
    use winterfell::math::{StarkField, fields::f64::BaseElement};

    /// Edge states (zeros, p − 1, small values), random ones (elements near p among them), then
    /// pseudo-random ones: each the permutation (winterfell's) of the one before.
    pub(super) fn states(count: usize) -> Vec<State> {
        let p = BaseElement::MODULUS;
        let mut v = vec![
            [BaseElement::ZERO; 12],
            [BaseElement::new(p - 1); 12],
            std::array::from_fn(|i| BaseElement::new(i as u64)),
            std::array::from_fn(|i| BaseElement::new(p - 1 - i as u64)),
            std::array::from_fn(|i| BaseElement::new(1 << (5 * i))),
        ];
        let mut next = crate::sample::xorshift(0x2545_f491_4f6c_dd1d);
        for k in 0..count / 2 {
            v.push(std::array::from_fn(|_| {
                let x = next();
                BaseElement::new(if k % 4 == 0 { p - 1 - (x >> 40) } else { x })
            }));
        }
        let mut next = [BaseElement::new(0x4528_21e6_38d0_1377); 12];
        while v.len() < count {
            Rp64_256::apply_permutation(&mut next);
            v.push(next);
        }
        v
    }

    /// The rows of the scalar path (which every width is compared with).
    pub(super) fn expected_rows(s: &State) -> Rows {
        let mut rows = Rows {
            states: [*s; NUM_ROUNDS + 1],
            cubes: [*s; NUM_ROUNDS],
            back_cubes: [*s; NUM_ROUNDS],
        };
        scalar_rows(&mut s.clone(), &mut rows);
        rows
    }

    /// The raw bits of every value of `rows`.
    pub(super) fn raw(rows: &Rows) -> Vec<u64> {
        let all = rows
            .states
            .iter()
            .chain(&rows.cubes)
            .chain(&rows.back_cubes);
        all.flat_map(|s| s.map(|e| e.inner())).collect()
    }

    #[test]
    fn scalar_rows_are_winterfells_rounds_and_their_cubes() {
        for s in states(300) {
            let rows = expected_rows(&s);
            let mut w = s;
            for r in 0..NUM_ROUNDS {
                let x = w;
                Rp64_256::apply_round(&mut w, r);
                assert_eq!(rows.states[r + 1], w, "state {s:?}, round {r}");
                assert_eq!(rows.cubes[r], x.map(|v| v * v * v));
                // b^7 is the S-box half of the round: MDS·x^7 + ARK1, so (b^3)^7 = (b^7)^3.
                let x7 = x.map(|v| v.exp(7));
                let b7: State = std::array::from_fn(|i| {
                    let row = Rp64_256::MDS[i].iter().zip(&x7);
                    row.fold(Rp64_256::ARK1[r][i], |acc, (m, v)| acc + *m * *v)
                });
                let seventh: State = rows.back_cubes[r].map(|v| v.exp(7));
                assert_eq!(seventh, b7.map(|v| v.exp(3)), "state {s:?}, round {r}");
            }
        }
    }

    /// The dispatching entry points (the widest width the CPU has) against winterfell.
    #[test]
    fn permutation_equals_winterfells() {
        for s in states(300) {
            let mut w = s;
            Rp64_256::apply_permutation(&mut w);
            let mut ours = s;
            permute(&mut ours);
            assert_eq!(ours.map(|e| e.inner()), w.map(|e| e.inner()), "state {s:?}");
            let mut ours = s;
            let rows = permute_rows(&mut ours);
            assert_eq!(raw(&rows), raw(&expected_rows(&s)), "state {s:?}");
            assert_eq!(ours, w);
        }
    }
}
