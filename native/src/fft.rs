//! Low-degree extensions of base-field columns, one column at a time.
//!
//! Winterfell evaluates a matrix's columns together, as rows of `N` elements, through a split-radix
//! FFT whose transpositions and permutations move whole rows serially: its cost follows the row
//! count more than the width (measured at 2^18 rows: 12 columns cost as much as 42). Here each
//! column is transformed alone in a buffer of `2^18` elements (2 MiB: four times a Zen 3 core's
//! 512 KiB L2, so it lives in the shared L3), by an iterative radix-2 FFT eight butterflies at a
//! time with AVX-512 where the CPU has it, four with AVX2 elsewhere (AMD before Zen 4;
//! [`crate::goldilocks`]; scalar butterflies on other architectures), in cache-sized blocks: the
//! levels within 32 KiB blocks run in L1, those within 256 KiB blocks in L2, the few above over
//! the whole buffer two levels per pass ([`dif_blocked`]). The results are written out as
//! rows one coset at a time, so the transient memory is one coset's columns (a quarter of the
//! LDE at blowup 4). Interpolation (decimation in frequency) leaves the coefficients in
//! bit-reversed order and evaluation (decimation in time) starts from that order, so no pass
//! reorders them but the one that hands winterfell its natural-order polynomials. An
//! extension-field column is its base coordinates, transformed apart (the twiddles are in the
//! base field).
//!
//! The evaluations are exactly winterfell's (`RowMatrix::evaluate_polys_over` and
//! `ColMatrix::interpolate_columns`): row `i` of an LDE is the polynomials at `offset·g^i`, `g` of
//! order `blowup·n`; proofs do not change.

use crate::goldilocks::{self, P, mul_int};
use rayon::prelude::*;
use winterfell::math::{FieldElement, StarkField, fields::f64::BaseElement};

type B = BaseElement;

/// Points of a coset written per task.
const ROW_CHUNK: usize = 1 << 10;

/// `ω_(2h)^j` for `j < h` at index `h + j`, for every level `h = 1, 2, 4, … n/2`, as canonical
/// integers: each level's twiddles are contiguous.
fn level_twiddles(n: usize, inverse: bool) -> Vec<u64> {
    let mut t = vec![0; n.max(2)];
    let mut h = 1;
    while h < n {
        let mut w = B::get_root_of_unity((2 * h).ilog2());
        if inverse {
            w = w.inv();
        }
        let mut x = B::ONE;
        for j in 0..h {
            t[h + j] = x.as_int();
            x *= w;
        }
        h *= 2;
    }
    t
}

/// The two in-place FFTs of raw values.
#[derive(Clone, Copy)]
enum Decimation {
    /// In frequency: natural order in, bit-reversed order out.
    Frequency,
    /// In time: bit-reversed order in, natural order out.
    Time,
}

/// The vector width the FFTs run at: the widest this CPU has.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Lanes {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Lanes {
    fn widest() -> Lanes {
        #[cfg(target_arch = "x86_64")]
        if goldilocks::avx512_detected() {
            return Lanes::Avx512;
        } else if goldilocks::avx2_detected() {
            return Lanes::Avx2;
        }
        Lanes::Scalar
    }
}

/// Points an FFT block holds when all its levels run in a core's L1 data cache (32 KiB on Zen 3,
/// 48 KiB on Intel since Ice Lake: 32 KiB of values leaves the twiddles room).
const L1_BLOCK: usize = 1 << 12;
/// Points of a block whose levels above [`L1_BLOCK`]'s run in a core's L2 (512 KiB on Zen 3,
/// 1–2 MiB on Intel: 256 KiB of values and their twiddles fit the smallest).
const L2_BLOCK: usize = 1 << 15;

/// The size of the blocks a transform of `n` points is split into, if any: [`L2_BLOCK`]s above
/// it, [`L1_BLOCK`]s up to it.
fn sub_block(n: usize) -> Option<usize> {
    if n > L2_BLOCK {
        Some(L2_BLOCK)
    } else if n > L1_BLOCK {
        Some(L1_BLOCK)
    } else {
        None
    }
}

/// The decimation in frequency of `a` in cache-sized blocks: the levels of spans at least a
/// block's run over all of `a`, two per pass, then each block is transformed alone (recursively:
/// L2 blocks, then their L1 blocks, whose levels all run in L1). The level twiddles of a size
/// hold every smaller size's, so a block needs no table of its own. `leaf(block, at)` is called
/// on each L1 block, starting at `a[at]`, once it is transformed, while it is in L1.
fn dif_blocked(lanes: Lanes, a: &mut [u64], tw: &[u64], leaf: &mut impl FnMut(&mut [u64], usize)) {
    dif_blocks(lanes, a, tw, 0, true, leaf)
}

fn dif_blocks(
    lanes: Lanes,
    a: &mut [u64],
    tw: &[u64],
    at: usize,
    first: bool,
    leaf: &mut impl FnMut(&mut [u64], usize),
) {
    let n = a.len();
    let Some(s) = sub_block(n) else {
        transform_at(lanes, a, tw, Decimation::Frequency);
        leaf(a, at);
        return;
    };
    let mut first = first;
    let mut h = n / 2;
    if (n / s).ilog2() % 2 == 1 {
        level_at(lanes, a, tw, Decimation::Frequency, h, first);
        first = false;
        h /= 2;
    }
    while h >= s {
        pair_at(lanes, a, tw, Decimation::Frequency, h / 2, first);
        first = false;
        h /= 4;
    }
    for (i, b) in a.chunks_exact_mut(s).enumerate() {
        dif_blocks(lanes, b, tw, at + i * s, false, leaf);
    }
}

/// The decimation in time of `a` in cache-sized blocks, the transpose of [`dif_blocked`]: each
/// block transformed alone first, then the levels above them two per pass. `leaf(block, at)` is
/// called on each L1 block before it is transformed.
fn dit_blocked(lanes: Lanes, a: &mut [u64], tw: &[u64], leaf: &mut impl FnMut(&mut [u64], usize)) {
    dit_blocks(lanes, a, tw, 0, leaf)
}

