//! Rescue's MDS and inverse-MDS matrix products, fast in the base field.
//!
//! The round constraint multiplies two 12-vectors by 12×12 matrices at every point of the
//! constraint evaluation domain (2^21 points for a 2^18-row segment), which made those products
//! half of the constraint evaluation. In the base field they are done here with one modular
//! reduction per output instead of one per term: field elements are kept in winterfell's
//! Montgomery form `a·R`, and an integer combination `Σ c_j·(a_j·R)` reduced mod p is the
//! Montgomery form of `Σ c_j·a_j`. Extension-field callers (the verifier's out-of-domain point)
//! take the plain path; a test checks both agree.

use crate::goldilocks::{P, reduce128};
use crate::sponge::STATE_WIDTH;
use std::sync::OnceLock;
use winter_crypto::hashers::Rp64_256;
use winterfell::math::{FieldElement, fields::f64::BaseElement};

struct Matrices {
    /// MDS entries (all < 2^5).
    mds: [[u64; STATE_WIDTH]; STATE_WIDTH],
    /// INV_MDS entries (canonical).
    inv: [[u64; STATE_WIDTH]; STATE_WIDTH],
}

fn matrices() -> &'static Matrices {
    static M: OnceLock<Matrices> = OnceLock::new();
    M.get_or_init(|| {
        let mut m = Matrices {
            mds: [[0; STATE_WIDTH]; STATE_WIDTH],
            inv: [[0; STATE_WIDTH]; STATE_WIDTH],
        };
        for i in 0..STATE_WIDTH {
            for j in 0..STATE_WIDTH {
                m.mds[i][j] = Rp64_256::MDS[i][j].as_int();
                m.inv[i][j] = Rp64_256::INV_MDS[i][j].as_int();
            }
        }
        m
    })
}

fn mds_base(v: &[BaseElement; STATE_WIDTH]) -> [BaseElement; STATE_WIDTH] {
    let m = matrices();
    std::array::from_fn(|i| {
        let mut acc = 0u128;
        for (c, x) in m.mds[i].iter().zip(v) {
            acc += (*c as u128) * (x.inner() as u128);
        }
        BaseElement::from_mont(reduce128(acc))
    })
}

fn inv_mds_base(v: &[BaseElement; STATE_WIDTH]) -> [BaseElement; STATE_WIDTH] {
    // Full 128-bit products summed in a u128 whose overflows are counted: the sum is
    // `acc + carries·2^128`, and 2^128 ≡ −2^32 (mod p).
    let m = matrices();
    std::array::from_fn(|i| {
        let mut acc = 0u128;
        let mut carries = 0u64;
        for (x, c) in v.iter().zip(&m.inv[i]) {
            let (sum, over) = acc.overflowing_add(x.inner() as u128 * *c as u128);
            acc = sum;
            carries += over as u64;
        }
        let r = reduce128(acc);
        let back = carries << 32;
        BaseElement::from_mont(if r >= back { r - back } else { r + (P - back) })
    })
}

fn product<E: FieldElement<BaseField = BaseElement>>(
    m: &[[BaseElement; STATE_WIDTH]; STATE_WIDTH],
    v: &[E; STATE_WIDTH],
) -> [E; STATE_WIDTH] {
    std::array::from_fn(|i| {
        let mut acc = E::ZERO;
        for (c, x) in m[i].iter().zip(v) {
            acc += *x * E::from(*c);
        }
        acc
    })
}

/// Applies `f` to `v` as base-field elements when `E` is the base field.
fn on_base<E: FieldElement<BaseField = BaseElement>>(
    v: &[E; STATE_WIDTH],
    f: fn(&[BaseElement; STATE_WIDTH]) -> [BaseElement; STATE_WIDTH],
) -> Option<[E; STATE_WIDTH]> {
    if E::EXTENSION_DEGREE != 1 {
        return None;
    }
    let base: &[BaseElement; STATE_WIDTH] = E::slice_as_base_elements(v).try_into().ok()?;
    Some(f(base).map(E::from))
}

/// `MDS · v`.
#[inline]
pub fn mds<E: FieldElement<BaseField = BaseElement>>(v: &[E; STATE_WIDTH]) -> [E; STATE_WIDTH] {
    on_base(v, mds_base).unwrap_or_else(|| product(&Rp64_256::MDS, v))
}

/// `INV_MDS · v`.
#[inline]
pub fn inv_mds<E: FieldElement<BaseField = BaseElement>>(v: &[E; STATE_WIDTH]) -> [E; STATE_WIDTH] {
    on_base(v, inv_mds_base).unwrap_or_else(|| product(&Rp64_256::INV_MDS, v))
}

