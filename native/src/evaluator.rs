//! The constraint evaluator of the segment prover.
//!
//! It computes, at every point `x` of the constraint evaluation domain, the same composition the
//! verifier computes at its out-of-domain point (winterfell's `evaluate_constraints`):
//! `Σ c_k·C_k(x) / Z(x) + Σ_groups Σ c_j·(T_j(x) − v_j) / (x − g^r)`, with the AIR's own
//! constraint functions and winterfell's own coefficient assignment and boundary grouping.
//! Winterfell's default evaluator keeps one column per boundary divisor over the whole domain (in
//! the cubic extension, 48 MiB per column at 2^18 rows) and divides in a second pass; this one
//! divides as it goes, a chunk at a time, and looks the periodic columns up in small tables. The
//! transition constraints (all but the boundary ones, which cost little) are evaluated several
//! points at a time in vector lanes, eight with AVX-512F or four with AVX2, where the CPU has them
//! ([`lanes`]): they were nearly all of this step's time at 2^18 rows, and either vector path
//! nearly halves the step (see `native/README.md`).

#[cfg(target_arch = "x86_64")]
mod lanes;

use crate::air::{
    AuxRows, AuxTerms, CYCLE, P_ARK1, P_ARK2, P_SEL, P_T, P_TN, SpongeAir, main_residuals,
};
use crate::sponge::STATE_WIDTH;
use rayon::prelude::*;
use winterfell::{
    Air, AuxRandElements, BoundaryConstraintGroup, CompositionPolyTrace,
    ConstraintCompositionCoefficients, ConstraintEvaluator, EvaluationFrame, StarkDomain, TraceLde,
    math::{ExtensionOf, FieldElement, StarkField, batch_inversion, fft, fields::f64::BaseElement},
};

/// Points evaluated together (one batch inversion of the boundary divisors).
const CHUNK: usize = 1 << 11;
/// Points whose transition constraints are evaluated together (a multiple of every vector
/// path's lanes).
const LANES: usize = 8;

pub struct SpongeEvaluator<'a, E: FieldElement<BaseField = BaseElement>> {
    air: &'a SpongeAir,
    rands: AuxRandElements<E>,
    coefficients: ConstraintCompositionCoefficients<E>,
}

impl<'a, E: FieldElement<BaseField = BaseElement>> SpongeEvaluator<'a, E> {
    pub fn new(
        air: &'a SpongeAir,
        rands: Option<AuxRandElements<E>>,
        coefficients: ConstraintCompositionCoefficients<E>,
    ) -> Self {
        SpongeEvaluator {
            air,
            rands: rands.expect("the segment AIR has an auxiliary trace"),
            coefficients,
        }
    }
}

/// What the constraints need at one position in the block (a point's index mod `8·blowup`).
struct Position<E: FieldElement<BaseField = BaseElement>> {
    /// The Rescue round constraints' coefficients times `1 − σ_7`.
    round: [E; STATE_WIDTH],
    /// The capacity constraints' coefficients times `σ_7`.
    capacity: [E; 4],
    /// ARK1 and ARK2.
    arks: Vec<BaseElement>,
    aux: AuxTerms<BaseElement, E>,
}

/// The transition constraints' share of the composition, `Σ_k c_k·C_k(x)` over the main and the
/// auxiliary constraints, one point at a time (the vector path in [`lanes`] computes the same
/// eight points at a time).
struct Transition<'a, E: FieldElement<BaseField = BaseElement>> {
    air: &'a SpongeAir,
    /// By position in the block (a point's index mod `8·blowup`).
    by_position: Vec<Position<E>>,
    cube_coef: Vec<E>,
    step_coef: E,
    aux_coef: Vec<E>,
}