fn dit_blocks(
    lanes: Lanes,
    a: &mut [u64],
    tw: &[u64],
    at: usize,
    leaf: &mut impl FnMut(&mut [u64], usize),
) {
    let n = a.len();
    let Some(s) = sub_block(n) else {
        leaf(a, at);
        transform_at(lanes, a, tw, Decimation::Time);
        return;
    };
    for (i, b) in a.chunks_exact_mut(s).enumerate() {
        dit_blocks(lanes, b, tw, at + i * s, leaf);
    }
    let mut h = s;
    while 4 * h <= n {
        pair_at(lanes, a, tw, Decimation::Time, h, false);
        h *= 4;
    }
    if h < n {
        level_at(lanes, a, tw, Decimation::Time, h, false);
    }
}

/// Level `h` (at least a run of lanes) over all of `a`; `first`: the transform's first pass,
/// whose operands may be raw.
fn level_at(lanes: Lanes, a: &mut [u64], tw: &[u64], d: Decimation, h: usize, first: bool) {
    // SAFETY (the vector arms): as in `transform_at`.
    match (lanes, d) {
        #[cfg(target_arch = "x86_64")]
        (Lanes::Avx512, Decimation::Frequency) => unsafe { avx512::dif_level(a, tw, h, first) },
        #[cfg(target_arch = "x86_64")]
        (Lanes::Avx512, Decimation::Time) => unsafe { avx512::dit_level(a, tw, h) },
        #[cfg(target_arch = "x86_64")]
        (Lanes::Avx2, Decimation::Frequency) => unsafe { avx2::dif_level(a, tw, h, first) },
        #[cfg(target_arch = "x86_64")]
        (Lanes::Avx2, Decimation::Time) => unsafe { avx2::dit_level(a, tw, h) },
        (Lanes::Scalar, Decimation::Frequency) => dif_level_scalar(a, tw, h),
        (Lanes::Scalar, Decimation::Time) => dit_level_scalar(a, tw, h),
    }
}

/// Levels `h` and `2h` in one pass over `a` (in the decimation's order); `first` as in
/// [`level_at`].
fn pair_at(lanes: Lanes, a: &mut [u64], tw: &[u64], d: Decimation, h: usize, first: bool) {
    // SAFETY (the vector arms): as in `transform_at`.
    match (lanes, d) {
        #[cfg(target_arch = "x86_64")]
        (Lanes::Avx512, Decimation::Frequency) => unsafe { avx512::dif_pair(a, tw, h, first) },
        #[cfg(target_arch = "x86_64")]
        (Lanes::Avx512, Decimation::Time) => unsafe { avx512::dit_pair(a, tw, h) },
        #[cfg(target_arch = "x86_64")]
        (Lanes::Avx2, Decimation::Frequency) => unsafe { avx2::dif_pair(a, tw, h, first) },
        #[cfg(target_arch = "x86_64")]
        (Lanes::Avx2, Decimation::Time) => unsafe { avx2::dit_pair(a, tw, h) },
        (Lanes::Scalar, Decimation::Frequency) => {
            dif_level_scalar(a, tw, 2 * h);
            dif_level_scalar(a, tw, h);
        }
        (Lanes::Scalar, Decimation::Time) => {
            dit_level_scalar(a, tw, h);
            dit_level_scalar(a, tw, 2 * h);
        }
    }
}

/// The FFT of a block of `a` (all its levels, one pass per level but for the fused smallest
/// spans) with the level twiddles `tw`, eight (AVX-512) or four (AVX2) butterflies at a time
/// where the CPU can.
fn transform_at(lanes: Lanes, a: &mut [u64], tw: &[u64], d: Decimation) {
    // SAFETY (both vector arms): `lanes` is a width this CPU has (`Lanes::widest`, or the
    // tests' list of detected widths).
    match (lanes, d) {
        #[cfg(target_arch = "x86_64")]
        (Lanes::Avx512, Decimation::Frequency) if a.len() >= 16 => unsafe { avx512::dif(a, tw) },
        #[cfg(target_arch = "x86_64")]
        (Lanes::Avx512, Decimation::Time) if a.len() >= 16 => unsafe { avx512::dit(a, tw) },
        #[cfg(target_arch = "x86_64")]
        (Lanes::Avx2, Decimation::Frequency) if a.len() >= 8 => unsafe { avx2::dif(a, tw) },
        #[cfg(target_arch = "x86_64")]
        (Lanes::Avx2, Decimation::Time) if a.len() >= 8 => unsafe { avx2::dit(a, tw) },
        (_, Decimation::Frequency) => dif_scalar(a, tw),
        (_, Decimation::Time) => dit_scalar(a, tw),
    }
}

/// Two decimation-in-frequency levels on 4 raw points (twiddles 1 and `i4` = ω_4), fused: loops
/// of 2 and 1 butterflies cost more in iteration than in arithmetic.
fn radix4(x: [u64; 4], i4: u64) -> [u64; 4] {
    let [a0, a1, a2, a3] = x.map(|v| B::from_mont(v % P));
    let (b0, b2) = (a0 + a2, a0 - a2);
    let (b1, b3) = (a1 + a3, mul_int(a1 - a3, i4));
    [b0 + b1, b0 - b1, b2 + b3, b2 - b3].map(|v| v.inner())
}

/// Level `h` of the decimation in frequency over all of `a` (raw operands in, canonical out).
fn dif_level_scalar(a: &mut [u64], tw: &[u64], h: usize) {
    let f = |x: u64| B::from_mont(x % P);
    let w = &tw[h..2 * h];
    for block in a.chunks_exact_mut(2 * h) {
        let (lo, hi) = block.split_at_mut(h);
        for ((x, y), w) in lo.iter_mut().zip(hi.iter_mut()).zip(w) {
            let (u, v) = (f(*x), f(*y));
            *x = (u + v).inner();
            *y = mul_int(u - v, *w).inner();
        }
    }
}

/// Level `h` of the decimation in time over all of `a` (raw operands in, canonical out).
fn dit_level_scalar(a: &mut [u64], tw: &[u64], h: usize) {
    let f = |x: u64| B::from_mont(x % P);
    let w = &tw[h..2 * h];
    for block in a.chunks_exact_mut(2 * h) {
        let (lo, hi) = block.split_at_mut(h);
        for ((x, y), w) in lo.iter_mut().zip(hi.iter_mut()).zip(w) {
            let (u, v) = (f(*x), mul_int(f(*y), *w));
            *x = (u + v).inner();
            *y = (u - v).inner();
        }
    }
}

