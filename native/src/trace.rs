//! The execution trace of one segment (main and auxiliary), laid out as `air` describes.

use crate::air::{
    self, BACK_CUBE, CUBE, CYCLE, LIMB, LIMB_BITS, LIMBS, MAIN_WIDTH, MULT, STEP, Shape, TABLE_LEN,
};
use crate::rescue;
use crate::sponge::{RATE, STATE_WIDTH, State};
use rayon::prelude::*;
use std::sync::mpsc::{Receiver, sync_channel};
use winterfell::{
    EvaluationFrame, Trace, TraceInfo,
    math::{FieldElement, batch_inversion, fields::f64::BaseElement},
    matrix::ColMatrix,
};

// A block's rows are the states its permutation passes through.
const _: () = assert!(CYCLE == rescue::NUM_ROUNDS + 1);

/// Error for a cancelled trace build.
#[derive(Debug)]
pub struct Cancelled;

/// A segment's main trace, with the multi-segment trace info the AIR expects.
pub struct SegmentTrace {
    info: TraceInfo,
    main: ColMatrix<BaseElement>,
    shape: Shape,
}

impl SegmentTrace {
    pub fn shape(&self) -> &Shape {
        &self.shape
    }
}

impl Trace for SegmentTrace {
    type BaseField = BaseElement;

    fn info(&self) -> &TraceInfo {
        &self.info
    }

    fn main_segment(&self) -> &ColMatrix<BaseElement> {
        &self.main
    }

    fn read_main_frame(&self, row: usize, frame: &mut EvaluationFrame<BaseElement>) {
        let next = (row + 1) % self.info.length();
        self.main.read_row_into(row, frame.current_mut());
        self.main.read_row_into(next, frame.next_mut());
    }
}

/// The four limbs of an element value `< 2^56`.
fn limbs_of(v: u64) -> [u64; LIMBS] {
    let mask = (1u64 << LIMB_BITS) - 1;
    std::array::from_fn(|i| (v >> (LIMB_BITS as usize * i)) & mask)
}

/// Builds the main trace of a segment. `values(k)` gives the 8 packed element values of block `k`
/// of the segment (`k < shape.blocks`; the input's last element with its pad, zeros after it).
/// `cancelled` is polled every 1024 blocks. Returns the trace and the state after the last block.
pub fn build_main(
    shape: &Shape,
    start: &State,
    values: &dyn Fn(u64) -> [u64; RATE],
    cancelled: &dyn Fn() -> bool,
) -> Result<(SegmentTrace, State), Cancelled> {
    let n = shape.trace_len;
    let mut counts = vec![0u64; TABLE_LEN];
    let mut state = *start;
    let mut end = *start;
    let last_row = shape.last.map(|l| l.row);
    let pad = shape.last.map_or(0, |l| l.pad());
    let zero = [BaseElement::ZERO; LIMBS];
    // The chain runs on this thread; a second one writes its rows into the columns behind it, a
    // batch of blocks at a time, so that the writes (88 MB at 2^18 rows, and their page faults)
    // leave the serial path.
    let mut cols = std::thread::scope(|scope| {
        let (batches, received) = sync_channel::<Vec<BlockRows>>(4);
        let writer = scope.spawn(move || write_columns(received, n));
        let mut batch = Vec::with_capacity(BATCH);
        for k in 0..n / CYCLE {
            if k % 1024 == 0 && cancelled() {
                return Err(Cancelled);
            }
            let mut limbs = [zero; CYCLE];
            if k < shape.blocks {
                let v = values(k as u64);
                for j in 0..RATE {
                    state[4 + j] += BaseElement::new(v[j]);
                    let row = CYCLE * k + j;
                    let data = if Some(row) == last_row {
                        v[j] - pad
                    } else {
                        v[j]
                    };
                    let l = limbs_of(data);
                    limbs[j] = l.map(BaseElement::new);
                    for x in l {
                        counts[x as usize] += 1;
                    }
                }
            } else {
                // Padding rows look up four zeros each. (In shape B the last row's zeros are not
                // in the running sum but in its asserted final value, so the table counts them
                // too.)
                counts[0] += (CYCLE * LIMBS) as u64;
            }
            batch.push((rescue::permute_rows(&mut state), limbs));
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                batches.send(full).expect("the column writer runs");
            }
            if k + 1 == shape.blocks {
                end = state;
            }
        }
        batches.send(batch).expect("the column writer runs");
        drop(batches);
        Ok(writer.join().expect("the column writer does not panic"))
    })?;
    fill_last_cubes(&mut cols, n);
    // The step column.
    cols[STEP] = (0..n)
        .map(|r| BaseElement::from(r >= shape.step_row))
        .collect();
    // The extra lookup: where G steps in shape B (one per transition, 0 elsewhere), on the last
    // row in shape A.
    if let Some((col, factor)) = shape.scaled() {
        let row = shape.last.map_or(0, |l| l.row);
        // A value outside the table (only a forged trace has one) is not counted: its proof fails.
        let v = cols[col][row].as_int() * factor;
        if let Some(c) = counts.get_mut(v as usize) {
            *c += 1;
        }
        if !shape.gated_last_row {
            counts[0] += (n - 2) as u64;
        }
    }
    cols[MULT] = (0..n)
        .map(|r| BaseElement::new(if r < TABLE_LEN { counts[r] } else { 0 }))
        .collect();
    let info = TraceInfo::new_multi_segment(MAIN_WIDTH, air::AUX_WIDTH, air::AUX_RANDS, n, vec![]);
    Ok((
        SegmentTrace {
            info,
            main: ColMatrix::new(cols),
            shape: shape.clone(),
        },
        end,
    ))
}

