//! Linear combinations of base-field columns with extension-field weights, the two products the
//! DEEP composition is made of:
//!
//! - [`combine`]: `Σ_i w_i·c_i[j]` for every row `j` (the DEEP polynomial's coefficients are the
//!   trace and composition polynomials' coefficients weighted by the DEEP coefficients);
//! - [`dot`]: `Σ_j c_i[j]·p[j]` for every column `i` and weight vector `p` (a polynomial's value
//!   at `z` is its coefficients against the powers of `z`: the out-of-domain frame).
//!
//! An extension weight times a base value is three base products, one per coordinate, each the
//! raw (Montgomery) value times the weight coordinate's canonical integer
//! ([`crate::goldilocks`]). With AVX2 four rows at a time, the 128-bit products summed before
//! one reduction ([`crate::goldilocks::avx2::WideSum`]); scalar elsewhere. Rows are split in
//! chunks over the threads.

use super::channel::E3;
use crate::goldilocks::{self, mul_int};
use rayon::prelude::*;
use winterfell::math::{FieldElement, fields::f64::BaseElement};

type B = BaseElement;

/// Rows per task (a multiple of 4, the AVX2 lanes): [`dot`]'s weights for a chunk stay in L2.
const CHUNK: usize = 1 << 11;

/// The canonical integers of an extension element's coordinates.
fn ints(w: E3) -> [u64; 3] {
    let b = E3::slice_as_base_elements(std::slice::from_ref(&w));
    [b[0].as_int(), b[1].as_int(), b[2].as_int()]
}

/// The canonical integers of each coordinate of `values`, a vector per coordinate.
pub fn coordinate_ints(values: &[E3]) -> [Vec<u64>; 3] {
    std::array::from_fn(|d| values.par_iter().map(|v| ints(*v)[d]).collect())
}

/// `Σ_i weights[i]·columns[i][j]` for every `j < n`.
pub fn combine(columns: &[&[B]], weights: &[E3], n: usize) -> Vec<E3> {
    assert_eq!(columns.len(), weights.len());
    assert!(columns.iter().all(|c| c.len() == n));
    let w: Vec<[u64; 3]> = weights.iter().map(|w| ints(*w)).collect();
    let avx2 = goldilocks::avx2_detected();
    let mut out = vec![E3::ZERO; n];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(k, out)| combine_rows(avx2, columns, &w, k * CHUNK, out));
    out
}

fn combine_rows(avx2: bool, columns: &[&[B]], w: &[[u64; 3]], start: usize, out: &mut [E3]) {
    #[cfg(target_arch = "x86_64")]
    if avx2 && out.len().is_multiple_of(4) {
        // SAFETY: `avx2` is true only where the CPU has AVX2.
        return unsafe { avx2::combine(columns, w, start, out) };
    }
    let _ = avx2;
    for (j, o) in (start..).zip(out.iter_mut()) {
        let mut acc = [B::ZERO; 3];
        for (c, w) in columns.iter().zip(w) {
            for d in 0..3 {
                acc[d] += mul_int(c[j], w[d]);
            }
        }
        *o = E3::new(acc[0], acc[1], acc[2]);
    }
}

/// `Σ_j columns[i][j]·p[j]` for every column `i` and every `p` of `points` (each given by
/// [`coordinate_ints`]): row `i` of the answer holds column `i`'s sums, in the order of `points`.
pub fn dot(columns: &[&[B]], points: &[[Vec<u64>; 3]]) -> Vec<Vec<E3>> {
    let n = points[0][0].len();
    assert!(columns.iter().all(|c| c.len() == n));
    assert!(points.iter().flatten().all(|p| p.len() == n));
    let avx2 = goldilocks::avx2_detected();
    let zeros = || vec![vec![E3::ZERO; points.len()]; columns.len()];
    (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|k| {
            let rows = k * CHUNK..n.min((k + 1) * CHUNK);
            let mut sums = zeros();
            for (c, s) in columns.iter().zip(sums.iter_mut()) {
                for (p, s) in points.iter().zip(s.iter_mut()) {
                    let acc: [B; 3] = std::array::from_fn(|d| {
                        dot_rows(avx2, &c[rows.clone()], &p[d][rows.clone()])
                    });
                    *s = E3::new(acc[0], acc[1], acc[2]);
                }
            }
            sums
        })
        .reduce(zeros, |mut a, b| {
            for (a, b) in a.iter_mut().flatten().zip(b.iter().flatten()) {
                *a += *b;
            }
            a
        })
}