fn dif_scalar(a: &mut [u64], tw: &[u64]) {
    let f = |x: u64| B::from_mont(x % P);
    let mut h = a.len() / 2;
    while h >= 4 {
        dif_level_scalar(a, tw, h);
        h /= 2;
    }
    // The last two levels, fused.
    if a.len() >= 4 {
        let i4 = tw[3];
        for q in a.chunks_exact_mut(4) {
            q.copy_from_slice(&radix4([q[0], q[1], q[2], q[3]], i4));
        }
    } else if a.len() == 2 {
        let (u, v) = (f(a[0]), f(a[1]));
        a[0] = (u + v).inner();
        a[1] = (u - v).inner();
    }
}

fn dit_scalar(a: &mut [u64], tw: &[u64]) {
    let mut h = 1;
    // The first two levels, fused (twiddles 1 and ω_4).
    if a.len() >= 4 {
        let i4 = tw[3];
        for q in a.chunks_exact_mut(4) {
            // The transpose of the frequency-decimated block: inputs 1 and 2 swapped, outputs too.
            let r = radix4([q[0], q[2], q[1], q[3]], i4);
            q.copy_from_slice(&[r[0], r[2], r[1], r[3]]);
        }
        h = 4;
    }
    while h < a.len() {
        dit_level_scalar(a, tw, h);
        h *= 2;
    }
}

/// `a[i] ← a[i]·w[i]` (raw values, canonical multipliers).
fn scale(a: &mut [u64], w: &[u64]) {
    scale_at(Lanes::widest(), a, w)
}

fn scale_at(lanes: Lanes, a: &mut [u64], w: &[u64]) {
    assert!(w.len() >= a.len());
    // SAFETY (both vector arms): as in `transform_at`.
    match lanes {
        #[cfg(target_arch = "x86_64")]
        Lanes::Avx512 => unsafe { avx512::scale(a, w) },
        #[cfg(target_arch = "x86_64")]
        Lanes::Avx2 => unsafe { avx2::scale(a, w) },
        Lanes::Scalar => {
            for (x, w) in a.iter_mut().zip(w) {
                *x = mul_int(B::from_mont(*x), *w).inner();
            }
        }
    }
}

/// What both vector widths share: a level of butterflies on runs of `$w` points, and the
/// coefficient-wise product. Expanded inside each width's module, over its own lane ops.
#[cfg(target_arch = "x86_64")]
macro_rules! runs_of {
    ($w:literal, $vec:ty, $feature:literal) => {
        /// One level of span `h ≥ $w`: `butterfly(lo, hi, twiddles)` on every pair of runs.
        #[target_feature(enable = $feature)]
        #[inline]
        fn level(
            a: &mut [u64],
            tw: &[u64],
            h: usize,
            butterfly: impl Fn($vec, $vec, $vec) -> ($vec, $vec),
        ) {
            let w = &tw[h..2 * h];
            for block in a.chunks_exact_mut(2 * h) {
                let (lo, hi) = block.split_at_mut(h);
                for ((x, y), w) in lo
                    .chunks_exact_mut($w)
                    .zip(hi.chunks_exact_mut($w))
                    .zip(w.chunks_exact($w))
                {
                    let (u, v) = butterfly(load(x), load(y), load(w));
                    store(x, u);
                    store(y, v);
                }
            }
        }

        /// The butterfly of the decimation in frequency.
        #[target_feature(enable = $feature)]
        #[inline]
        fn dif_butterfly(u: $vec, v: $vec, w: $vec) -> ($vec, $vec) {
            (add(u, v), mul(sub(u, v), w))
        }

        /// The butterfly of the decimation in time.
        #[target_feature(enable = $feature)]
        #[inline]
        fn dit_butterfly(u: $vec, v: $vec, w: $vec) -> ($vec, $vec) {
            let t = mul(v, w);
            (add(u, t), sub(u, t))
        }

        /// Level `h ≥ $w` of the decimation in frequency over all of `a`; `first`: the
        /// transform's first pass, which brings raw operands to canonical.
        ///
        /// # Safety
        #[doc = concat!("The CPU must have ", $feature, ".")]
        #[target_feature(enable = $feature)]
        pub fn dif_level(a: &mut [u64], tw: &[u64], h: usize, first: bool) {
            if first {
                level(a, tw, h, |u, v, w| {
                    dif_butterfly(canonical(u), canonical(v), w)
                });
            } else {
                level(a, tw, h, |u, v, w| dif_butterfly(u, v, w));
            }
        }

        /// Level `h ≥ $w` of the decimation in time over all of `a`.
        ///
        /// # Safety
        #[doc = concat!("The CPU must have ", $feature, ".")]
        #[target_feature(enable = $feature)]
        pub fn dit_level(a: &mut [u64], tw: &[u64], h: usize) {
            level(a, tw, h, |u, v, w| dit_butterfly(u, v, w));
        }

        /// Levels `2h` then `h` (`h ≥ $w`) of the decimation in frequency in one pass over `a`:
        /// each block of `4h` points is read and written once for both. `first` as in
        /// [`dif_level`].
        ///
        /// # Safety
        #[doc = concat!("The CPU must have ", $feature, ".")]
        #[target_feature(enable = $feature)]
        pub fn dif_pair(a: &mut [u64], tw: &[u64], h: usize, first: bool) {
            let (w1, w2, w3) = (&tw[h..2 * h], &tw[2 * h..3 * h], &tw[3 * h..4 * h]);
            for block in a.chunks_exact_mut(4 * h) {
                let (ab, cd) = block.split_at_mut(2 * h);
                let (qa, qb) = ab.split_at_mut(h);
                let (qc, qd) = cd.split_at_mut(h);
                for i in (0..h).step_by($w) {
                    let (mut x0, mut x1) = (load(&qa[i..]), load(&qb[i..]));
                    let (mut x2, mut x3) = (load(&qc[i..]), load(&qd[i..]));
                    if first {
                        (x0, x1, x2, x3) =
                            (canonical(x0), canonical(x1), canonical(x2), canonical(x3));
                    }
                    let (x0, x2) = dif_butterfly(x0, x2, load(&w2[i..]));
                    let (x1, x3) = dif_butterfly(x1, x3, load(&w3[i..]));
                    let w = load(&w1[i..]);
                    let (x0, x1) = dif_butterfly(x0, x1, w);
                    let (x2, x3) = dif_butterfly(x2, x3, w);
                    store(&mut qa[i..], x0);
                    store(&mut qb[i..], x1);
                    store(&mut qc[i..], x2);
                    store(&mut qd[i..], x3);
                }
            }
        }

        /// Levels `h` then `2h` (`h ≥ $w`) of the decimation in time in one pass over `a`, the
        /// transpose of [`dif_pair`].
        ///
        /// # Safety
        #[doc = concat!("The CPU must have ", $feature, ".")]
        #[target_feature(enable = $feature)]
        pub fn dit_pair(a: &mut [u64], tw: &[u64], h: usize) {
            let (w1, w2, w3) = (&tw[h..2 * h], &tw[2 * h..3 * h], &tw[3 * h..4 * h]);
            for block in a.chunks_exact_mut(4 * h) {
                let (ab, cd) = block.split_at_mut(2 * h);
                let (qa, qb) = ab.split_at_mut(h);
                let (qc, qd) = cd.split_at_mut(h);
                for i in (0..h).step_by($w) {
                    let w = load(&w1[i..]);
                    let (x0, x1) = dit_butterfly(load(&qa[i..]), load(&qb[i..]), w);
                    let (x2, x3) = dit_butterfly(load(&qc[i..]), load(&qd[i..]), w);
                    let (x0, x2) = dit_butterfly(x0, x2, load(&w2[i..]));
                    let (x1, x3) = dit_butterfly(x1, x3, load(&w3[i..]));
                    store(&mut qa[i..], x0);
                    store(&mut qb[i..], x1);
                    store(&mut qc[i..], x2);
                    store(&mut qd[i..], x3);
                }
            }
        }

        /// `a[i] ← a[i]·w[i]`.
        ///
        /// # Safety
        #[doc = concat!("The CPU must have ", $feature, ".")]
        #[target_feature(enable = $feature)]
        pub fn scale(a: &mut [u64], w: &[u64]) {
            let mut xs = a.chunks_exact_mut($w);
            let mut ws = w.chunks_exact($w);
            for (x, w) in (&mut xs).zip(&mut ws) {
                store(x, mul(load(x), load(w)));
            }
            for (x, w) in xs.into_remainder().iter_mut().zip(ws.remainder()) {
                *x = crate::goldilocks::reduce128(*x as u128 * *w as u128);
            }
        }
    };
}