impl<E: FieldElement<BaseField = BaseElement>> Transition<'_, E> {
    /// The sum at a point at `position` in the block, from its frames and the range table's
    /// values there; `t_aux` holds the auxiliary residuals.
    fn at(
        &self,
        position: usize,
        main: &EvaluationFrame<BaseElement>,
        aux: &EvaluationFrame<E>,
        table: (BaseElement, BaseElement),
        t_aux: &mut [E],
    ) -> E {
        let pos = &self.by_position[position];
        let (cur, next) = (main.current(), main.next());
        let r = main_residuals(cur, next, &pos.arks);
        let mut acc = self.step_coef.mul_base(r.step);
        for (k, v) in pos.round.iter().zip(&r.round) {
            acc += k.mul_base(*v);
        }
        for (k, v) in self.cube_coef.iter().zip(r.cube.iter().chain(&r.back_cube)) {
            acc += k.mul_base(*v);
        }
        for (k, v) in pos.capacity.iter().zip(&r.capacity) {
            acc += k.mul_base(*v);
        }
        let rows = AuxRows {
            cur: aux.current(),
            next: aux.next(),
        };
        self.air
            .aux_residuals(cur, next, rows, table.0, table.1, &pos.aux, t_aux);
        for (c, v) in self.aux_coef.iter().zip(t_aux.iter()) {
            acc += *c * *v;
        }
        acc
    }

    /// The sums at `out.len()` consecutive points, the first at `position` in the block and at
    /// row `table.2` of the range table's columns `table.0` (`T`) and `table.1` (`T_next`), one
    /// point at a time: the scalar path, where the CPU has no vector path.
    fn points(
        &self,
        position: usize,
        main: &[EvaluationFrame<BaseElement>],
        aux: &[EvaluationFrame<E>],
        table: (&[BaseElement], &[BaseElement], usize),
        out: &mut [E],
        t_aux: &mut [E],
    ) {
        let table_mask = table.0.len() - 1;
        for (l, acc) in out.iter_mut().enumerate() {
            let ti = (table.2 + l) & table_mask;
            *acc = self.at(
                (position + l) % self.by_position.len(),
                &main[l],
                &aux[l],
                (table.0[ti], table.1[ti]),
                t_aux,
            );
        }
    }
}

/// A boundary group: the row it applies to (as `g^r`) and its constraints (column, value,
/// coefficient).
struct Group<V, E> {
    root: BaseElement,
    constraints: Vec<(usize, V, E)>,
}

impl<V, E> Group<V, E>
where
    V: FieldElement<BaseField = BaseElement>,
    E: FieldElement<BaseField = BaseElement> + ExtensionOf<V>,
{
    /// Winterfell's group of single assertions on one row (its divisor is `x − g^r`).
    fn of(g: &BoundaryConstraintGroup<V, E>) -> Self {
        let numerator = g.divisor().numerator();
        assert!(
            numerator.len() == 1 && numerator[0].0 == 1,
            "single assertions only"
        );
        Group {
            root: numerator[0].1,
            constraints: g
                .constraints()
                .iter()
                .map(|c| (c.column(), c.poly()[0], *c.cc()))
                .collect(),
        }
    }
}