/// The same products several lanes at a time on raw values: the constraint evaluator's vector
/// path, [`avx512`] (eight lanes) and [`avx2`] (four), made by one macro from the lane operations
/// of the same name in `crate::goldilocks`.
macro_rules! lane_products {
    ($width:ident, $vector:ty, $feature:literal, $detected:ident, $lanes:literal) => {
        #[cfg(target_arch = "x86_64")]
        pub mod $width {
            use super::matrices;
            use crate::goldilocks::$width::{WideSum, hi32, small_dot, splat};
            use crate::sponge::STATE_WIDTH;
            use core::arch::x86_64::*;

            /// `MDS · v`.
            ///
            /// # Safety
            #[doc = concat!("The CPU must have `", $feature, "` (`goldilocks::", stringify!($detected), "`).")]
            #[target_feature(enable = $feature)]
            pub fn mds(v: &[$vector; STATE_WIDTH]) -> [$vector; STATE_WIDTH] {
                let m = matrices();
                let v_hi: [$vector; STATE_WIDTH] = std::array::from_fn(|j| hi32(v[j]));
                std::array::from_fn(|i| small_dot(v, &v_hi, &m.mds[i]))
            }

            /// `INV_MDS · v`.
            ///
            /// # Safety
            #[doc = concat!("The CPU must have `", $feature, "` (`goldilocks::", stringify!($detected), "`).")]
            #[target_feature(enable = $feature)]
            pub fn inv_mds(v: &[$vector; STATE_WIDTH]) -> [$vector; STATE_WIDTH] {
                let m = matrices();
                std::array::from_fn(|i| {
                    let mut sum = WideSum::new();
                    for (x, c) in v.iter().zip(&m.inv[i]) {
                        sum.add(*x, splat(*c));
                    }
                    sum.reduce()
                })
            }

            #[cfg(test)]
            mod tests {
                use super::super::product;
                use super::*;
                use crate::goldilocks::$width::{load, store};
                use crate::goldilocks::{$detected, P};
                use winter_crypto::hashers::Rp64_256;
                use winterfell::math::fields::f64::BaseElement;

                #[test]
                fn lane_products_equal_the_plain_ones() {
                    if !$detected() {
                        eprintln!(concat!("no ", $feature, " on this CPU: this path is not used here"));
                        return;
                    }
                    // SAFETY: the feature was detected just above.
                    unsafe { check_lane_products() }
                }

                #[target_feature(enable = $feature)]
                fn check_lane_products() {
                    let mut next = crate::sample::xorshift(0x2545_f491_4f6c_dd1d);
                    for round in 0..64 {
                        // A state per lane; the first round all p − 1.
                        let states: Vec<[BaseElement; STATE_WIDTH]> = (0..$lanes)
                            .map(|_| {
                                std::array::from_fn(|_| match round {
                                    0 => BaseElement::new(P - 1),
                                    _ => BaseElement::new(next()),
                                })
                            })
                            .collect();
                        let v: [_; STATE_WIDTH] = std::array::from_fn(|i| {
                            let column: Vec<u64> = states.iter().map(|s| s[i].inner()).collect();
                            load(&column)
                        });
                        for (f, m) in [
                            (mds as fn(&_) -> _, &Rp64_256::MDS),
                            (inv_mds, &Rp64_256::INV_MDS),
                        ] {
                            let out = f(&v);
                            for (lane, state) in states.iter().enumerate() {
                                let expect = product(m, state);
                                for i in 0..STATE_WIDTH {
                                    let mut got = [0u64; $lanes];
                                    store(&mut got, out[i]);
                                    assert_eq!(got[lane], expect[i].inner(), "row {i} lane {lane}");
                                }
                            }
                        }
                    }
                }
            }
        }
    };
}

lane_products!(avx512, __m512i, "avx512f", avx512_detected, 8);
lane_products!(avx2, __m256i, "avx2", avx2_detected, 4);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_products_equal_the_plain_ones() {
        let mut next = crate::sample::xorshift(0x1234_5678_9abc_def1);
        for round in 0..200 {
            let v: [BaseElement; STATE_WIDTH] = std::array::from_fn(|i| match round {
                0 => BaseElement::new(P - 1),
                1 => BaseElement::new(i as u64),
                _ => BaseElement::new(next()),
            });
            assert_eq!(mds(&v), product(&Rp64_256::MDS, &v));
            assert_eq!(inv_mds(&v), product(&Rp64_256::INV_MDS, &v));
        }
    }
}