/// The FFT eight points at a time. Levels with butterflies at least 8 apart take their operands
/// from two runs of 8; the last three levels (spans 4, 2, 1) work on 16 points in two registers,
/// regrouping lanes between levels.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use crate::goldilocks::avx512::{add, canonical, load, mul, store, sub};
    use core::arch::x86_64::*;

    /// Lane indices into a pair of registers (0–7 the first, 8–15 the second).
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn lanes(i: [i64; 8]) -> __m512i {
        _mm512_setr_epi64(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7])
    }

    /// `w` (1, 2 or 4 values) repeated over eight lanes.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn repeat(w: &[u64]) -> __m512i {
        let v: [u64; 8] = std::array::from_fn(|i| w[i % w.len()]);
        load(&v)
    }

    runs_of!(8, __m512i, "avx512f");

    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    pub fn dif(a: &mut [u64], tw: &[u64]) {
        let n = a.len();
        assert!(n >= 16 && n.is_power_of_two() && tw.len() >= n);
        // The vector sums need canonical operands; winterfell's values are, but nothing here
        // depends on it.
        for c in a.chunks_exact_mut(8) {
            store(c, canonical(load(c)));
        }
        let mut h = n / 2;
        while h >= 8 {
            dif_level(a, tw, h, false);
            h /= 2;
        }
        // Span 4: first halves of each run of 8 against second halves.
        let lo4 = lanes([0, 1, 2, 3, 8, 9, 10, 11]);
        let hi4 = lanes([4, 5, 6, 7, 12, 13, 14, 15]);
        let w4 = repeat(&tw[4..8]);
        // Span 2, from the span-4 outputs (L = run positions 0–3, H = 4–7, of each run).
        let lo2 = lanes([0, 1, 8, 9, 4, 5, 12, 13]);
        let hi2 = lanes([2, 3, 10, 11, 6, 7, 14, 15]);
        let w2 = repeat(&tw[2..4]);
        // Span 1 (twiddle 1): even lanes against odd ones.
        let lo1 = lanes([0, 2, 4, 6, 8, 10, 12, 14]);
        let hi1 = lanes([1, 3, 5, 7, 9, 11, 13, 15]);
        // Back to positions: lo1 lanes hold points 0,4,8,12,2,6,10,14 and hi1 lanes 1,5,…,15.
        let out_x = lanes([0, 8, 4, 12, 1, 9, 5, 13]);
        let out_y = lanes([2, 10, 6, 14, 3, 11, 7, 15]);
        for c in a.chunks_exact_mut(16) {
            let (x, y) = c.split_at_mut(8);
            let (u, v) = (load(x), load(y));
            let (l, h) = (
                _mm512_permutex2var_epi64(u, lo4, v),
                _mm512_permutex2var_epi64(u, hi4, v),
            );
            let (l, h) = (add(l, h), mul(sub(l, h), w4));
            let (l2, h2) = (
                _mm512_permutex2var_epi64(l, lo2, h),
                _mm512_permutex2var_epi64(l, hi2, h),
            );
            let (l, h) = (add(l2, h2), mul(sub(l2, h2), w2));
            let (l1, h1) = (
                _mm512_permutex2var_epi64(l, lo1, h),
                _mm512_permutex2var_epi64(l, hi1, h),
            );
            let (l, h) = (add(l1, h1), sub(l1, h1));
            store(x, _mm512_permutex2var_epi64(l, out_x, h));
            store(y, _mm512_permutex2var_epi64(l, out_y, h));
        }
    }

    /// The transpose of [`dif`]: the first three levels on 16 points in two registers, then
    /// runs of 8.
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    pub fn dit(a: &mut [u64], tw: &[u64]) {
        let n = a.len();
        assert!(n >= 16 && n.is_power_of_two() && tw.len() >= n);
        let w4 = repeat(&tw[4..8]);
        let w2 = repeat(&tw[2..4]);
        // Span 1: even points against odd ones; then L lane m holds point 2m, H lane m 2m + 1.
        let lo1 = lanes([0, 2, 4, 6, 8, 10, 12, 14]);
        let hi1 = lanes([1, 3, 5, 7, 9, 11, 13, 15]);
        // Span 2: points 0,1,4,5,8,9,12,13 against 2,3,6,7,10,11,14,15.
        let lo2 = lanes([0, 8, 2, 10, 4, 12, 6, 14]);
        let hi2 = lanes([1, 9, 3, 11, 5, 13, 7, 15]);
        // Span 4: points 0–3, 8–11 against 4–7, 12–15.
        let lo4 = lanes([0, 1, 8, 9, 4, 5, 12, 13]);
        let hi4 = lanes([2, 3, 10, 11, 6, 7, 14, 15]);
        // Back to positions.
        let out_x = lanes([0, 1, 2, 3, 8, 9, 10, 11]);
        let out_y = lanes([4, 5, 6, 7, 12, 13, 14, 15]);
        for c in a.chunks_exact_mut(16) {
            let (x, y) = c.split_at_mut(8);
            // The vector sums need canonical operands; winterfell's values are, but nothing
            // here depends on it.
            let (u, v) = (canonical(load(x)), canonical(load(y)));
            let (l, h) = (
                _mm512_permutex2var_epi64(u, lo1, v),
                _mm512_permutex2var_epi64(u, hi1, v),
            );
            let (l, h) = (add(l, h), sub(l, h));
            let (l2, h2) = (
                _mm512_permutex2var_epi64(l, lo2, h),
                _mm512_permutex2var_epi64(l, hi2, h),
            );
            let t = mul(h2, w2);
            let (l, h) = (add(l2, t), sub(l2, t));
            let (l4, h4) = (
                _mm512_permutex2var_epi64(l, lo4, h),
                _mm512_permutex2var_epi64(l, hi4, h),
            );
            let t = mul(h4, w4);
            let (l, h) = (add(l4, t), sub(l4, t));
            store(x, _mm512_permutex2var_epi64(l, out_x, h));
            store(y, _mm512_permutex2var_epi64(l, out_y, h));
        }
        let mut h = 8;
        while h < n {
            dit_level(a, tw, h);
            h *= 2;
        }
    }
}

