//! Goldilocks (p = 2^64 − 2^32 + 1) arithmetic on winterfell's raw representation, scalar and
//! eight lanes at a time with AVX-512.
//!
//! Winterfell holds an element `a` as its Montgomery form `a·R mod p` (`R = 2^64`), a `u64` in
//! `[0, p)`. Multiplying that raw value by a *canonical* constant `w` and reducing the 128-bit
//! product mod p gives `(a·w)·R mod p`, the Montgomery form of `a·w`: so transforms whose
//! multipliers are fixed (FFT twiddles, coset powers, MDS entries) keep them as canonical
//! integers and need only the plain Goldilocks reduction (2^64 ≡ 2^32 − 1, 2^96 ≡ −1), which
//! vectorises with no Montgomery constants. Sums and differences are the same in either form.
//! Every result is canonical (in `[0, p)`), as winterfell's are, so the raw bits (which the
//! commitment hash reads) equal winterfell's.

use winterfell::math::{StarkField, fields::f64::BaseElement};

pub const P: u64 = BaseElement::MODULUS;
/// 2^64 − p = 2^32 − 1.
pub const EPSILON: u64 = 0xffff_ffff;

/// `x mod p` for any 128-bit `x`, canonical.
#[inline(always)]
pub fn reduce128(x: u128) -> u64 {
    let lo = x as u64;
    let hi = (x >> 64) as u64;
    let hi_hi = hi >> 32;
    let hi_lo = hi & EPSILON;
    let (mut t0, borrow) = lo.overflowing_sub(hi_hi);
    if borrow {
        t0 = t0.wrapping_sub(EPSILON);
    }
    let t1 = hi_lo * EPSILON;
    let (mut t2, carry) = t0.overflowing_add(t1);
    if carry {
        t2 = t2.wrapping_add(EPSILON);
    }
    if t2 >= P { t2 - P } else { t2 }
}

/// `a·w` for an element `a` and a canonical integer `w`.
#[inline(always)]
pub fn mul_int(a: BaseElement, w: u64) -> BaseElement {
    BaseElement::from_mont(reduce128(a.inner() as u128 * w as u128))
}

/// Whether this CPU runs the [`avx512`] paths (the answer is cached by the standard library).
#[cfg(target_arch = "x86_64")]
pub fn avx512_detected() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// Eight lanes of raw `u64` field values per `__m512i`. Every function needs AVX-512F: callers
/// are themselves `#[target_feature(enable = "avx512f")]`, reached only after
/// [`avx512_detected`].
#[cfg(target_arch = "x86_64")]
pub mod avx512 {
    use super::{EPSILON, P};
    use core::arch::x86_64::*;

    /// `x mod p` for lanes `x < 2^64` (one conditional subtraction: 2p > 2^64).
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn canonical(x: __m512i) -> __m512i {
        let p = _mm512_set1_epi64(P as i64);
        _mm512_mask_sub_epi64(x, _mm512_cmpge_epu64_mask(x, p), x, p)
    }