/// `Σ_j c[j]·p[j]`, `p` canonical integers.
fn dot_rows(avx2: bool, c: &[B], p: &[u64]) -> B {
    #[cfg(target_arch = "x86_64")]
    if avx2 && c.len().is_multiple_of(4) {
        // SAFETY: `avx2` is true only where the CPU has AVX2.
        return unsafe { avx2::dot(c, p) };
    }
    let _ = avx2;
    c.iter()
        .zip(p)
        .fold(B::ZERO, |s, (x, p)| s + mul_int(*x, *p))
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{B, E3, FieldElement};
    use crate::goldilocks::avx2::{WideSum, load, splat, store};
    use core::arch::x86_64::*;

    /// Four raw values.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn raw(c: &[B]) -> __m256i {
        load(&[c[0].inner(), c[1].inner(), c[2].inner(), c[3].inner()])
    }

    /// The lanes of `v` as field elements.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn lanes(v: __m256i) -> [B; 4] {
        let mut a = [0u64; 4];
        store(&mut a, v);
        a.map(B::from_mont)
    }

    /// [`super::combine_rows`] four rows at a time.
    ///
    /// # Safety
    /// The CPU must have AVX2; `out.len()` is a multiple of 4.
    #[target_feature(enable = "avx2")]
    pub fn combine(columns: &[&[B]], w: &[[u64; 3]], start: usize, out: &mut [E3]) {
        let w: Vec<[__m256i; 3]> = w.iter().map(|w| w.map(|w| splat(w))).collect();
        for (j, out) in (start..).step_by(4).zip(out.chunks_exact_mut(4)) {
            let mut s = [WideSum::new(), WideSum::new(), WideSum::new()];
            for (c, w) in columns.iter().zip(&w) {
                let x = raw(&c[j..j + 4]);
                for d in 0..3 {
                    s[d].add(x, w[d]);
                }
            }
            let [a, b, c] = s.map(|s| lanes(s.reduce()));
            for (l, o) in out.iter_mut().enumerate() {
                *o = E3::new(a[l], b[l], c[l]);
            }
        }
    }

    /// [`super::dot_rows`] four rows at a time.
    ///
    /// # Safety
    /// The CPU must have AVX2; `c.len()` is a multiple of 4.
    #[target_feature(enable = "avx2")]
    pub fn dot(c: &[B], p: &[u64]) -> B {
        let mut s = WideSum::new();
        for (c, p) in c.chunks_exact(4).zip(p.chunks_exact(4)) {
            s.add(raw(c), load(p));
        }
        lanes(s.reduce()).into_iter().fold(B::ZERO, |s, x| s + x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::sample::elements as values;

    fn sum(terms: impl Iterator<Item = E3>) -> E3 {
        terms.fold(E3::ZERO, |s, t| s + t)
    }

    fn ext(n: usize, seed: u64) -> Vec<E3> {
        values(3 * n, seed)
            .chunks(3)
            .map(|c| E3::new(c[0], c[1], c[2]))
            .collect()
    }

    /// Every width this CPU runs against the scalar path, and both against plain field sums.
    #[test]
    fn vector_and_scalar_combinations_agree() {
        let n = 3 * CHUNK + 8;
        let mut cols: Vec<Vec<B>> = (0..7).map(|s| values(n, s + 1)).collect();
        // The edges: zero and p − 1 everywhere in one column.
        cols[0] = (0..n)
            .map(|j| if j % 2 == 0 { B::ZERO } else { -B::ONE })
            .collect();
        let refs: Vec<&[B]> = cols.iter().map(|c| c.as_slice()).collect();
        let mut w = ext(7, 99);
        w[1] = E3::new(-B::ONE, -B::ONE, -B::ONE);
        let expected: Vec<E3> = (0..n)
            .map(|j| sum(refs.iter().zip(&w).map(|(c, w)| *w * E3::from(c[j]))))
            .collect();
        let wi: Vec<[u64; 3]> = w.iter().map(|w| ints(*w)).collect();
        let p = ext(n, 7);
        let pi = coordinate_ints(&p);
        for avx2 in [false, goldilocks::avx2_detected()] {
            let mut out = vec![E3::ZERO; n];
            for (k, o) in out.chunks_mut(CHUNK).enumerate() {
                combine_rows(avx2, &refs, &wi, k * CHUNK, o);
            }
            assert_eq!(out, expected, "combine, avx2 = {avx2}");
            for c in &refs {
                let expected = sum(c.iter().zip(&p).map(|(x, p)| *p * E3::from(*x)));
                let got: [B; 3] = std::array::from_fn(|d| dot_rows(avx2, c, &pi[d]));
                assert_eq!(
                    E3::new(got[0], got[1], got[2]),
                    expected,
                    "dot, avx2 = {avx2}"
                );
            }
        }
        assert_eq!(combine(&refs, &w, n), expected);
        let sums = dot(&refs, &[pi.clone(), pi]);
        for (c, s) in refs.iter().zip(&sums) {
            let expected = sum(c.iter().zip(&p).map(|(x, p)| *p * E3::from(*x)));
            assert_eq!(s, &vec![expected; 2]);
        }
    }
}