/// The FFT four points at a time (AVX2: the CPUs without AVX-512). Levels with butterflies at
/// least 4 apart take their operands from two runs of 4; the two levels of spans 2 and 1 work on
/// 8 points in two registers, regrouping lanes between them.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use crate::goldilocks::avx2::{add, canonical, load, mul, store, sub};
    use core::arch::x86_64::*;

    runs_of!(4, __m256i, "avx2");

    /// `[w0, w1]` repeated over four lanes.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn pair(w: &[u64]) -> __m256i {
        load(&[w[0], w[1], w[0], w[1]])
    }

    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    pub fn dif(a: &mut [u64], tw: &[u64]) {
        let n = a.len();
        assert!(n >= 8 && n.is_power_of_two() && tw.len() >= n);
        // The vector sums need canonical operands; winterfell's values are, but nothing here
        // depends on it.
        for c in a.chunks_exact_mut(4) {
            store(c, canonical(load(c)));
        }
        let mut h = n / 2;
        while h >= 4 {
            dif_level(a, tw, h, false);
            h /= 2;
        }
        // Spans 2 and 1 on two runs of 4, x = points 0–3 and y = 4–7.
        let w2 = pair(&tw[2..4]);
        for c in a.chunks_exact_mut(8) {
            let (x, y) = c.split_at_mut(4);
            let (u, v) = (load(x), load(y));
            // Span 2: points 0,1,4,5 against 2,3,6,7.
            let (l, h) = (
                _mm256_permute2x128_si256::<0x20>(u, v),
                _mm256_permute2x128_si256::<0x31>(u, v),
            );
            let (s, d) = (add(l, h), mul(sub(l, h), w2));
            // Span 1 (twiddle 1): s and d hold points 0,1,4,5 and 2,3,6,7; even against odd.
            let (l, h) = (_mm256_unpacklo_epi64(s, d), _mm256_unpackhi_epi64(s, d));
            let (s, d) = (add(l, h), sub(l, h));
            // s holds points 0,2,4,6 and d 1,3,5,7; interleaved they are 0,1,4,5 and 2,3,6,7.
            let (l, h) = (_mm256_unpacklo_epi64(s, d), _mm256_unpackhi_epi64(s, d));
            store(x, _mm256_permute2x128_si256::<0x20>(l, h));
            store(y, _mm256_permute2x128_si256::<0x31>(l, h));
        }
    }

    /// The transpose of [`dif`]: the first two levels on 8 points in two registers, then runs
    /// of 4.
    ///
    /// # Safety
    /// The CPU must have AVX2 (`avx2_detected`).
    #[target_feature(enable = "avx2")]
    pub fn dit(a: &mut [u64], tw: &[u64]) {
        let n = a.len();
        assert!(n >= 8 && n.is_power_of_two() && tw.len() >= n);
        // Span 2's twiddles for lanes holding points 0,4,1,5 against 2,6,3,7.
        let w2 = load(&[tw[2], tw[2], tw[3], tw[3]]);
        for c in a.chunks_exact_mut(8) {
            let (x, y) = c.split_at_mut(4);
            // The vector sums need canonical operands; winterfell's values are, but nothing
            // here depends on it.
            let (u, v) = (canonical(load(x)), canonical(load(y)));
            // Span 1: points 0,4,2,6 against 1,5,3,7.
            let (l, h) = (_mm256_unpacklo_epi64(u, v), _mm256_unpackhi_epi64(u, v));
            let (s, d) = (add(l, h), sub(l, h));
            // Span 2: s holds points 0,4,2,6 and d 1,5,3,7; 0,4,1,5 against 2,6,3,7.
            let (l, h) = (
                _mm256_permute2x128_si256::<0x20>(s, d),
                _mm256_permute2x128_si256::<0x31>(s, d),
            );
            let t = mul(h, w2);
            let (s, d) = (add(l, t), sub(l, t));
            // s holds points 0,4,1,5 and d 2,6,3,7: back to 0–3 and 4–7.
            let (s, d) = (
                _mm256_permute4x64_epi64::<0b11_01_10_00>(s),
                _mm256_permute4x64_epi64::<0b11_01_10_00>(d),
            );
            store(x, _mm256_permute2x128_si256::<0x20>(s, d));
            store(y, _mm256_permute2x128_si256::<0x31>(s, d));
        }
        let mut h = 4;
        while h < n {
            dit_level(a, tw, h);
            h *= 2;
        }
    }
}

/// `x`'s low `bits` bits reversed.
fn reverse(x: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (usize::BITS - bits)
    }
}

