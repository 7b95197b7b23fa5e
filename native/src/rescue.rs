//! The Rescue-Prime permutation of winter-crypto 0.13's `Rp64_256`, which the sponge chain runs:
//! with the 12 state elements in AVX-512 lanes where the CPU has them, winterfell's own rounds
//! elsewhere.
//!
//! The chain is serial (each block's permutation needs the state the one before left), so it
//! cannot spread over cores: at 2^18 rows its 2^15 permutations took most of the trace build. A
//! round here works on two registers (elements 0–7, then 8–11 and four zero lanes) in plain
//! (canonical integer) form, x^(1/7) is winterfell's addition chain on all lanes at once, and the
//! MDS product reduces once per output. Every step is exact field arithmetic with canonical
//! results, so the states equal winterfell's bit for bit (the tests compare every round index).

use crate::sponge::State;
use winter_crypto::hashers::Rp64_256;

/// Rounds per permutation.
pub const NUM_ROUNDS: usize = Rp64_256::NUM_ROUNDS;

/// The states one permutation passes through: before each round, then after the last.
pub type Rows = [State; NUM_ROUNDS + 1];

/// Applies the permutation to `state`.
pub fn permute(state: &mut State) {
    #[cfg(target_arch = "x86_64")]
    if crate::goldilocks::avx512_detected() {
        // SAFETY: AVX-512F was detected just above.
        *state = unsafe { avx512::permute(state, None) };
        return;
    }
    Rp64_256::apply_permutation(state);
}

