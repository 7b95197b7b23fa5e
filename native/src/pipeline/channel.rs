//! The prover's side of the Fiat–Shamir transcript: what winterfell's private `ProverChannel`
//! does, for our one AIR, field and hash. Every commitment and out-of-domain frame reseeds the
//! public coin in the order winterfell's does, so the coin draws the same challenges and the
//! proof is winterfell's byte for byte.

use crate::air::SpongeAir;
use crate::stark::{Coin, HashFn};
use rayon::prelude::*;
use winter_air::proof::{
    Commitments, Context, OodFrame, Proof, Queries, QuotientOodFrame, TraceOodFrame,
    merge_ood_evaluations,
};
use winter_fri::FriProof;
use winterfell::math::fields::CubeExtension;
use winterfell::{
    Air, AuxRandElements, ConstraintCompositionCoefficients, DeepCompositionCoefficients,
    crypto::{ElementHasher, Hasher, RandomCoin},
    math::{ToElements, fields::f64::BaseElement},
};

/// The extension field every challenge is drawn from (our options fix the cubic extension).
pub type E3 = CubeExtension<BaseElement>;
type Digest = <HashFn as Hasher>::Digest;

pub struct Channel<'a> {
    air: &'a SpongeAir,
    coin: Coin,
    context: Context,
    commitments: Commitments,
    ood_frame: OodFrame,
    pow_nonce: u64,
}

impl<'a> Channel<'a> {
    /// The transcript seeded with the proof's context and the public inputs.
    pub fn new(air: &'a SpongeAir, public_elements: Vec<BaseElement>) -> Channel<'a> {
        let ctx = air.context();
        let context = Context::new::<BaseElement>(
            air.trace_info().clone(),
            air.options().clone(),
            ctx.num_assertions() + ctx.num_transition_constraints(),
        );
        let mut seed = context.to_elements();
        seed.extend(public_elements);
        Channel {
            air,
            coin: Coin::new(&seed),
            context,
            commitments: Commitments::default(),
            ood_frame: OodFrame::default(),
            pow_nonce: 0,
        }
    }

    /// A trace segment's or the constraint evaluations' commitment (both are written and reseed
    /// alike).
    pub fn commit(&mut self, root: Digest) {
        self.commitments.add::<HashFn>(&root);
        self.coin.reseed(root);
    }

    pub fn aux_rand_elements(&mut self) -> AuxRandElements<E3> {
        self.air
            .get_aux_rand_elements(&mut self.coin)
            .expect("auxiliary random elements")
    }

    pub fn constraint_composition_coeffs(&mut self) -> ConstraintCompositionCoefficients<E3> {
        self.air
            .get_constraint_composition_coefficients(&mut self.coin)
            .expect("constraint composition coefficients")
    }

    pub fn ood_point(&mut self) -> E3 {
        self.coin.draw().expect("an out-of-domain point")
    }

    /// Records the out-of-domain frame and reseeds the coin with its hash.
    pub fn send_ood_evaluations(
        &mut self,
        trace: &TraceOodFrame<E3>,
        quotient: &QuotientOodFrame<E3>,
    ) {
        self.ood_frame.set_trace_states::<E3>(trace);
        self.ood_frame.set_quotient_states::<E3>(quotient);
        self.coin
            .reseed(HashFn::hash_elements(&merge_ood_evaluations(
                trace, quotient,
            )));
    }

    pub fn deep_composition_coeffs(&mut self) -> DeepCompositionCoefficients<E3> {
        self.air
            .get_deep_composition_coefficients(&mut self.coin)
            .expect("DEEP composition coefficients")
    }

    /// The proof-of-work nonce: the least one that gives the query seed enough leading zeros.
    /// Winterfell takes any such nonce its threads find first; the least one is the same at any
    /// thread count (and the one winterfell finds on one thread), so proofs are reproducible.
    pub fn grind_query_seed(&mut self) {
        let bits = self.context.options().grinding_factor();
        let coin = &self.coin;
        self.pow_nonce = (1..u64::MAX)
            .into_par_iter()
            .find_first(|&nonce| coin.check_leading_zeros(nonce) >= bits)
            .expect("a nonce");
    }

    /// The sorted, distinct query positions drawn with the nonce.
    pub fn query_positions(&mut self) -> Vec<usize> {
        let mut positions = self
            .coin
            .draw_integers(
                self.context.options().num_queries(),
                self.context.lde_domain_size(),
                self.pow_nonce,
            )
            .expect("query positions");
        positions.sort_unstable();
        positions.dedup();
        positions
    }

    pub fn build_proof(
        self,
        trace_queries: Vec<Queries>,
        constraint_queries: Queries,
        fri_proof: FriProof,
        num_unique_queries: usize,
    ) -> Proof {
        Proof {
            context: self.context,
            num_unique_queries: u8::try_from(num_unique_queries).expect("at most 255 queries"),
            commitments: self.commitments,
            trace_queries,
            constraint_queries,
            ood_frame: self.ood_frame,
            fri_proof,
            pow_nonce: self.pow_nonce,
        }
    }
}

impl winter_fri::ProverChannel<E3> for Channel<'_> {
    type Hasher = HashFn;

    fn commit_fri_layer(&mut self, root: Digest) {
        self.commit(root);
    }

    fn draw_fri_alpha(&mut self) -> E3 {
        self.coin.draw().expect("a FRI folding challenge")
    }
}