/// `values` with their indices' bits reversed (natural ↔ bit-reversed order), each through `f`.
///
/// In tiles of 8 × 8: an index `(a, m, c)` (top 3 bits, middle bits, bottom 3 bits) goes to
/// `(rev c, rev m, rev a)`, so for one `m` the 64 values come from 8 runs of 8 and go to 8 runs
/// of 8, a cache line each way (element by element, every read of 2^18 values missed L1 and L2).
fn bit_reversed<T: Copy, U: Copy>(values: &[T], f: impl Fn(T) -> U) -> Vec<U> {
    const TILE_BITS: u32 = 3;
    let n = values.len();
    let bits = n.ilog2();
    if bits < 2 * TILE_BITS {
        return (0..n).map(|i| f(values[reverse(i, bits)])).collect();
    }
    let mid = bits - 2 * TILE_BITS;
    let top = bits - TILE_BITS;
    let mut out = vec![f(values[0]); n];
    for m in 0..1 << mid {
        let (from, to) = (m << TILE_BITS, reverse(m, mid) << TILE_BITS);
        for a in 0..1 << TILE_BITS {
            let run = &values[a << top | from..][..1 << TILE_BITS];
            let ra = reverse(a, TILE_BITS);
            for (c, &v) in run.iter().enumerate() {
                out[reverse(c, TILE_BITS) << top | to | ra] = f(v);
            }
        }
    }
    out
}

/// The FFTs of one size: its twiddles both ways and `1/n`, as canonical integers.
struct Fft {
    n: usize,
    forward: Vec<u64>,
    inverse: Vec<u64>,
    /// `1/n` at every index of an L1 block, for [`scale`].
    inv_n: Vec<u64>,
}

impl Fft {
    fn new(n: usize) -> Fft {
        assert!(n.is_power_of_two());
        Fft {
            n,
            forward: level_twiddles(n, false),
            inverse: level_twiddles(n, true),
            inv_n: vec![B::new(n as u64).inv().as_int(); n.min(L1_BLOCK)],
        }
    }

    /// The coefficients (raw, in bit-reversed order) of the polynomial whose values at `ω_n^i`
    /// are `values` (natural order).
    fn interpolate(&self, values: &[B]) -> Vec<u64> {
        assert_eq!(values.len(), self.n);
        let mut raw: Vec<u64> = values.iter().map(|v| v.inner()).collect();
        dif_blocked(Lanes::widest(), &mut raw, &self.inverse, &mut |block, _| {
            scale(block, &self.inv_n)
        });
        raw
    }

    /// The values (raw) at `ω_n^i`, in natural order, of the polynomial whose coefficients times
    /// `powers` (coefficient-wise) are `coefficients`; both in bit-reversed order. Written over
    /// `out`.
    fn evaluate_scaled(&self, coefficients: &[u64], powers: &[u64], out: &mut [u64]) {
        dit_blocked(Lanes::widest(), out, &self.forward, &mut |block, at| {
            block.copy_from_slice(&coefficients[at..at + block.len()]);
            scale(block, &powers[at..]);
        });
    }
}

/// Polynomials of `n` coefficients each, held raw in bit-reversed order: the order the
/// interpolation ends in and the evaluation starts from, so neither reorders (a bit reversal of
/// 2^18 values costs as much as the vector transform itself).
pub struct Polys {
    reversed: Vec<Vec<u64>>,
}

impl Polys {
    /// The coefficients in natural order, a column per polynomial (each bit-reversed copy freed
    /// as its column is made: the two orders never coexist whole).
    pub fn into_columns(self) -> Vec<Vec<B>> {
        self.reversed
            .into_par_iter()
            .map(|r| bit_reversed(&r, B::from_mont))
            .collect()
    }
}

/// What extending columns of `n` rows over one domain needs: the FFTs of size `n` and, for each
/// coset `k < blowup`, the powers `(offset·g^k)^m`, `m < n`, in bit-reversed order of `m`.
pub struct Extension {
    fft: Fft,
    blowup: usize,
    coset_powers: Vec<Vec<u64>>,
}

impl Extension {
    /// `n` rows extended `blowup` times over the coset `offset·⟨g⟩`, `g` of order `blowup·n`.
    pub fn new(n: usize, blowup: usize, offset: B) -> Extension {
        assert!(blowup.is_power_of_two());
        let g = B::get_root_of_unity((n * blowup).ilog2());
        let coset_powers = (0..blowup)
            .into_par_iter()
            .map(|k| {
                let s = offset * g.exp(k as u64);
                let mut p = Vec::with_capacity(n);
                let mut x = B::ONE;
                for _ in 0..n {
                    p.push(x);
                    x *= s;
                }
                bit_reversed(&p, |x| x.as_int())
            })
            .collect();
        Extension {
            fft: Fft::new(n),
            blowup,
            coset_powers,
        }
    }

    /// The polynomials of base-field `columns` (`n` values each).
    pub fn interpolate(&self, columns: &[&[B]]) -> Polys {
        Polys {
            reversed: columns
                .par_iter()
                .map(|c| self.fft.interpolate(c))
                .collect(),
        }
    }

    /// Evaluates `polys` over the domain as a row-major matrix of `width ≥ polys.len()` base
    /// elements per row (the rest zero): row `i` holds the values at `offset·g^i`. One coset at
    /// a time: its rows (`blowup·j + k`) are written whole, each once.
    pub fn evaluate_rows(&self, polys: &Polys, width: usize) -> Vec<B> {
        let n = self.fft.n;
        let count = polys.reversed.len();
        assert!(count <= width);
        assert!(polys.reversed.iter().all(|p| p.len() == n));
        let len = n * self.blowup * width;
        // Written once, without zeroing it first: the zeroing pass (a user-space memset after the
        // kernel's own) cost as much as the row writes, and each coset's writes then missed the
        // cache on lines the memset had pushed out; untouched, a page is zeroed by the kernel
        // just before the first coset's rows land in it.
        let mut out: Vec<B> = Vec::with_capacity(len);
        let dest_all = &mut out.spare_capacity_mut()[..len];
        // One coset's evaluations, the buffers reused by every coset.
        let mut coset = vec![vec![0u64; n]; count];
        for (k, powers) in self.coset_powers.iter().enumerate() {
            coset
                .par_iter_mut()
                .zip(&polys.reversed)
                .for_each(|(buf, p)| self.fft.evaluate_scaled(p, powers, buf));
            dest_all
                .par_chunks_mut(ROW_CHUNK * self.blowup * width)
                .enumerate()
                .for_each(|(chunk, dest)| {
                    let j0 = chunk * ROW_CHUNK;
                    for (j, rows) in dest.chunks_exact_mut(self.blowup * width).enumerate() {
                        let (row, pad) = rows[k * width..(k + 1) * width].split_at_mut(count);
                        for (x, col) in row.iter_mut().zip(&coset) {
                            x.write(B::from_mont(col[j0 + j]));
                        }
                        for x in pad {
                            x.write(B::ZERO);
                        }
                    }
                });
        }
        // SAFETY: coset `k` wrote elements `k·width..(k + 1)·width` (values, then zero padding) of
        // every group of `blowup·width`, for every `k < blowup`: all `len` elements.
        unsafe { out.set_len(len) };
        out
    }
}

