//! What a segment proof proves: every packing of an input verifies, and traces forged with the
//! crate's own trace builder and prover (a wrong length, elements that are no byte packing, a
//! moved or missing pad, a non-zero tail) do not.

mod common;

use common::data;
use proofmesh_prover::air::{SegmentPublic, Shape};
use proofmesh_prover::sponge::{self, BLOCK_BYTES, RATE, State};
use proofmesh_prover::stark::{self, SpongeProver};
use proofmesh_prover::{pipeline, trace};
use winterfell::math::{StarkField, fields::f64::BaseElement};

/// The packed values of every block of `bytes`.
fn packing(bytes: &[u8]) -> Vec<[u64; RATE]> {
    let n = bytes.len() as u64;
    (0..sponge::num_blocks(n))
        .map(|k| sponge::block_values(k, &bytes[k as usize * BLOCK_BYTES..], n))
        .collect()
}

/// Builds the one-segment trace of `values` (the crate's own builder), claims `input_size` and
/// the end state the values reach, proves it (the crate's own prover) and verifies. A forged
/// trace may already be refused by the prover (debug builds check the trace before proving).
fn prove_and_verify(input_size: u64, values: &[[u64; RATE]]) -> Result<(), String> {
    let start: State = sponge::initial_state(input_size);
    let mut public = SegmentPublic {
        challenge: [3; 32],
        index: 0,
        start_block: 0,
        block_count: values.len() as u64,
        input_size,
        start,
        end: start,
    };
    let shape = Shape::new(&public)?;
    let (t, end) = trace::build_main(&shape, &start, &|k| values[k as usize], &|| false)
        .map_err(|_| "cancelled".to_string())?;
    public.end = end;
    let proof = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pipeline::prove(&SpongeProver::new(public.clone()), t)
    }))
    .map_err(|_| "the prover refused the trace".to_string())?
    .map_err(|e| e.to_string())?;
    stark::verify(proof, public)
}

fn digest_of_values(input_size: u64, values: &[[u64; RATE]]) -> [BaseElement; 4] {
    let mut s = sponge::initial_state(input_size);
    for v in values {
        sponge::absorb_permute(&mut s, &v.map(BaseElement::new));
    }
    sponge::digest_of(&s)
}

#[test]
fn every_last_element_length_and_position_verifies() {
    // The last element's data length (n mod 7) and its position in the last block (m mod 8)
    // decide the limbs asserted zero, the extra lookup and where the last row's LogUp closes;
    // 2^11 blocks fill a 2^14-row trace exactly (the last element on the last row).
    let full = 2048 * BLOCK_BYTES;
    for n in [1, 9, 23, 48, 55, 56, 57, full - 1, full - 7, full] {
        let bytes = data(n, n as u64);
        let values = packing(&bytes);
        assert_eq!(
            digest_of_values(n as u64, &values),
            sponge::hash(&bytes),
            "n={n}"
        );
        prove_and_verify(n as u64, &values).unwrap_or_else(|e| panic!("n={n}: {e}"));
    }
}

#[test]
fn a_longer_input_is_refused_as_a_shorter_one() {
    // n + 1 bytes have the same element count as n: only the pad's position tells them apart.
    let bytes = data(101, 1);
    assert_eq!(sponge::num_elements(100), sponge::num_elements(101));
    let values = packing(&bytes);
    prove_and_verify(101, &values).unwrap();
    assert!(prove_and_verify(100, &values).is_err());
    let shorter = packing(&bytes[..100]);
    assert!(prove_and_verify(101, &shorter).is_err());
}

#[test]
fn elements_that_are_no_byte_packing_are_refused() {
    let n = 3 * BLOCK_BYTES as u64;
    let p_minus_1 = BaseElement::MODULUS - 1;
    let all = vec![[p_minus_1; RATE]; 3];
    assert!(prove_and_verify(n, &all).is_err());
    // One element of 2^56 (eight bytes' worth) among honest ones.
    let mut values = packing(&data(n as usize, 2));
    values[1][3] = 1 << 56;
    assert!(prove_and_verify(n, &values).is_err());
    // The same value split between two elements keeps the sum but not the packing.
    let mut values = packing(&data(n as usize, 3));
    values[0][0] += 1 << 55;
    values[0][1] = values[0][1].wrapping_sub(1 << 55);
    assert!(prove_and_verify(n, &values).is_err());
}

#[test]
fn a_wrong_pad_or_tail_is_refused() {
    for n in [30u64, 56, 200] {
        let bytes = data(n as usize, n);
        let honest = packing(&bytes);
        prove_and_verify(n, &honest).unwrap();
        let m = sponge::num_elements(n);
        let (b, j) = (((m - 1) / 8) as usize, ((m - 1) % 8) as usize);
        let len = n - 7 * (m - 1);
        let pad = 1u64 << (8 * len);
        // No pad byte.
        let mut v = honest.clone();
        v[b][j] -= pad;
        assert!(prove_and_verify(n, &v).is_err(), "n={n}: no pad");
        // The pad one byte further.
        let mut v = honest.clone();
        v[b][j] = v[b][j] - pad + (pad << 8);
        assert!(prove_and_verify(n, &v).is_err(), "n={n}: moved pad");
        // A data byte above the pad.
        let mut v = honest.clone();
        v[b][j] += pad << 1;
        assert!(
            prove_and_verify(n, &v).is_err(),
            "n={n}: byte above the pad"
        );
        // A non-zero element after the last one.
        if j < 7 {
            let mut v = honest.clone();
            v[b][j + 1] = 1;
            assert!(prove_and_verify(n, &v).is_err(), "n={n}: tail");
        }
    }
}
