//! Low-degree extensions of base-field columns, one column at a time.
//!
//! Winterfell evaluates a matrix's columns together, as rows of `N` elements, through a split-radix
//! FFT whose transpositions and permutations move whole rows serially: its cost follows the row
//! count more than the width (measured at 2^18 rows: 12 columns cost as much as 42). Here each
//! column is transformed alone in a buffer of `2^18` elements (2 MiB, in a core's L2), by an
//! iterative radix-2 FFT, and the results are written out as rows one coset at a time, so the
//! transient memory is one coset's columns (a quarter of the LDE at blowup 4). An extension-field
//! column is its base coordinates, transformed apart (the twiddles are in the base field).
//!
//! The evaluations are exactly winterfell's (`RowMatrix::evaluate_polys_over` and
//! `ColMatrix::interpolate_columns`): row `i` of an LDE is the polynomials at `offset·g^i`, `g` of
//! order `blowup·n`; proofs do not change.

use rayon::prelude::*;
use winterfell::math::{FieldElement, StarkField, fields::f64::BaseElement};

type B = BaseElement;

/// Points of a coset written per task.
const ROW_CHUNK: usize = 1 << 10;

/// `ω_(2h)^j` for `j < h` at index `h + j`, for every level `h = 1, 2, 4, … n/2`: each level's
/// twiddles are contiguous.
fn level_twiddles(n: usize, inverse: bool) -> Vec<B> {
    let mut t = vec![B::ZERO; n.max(2)];
    let mut h = 1;
    while h < n {
        let mut w = B::get_root_of_unity((2 * h).ilog2());
        if inverse {
            w = w.inv();
        }
        let mut x = B::ONE;
        for j in 0..h {
            t[h + j] = x;
            x *= w;
        }
        h *= 2;
    }
    t
}

/// In-place decimation-in-frequency FFT: natural order in, bit-reversed order out.
fn dif(a: &mut [B], tw: &[B]) {
    let mut h = a.len() / 2;
    while h >= 4 {
        let w = &tw[h..2 * h];
        for block in a.chunks_exact_mut(2 * h) {
            let (lo, hi) = block.split_at_mut(h);
            for ((x, y), w) in lo.iter_mut().zip(hi.iter_mut()).zip(w) {
                let (u, v) = (*x, *y);
                *x = u + v;
                *y = (u - v) * *w;
            }
        }
        h /= 2;
    }
    // The last two levels, fused: their twiddles are 1 and ω_4 (loops of 2 and 1 butterflies
    // cost more in iteration than in arithmetic).
    if a.len() >= 4 {
        let i4 = tw[3];
        for q in a.chunks_exact_mut(4) {
            let (a0, a1, a2, a3) = (q[0], q[1], q[2], q[3]);
            let (b0, b2) = (a0 + a2, a0 - a2);
            let (b1, b3) = (a1 + a3, (a1 - a3) * i4);
            q[0] = b0 + b1;
            q[1] = b0 - b1;
            q[2] = b2 + b3;
            q[3] = b2 - b3;
        }
    } else if a.len() == 2 {
        let (u, v) = (a[0], a[1]);
        a[0] = u + v;
        a[1] = u - v;
    }
}

/// Reorders `a` from bit-reversed to natural order.
fn bit_reverse(a: &mut [B]) {
    let bits = a.len().ilog2();
    if bits == 0 {
        return;
    }
    for i in 0..a.len() {
        let j = i.reverse_bits() >> (usize::BITS - bits);
        if j > i {
            a.swap(i, j);
        }
    }
}

/// The FFTs of one size: its twiddles both ways and `1/n`.
pub struct Fft {
    n: usize,
    forward: Vec<B>,
    inverse: Vec<B>,
    inv_n: B,
}

impl Fft {
    pub fn new(n: usize) -> Fft {
        assert!(n.is_power_of_two());
        Fft {
            n,
            forward: level_twiddles(n, false),
            inverse: level_twiddles(n, true),
            inv_n: B::new(n as u64).inv(),
        }
    }