/// The base-field coordinate `d` of extension-field values.
pub fn coordinate<E: FieldElement<BaseField = B>>(values: &[E], d: usize) -> Vec<B> {
    let base = E::slice_as_base_elements(values);
    base.iter()
        .skip(d)
        .step_by(E::EXTENSION_DEGREE)
        .copied()
        .collect()
}

/// Extension-field values from their base-field coordinates.
pub fn from_coordinates<E: FieldElement<BaseField = B>>(coords: &[Vec<B>]) -> Vec<E> {
    assert_eq!(coords.len(), E::EXTENSION_DEGREE);
    let n = coords[0].len();
    let mut base = Vec::with_capacity(n * E::EXTENSION_DEGREE);
    for i in 0..n {
        for c in coords {
            base.push(c[i]);
        }
    }
    E::slice_from_base_elements(&base).to_vec()
}

// pipeline: the DEEP polynomial's LDE and the composition polynomial's columns, for
// `crate::pipeline` and `crate::lde::CompositionCommitment`.

impl Extension {
    /// The values over the domain, in natural order, of the extension-field polynomial of `n`
    /// `coefficients`: each base coordinate evaluated apart, the rows of three coordinates being
    /// the extension values.
    pub fn evaluate_ext<E: FieldElement<BaseField = B>>(&self, coefficients: &[E]) -> Vec<E> {
        let d = E::EXTENSION_DEGREE;
        let polys = Polys {
            reversed: (0..d)
                .into_par_iter()
                .map(|k| {
                    let c = E::slice_as_base_elements(coefficients);
                    let bits = coefficients.len().ilog2();
                    (0..coefficients.len())
                        .map(|i| c[(i.reverse_bits() >> (usize::BITS - bits)) * d + k].inner())
                        .collect()
                })
                .collect(),
        };
        E::slice_from_base_elements(&self.evaluate_rows(&polys, d)).to_vec()
    }
}