    /// `a + b` for canonical lanes.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn add(a: __m512i, b: __m512i) -> __m512i {
        let p = _mm512_set1_epi64(P as i64);
        let s = _mm512_add_epi64(a, b);
        // A carry lost 2^64 ≡ 2^32 − 1: subtracting p with wrap-around adds exactly that.
        let over = _mm512_cmplt_epu64_mask(s, a) | _mm512_cmpge_epu64_mask(s, p);
        _mm512_mask_sub_epi64(s, over, s, p)
    }

    /// `a − b` for canonical lanes.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn sub(a: __m512i, b: __m512i) -> __m512i {
        let p = _mm512_set1_epi64(P as i64);
        let d = _mm512_sub_epi64(a, b);
        _mm512_mask_add_epi64(d, _mm512_cmplt_epu64_mask(a, b), d, p)
    }

    /// `a·b mod p` for any lanes, canonical: the 128-bit product from four 32×32-bit products,
    /// then the reduction of [`super::reduce128`].
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn mul(a: __m512i, b: __m512i) -> __m512i {
        let (hi, lo) = wide(a, b);
        reduce(hi, lo)
    }

    /// `hi·2^64 + lo mod p`, canonical.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn reduce(hi: __m512i, lo: __m512i) -> __m512i {
        canonical(reduce_partial(hi, lo))
    }

    /// `hi·2^64 + lo mod p`, below 2^64 but not always below p.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn reduce_partial(hi: __m512i, lo: __m512i) -> __m512i {
        let eps = _mm512_set1_epi64(EPSILON as i64);
        let hi_hi = _mm512_srli_epi64::<32>(hi);
        let hi_lo = _mm512_and_si512(hi, eps);
        // lo − hi_hi (2^96 ≡ −1); a borrow gained 2^64 ≡ 2^32 − 1 too many.
        let t0 = _mm512_sub_epi64(lo, hi_hi);
        let t0 = _mm512_mask_sub_epi64(t0, _mm512_cmplt_epu64_mask(lo, hi_hi), t0, eps);
        // hi_lo·(2^32 − 1) < 2^64, as a shift and a subtraction.
        let t1 = _mm512_sub_epi64(_mm512_slli_epi64::<32>(hi_lo), hi_lo);
        let t2 = _mm512_add_epi64(t0, t1);
        // A carry lost 2^64 ≡ 2^32 − 1; adding it back cannot carry again (t1 ≤ 2^64 − 2^33 + 1).
        _mm512_mask_add_epi64(t2, _mm512_cmplt_epu64_mask(t2, t0), t2, eps)
    }

    /// Eight `u64`s from `s[..8]`.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn load(s: &[u64]) -> __m512i {
        assert!(s.len() >= 8);
        // SAFETY: the assertion keeps the unaligned 64-byte read inside `s`.
        unsafe { _mm512_loadu_si512(s.as_ptr().cast()) }
    }

    /// Writes the eight lanes of `v` over `d[..8]`.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn store(d: &mut [u64], v: __m512i) {
        assert!(d.len() >= 8);
        // SAFETY: the assertion keeps the unaligned 64-byte write inside `d`, borrowed mutably.
        unsafe { _mm512_storeu_si512(d.as_mut_ptr().cast(), v) }
    }

    // evaluator ops

    /// `v` in every lane.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn splat(v: u64) -> __m512i {
        _mm512_set1_epi64(v as i64)
    }

    /// Zero in every lane.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn zero() -> __m512i {
        _mm512_setzero_si512()
    }

    /// The high 32 bits of each lane.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn hi32(v: __m512i) -> __m512i {
        _mm512_srli_epi64::<32>(v)
    }

    /// The 128-bit products `a·b` as `(hi, lo)`, from four 32×32-bit products.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn wide(a: __m512i, b: __m512i) -> (__m512i, __m512i) {
        let low32 = _mm512_set1_epi64(EPSILON as i64);
        let a_hi = _mm512_srli_epi64::<32>(a);
        let b_hi = _mm512_srli_epi64::<32>(b);
        let ll = _mm512_mul_epu32(a, b);
        let lh = _mm512_mul_epu32(a, b_hi);
        let hl = _mm512_mul_epu32(a_hi, b);
        let hh = _mm512_mul_epu32(a_hi, b_hi);
        // Neither sum overflows: (2^32 − 1)^2 + 2^32 − 1 < 2^64.
        let mid = _mm512_add_epi64(lh, _mm512_srli_epi64::<32>(ll));
        let mid2 = _mm512_add_epi64(hl, _mm512_and_si512(mid, low32));
        // Low 32 bits from `ll`, high 32 from `mid2`.
        let lo = _mm512_mask_blend_epi32(0xaaaa, ll, _mm512_slli_epi64::<32>(mid2));
        let hi = _mm512_add_epi64(
            hh,
            _mm512_add_epi64(_mm512_srli_epi64::<32>(mid), _mm512_srli_epi64::<32>(mid2)),
        );
        (hi, lo)
    }

    /// The canonical integer `a` of raw values `a·R mod p` (winterfell's `mont_to_int`): the
    /// constraint evaluator multiplies two trace values as `raw(a) · int(b) = raw(a·b)` with
    /// [`mul`], so it needs no Montgomery multiplication.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn mont_to_int(x: __m512i) -> __m512i {
        let zero = _mm512_setzero_si512();
        let a = _mm512_add_epi64(x, _mm512_slli_epi64::<32>(x));
        let b = _mm512_sub_epi64(a, _mm512_srli_epi64::<32>(a));
        // The carry of `x + (x << 32)` comes off `b` too.
        let b = _mm512_mask_sub_epi64(b, _mm512_cmplt_epu64_mask(a, x), b, _mm512_set1_epi64(1));
        let r = _mm512_sub_epi64(zero, b);
        _mm512_mask_sub_epi64(
            r,
            _mm512_cmpneq_epu64_mask(b, zero),
            r,
            _mm512_set1_epi64(EPSILON as i64),
        )
    }

    /// `Σ a_k·b_k mod p` over any lanes, reduced once: the 128-bit products are summed with their
    /// overflows past 2^128 counted (2^128 ≡ −2^32), which costs about half of a reduction per
    /// term (the constraint evaluator's sums have 12 to 41 terms).
    pub struct WideSum {
        lo: __m512i,
        hi: __m512i,
        over: __m512i,
    }

    impl WideSum {
        /// An empty sum.
        ///
        /// # Safety
        /// The CPU must have AVX-512F (`avx512_detected`).
        #[target_feature(enable = "avx512f")]
        #[inline]
        pub fn new() -> WideSum {
            let zero = _mm512_setzero_si512();
            WideSum {
                lo: zero,
                hi: zero,
                over: zero,
            }
        }

        /// Adds `a·b`; at most 2^32 terms.
        ///
        /// # Safety
        /// The CPU must have AVX-512F (`avx512_detected`).
        #[target_feature(enable = "avx512f")]
        #[inline]
        pub fn add(&mut self, a: __m512i, b: __m512i) {
            let one = _mm512_set1_epi64(1);
            let (hi, lo) = wide(a, b);
            self.lo = _mm512_add_epi64(self.lo, lo);
            // A product's high half is at most 2^64 − 2, so the carry from the low halves fits.
            let hi = _mm512_mask_add_epi64(hi, _mm512_cmplt_epu64_mask(self.lo, lo), hi, one);
            self.hi = _mm512_add_epi64(self.hi, hi);
            self.over = _mm512_mask_add_epi64(
                self.over,
                _mm512_cmplt_epu64_mask(self.hi, hi),
                self.over,
                one,
            );
        }

        /// The sum mod p, canonical.
        ///
        /// # Safety
        /// The CPU must have AVX-512F (`avx512_detected`).
        #[target_feature(enable = "avx512f")]
        #[inline]
        pub fn reduce(self) -> __m512i {
            sub(reduce(self.hi, self.lo), _mm512_slli_epi64::<32>(self.over))
        }
    }

    /// `Σ c_j·x_j mod p` for small constants (`Σ c_j < 2^32`), canonical: `x_hi[j]` is
    /// `x_j >> 32`, and the two 32-bit halves' sums (each under 2^64) are combined and reduced
    /// once. Rescue's MDS entries are below 2^5, so its product costs two 32×32-bit products per
    /// entry instead of a full 64×64-bit one.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn small_dot(x: &[__m512i], x_hi: &[__m512i], c: &[u64]) -> __m512i {
        debug_assert!(c.iter().sum::<u64>() < 1 << 32);
        let mut low = _mm512_setzero_si512();
        let mut high = _mm512_setzero_si512();
        for ((x, x_hi), c) in x.iter().zip(x_hi).zip(c) {
            let c = _mm512_set1_epi64(*c as i64);
            low = _mm512_add_epi64(low, _mm512_mul_epu32(*x, c));
            high = _mm512_add_epi64(high, _mm512_mul_epu32(*x_hi, c));
        }
        reduce_halves(low, high)
    }

    // chain: the Rescue permutation's lane operations (src/rescue.rs), where a state's elements
    // lie across the lanes and the exponentiations are long chains of squarings.

    /// `low + high·2^32 mod p` for any lanes, canonical.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn reduce_halves(low: __m512i, high: __m512i) -> __m512i {
        // As a 128-bit hi:lo pair.
        let lo = _mm512_add_epi64(low, _mm512_slli_epi64::<32>(high));
        let hi = _mm512_srli_epi64::<32>(high);
        let hi = _mm512_mask_add_epi64(
            hi,
            _mm512_cmplt_epu64_mask(lo, low),
            hi,
            _mm512_set1_epi64(1),
        );
        reduce(hi, lo)
    }

    /// `a·b mod p` for any lanes, below 2^64 but not always below p (a chain of products needs
    /// no canonical value before its end).
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn mul_partial(a: __m512i, b: __m512i) -> __m512i {
        let (hi, lo) = wide(a, b);
        reduce_partial(hi, lo)
    }

    /// `x² mod p` for any lanes, below 2^64 but not always below p: [`mul_partial`] with three
    /// 32×32-bit products instead of four (the cross product once, doubled by the shifts).
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn square_partial(x: __m512i) -> __m512i {
        let x_hi = _mm512_srli_epi64::<32>(x);
        let ll = _mm512_mul_epu32(x, x);
        let lh = _mm512_mul_epu32(x, x_hi);
        let hh = _mm512_mul_epu32(x_hi, x_hi);
        // x² = hh·2^64 + lh·2^33 + ll, which is below 2^128: the high half cannot overflow.
        let lo = _mm512_add_epi64(ll, _mm512_slli_epi64::<33>(lh));
        let hi = _mm512_add_epi64(hh, _mm512_srli_epi64::<31>(lh));
        let hi = _mm512_mask_add_epi64(
            hi,
            _mm512_cmplt_epu64_mask(lo, ll),
            hi,
            _mm512_set1_epi64(1),
        );
        reduce_partial(hi, lo)
    }

    /// `Σ x_j·c_j mod p` for scalars `x_j` (any `u64`) and lanes `c_j` of small values
    /// (`Σ_j c_j < 2^32` in each lane), canonical: a matrix-vector product whose vector lies in
    /// memory and whose columns lie in lanes (Rescue's MDS, entries below 2^5), at two 32×32-bit
    /// products per term, reduced once.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub fn dot_small_lanes(x: &[u64], c: &[__m512i]) -> __m512i {
        let mut low = _mm512_setzero_si512();
        let mut high = _mm512_setzero_si512();
        for (x, c) in x.iter().zip(c) {
            low = _mm512_add_epi64(low, _mm512_mul_epu32(splat(*x), *c));
            high = _mm512_add_epi64(high, _mm512_mul_epu32(splat(*x >> 32), *c));
        }
        reduce_halves(low, high)
    }
    // end chain
}