    /// The coefficients of the polynomial whose values at `ω_n^i` are `values` (natural order).
    pub fn interpolate(&self, values: &mut [B]) {
        assert_eq!(values.len(), self.n);
        dif(values, &self.inverse);
        bit_reverse(values);
        for v in values.iter_mut() {
            *v *= self.inv_n;
        }
    }

    /// The values of the polynomial `coefficients · powers` (coefficient-wise) at `ω_n^i`, in
    /// natural order, written over `out`.
    fn evaluate_scaled(&self, coefficients: &[B], powers: &[B], out: &mut [B]) {
        for ((o, c), p) in out.iter_mut().zip(coefficients).zip(powers) {
            *o = *c * *p;
        }
        dif(out, &self.forward);
        bit_reverse(out);
    }
}

/// What extending columns of `n` rows over one domain needs: the FFTs of size `n` and, for each
/// coset `k < blowup`, the powers `(offset·g^k)^m`, `m < n`.
pub struct Extension {
    fft: Fft,
    blowup: usize,
    coset_powers: Vec<Vec<B>>,
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
                p
            })
            .collect();
        Extension {
            fft: Fft::new(n),
            blowup,
            coset_powers,
        }
    }

    /// Interpolates base-field `columns` in place into their coefficients.
    pub fn interpolate_all(&self, columns: &mut [Vec<B>]) {
        columns.par_iter_mut().for_each(|c| self.fft.interpolate(c));
    }

    /// Evaluates the polynomials `polys` (coefficients, `n` each) over the domain as a row-major
    /// matrix of `width ≥ polys.len()` base elements per row (the rest zero): row `i` holds the
    /// values at `offset·g^i`. One coset at a time: its rows (`blowup·j + k`) are written whole,
    /// each once.
    pub fn evaluate_rows(&self, polys: &[&[B]], width: usize) -> Vec<B> {
        let n = self.fft.n;
        assert!(polys.len() <= width);
        assert!(polys.iter().all(|p| p.len() == n));
        let mut out = vec![B::ZERO; n * self.blowup * width];
        for (k, powers) in self.coset_powers.iter().enumerate() {
            let coset: Vec<Vec<B>> = polys
                .par_iter()
                .map(|p| {
                    let mut buf = vec![B::ZERO; n];
                    self.fft.evaluate_scaled(p, powers, &mut buf);
                    buf
                })
                .collect();
            out.par_chunks_mut(ROW_CHUNK * self.blowup * width)
                .enumerate()
                .for_each(|(chunk, dest)| {
                    let j0 = chunk * ROW_CHUNK;
                    for (j, rows) in dest.chunks_exact_mut(self.blowup * width).enumerate() {
                        let row = &mut rows[k * width..k * width + polys.len()];
                        for (x, col) in row.iter_mut().zip(&coset) {
                            *x = col[j0 + j];
                        }
                    }
                });
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use winterfell::{
        StarkDomain,
        math::{fft, fields::CubeExtension},
        matrix::{ColMatrix, RowMatrix},
    };

    fn values(n: usize, seed: u64) -> Vec<B> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                B::new(x)
            })
            .collect()
    }

    #[test]
    fn extensions_equal_winterfells() {
        let n = 1 << 10;
        let blowup = 4;
        let cols: Vec<Vec<B>> = (0..11).map(|s| values(n, s + 1)).collect();
        let theirs_polys = ColMatrix::new(cols.clone()).interpolate_columns();
        let ext = Extension::new(n, blowup, B::GENERATOR);
        let mut ours = cols;
        ext.interpolate_all(&mut ours);
        for (i, c) in ours.iter().enumerate() {
            assert_eq!(c.as_slice(), theirs_polys.get_column(i), "column {i}");
        }
        let domain = StarkDomain::from_twiddles(fft::get_twiddles(n), blowup, B::GENERATOR);
        let theirs = RowMatrix::evaluate_polys_over::<11>(&theirs_polys, &domain);
        let refs: Vec<&[B]> = ours.iter().map(|c| c.as_slice()).collect();
        let rows = ext.evaluate_rows(&refs, 12);
        for i in 0..n * blowup {
            assert_eq!(&rows[i * 12..i * 12 + 11], theirs.row(i), "row {i}");
            assert_eq!(rows[i * 12 + 11], B::ZERO);
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