impl Extension {
    /// The composition polynomial's columns: the polynomial whose values at `offset·ω_m^i`
    /// (`m = values.len()`, a multiple of this extension's `n`) are `values`, split into
    /// `columns` polynomials of `n` coefficients (`Σ_c x^(c·n)·H_c(x)`, the coefficients past
    /// `columns·n` zero), each extension column as its base coordinates in turn. Winterfell's
    /// `CompositionPoly::new`: an inverse FFT of size `m` per coordinate, whose bit-reversed
    /// output holds each column's coefficients, already bit-reversed, at a stride of `m/n`.
    pub fn interpolate_columns<E: FieldElement<BaseField = B>>(
        &self,
        values: &[E],
        offset: B,
        columns: usize,
    ) -> Polys {
        let (n, m, d) = (self.fft.n, values.len(), E::EXTENSION_DEGREE);
        assert!(m.is_power_of_two() && m >= n && columns <= m / n);
        let parts = m / n;
        let inverse = level_twiddles(m, true);
        // `offset^(−k)/m` at the bit-reversed position of `k`: the scaling that takes the
        // transform of the values to the coefficients.
        let unscale = {
            let x = offset.inv();
            let mut p = vec![B::ZERO; m];
            p.par_chunks_mut(ROW_CHUNK).enumerate().for_each(|(k, c)| {
                let mut y = x.exp((k * ROW_CHUNK) as u64) / B::new(m as u64);
                for v in c {
                    *v = y;
                    y *= x;
                }
            });
            bit_reversed(&p, |x| x.as_int())
        };
        let base = E::slice_as_base_elements(values);
        let coefficients: Vec<Vec<u64>> = (0..d)
            .into_par_iter()
            .map(|k| {
                let mut raw: Vec<u64> = base.iter().skip(k).step_by(d).map(|v| v.inner()).collect();
                dif_blocked(Lanes::widest(), &mut raw, &inverse, &mut |block, at| {
                    scale(block, &unscale[at..])
                });
                raw
            })
            .collect();
        // Column `c`'s coefficients start at `c`'s bit reversal over `log2(parts)` bits.
        let bits = parts.ilog2();
        let part = |c: usize| {
            if bits == 0 {
                0
            } else {
                c.reverse_bits() >> (usize::BITS - bits)
            }
        };
        debug_assert!((columns..parts).all(|c| {
            coefficients
                .iter()
                .all(|raw| raw[part(c)..].iter().step_by(parts).all(|v| v % P == 0))
        }));
        Polys {
            reversed: (0..columns * d)
                .into_par_iter()
                .map(|i| {
                    let raw = &coefficients[i % d];
                    raw[part(i / d)..].iter().step_by(parts).copied().collect()
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use winterfell::{
        StarkDomain,
        math::{fft, fields::CubeExtension},
        matrix::{ColMatrix, RowMatrix},
    };

    use crate::sample::elements as values;

    #[test]
    fn extensions_equal_winterfells() {
        let n = 1 << 10;
        let blowup = 4;
        let cols: Vec<Vec<B>> = (0..11).map(|s| values(n, s + 1)).collect();
        let theirs_polys = ColMatrix::new(cols.clone()).interpolate_columns();
        let ext = Extension::new(n, blowup, B::GENERATOR);
        let refs: Vec<&[B]> = cols.iter().map(|c| c.as_slice()).collect();
        let polys = ext.interpolate(&refs);
        let rows = ext.evaluate_rows(&polys, 12);
        for (i, c) in polys.into_columns().iter().enumerate() {
            assert_eq!(c.as_slice(), theirs_polys.get_column(i), "column {i}");
        }
        let domain = StarkDomain::from_twiddles(fft::get_twiddles(n), blowup, B::GENERATOR);
        let theirs = RowMatrix::evaluate_polys_over::<11>(&theirs_polys, &domain);
        for i in 0..n * blowup {
            assert_eq!(&rows[i * 12..i * 12 + 11], theirs.row(i), "row {i}");
            assert_eq!(rows[i * 12 + 11], B::ZERO);
        }
    }

    #[test]
    fn tiled_bit_reversal_reverses_every_index() {
        for bits in 0..=10 {
            let n = 1usize << bits;
            let reversed = bit_reversed(&(0..n).collect::<Vec<_>>(), |i| i);
            for (i, &j) in reversed.iter().enumerate() {
                let expected = if bits == 0 {
                    0
                } else {
                    i.reverse_bits() >> (usize::BITS - bits)
                };
                assert_eq!(j, expected, "index {i} of {n}");
            }
        }
    }

    /// Every vector width this CPU runs (each one's path is tested, not only the widest).
    fn detected_widths() -> Vec<Lanes> {
        let mut widths = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if goldilocks::avx512_detected() {
                widths.push(Lanes::Avx512);
            }
            if goldilocks::avx2_detected() {
                widths.push(Lanes::Avx2);
            }
        }
        assert!(!widths.is_empty() || cfg!(not(target_arch = "x86_64")));
        widths
    }

    #[test]
    fn vector_and_scalar_ffts_agree() {
        let raw = |n: usize, seed: u64| -> Vec<u64> {
            let mut v: Vec<u64> = values(n, seed).iter().map(|x| x.inner()).collect();
            // Non-canonical raw values (x + p) and the edges, at the front.
            for (i, e) in [0, 1, P - 1, P, P + 1, u64::MAX].into_iter().enumerate() {
                v[i] = e;
            }
            v
        };
        for log_n in [4, 5, 6, 10, 12] {
            let n = 1 << log_n;
            for inverse in [false, true] {
                let tw = level_twiddles(n, inverse);
                for lanes in detected_widths() {
                    let mut ours = raw(n, log_n as u64);
                    let mut scalar = ours.clone();
                    transform_at(lanes, &mut ours, &tw, Decimation::Frequency);
                    dif_scalar(&mut scalar, &tw);
                    assert_eq!(ours, scalar, "{lanes:?} dif, n = {n}, inverse = {inverse}");
                    let mut ours = raw(n, 3 * log_n as u64);
                    let mut scalar = ours.clone();
                    transform_at(lanes, &mut ours, &tw, Decimation::Time);
                    dit_scalar(&mut scalar, &tw);
                    assert_eq!(ours, scalar, "{lanes:?} dit, n = {n}, inverse = {inverse}");
                }
                // The decimation in time undoes the bit reversal of the decimation in frequency.
                let mut v = raw(n, 5);
                let expected: Vec<u64> = v.iter().map(|x| x % P).collect();
                let lanes = Lanes::widest();
                dif_blocked(lanes, &mut v, &tw, &mut |_, _| ());
                dit_blocked(lanes, &mut v, &level_twiddles(n, !inverse), &mut |_, _| ());
                let n_inv = B::new(n as u64).inv().as_int();
                let v: Vec<u64> = v
                    .iter()
                    .map(|x| mul_int(B::from_mont(*x), n_inv).inner())
                    .collect();
                assert_eq!(v, expected, "round trip, n = {n}");
                let w = raw(n, 99);
                let ours = raw(n, 7);
                let scalar: Vec<u64> = ours
                    .iter()
                    .zip(&w)
                    .map(|(x, w)| mul_int(B::from_mont(*x), *w % P).inner())
                    .collect();
                let w: Vec<u64> = w.iter().map(|x| x % P).collect();
                for lanes in detected_widths() {
                    let mut ours = ours.clone();
                    scale_at(lanes, &mut ours, &w);
                    assert_eq!(ours, scalar, "{lanes:?} scale, n = {n}");
                }
            }
        }
    }

    /// Sizes below, at and above an L1 block and an L2 block, with odd and even numbers of
    /// levels above the blocks: each width's blocked transforms equal the unblocked scalar ones,
    /// and the leaves are the L1 blocks, each once, in order.
    #[test]
    fn blocked_and_unblocked_ffts_agree() {
        for log_n in [3, 11, 12, 13, 14, 15, 16, 17, 18] {
            let n: usize = 1 << log_n;
            let tw = level_twiddles(n, log_n % 2 == 0);
            let raw: Vec<u64> = values(n, log_n as u64)
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    if i % 1000 == 7 {
                        x.inner() + P
                    } else {
                        x.inner()
                    }
                })
                .collect();
            let leaf_len = n.min(L1_BLOCK);
            let mut dif_expected = raw.clone();
            dif_scalar(&mut dif_expected, &tw);
            let mut dit_expected = raw.clone();
            dit_scalar(&mut dit_expected, &tw);
            let mut widths = detected_widths();
            widths.push(Lanes::Scalar);
            for lanes in widths {
                let mut leaves = Vec::new();
                let mut ours = raw.clone();
                dif_blocked(lanes, &mut ours, &tw, &mut |b, at| {
                    leaves.push((at, b.len()))
                });
                assert_eq!(ours, dif_expected, "{lanes:?} dif, n = {n}");
                let tiles: Vec<(usize, usize)> = (0..n / leaf_len)
                    .map(|i| (i * leaf_len, leaf_len))
                    .collect();
                assert_eq!(leaves, tiles, "{lanes:?} dif leaves, n = {n}");
                leaves.clear();
                let mut ours = vec![0; n];
                dit_blocked(lanes, &mut ours, &tw, &mut |b, at| {
                    leaves.push((at, b.len()));
                    b.copy_from_slice(&raw[at..at + b.len()]);
                });
                assert_eq!(ours, dit_expected, "{lanes:?} dit, n = {n}");
                assert_eq!(leaves, tiles, "{lanes:?} dit leaves, n = {n}");
            }
        }
    }

    #[test]
    fn coordinates_round_trip() {
        type E3 = CubeExtension<B>;
        let v: Vec<E3> = values(30, 9)
            .chunks(3)
            .map(|c| E3::new(c[0], c[1], c[2]))
            .collect();
        let coords: Vec<Vec<B>> = (0..3).map(|d| coordinate(&v, d)).collect();
        assert_eq!(from_coordinates::<E3>(&coords), v);
    }
}