/// Blocks per batch that the chain hands to the column writer (~600 KB).
const BATCH: usize = 256;

/// One block's rows as the chain leaves them: the permutation's rows, and the limbs of the
/// elements absorbed at each row.
type BlockRows = (rescue::Rows, [[BaseElement; LIMBS]; CYCLE]);

/// The main columns of the blocks' rows as they arrive, in order; each block's last row's cubes
/// are left zero for [`fill_last_cubes`], and the step and multiplicity columns empty.
fn write_columns(batches: Receiver<Vec<BlockRows>>, n: usize) -> Vec<Vec<BaseElement>> {
    let mut cols: Vec<Vec<BaseElement>> = (0..MAIN_WIDTH).map(|_| Vec::with_capacity(n)).collect();
    for (rows, limbs) in batches.iter().flatten() {
        for (i, col) in cols[..STATE_WIDTH].iter_mut().enumerate() {
            col.extend(rows.states.iter().map(|s| s[i]));
        }
        for (first, from) in [(CUBE, &rows.cubes), (BACK_CUBE, &rows.back_cubes)] {
            for (i, col) in cols[first..first + STATE_WIDTH].iter_mut().enumerate() {
                col.extend(from.iter().map(|s| s[i]));
                col.push(BaseElement::ZERO);
            }
        }
        for (i, col) in cols[LIMB..LIMB + LIMBS].iter_mut().enumerate() {
            col.extend(limbs.iter().map(|l| l[i]));
        }
    }
    cols
}

/// The cube columns of each block's last row, which no round of its permutation fills: `X3`, the
/// cubes of its state, and `B3`, the cubes of `b = INV_MDS·y` for the next row's state `y` (the
/// absorption; the first row's after the last one, where no constraint applies).
fn fill_last_cubes(cols: &mut [Vec<BaseElement>], n: usize) {
    let state = &cols[..STATE_WIDTH];
    let at = |row: usize| -> State { std::array::from_fn(|i| state[i][row]) };
    let last: Vec<(State, State)> = (CYCLE - 1..n)
        .into_par_iter()
        .step_by(CYCLE)
        .map(|r| {
            let cubes = at(r).map(|v| v.cube());
            let next = at((r + 1) % n);
            (
                cubes,
                rescue::back_cubes(&next, &[BaseElement::ZERO; STATE_WIDTH]),
            )
        })
        .collect();
    for (k, (cubes, backs)) in last.iter().enumerate() {
        let r = k * CYCLE + CYCLE - 1;
        for i in 0..STATE_WIDTH {
            cols[CUBE + i][r] = cubes[i];
            cols[BACK_CUBE + i][r] = backs[i];
        }
    }
}