// AVX2 evaluator ops (speed7): the CPUs without AVX-512 (AMD before Zen 4) run the constraint
// evaluator four lanes at a time with these, the same operations under the same names as
// [`avx512`]'s, so that one macro-generated evaluator serves both widths.

/// Whether this CPU runs the [`avx2`] paths (the answer is cached by the standard library).
#[cfg(target_arch = "x86_64")]
pub fn avx2_detected() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// Four lanes of raw `u64` field values per `__m256i`, as [`avx512`]'s eight. AVX2 has no
/// unsigned 64-bit comparison and no lane masks: `a < b` is a signed comparison with the sign
/// bits flipped, and a conditional operation adds or subtracts the comparison's all-ones lanes
/// (−1) or a constant masked by them.
#[cfg(target_arch = "x86_64")]
pub mod avx2 {
    use super::{EPSILON, P};
    use core::arch::x86_64::*;

    /// All ones in the lanes where `a < b` (unsigned), zero elsewhere.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn less(a: __m256i, b: __m256i) -> __m256i {
        let sign = _mm256_set1_epi64x(i64::MIN);
        _mm256_cmpgt_epi64(_mm256_xor_si256(b, sign), _mm256_xor_si256(a, sign))
    }

    /// `x mod p` for lanes `x < 2^64` (one conditional subtraction: 2p > 2^64).
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn canonical(x: __m256i) -> __m256i {
        let p = _mm256_set1_epi64x(P as i64);
        _mm256_sub_epi64(x, _mm256_andnot_si256(less(x, p), p))
    }

    /// `v` in every lane.
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn splat(v: u64) -> __m256i {
        _mm256_set1_epi64x(v as i64)
    }

    /// Zero in every lane.
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn zero() -> __m256i {
        _mm256_setzero_si256()
    }

    /// The high 32 bits of each lane.
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn hi32(v: __m256i) -> __m256i {
        _mm256_srli_epi64::<32>(v)
    }

    /// `a + b` for canonical lanes.
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn add(a: __m256i, b: __m256i) -> __m256i {
        let p = _mm256_set1_epi64x(P as i64);
        let s = _mm256_add_epi64(a, b);
        // A carry lost 2^64 ≡ 2^32 − 1: subtracting p with wrap-around adds exactly that.
        let over = _mm256_or_si256(less(s, a), _mm256_xor_si256(less(s, p), splat(u64::MAX)));
        _mm256_sub_epi64(s, _mm256_and_si256(over, p))
    }

    /// `a − b` for canonical lanes.
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn sub(a: __m256i, b: __m256i) -> __m256i {
        let p = _mm256_set1_epi64x(P as i64);
        let d = _mm256_sub_epi64(a, b);
        _mm256_add_epi64(d, _mm256_and_si256(less(a, b), p))
    }

    /// The 128-bit products `a·b` as `(hi, lo)`, from four 32×32-bit products.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn wide(a: __m256i, b: __m256i) -> (__m256i, __m256i) {
        let low32 = _mm256_set1_epi64x(EPSILON as i64);
        let a_hi = _mm256_srli_epi64::<32>(a);
        let b_hi = _mm256_srli_epi64::<32>(b);
        let ll = _mm256_mul_epu32(a, b);
        let lh = _mm256_mul_epu32(a, b_hi);
        let hl = _mm256_mul_epu32(a_hi, b);
        let hh = _mm256_mul_epu32(a_hi, b_hi);
        // Neither sum overflows: (2^32 − 1)^2 + 2^32 − 1 < 2^64.
        let mid = _mm256_add_epi64(lh, _mm256_srli_epi64::<32>(ll));
        let mid2 = _mm256_add_epi64(hl, _mm256_and_si256(mid, low32));
        // Low 32 bits from `ll`, high 32 from `mid2`.
        let lo = _mm256_blend_epi32::<0b1010_1010>(ll, _mm256_slli_epi64::<32>(mid2));
        let hi = _mm256_add_epi64(
            hh,
            _mm256_add_epi64(_mm256_srli_epi64::<32>(mid), _mm256_srli_epi64::<32>(mid2)),
        );
        (hi, lo)
    }

    /// `a·b mod p` for any lanes, canonical (as [`super::avx512::mul`]).
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn mul(a: __m256i, b: __m256i) -> __m256i {
        let (hi, lo) = wide(a, b);
        reduce(hi, lo)
    }

    /// `hi·2^64 + lo mod p`, canonical (as [`super::avx512::reduce`]).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn reduce(hi: __m256i, lo: __m256i) -> __m256i {
        canonical(reduce_partial(hi, lo))
    }

    /// `hi·2^64 + lo mod p`, below 2^64 but not always below p.
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn reduce_partial(hi: __m256i, lo: __m256i) -> __m256i {
        let eps = _mm256_set1_epi64x(EPSILON as i64);
        let hi_hi = _mm256_srli_epi64::<32>(hi);
        let hi_lo = _mm256_and_si256(hi, eps);
        // lo − hi_hi (2^96 ≡ −1); a borrow gained 2^64 ≡ 2^32 − 1 too many.
        let t0 = _mm256_sub_epi64(lo, hi_hi);
        let t0 = _mm256_sub_epi64(t0, _mm256_and_si256(less(lo, hi_hi), eps));
        // hi_lo·(2^32 − 1) < 2^64, as a shift and a subtraction.
        let t1 = _mm256_sub_epi64(_mm256_slli_epi64::<32>(hi_lo), hi_lo);
        let t2 = _mm256_add_epi64(t0, t1);
        // A carry lost 2^64 ≡ 2^32 − 1; adding it back cannot carry again.
        _mm256_add_epi64(t2, _mm256_and_si256(less(t2, t0), eps))
    }

    /// The canonical integer `a` of raw values `a·R mod p` (as [`super::avx512::mont_to_int`]).
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn mont_to_int(x: __m256i) -> __m256i {
        let zero = _mm256_setzero_si256();
        let a = _mm256_add_epi64(x, _mm256_slli_epi64::<32>(x));
        let b = _mm256_sub_epi64(a, _mm256_srli_epi64::<32>(a));
        // The carry of `x + (x << 32)` comes off `b` too (adding the all-ones lanes, −1).
        let b = _mm256_add_epi64(b, less(a, x));
        let r = _mm256_sub_epi64(zero, b);
        let nonzero = _mm256_andnot_si256(
            _mm256_cmpeq_epi64(b, zero),
            _mm256_set1_epi64x(EPSILON as i64),
        );
        _mm256_sub_epi64(r, nonzero)
    }

    /// Four `u64`s from `s[..4]`.
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn load(s: &[u64]) -> __m256i {
        assert!(s.len() >= 4);
        // SAFETY: the assertion keeps the unaligned 32-byte read inside `s`.
        unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
    }

    /// Writes the four lanes of `v` over `d[..4]`.
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn store(d: &mut [u64], v: __m256i) {
        assert!(d.len() >= 4);
        // SAFETY: the assertion keeps the unaligned 32-byte write inside `d`, borrowed mutably.
        unsafe { _mm256_storeu_si256(d.as_mut_ptr().cast(), v) }
    }

    /// `Σ a_k·b_k mod p`, reduced once (as [`super::avx512::WideSum`]).
    pub struct WideSum {
        lo: __m256i,
        hi: __m256i,
        over: __m256i,
    }

    impl WideSum {
        /// An empty sum.
        ///
        /// # Safety
        /// The CPU must have AVX2 (`avx2_detected`).
        #[target_feature(enable = "avx2")]
        #[inline]
        pub fn new() -> WideSum {
            WideSum {
                lo: zero(),
                hi: zero(),
                over: zero(),
            }
        }

        /// Adds `a·b`; at most 2^32 terms.
        ///
        /// # Safety
        /// The CPU must have AVX2 (`avx2_detected`).
        #[target_feature(enable = "avx2")]
        #[inline]
        pub fn add(&mut self, a: __m256i, b: __m256i) {
            let (hi, lo) = wide(a, b);
            self.lo = _mm256_add_epi64(self.lo, lo);
            // A product's high half is at most 2^64 − 2, so the carry from the low halves fits.
            let hi = _mm256_sub_epi64(hi, less(self.lo, lo));
            self.hi = _mm256_add_epi64(self.hi, hi);
            self.over = _mm256_sub_epi64(self.over, less(self.hi, hi));
        }

        /// The sum mod p, canonical.
        ///
        /// # Safety
        /// The CPU must have AVX2 (`avx2_detected`).
        #[target_feature(enable = "avx2")]
        #[inline]
        pub fn reduce(self) -> __m256i {
            sub(reduce(self.hi, self.lo), _mm256_slli_epi64::<32>(self.over))
        }
    }

    /// `Σ c_j·x_j mod p` for small constants (as [`super::avx512::small_dot`]).
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn small_dot(x: &[__m256i], x_hi: &[__m256i], c: &[u64]) -> __m256i {
        debug_assert!(c.iter().sum::<u64>() < 1 << 32);
        let mut low = zero();
        let mut high = zero();
        for ((x, x_hi), c) in x.iter().zip(x_hi).zip(c) {
            let c = splat(*c);
            low = _mm256_add_epi64(low, _mm256_mul_epu32(*x, c));
            high = _mm256_add_epi64(high, _mm256_mul_epu32(*x_hi, c));
        }
        reduce_halves(low, high)
    }

    // chain: the Rescue permutation's lane operations (src/rescue.rs), as [`super::avx512`]'s.

    /// `low + high·2^32 mod p` for any lanes, canonical.
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn reduce_halves(low: __m256i, high: __m256i) -> __m256i {
        // As a 128-bit hi:lo pair.
        let lo = _mm256_add_epi64(low, _mm256_slli_epi64::<32>(high));
        let hi = _mm256_sub_epi64(_mm256_srli_epi64::<32>(high), less(lo, low));
        reduce(hi, lo)
    }

    /// `a·b mod p` for any lanes, below 2^64 but not always below p (as
    /// [`super::avx512::mul_partial`]).
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn mul_partial(a: __m256i, b: __m256i) -> __m256i {
        let (hi, lo) = wide(a, b);
        reduce_partial(hi, lo)
    }

    /// `x² mod p` for any lanes, below 2^64 but not always below p, from three 32×32-bit
    /// products (as [`super::avx512::square_partial`]).
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn square_partial(x: __m256i) -> __m256i {
        let x_hi = _mm256_srli_epi64::<32>(x);
        let ll = _mm256_mul_epu32(x, x);
        let lh = _mm256_mul_epu32(x, x_hi);
        let hh = _mm256_mul_epu32(x_hi, x_hi);
        // x² = hh·2^64 + lh·2^33 + ll, which is below 2^128: the high half cannot overflow.
        let lo = _mm256_add_epi64(ll, _mm256_slli_epi64::<33>(lh));
        let hi = _mm256_add_epi64(hh, _mm256_srli_epi64::<31>(lh));
        reduce_partial(_mm256_sub_epi64(hi, less(lo, ll)), lo)
    }

    /// `Σ x_j·c_j mod p` for scalars `x_j` and lanes `c_j` of small values, canonical (as
    /// [`super::avx512::dot_small_lanes`]).
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub fn dot_small_lanes(x: &[u64], c: &[__m256i]) -> __m256i {
        let mut low = zero();
        let mut high = zero();
        for (x, c) in x.iter().zip(c) {
            low = _mm256_add_epi64(low, _mm256_mul_epu32(splat(*x), *c));
            high = _mm256_add_epi64(high, _mm256_mul_epu32(splat(*x >> 32), *c));
        }
        reduce_halves(low, high)
    }
    // end chain
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::sample::xorshift;

    /// Edge values first (0, 1, p − 1, p, 2^32 ± 1, 2^63, 2^64 − 1 and their neighbours), then
    /// random ones.
    fn samples(count: usize) -> Vec<u64> {
        let mut v = vec![
            0,
            1,
            2,
            EPSILON - 1,
            EPSILON,
            1 << 32,
            (1 << 32) + 1,
            P - 2,
            P - 1,
            P,
            P + 1,
            1 << 63,
            u64::MAX - 1,
            u64::MAX,
            0xffff_fffe_ffff_ffff,
            0x0000_0001_ffff_ffff,
        ];
        let mut next = xorshift(0x243f_6a88_85a3_08d3);
        while v.len() < count {
            v.push(next());
        }
        v
    }

    #[test]
    fn scalar_products_reduce_exactly() {
        for x in [
            0u128,
            1,
            (P as u128) - 1,
            P as u128,
            u128::MAX,
            (1u128 << 96) + 5,
        ] {
            assert_eq!(reduce128(x) as u128, x % P as u128, "{x}");
        }
        let s = samples(2000);
        for (&a, &w) in s.iter().zip(s.iter().rev()) {
            let a = BaseElement::from_mont(a % P);
            let w = w % P;
            assert_eq!(mul_int(a, w), a * BaseElement::new(w));
        }
    }

    /// The lane operations of one width against the scalar field: `$width` names the module of
    /// `crate::goldilocks`, `$vector` its register type, `$feature` and `$detected` the target
    /// feature and its run-time check, `$lanes` the lanes.
    macro_rules! lane_op_tests {
        ($width:ident, $vector:ty, $feature:literal, $detected:ident, $lanes:literal) => {
            #[cfg(target_arch = "x86_64")]
            mod $width {
                use super::*;
                #[test]
                fn vector_ops_equal_the_scalar_field() {
                    if !$detected() {
                        eprintln!(concat!(
                            "no ",
                            $feature,
                            " on this CPU: this path is not used here"
                        ));
                        return;
                    }
                    // SAFETY: the feature was detected just above.
                    unsafe { check_vector_ops() }
                }

                #[target_feature(enable = $feature)]
                fn check_vector_ops() {
                    let s = samples(1 << 14);
                    let mut next = xorshift(0x1319_8a2e_0370_7344);
                    // Every pair of edge values, then random pairs.
                    let mut pairs: Vec<(u64, u64)> = Vec::new();
                    for &a in &s[..16] {
                        for &b in &s[..16] {
                            pairs.push((a, b));
                        }
                    }
                    for &a in &s {
                        pairs.push((a, s[(next() as usize) % s.len()]));
                    }
                    for lanes in pairs.chunks_exact($lanes) {
                        let a: Vec<u64> = lanes.iter().map(|p| p.0).collect();
                        let b: Vec<u64> = lanes.iter().map(|p| p.1).collect();
                        let ca: Vec<u64> = a.iter().map(|x| x % P).collect();
                        let cb: Vec<u64> = b.iter().map(|x| x % P).collect();
                        let run = |f: fn($vector, $vector) -> $vector, x: &[u64], y: &[u64]| {
                            let mut out = [0u64; $lanes];
                            crate::goldilocks::$width::store(
                                &mut out,
                                f(
                                    crate::goldilocks::$width::load(x),
                                    crate::goldilocks::$width::load(y),
                                ),
                            );
                            out
                        };
                        let prod = run(crate::goldilocks::$width::mul, &a, &b);
                        let sum = run(crate::goldilocks::$width::add, &ca, &cb);
                        let diff = run(crate::goldilocks::$width::sub, &ca, &cb);
                        let mut canon = [0u64; $lanes];
                        crate::goldilocks::$width::store(
                            &mut canon,
                            crate::goldilocks::$width::canonical(crate::goldilocks::$width::load(
                                &a,
                            )),
                        );
                        for i in 0..$lanes {
                            let (x, y) = (a[i] as u128, b[i] as u128);
                            assert_eq!(prod[i] as u128, x * y % P as u128, "{} · {}", a[i], b[i]);
                            let (fx, fy) =
                                (BaseElement::from_mont(ca[i]), BaseElement::from_mont(cb[i]));
                            assert_eq!(sum[i], (fx + fy).inner(), "{} + {}", ca[i], cb[i]);
                            assert_eq!(diff[i], (fx - fy).inner(), "{} − {}", ca[i], cb[i]);
                            assert_eq!(canon[i], a[i] % P);
                        }
                    }
                }
                #[test]
                fn evaluator_ops_equal_the_scalar_field() {
                    if !$detected() {
                        eprintln!(concat!(
                            "no ",
                            $feature,
                            " on this CPU: this path is not used here"
                        ));
                        return;
                    }
                    // SAFETY: the feature was detected just above.
                    unsafe { check_evaluator_ops() }
                }

                #[target_feature(enable = $feature)]
                fn check_evaluator_ops() {
                    let s: Vec<u64> = samples(1 << 12).iter().map(|x| x % P).collect();
                    let mut next = xorshift(0xa409_3822_299f_31d0);
                    let mut pick = || s[(next() as usize) % s.len()];
                    for lanes in s.chunks_exact($lanes) {
                        let mut ints = [0u64; $lanes];
                        crate::goldilocks::$width::store(
                            &mut ints,
                            crate::goldilocks::$width::mont_to_int(
                                crate::goldilocks::$width::load(lanes),
                            ),
                        );
                        for (raw, int) in lanes.iter().zip(ints) {
                            assert_eq!(int, BaseElement::from_mont(*raw).as_int(), "int of {raw}");
                        }
                    }
                    for terms in [1, 12, 41, 64] {
                        for _ in 0..64 {
                            // Any lanes for the wide sum; small constants for the small dot product.
                            let a: Vec<[u64; $lanes]> =
                                (0..terms).map(|_| [(); $lanes].map(|_| pick())).collect();
                            let b: Vec<[u64; $lanes]> = (0..terms)
                                .map(|k| {
                                    [(); $lanes].map(|_| if k % 3 == 0 { u64::MAX } else { pick() })
                                })
                                .collect();
                            let c: Vec<u64> = (0..terms)
                                .map(|k| (pick() >> 40) | (k as u64 % 2))
                                .collect();
                            let va: Vec<_> = a
                                .iter()
                                .map(|x| crate::goldilocks::$width::load(x))
                                .collect();
                            let va_hi: Vec<_> = va
                                .iter()
                                .map(|x| crate::goldilocks::$width::hi32(*x))
                                .collect();
                            let mut sum = crate::goldilocks::$width::WideSum::new();
                            for (x, y) in va.iter().zip(&b) {
                                sum.add(*x, crate::goldilocks::$width::load(y));
                            }
                            let (mut wide, mut small) = ([0u64; $lanes], [0u64; $lanes]);
                            crate::goldilocks::$width::store(&mut wide, sum.reduce());
                            crate::goldilocks::$width::store(
                                &mut small,
                                crate::goldilocks::$width::small_dot(&va, &va_hi, &c),
                            );
                            for l in 0..$lanes {
                                let mut expect_wide = 0u128;
                                let mut expect_small = 0u128;
                                for k in 0..terms {
                                    expect_wide = (expect_wide + a[k][l] as u128 * b[k][l] as u128)
                                        % P as u128;
                                    expect_small =
                                        (expect_small + a[k][l] as u128 * c[k] as u128) % P as u128;
                                }
                                assert_eq!(wide[l] as u128, expect_wide, "{terms} terms, lane {l}");
                                assert_eq!(
                                    small[l] as u128, expect_small,
                                    "{terms} terms, lane {l}"
                                );
                            }
                        }
                    }
                }

                // chain
                #[test]
                fn chain_ops_equal_the_scalar_field() {
                    if !$detected() {
                        eprintln!(concat!(
                            "no ",
                            $feature,
                            " on this CPU: this path is not used here"
                        ));
                        return;
                    }
                    // SAFETY: the feature was detected just above.
                    unsafe { check_chain_ops() }
                }

                #[target_feature(enable = $feature)]
                fn check_chain_ops() {
                    use crate::goldilocks::$width::{
                        load, mul_partial, reduce_halves, square_partial, store,
                    };
                    let s = samples(1 << 13);
                    let mut next = xorshift(0x082e_fa98_ec4e_6c89);
                    let run = |v: $vector| {
                        let mut out = [0u64; $lanes];
                        store(&mut out, v);
                        out
                    };
                    for a in s.chunks_exact($lanes) {
                        let b: Vec<u64> =
                            (0..$lanes).map(|_| s[next() as usize % s.len()]).collect();
                        let (va, vb) = (load(a), load(&b));
                        let (sq, prod) = (run(square_partial(va)), run(mul_partial(va, vb)));
                        let halves = run(reduce_halves(va, vb));
                        for i in 0..$lanes {
                            let (x, y) = (a[i] as u128, b[i] as u128);
                            let p = P as u128;
                            assert_eq!(sq[i] as u128 % p, x * x % p, "{}²", a[i]);
                            assert_eq!(prod[i] as u128 % p, x * y % p, "{} · {}", a[i], b[i]);
                            assert_eq!(halves[i] as u128, (x + (y << 32)) % p, "{} {}", a[i], b[i]);
                        }
                    }
                }
                // end chain
            }
        };
    }

    lane_op_tests!(
        avx512,
        core::arch::x86_64::__m512i,
        "avx512f",
        avx512_detected,
        8
    );
    lane_op_tests!(avx2, core::arch::x86_64::__m256i, "avx2", avx2_detected, 4);
}
