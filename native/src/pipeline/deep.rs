//! The out-of-domain frame and the DEEP composition polynomial, from the trace and composition
//! polynomials' coefficients as base-field columns.
//!
//! Winterfell's `DeepCompositionPoly` sums `k_i·T_i(x)` twice, into `(Σ k_i·T_i(x) − Σ k_i·T_i(z))`
//! and `(Σ k_i·T_i(x) − Σ k_i·T_i(z·g))` with the same `k_i`: the two differ only in their
//! constant term, which the divisions by `x − z` and `x − z·g` then drop with the remainder.
//! Here the sum is made once ([`lincomb::combine`]) and divided twice in one pass. Its out-of-domain values
//! are Horner evaluations, one column at a time; here each is the column's coefficients against
//! the powers of `z` ([`lincomb::dot`]). The same polynomial, the same values: the same proof.

use super::channel::E3;
use super::lincomb;
use rayon::prelude::*;
use winter_air::proof::{QuotientOodFrame, TraceOodFrame};
use winterfell::{
    DeepCompositionCoefficients,
    math::{FieldElement, StarkField, fields::f64::BaseElement},
};

type B = BaseElement;

/// Powers computed serially per task.
const POWERS_CHUNK: usize = 1 << 12;

/// `x^j` for `j < n`.
fn powers(x: E3, n: usize) -> Vec<E3> {
    let mut p = vec![E3::ZERO; n];
    p.par_chunks_mut(POWERS_CHUNK)
        .enumerate()
        .for_each(|(k, chunk)| {
            let mut y = x.exp((k * POWERS_CHUNK) as u64);
            for v in chunk {
                *v = y;
                y *= x;
            }
        });
    p
}

/// The extension's basis `1, φ, φ²`: an element is `Σ_d coordinate_d·φ^d`.
fn basis() -> [E3; 3] {
    let (o, l) = (B::ZERO, B::ONE);
    [E3::new(l, o, o), E3::new(o, l, o), E3::new(o, o, l)]
}

/// The polynomials of a proof, each as the base-field columns of its coefficients: the main
/// trace's, then each auxiliary trace column's three coordinates, then each composition
/// column's.
pub struct Polys<'a> {
    columns: Vec<&'a [B]>,
    main: usize,
    aux: usize,
    n: usize,
}

impl<'a> Polys<'a> {
    /// `main` base columns, `aux` and `composition` extension columns as 3 coordinates each.
    pub fn new(main: Vec<&'a [B]>, aux: &'a [Vec<B>], composition: &'a [Vec<B>]) -> Polys<'a> {
        assert_eq!(aux.len() % 3, 0);
        assert_eq!(composition.len() % 3, 0);
        let n = main[0].len();
        let (m, a) = (main.len(), aux.len() / 3);
        let mut columns = main;
        columns.extend(aux.iter().chain(composition).map(|c| c.as_slice()));
        assert!(columns.iter().all(|c| c.len() == n));
        Polys {
            columns,
            main: m,
            aux: a,
            n,
        }
    }

    /// The trace and composition polynomials at `z` and `z·g`, `g` the trace domain's generator.
    pub fn ood_frames(&self, z: E3) -> (TraceOodFrame<E3>, QuotientOodFrame<E3>) {
        let points = [z, z * self.g()].map(|x| lincomb::coordinate_ints(&powers(x, self.n)));
        let values = lincomb::dot(&self.columns, &points);
        // An extension column's value is its coordinates' values on the basis.
        let at = |point: usize| -> Vec<E3> {
            let (main, ext) = values.split_at(self.main);
            let main = main.iter().map(|v| v[point]);
            let ext = ext.chunks(3).map(|c| {
                c.iter()
                    .zip(basis())
                    .fold(E3::ZERO, |s, (v, e)| s + v[point] * e)
            });
            main.chain(ext).collect()
        };
        let (mut current, mut next) = (at(0), at(1));
        let trace_width = self.main + self.aux;
        let quotient =
            QuotientOodFrame::new(current.split_off(trace_width), next.split_off(trace_width));
        (TraceOodFrame::new(current, next, self.main), quotient)
    }

    /// The DEEP composition polynomial's coefficients:
    /// `Σ_i k_i·(T_i(x) − T_i(z))/(x − z) + Σ_i k_i·(T_i(x) − T_i(z·g))/(x − z·g)` over the trace
    /// and composition columns `T_i` (their coefficients `cc.trace`, then `cc.constraints`).
    ///
    /// With `A = Σ_i k_i·T_i` that is `(A − A(z))/(x − z) + (A − A(z·g))/(x − z·g)`: the
    /// quotients of `A` by `x − z` and `x − z·g`, whose remainders are exactly the constants
    /// winterfell subtracts first (its synthetic division drops the remainder, so it computes
    /// these quotients too). Both divisions run in one pass down the coefficients.
    pub fn deep(&self, z: E3, cc: &DeepCompositionCoefficients<E3>) -> Vec<E3> {
        let k: Vec<E3> = cc.trace.iter().chain(&cc.constraints).copied().collect();
        assert_eq!(k.len(), self.main + (self.columns.len() - self.main) / 3);
        let weights: Vec<E3> = k[..self.main]
            .iter()
            .copied()
            .chain(k[self.main..].iter().flat_map(|k| basis().map(|e| *k * e)))
            .collect();
        let mut a = lincomb::combine(&self.columns, &weights, self.n);
        let gz = z * self.g();
        // Synthetic division: quotient coefficient `q_(j−1) = a_j + x_0·q_j`, from the top down.
        let (mut q_z, mut q_gz) = (E3::ZERO, E3::ZERO);
        for c in a.iter_mut().rev() {
            let a_j = *c;
            *c = q_z + q_gz;
            q_z = a_j + z * q_z;
            q_gz = a_j + gz * q_gz;
        }
        a
    }

    fn g(&self) -> E3 {
        E3::from(B::get_root_of_unity(self.n.ilog2()))
    }
}