/// Builds the auxiliary trace (`S`, `Z`, `H1`, `H2`) from the main trace and the random elements α, γ, δ.
pub fn build_aux<E: FieldElement<BaseField = BaseElement>>(
    trace: &SegmentTrace,
    rands: &[E],
    start: &State,
) -> ColMatrix<E> {
    let (alpha, gamma, delta) = (rands[0], rands[1], rands[2]);
    let shape = &trace.shape;
    let main = &trace.main;
    let n = shape.trace_len;
    // Every value looked up or listed is in the table: one inversion per table entry.
    let inv = batch_inversion(
        &(0..TABLE_LEN as u64)
            .map(|v| alpha - E::from(BaseElement::new(v)))
            .collect::<Vec<_>>(),
    );
    let at = |col: usize, row: usize| main.get(col, row);
    let lookup = |v: BaseElement| inv[v.as_int() as usize];
    let extra = shape
        .scaled()
        .filter(|_| !shape.gated_last_row)
        .map(|(col, factor)| (col, factor, shape.step_row - 1));
    let pair =
        |r: usize, first: usize| lookup(at(LIMB + first, r)) + lookup(at(LIMB + first + 1, r));
    let h1: Vec<E> = (0..n).map(|r| pair(r, 0)).collect();
    let h2: Vec<E> = (0..n).map(|r| pair(r, 2)).collect();
    let mut s = Vec::with_capacity(n);
    let mut acc = E::ZERO;
    for r in 0..n {
        s.push(acc);
        acc += h1[r] + h2[r];
        if let Some((col, factor, row)) = extra {
            let v = if r == row {
                at(col, r).as_int() * factor
            } else {
                0
            };
            acc += inv.get(v as usize).copied().unwrap_or(E::ZERO);
        }
        acc -= inv[r % TABLE_LEN].mul_base(at(MULT, r));
    }

    let mut w = [E::ONE; CYCLE];
    for j in 1..CYCLE {
        w[j] = w[j - 1] * gamma;
    }
    let rate = |row: usize| {
        let mut v = E::ZERO;
        for (i, wi) in w.iter().enumerate() {
            v += wi.mul_base(at(4 + i, row));
        }
        v
    };
    let recomposed = |row: usize| {
        let mut v = 0u64;
        for i in (0..LIMBS).rev() {
            v = (v << LIMB_BITS) | at(LIMB + i, row).as_int();
        }
        BaseElement::new(v)
    };
    let mut z = Vec::with_capacity(n);
    let mut acc = E::ZERO;
    for (j, wj) in w.iter().enumerate() {
        acc -= wj.mul_base(start[4 + j]);
    }
    for r in 0..n {
        z.push(acc);
        let pos = r % CYCLE;
        acc = match pos {
            0 => acc + rate(r) - w[0].mul_base(recomposed(r)),
            7 => acc * delta - rate(r),
            6 => {
                let next = if r + 1 < n {
                    recomposed(r + 1)
                } else {
                    BaseElement::ZERO
                };
                acc - w[6].mul_base(recomposed(r)) - w[7].mul_base(next)
            }
            _ => acc - w[pos].mul_base(recomposed(r)),
        };
    }
    ColMatrix::new(vec![s, z, h1, h2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;
    use crate::sponge::BLOCK_BYTES;
    use winter_crypto::{Digest, ElementHasher, hashers::Blake3_256};

    /// The Blake3 digest of every main and auxiliary column (in canonical form), for a segment of
    /// `blocks` blocks of pseudo-random input ending in a partial block, and fixed α, γ, δ.
    fn trace_digest(blocks: u64) -> String {
        let size = blocks * BLOCK_BYTES as u64 - 5;
        let bytes = sample::bytes(blocks as usize * BLOCK_BYTES, 0x9e37_79b9_7f4a_7c15);
        let (public, trace) = sample::whole_segment(&bytes, size, [1; 32]);
        let rands = [5u64, 7, 11].map(BaseElement::new);
        let aux = build_aux(&trace, &rands, &public.start);
        let mut all = Vec::new();
        for m in [trace.main_segment(), &aux] {
            for c in 0..m.num_cols() {
                all.extend_from_slice(m.get_column(c));
            }
        }
        let digest = Blake3_256::<BaseElement>::hash_elements(&all).as_bytes();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Pins the traces' values, so that a faster build cannot change them (the proofs of the same
    /// segment must stay bit-identical).
    #[test]
    fn trace_values_are_pinned() {
        assert_eq!(
            trace_digest(128 - 3),
            "69e460a5199cea8b85dfde6d3aa21bf40d8b48893ef430900745454213314487"
        );
    }
}