/// Applies the permutation to `state` and returns the states it passed through (the last one is
/// the new `state`).
pub fn permute_rows(state: &mut State) -> Rows {
    let mut rows = [*state; NUM_ROUNDS + 1];
    #[cfg(target_arch = "x86_64")]
    if crate::goldilocks::avx512_detected() {
        // SAFETY: AVX-512F was detected just above.
        *state = unsafe { avx512::permute(state, Some(&mut rows)) };
        return rows;
    }
    for r in 0..NUM_ROUNDS {
        Rp64_256::apply_round(state, r);
        rows[r + 1] = *state;
    }
    rows
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{NUM_ROUNDS, Rows};
    use crate::goldilocks::EPSILON;
    use crate::goldilocks::avx512::{add, exp_inv7, exp7, load, mul, reduce, store};
    use crate::sponge::{STATE_WIDTH, State};
    use core::arch::x86_64::*;
    use std::sync::OnceLock;
    use winter_crypto::hashers::Rp64_256;
    use winterfell::math::fields::f64::BaseElement;

    /// A 12-vector as the lanes of two registers: elements 0–7, then 8–11 and four zeros.
    type Lanes = [u64; 16];

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

    #[target_feature(enable = "avx512f")]
    fn load2(v: &Lanes) -> [__m512i; 2] {
        [load(&v[..8]), load(&v[8..])]
    }

    /// `a + k` for canonical lanes.
    #[target_feature(enable = "avx512f")]
    fn add_constants(x: [__m512i; 2], k: &Lanes) -> [__m512i; 2] {
        let k = load2(k);
        [add(x[0], k[0]), add(x[1], k[1])]
    }

    /// `MDS·x`, canonical. Each element is split into 32-bit halves whose products with the small
    /// entries are summed without reduction (12 terms < 2^37 each), then each output is reduced
    /// once.
    #[target_feature(enable = "avx512f")]
    fn mds(x: [__m512i; 2], cols: &[Lanes; STATE_WIDTH]) -> [__m512i; 2] {
        let high = [_mm512_srli_epi64::<32>(x[0]), _mm512_srli_epi64::<32>(x[1])];
        let mut lo = [_mm512_setzero_si512(); 2];
        let mut hi = [_mm512_setzero_si512(); 2];
        for (j, col) in cols.iter().enumerate() {
            let at = _mm512_set1_epi64((j % 8) as i64);
            // Element j in every lane (mul_epu32 reads each lane's low 32 bits).
            let xl = _mm512_permutexvar_epi64(at, x[j / 8]);
            let xh = _mm512_permutexvar_epi64(at, high[j / 8]);
            let c = load2(col);
            for h in 0..2 {
                lo[h] = _mm512_add_epi64(lo[h], _mm512_mul_epu32(xl, c[h]));
                hi[h] = _mm512_add_epi64(hi[h], _mm512_mul_epu32(xh, c[h]));
            }
        }
        // lo + hi·2^32 (< 2^74) as a 128-bit hi:lo pair.
        let mut out = [_mm512_setzero_si512(); 2];
        for h in 0..2 {
            let low = _mm512_add_epi64(lo[h], _mm512_slli_epi64::<32>(hi[h]));
            let carry = _mm512_cmplt_epu64_mask(low, lo[h]);
            let high = _mm512_srli_epi64::<32>(hi[h]);
            let high = _mm512_mask_add_epi64(high, carry, high, _mm512_set1_epi64(1));
            out[h] = reduce(high, low);
        }
        out
    }

    #[target_feature(enable = "avx512f")]
    fn round(x: [__m512i; 2], r: usize, c: &Constants) -> [__m512i; 2] {
        let x = add_constants(mds(exp7(x), &c.mds), &c.ark1[r]);
        add_constants(mds(exp_inv7(x), &c.mds), &c.ark2[r])
    }

    /// The state of plain lanes: `a·R mod p` (`R = 2^64 ≡ 2^32 − 1`) is winterfell's
    /// Montgomery form of `a`.
    #[target_feature(enable = "avx512f")]
    fn to_state(x: [__m512i; 2]) -> State {
        let r = _mm512_set1_epi64(EPSILON as i64);
        let mut v: Lanes = [0; 16];
        store(&mut v[..8], mul(x[0], r));
        store(&mut v[8..], mul(x[1], r));
        std::array::from_fn(|i| BaseElement::from_mont(v[i]))
    }

    /// The permuted state; with `rows`, also the states before rounds 1.. and after the last
    /// (`rows[0]` is left as it is).
    ///
    /// # Safety
    /// The CPU must have AVX-512F (`avx512_detected`).
    #[target_feature(enable = "avx512f")]
    pub fn permute(state: &State, mut rows: Option<&mut Rows>) -> State {
        let c = constants();
        let v: Lanes = std::array::from_fn(|i| state.get(i).map_or(0, |e| e.as_int()));
        let mut x = load2(&v);
        for r in 0..NUM_ROUNDS {
            x = round(x, r, c);
            if let Some(rows) = rows.as_deref_mut() {
                rows[r + 1] = to_state(x);
            }
        }
        match rows {
            Some(rows) => rows[NUM_ROUNDS],
            None => to_state(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use winterfell::math::{FieldElement, StarkField, fields::f64::BaseElement};

    /// Edge states (zeros, p − 1, small values) first, then pseudo-random ones: each the
    /// permutation (winterfell's) of the one before.
    fn states(count: usize) -> Vec<State> {
        let p = BaseElement::MODULUS;
        let mut v = vec![
            [BaseElement::ZERO; 12],
            [BaseElement::new(p - 1); 12],
            std::array::from_fn(|i| BaseElement::new(i as u64)),
            std::array::from_fn(|i| BaseElement::new(p - 1 - i as u64)),
            std::array::from_fn(|i| BaseElement::new(1 << (5 * i))),
        ];
        let mut next = [BaseElement::new(0x4528_21e6_38d0_1377); 12];
        while v.len() < count {
            Rp64_256::apply_permutation(&mut next);
            v.push(next);
        }
        v
    }

    #[test]
    fn rows_equal_winterfells_rounds() {
        for s in states(500) {
            let mut expect = [s; NUM_ROUNDS + 1];
            let mut w = s;
            for r in 0..NUM_ROUNDS {
                Rp64_256::apply_round(&mut w, r);
                expect[r + 1] = w;
            }
            let mut ours = s;
            let rows = permute_rows(&mut ours);
            for r in 0..=NUM_ROUNDS {
                let raw = |row: &State| row.map(|e| e.inner());
                assert_eq!(raw(&rows[r]), raw(&expect[r]), "state {s:?}, row {r}");
            }
            assert_eq!(ours, w);
        }
    }

    #[test]
    fn permutation_equals_winterfells() {
        for s in states(500) {
            let mut w = s;
            Rp64_256::apply_permutation(&mut w);
            let mut ours = s;
            permute(&mut ours);
            assert_eq!(ours.map(|e| e.inner()), w.map(|e| e.inner()), "state {s:?}");
        }
    }
}