impl<E: FieldElement<BaseField = BaseElement>> ConstraintEvaluator<E> for SpongeEvaluator<'_, E> {
    type Air = SpongeAir;

    fn evaluate<T: TraceLde<E>>(
        self,
        trace: &T,
        domain: &StarkDomain<BaseElement>,
    ) -> CompositionPolyTrace<E> {
        let _span = tracing::info_span!("evaluate_constraints").entered();
        let air = self.air;
        let n = air.trace_length();
        let size = domain.ce_domain_size();
        assert_eq!(
            domain.ce_to_lde_blowup(),
            1,
            "the constraint and LDE domains are the same"
        );
        let blowup = size / n;
        let transition = air.get_transition_constraints(&self.coefficients.transition);
        let main_coef = transition.main_constraint_coef();
        let aux_coef = transition.aux_constraint_coef();
        let num_aux = transition.num_aux_constraints();
        let boundary = air.get_boundary_constraints(Some(&self.rands), &self.coefficients.boundary);
        let main_groups: Vec<Group<BaseElement, E>> =
            boundary.main_constraints().iter().map(Group::of).collect();
        let aux_groups: Vec<Group<E, E>> =
            boundary.aux_constraints().iter().map(Group::of).collect();
        let roots: Vec<BaseElement> = {
            let mut r: Vec<BaseElement> = main_groups
                .iter()
                .map(|g| g.root)
                .chain(aux_groups.iter().map(|g| g.root))
                .collect();
            r.sort_by_key(|x| x.as_int());
            r.dedup();
            r
        };
        let root_index = |root: BaseElement| roots.iter().position(|r| *r == root).unwrap();
        let main_slots: Vec<usize> = main_groups.iter().map(|g| root_index(g.root)).collect();
        let aux_slots: Vec<usize> = aux_groups.iter().map(|g| root_index(g.root)).collect();

        // Periodic columns over the domain: a column of period c takes `blowup·c` distinct values,
        // the value at point i being the one at i mod blowup·c.
        let periodic: Vec<Vec<BaseElement>> = air
            .get_periodic_column_polys()
            .iter()
            .map(|poly| {
                let c = poly.len();
                let offset = domain.offset().exp((n / c) as u64);
                fft::evaluate_poly_with_offset(poly, &fft::get_twiddles(c), offset, blowup)
            })
            .collect();
        // Everything that depends on a point only through its position in the block (the period-8
        // columns) is computed once per position: the main constraints' coefficients times their
        // periodic factors, the round constants, the auxiliary terms.
        let positions = blowup * CYCLE;
        let at = |r: usize| -> Vec<BaseElement> {
            periodic.iter().map(|col| col[r % col.len()]).collect()
        };
        let by_position = (0..positions)
            .map(|r| {
                let pv = at(r);
                let absorb = pv[P_SEL + CYCLE - 1];
                Position {
                    round: std::array::from_fn(|i| {
                        main_coef[i].mul_base(BaseElement::ONE - absorb)
                    }),
                    capacity: std::array::from_fn(|i| {
                        main_coef[3 * STATE_WIDTH + i].mul_base(absorb)
                    }),
                    arks: pv[P_ARK1..P_ARK2 + STATE_WIDTH].to_vec(),
                    aux: AuxTerms::new(&pv, self.rands.rand_elements()),
                }
            })
            .collect();
        let constraints = Transition {
            air,
            by_position,
            cube_coef: main_coef[STATE_WIDTH..3 * STATE_WIDTH].to_vec(),
            step_coef: main_coef[3 * STATE_WIDTH + 4],
            aux_coef: aux_coef.to_vec(),
        };
        let table = (&periodic[P_T], &periodic[P_TN]);
        let table_mask = table.0.len() - 1;
        let main_consts: Vec<E> = main_groups
            .iter()
            .map(|g| {
                g.constraints
                    .iter()
                    .fold(E::ZERO, |a, (_, v, cc)| a + cc.mul_base(*v))
            })
            .collect();
        let aux_consts: Vec<E> = aux_groups
            .iter()
            .map(|g| {
                g.constraints
                    .iter()
                    .fold(E::ZERO, |a, (_, v, cc)| a + *cc * *v)
            })
            .collect();

        // The transition divisor: Z(x) = (x^n − 1) / (x − g^(n−1)); x^n takes `blowup` values.
        let g = BaseElement::get_root_of_unity(n.ilog2());
        let last = g.exp((n - 1) as u64);
        let w = domain.ce_domain_generator();
        let offset_n = domain.offset().exp(n as u64);
        let w_n = w.exp(n as u64);
        let inv_xn_1 = batch_inversion(
            &(0..blowup)
                .map(|k| offset_n * w_n.exp(k as u64) - BaseElement::ONE)
                .collect::<Vec<_>>(),
        );

        let main_width = air.trace_info().main_trace_width();
        let aux_width = air.trace_info().aux_segment_width();
        #[cfg(target_arch = "x86_64")]
        let vector = lanes::TransitionLanes::new(&constraints);
        #[cfg(not(target_arch = "x86_64"))]
        let vector: Option<()> = None;
        let mut out = vec![E::ZERO; size];
        let eval_chunk = |(c, chunk): (usize, &mut [E])| {
            let first = c * CHUNK;
            let mut x = domain.offset() * w.exp(first as u64);
            let mut xs = Vec::with_capacity(chunk.len());
            for _ in 0..chunk.len() {
                xs.push(x);
                x *= w;
            }
            let mut dens = Vec::with_capacity(chunk.len() * roots.len());
            for x in &xs {
                for r in &roots {
                    dens.push(*x - *r);
                }
            }
            let inv_dens = batch_inversion(&dens);
            let mut main_frames: Vec<EvaluationFrame<BaseElement>> = (0..LANES)
                .map(|_| EvaluationFrame::new(main_width))
                .collect();
            let mut aux_frames: Vec<EvaluationFrame<E>> = (0..LANES)
                .map(|_| EvaluationFrame::new(aux_width))
                .collect();
            let mut transition_acc = [E::ZERO; LANES];
            let mut t_aux = vec![E::ZERO; num_aux];
            let len = chunk.len();
            for (j, slot) in chunk.iter_mut().enumerate() {
                let i = first + j;
                let lane = j % LANES;
                if lane == 0 {
                    // The transition constraints of the next 8 points together.
                    let count = LANES.min(len - j);
                    for l in 0..count {
                        trace.read_main_trace_frame_into(i + l, &mut main_frames[l]);
                        trace.read_aux_trace_frame_into(i + l, &mut aux_frames[l]);
                    }
                    let position = i & (positions - 1);
                    let ti = i & table_mask;
                    match &vector {
                        #[cfg(target_arch = "x86_64")]
                        Some(vector) if count == LANES => vector.evaluate(
                            position,
                            &main_frames,
                            &aux_frames,
                            (&table.0[ti..ti + LANES], &table.1[ti..ti + LANES]),
                            &mut transition_acc,
                        ),
                        _ => constraints.points(
                            position,
                            &main_frames,
                            &aux_frames,
                            (table.0, table.1, ti),
                            &mut transition_acc[..count],
                            &mut t_aux,
                        ),
                    }
                }
                let (cur, aux_frame) = (main_frames[lane].current(), &aux_frames[lane]);
                let acc = transition_acc[lane];
                let x = xs[j];
                let mut h = acc.mul_base((x - last) * inv_xn_1[i & (blowup - 1)]);
                let inv = &inv_dens[j * roots.len()..(j + 1) * roots.len()];
                for ((grp, &s), k) in main_groups.iter().zip(&main_slots).zip(&main_consts) {
                    let mut num = -*k;
                    for (col, _, cc) in &grp.constraints {
                        num += cc.mul_base(cur[*col]);
                    }
                    h += num.mul_base(inv[s]);
                }
                let cur = aux_frame.current();
                for ((grp, &s), k) in aux_groups.iter().zip(&aux_slots).zip(&aux_consts) {
                    let mut num = -*k;
                    for (col, _, cc) in &grp.constraints {
                        num += *cc * cur[*col];
                    }
                    h += num.mul_base(inv[s]);
                }
                *slot = h;
            }
        };
        out.par_chunks_mut(CHUNK).enumerate().for_each(eval_chunk);
        CompositionPolyTrace::new(out)
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::air::{
        AUX_RANDS, AUX_WIDTH, MAIN_WIDTH, NUM_MAIN_CONSTRAINTS, P_TN, SegmentPublic, Shape,
    };
    use crate::goldilocks::P;
    use crate::sponge;
    use crate::stark::proof_options;
    use winterfell::TraceInfo;
    use winterfell::math::fields::CubeExtension;

    type E3 = CubeExtension<BaseElement>;

    /// Random field elements, with p − 1, 0 and 1 among them.
    fn elements(seed: u64) -> impl FnMut() -> BaseElement {
        let mut next = crate::sample::xorshift(seed);
        let mut count = 0u64;
        move || {
            count += 1;
            let x = next();
            match x % 16 {
                0 => BaseElement::new(P - 1),
                1 => BaseElement::ZERO,
                2 => BaseElement::ONE,
                _ => BaseElement::new(x ^ count),
            }
        }
    }

    /// An AIR of each shape: a middle segment, the last segment with its last element on the last
    /// row (shape A) unscaled and scaled, and the last element earlier (shape B, scaled).
    fn airs() -> Vec<SpongeAir> {
        let full = (sponge::BLOCK_BYTES * 2048) as u64;
        [
            (0, 100, full),
            (0, 2048, full),
            (0, 2048, full - 6),
            (0, 100, (sponge::BLOCK_BYTES * 100) as u64 - 6),
        ]
        .into_iter()
        .map(|(start_block, block_count, input_size)| {
            let public = SegmentPublic {
                challenge: [7; 32],
                index: 0,
                start_block,
                block_count,
                input_size,
                start: [BaseElement::ONE; STATE_WIDTH],
                end: [BaseElement::ONE; STATE_WIDTH],
            };
            let shape = Shape::new(&public).expect("a valid segment");
            let info = TraceInfo::new_multi_segment(
                MAIN_WIDTH,
                AUX_WIDTH,
                AUX_RANDS,
                shape.trace_len,
                vec![],
            );
            SpongeAir::new(info, public, proof_options())
        })
        .collect()
    }

    #[test]
    fn vector_transition_composition_equals_the_scalar_one() {
        let mut next = elements(0x5851_f42d_4c95_7f2d);
        let mut ext = {
            let mut next = elements(0x2d35_8dcc_aa6c_78a5);
            move || E3::new(next(), next(), next())
        };
        let positions = 4 * CYCLE;
        let airs = airs();
        assert_eq!(
            airs.iter()
                .map(|a| (a.shape().gated_last_row, a.shape().scaled().is_some()))
                .collect::<Vec<_>>(),
            [(true, false), (true, false), (true, true), (false, true)]
        );
        for air in &airs {
            let rands: Vec<E3> = (0..16).map(|_| ext()).collect();
            let by_position: Vec<Position<E3>> = (0..positions)
                .map(|_| {
                    let pv: Vec<BaseElement> = (0..=P_TN).map(|_| next()).collect();
                    Position {
                        round: std::array::from_fn(|_| ext()),
                        capacity: std::array::from_fn(|_| ext()),
                        arks: pv[P_ARK1..P_ARK2 + STATE_WIDTH].to_vec(),
                        aux: AuxTerms::new(&pv, &rands),
                    }
                })
                .collect();
            let num_aux = air.context().num_transition_constraints() - NUM_MAIN_CONSTRAINTS;
            let constraints = Transition {
                air,
                by_position,
                cube_coef: (0..2 * STATE_WIDTH).map(|_| ext()).collect(),
                step_coef: ext(),
                aux_coef: (0..num_aux).map(|_| ext()).collect(),
            };
            // Every width the CPU has, not only the widest that `TransitionLanes::new` takes.
            let vectors = lanes::TransitionLanes::each_width(&constraints);
            if vectors.is_empty() {
                eprintln!(
                    "neither AVX-512F nor AVX2 on this CPU: the vector path is not used here"
                );
                return;
            }
            let mut t_aux = vec![E3::ZERO; num_aux];
            let table: (Vec<BaseElement>, Vec<BaseElement>) = (
                (0..8 * LANES).map(|_| next()).collect(),
                (0..8 * LANES).map(|_| next()).collect(),
            );
            for round in 0..200 {
                let main: Vec<EvaluationFrame<BaseElement>> = (0..LANES)
                    .map(|_| {
                        EvaluationFrame::from_rows(
                            (0..MAIN_WIDTH).map(|_| next()).collect(),
                            (0..MAIN_WIDTH).map(|_| next()).collect(),
                        )
                    })
                    .collect();
                let aux: Vec<EvaluationFrame<E3>> = (0..LANES)
                    .map(|_| {
                        EvaluationFrame::from_rows(
                            (0..AUX_WIDTH).map(|_| ext()).collect(),
                            (0..AUX_WIDTH).map(|_| ext()).collect(),
                        )
                    })
                    .collect();
                let position = (round * LANES) % positions;
                let ti = (round * LANES * 3) % table.0.len();
                let slice = |col: &[BaseElement]| col[ti..ti + LANES].to_vec();
                let (t, tn) = (slice(&table.0), slice(&table.1));
                let mut expect = [E3::ZERO; LANES];
                constraints.points(
                    position,
                    &main,
                    &aux,
                    (&table.0, &table.1, ti),
                    &mut expect,
                    &mut t_aux,
                );
                for (w, vector) in vectors.iter().enumerate() {
                    let mut got = [E3::ZERO; LANES];
                    vector.evaluate(position, &main, &aux, (&t, &tn), &mut got);
                    for l in 0..LANES {
                        assert_eq!(
                            got[l],
                            expect[l],
                            "{:?} width {w} round {round} lane {l}",
                            air.shape()
                        );
                    }
                }
            }
        }
    }
}
