//! End-to-end tests of the phases on small segments.

mod common;

use common::{Job, data, job, job_with_segments, tmpdir, verify, verify_with};
use proofmesh_prover::ctx::Ctx;
use proofmesh_prover::error;
use proofmesh_prover::input::InputRef;
use proofmesh_prover::plan;
use proofmesh_prover::sponge;
use proofmesh_prover::verify::{self, Expect};
use proofmesh_prover::{prove, segment, statement};
use winter_crypto::{ElementHasher, Hasher, hashers::Rp64_256};

fn expected_digest(bytes: &[u8]) -> String {
    let d = Rp64_256::hash_elements(&sponge::pack(bytes));
    hex::encode(sponge::elems_to_bytes(d.as_elements()))
}

#[test]
fn one_two_and_seven_segments_give_the_native_digest() {
    let bytes = data(56 * 14 + 13, 1);
    let want = expected_digest(&bytes);
    for n in [1, 2, 7] {
        let j = job(&bytes, n, &format!("n{n}"));
        assert_eq!(j.segments.len() as u64, n);
        let agg = j.aggregate().unwrap();
        assert_eq!(agg.digest, want, "{n} segments");
        let v = verify(&agg.bytes, Some(&want));
        assert!(v.valid, "{n} segments: {:?}", v.reason);
        assert_eq!(v.segments, Some(n));
    }
}

#[test]
fn edge_sizes_match_the_reference() {
    // 0 and 1 byte and one full block: Rp64_256::hash itself; 3 full blocks: hash_elements.
    for (n, segs) in [(0usize, 1u64), (1, 1), (56, 1), (56 * 3, 2), (7 * 20, 2)] {
        let bytes = data(n, n as u64 + 5);
        let j = job(&bytes, segs, &format!("edge{n}"));
        let agg = j.aggregate().unwrap();
        assert_eq!(agg.digest, expected_digest(&bytes), "n={n}");
        if n <= 56 {
            let r = Rp64_256::hash(&bytes);
            assert_eq!(
                agg.digest,
                hex::encode(sponge::elems_to_bytes(r.as_elements())),
                "n={n}"
            );
        }
        assert!(verify(&agg.bytes, Some(&agg.digest)).valid, "n={n}");
    }
}

#[test]
fn contributions_are_deterministic_with_and_without_hints() {
    let bytes = data(56 * 9 + 3, 2);
    let a = job(&bytes, 3, "det-a");
    let b = job(&bytes, 3, "det-b");
    assert_eq!(a.contributions, b.contributions);
    let ctx = Ctx::none();
    for (s, c) in a.segments.iter().zip(&a.contributions) {
        let without = statement::contribute(a.size, s, &a.input, None, &ctx).unwrap();
        assert_eq!(&without, c);
        // From a slice file and the hints only.
        let slice = &bytes[s.input_offset as usize..(s.input_offset + s.input_length) as usize];
        let sp = a.dir.join(format!("slice{}", s.index));
        std::fs::write(&sp, slice).unwrap();
        let input = InputRef {
            path: sp.to_string_lossy().into(),
            offset: s.input_offset,
        };
        let from_slice = statement::contribute(a.size, s, &input, Some(&a.hints), &ctx).unwrap();
        assert_eq!(&from_slice, c);
        // Without hints a slice is not enough (unless it is segment 0).
        if s.index > 0 {
            let e = statement::contribute(a.size, s, &input, None, &ctx).unwrap_err();
            assert_eq!(e.code, error::INVALID_SEGMENT);
        }
    }
    // Two proves of the same segment and challenge: the same statement, both valid (the bytes may
    // differ: winterfell's parallel grinding takes any valid nonce).
    let r1 = prove::prove(a.size, &a.segments[1], &a.input, None, a.challenge, &ctx).unwrap();
    let r2 = prove::prove(
        a.size,
        &a.segments[1],
        &a.input,
        Some(&a.hints),
        a.challenge,
        &ctx,
    )
    .unwrap();
    let v1 = verify::verify_segment(&r1.bytes).unwrap();
    let v2 = verify::verify_segment(&r2.bytes).unwrap();
    assert_eq!(v1.statement, v2.statement);
    assert_eq!(v1.contribution, a.contributions[1]);
    assert_eq!(v2.contribution, a.contributions[1]);
}

fn expect_invalid(j: &Job, segment: usize, reason_part: &str) {
    let e = j.aggregate().expect_err("aggregate must fail");
    assert_eq!(e.code, error::PROOF_INVALID, "{e}");
    let data = e.data.clone().unwrap();
    assert_eq!(data["segment"], segment, "{e}");
    assert!(
        data["reason"].as_str().unwrap().contains(reason_part),
        "reason '{}' lacks '{reason_part}'",
        data["reason"]
    );
}

#[test]
fn flipped_byte_in_a_proof_fails() {
    let bytes = data(56 * 6, 3);
    let j = job(&bytes, 2, "flip");
    let agg = j.aggregate().unwrap();
    let orig = std::fs::read(&j.proofs[1]).unwrap();
    // Flip bytes all along the STARK part (after the header).
    let header_end = 12 + u32::from_le_bytes(orig[8..12].try_into().unwrap()) as usize;
    for pos in [
        header_end + 3,
        header_end + 200,
        (header_end + orig.len()) / 2,
        orig.len() - 5,
    ] {
        let mut t = orig.clone();
        t[pos] ^= 0x20;
        std::fs::write(&j.proofs[1], &t).unwrap();
        let e = j.aggregate().expect_err("tampered proof must fail");
        assert_eq!(e.code, error::PROOF_INVALID);
        assert_eq!(e.data.unwrap()["segment"], 1);
    }
    std::fs::write(&j.proofs[1], &orig).unwrap();
    // A flipped byte in the final bundle (in the last segment's STARK).
    let mut t = agg.bytes.clone();
    let n = t.len();
    t[n - 100] ^= 1;
    let v = verify(&t, None);
    assert!(!v.valid);
    assert!(v.reason.unwrap().contains("segment 1"));
    // ...and in the bundle header's digest.
    let s = String::from_utf8_lossy(&agg.bytes).to_string();
    let d = agg.digest.clone();
    let pos = s.find(&d).unwrap();
    let mut t = agg.bytes.clone();
    t[pos] = if t[pos] == b'0' { b'1' } else { b'0' };
    let v = verify(&t, None);
    assert!(!v.valid, "tampered header digest");
}

#[test]
fn wrong_challenge_fails() {
    let bytes = data(56 * 4, 4);
    let mut j = job(&bytes, 2, "chal");
    // A proof made for another challenge.
    let ctx = Ctx::none();
    let other = [9u8; 32];
    let r = prove::prove(
        j.size,
        &j.segments[1],
        &j.input,
        Some(&j.hints),
        other,
        &ctx,
    )
    .unwrap();
    std::fs::write(&j.proofs[1], &r.bytes).unwrap();
    expect_invalid(&j, 1, "another challenge");
    // The same proof with the header's challenge rewritten to the job's: the STARK fails.
    let text = String::from_utf8_lossy(&r.bytes).to_string();
    let pos = text.find(&hex::encode(other)).unwrap();
    let mut t = r.bytes.clone();
    t[pos..pos + 64].copy_from_slice(hex::encode(j.challenge).as_bytes());
    std::fs::write(&j.proofs[1], &t).unwrap();
    expect_invalid(&j, 1, "does not verify");
    // A challenge that is not the SHA-256 of the contributions.
    j.challenge = other;
    let e = j.aggregate().unwrap_err();
    assert_eq!(e.code, error::INVALID_PARAMS);
    assert!(e.message.contains("challenge"));
}

#[test]
fn swapped_segments_fail() {
    let bytes = data(56 * 4, 5);
    let mut j = job(&bytes, 2, "swap");
    j.proofs.swap(0, 1);
    expect_invalid(&j, 0, "for segment 1");
    // Swapping the contributions too changes the challenge.
    j.contributions.swap(0, 1);
    let e = j.aggregate().unwrap_err();
    assert_eq!(e.code, error::INVALID_PARAMS);
}

#[test]
fn gap_between_segments_fails() {
    let bytes = data(56 * 5, 6);
    let size = bytes.len() as u64;
    let segs = vec![
        segment::segment_for(0, 0, 2, size),
        segment::segment_for(1, 3, 2, size),
    ];
    let j = job_with_segments(&bytes, segs, "gap");
    expect_invalid(&j, 1, "gap or overlap");
    let segs = vec![
        segment::segment_for(0, 0, 3, size),
        segment::segment_for(1, 2, 3, size),
    ];
    let j = job_with_segments(&bytes, segs, "overlap");
    expect_invalid(&j, 1, "gap or overlap");
    let segs = vec![segment::segment_for(0, 0, 4, size)];
    let j = job_with_segments(&bytes, segs, "short");
    expect_invalid(&j, 0, "cover 4 blocks");
}

#[test]
fn wrong_initial_state_fails() {
    let bytes = data(56 * 4, 7);
    let mut j = job(&bytes, 2, "init");
    // Hints that start the sponge from another state (a capacity of 1 more element).
    let mut bad = sponge::initial_state(j.size);
    bad[0] += winterfell::math::fields::f64::BaseElement::new(1);
    let hints = serde_json::json!({
        "format": "proofmesh-hints/1", "program": "rescue-sponge", "inputSize": j.size,
        "totalBlocks": sponge::num_blocks(j.size),
        "states": [{"block": 0, "state": sponge::state_to_hex(&bad)}],
    });
    let hp = j.dir.join("bad-hints");
    std::fs::write(&hp, hints.to_string()).unwrap();
    let hp = hp.to_string_lossy().to_string();
    let ctx = Ctx::none();
    let mut contributions = j.contributions.clone();
    contributions[0] =
        statement::contribute(j.size, &j.segments[0], &j.input, Some(&hp), &ctx).unwrap();
    let challenge = statement::challenge(&j.name, &contributions);
    let mut proofs = Vec::new();
    for s in &j.segments {
        let h = if s.index == 0 { &hp } else { &j.hints };
        let r = prove::prove(j.size, s, &j.input, Some(h), challenge, &ctx).unwrap();
        let p = j.dir.join(format!("bad{}", s.index));
        std::fs::write(&p, &r.bytes).unwrap();
        proofs.push(p.to_string_lossy().to_string());
    }
    j.contributions = contributions;
    j.challenge = challenge;
    j.proofs = proofs;
    expect_invalid(&j, 0, "initial state");
}

#[test]
fn wrong_digest_and_wrong_job_fail_verification() {
    let bytes = data(100, 8);
    let j = job(&bytes, 1, "digest");
    let agg = j.aggregate().unwrap();
    let mut wrong = agg.digest.clone().into_bytes();
    wrong[0] = if wrong[0] == b'a' { b'b' } else { b'a' };
    let v = verify(&agg.bytes, Some(std::str::from_utf8(&wrong).unwrap()));
    assert!(!v.valid);
    assert!(v.reason.unwrap().contains("not the expected"));
    let v = verify_with(
        &agg.bytes,
        Expect {
            job: Some("another-job"),
            ..Default::default()
        },
    );
    assert!(!v.valid);
    assert!(v.reason.unwrap().contains("job"));
    let v = verify(b"garbage", None);
    assert!(!v.valid);
}

#[test]
fn bad_segments_and_hints_are_errors() {
    let bytes = data(56 * 3, 9);
    let j = job(&bytes, 1, "bad");
    let ctx = Ctx::none();
    let mut s = j.segments[0].clone();
    s.block_count = 5;
    let e = statement::contribute(j.size, &s, &j.input, None, &ctx).unwrap_err();
    assert_eq!(e.code, error::INVALID_SEGMENT);
    let mut s = j.segments[0].clone();
    s.input_offset = 1;
    let e = statement::contribute(j.size, &s, &j.input, None, &ctx).unwrap_err();
    assert_eq!(e.code, error::INVALID_SEGMENT);
    let missing = InputRef {
        path: "/nonexistent/input".into(),
        offset: 0,
    };
    let e = statement::contribute(j.size, &j.segments[0], &missing, None, &ctx).unwrap_err();
    assert_eq!(e.code, error::IO_ERROR);
    let hp = j.dir.join("junk-hints");
    std::fs::write(&hp, "{not json").unwrap();
    let e = statement::contribute(
        j.size,
        &j.segments[0],
        &j.input,
        Some(&hp.to_string_lossy()),
        &ctx,
    )
    .unwrap_err();
    assert_eq!(e.code, error::INVALID_HINTS);
    // Hints of another input size.
    let e = statement::contribute(
        j.size - 1,
        &segment::segment_for(0, 0, 3, j.size - 1),
        &j.input,
        Some(&j.hints),
        &ctx,
    )
    .unwrap_err();
    assert_eq!(e.code, error::INVALID_HINTS);
}

#[test]
fn cancelled_prove_stops() {
    let bytes = data(56 * 64, 10);
    let j = job(&bytes, 1, "cancel");
    let ctx = Ctx {
        cancelled: &|| true,
        progress: &|_, _| {},
    };
    let e = prove::prove(j.size, &j.segments[0], &j.input, None, j.challenge, &ctx).unwrap_err();
    assert_eq!(e.code, error::CANCELLED);
}

#[test]
fn plan_splits_by_units_and_caps_segments() {
    let size = 56 * 100;
    let w = vec![
        ("A".to_string(), 3),
        ("B".to_string(), 1),
        ("C".to_string(), 0),
    ];
    let s = plan::split(size, &w, 16).unwrap();
    let a: u64 = s
        .iter()
        .filter(|p| p.worker == "A")
        .map(|p| p.segment.block_count)
        .sum();
    let b: u64 = s
        .iter()
        .filter(|p| p.worker == "B")
        .map(|p| p.segment.block_count)
        .sum();
    assert_eq!((a, b), (75, 25));
    assert!(
        s.iter()
            .all(|p| p.segment.block_count <= 16 && p.worker != "C")
    );
    let mut next = 0;
    for (i, p) in s.iter().enumerate() {
        assert_eq!(p.segment.index, i as u64);
        assert_eq!(p.segment.start_block, next);
        segment::check_segment(&p.segment, size).unwrap();
        next += p.segment.block_count;
    }
    assert_eq!(next, 100);
    assert_eq!(plan::split(0, &w, 16).unwrap().len(), 1);
    assert!(plan::split(size, &[("A".into(), 0)], 16).is_err());
}

#[test]
fn random_mutations_never_panic_and_never_verify() {
    let bytes = data(56 * 8, 11);
    let j = job(&bytes, 2, "fuzz");
    let agg = j.aggregate().unwrap();
    let orig = agg.bytes.clone();
    let mut next = proofmesh_prover::sample::xorshift(0x1234_5678_9abc_def0);
    for round in 0..600 {
        let mut t = orig.clone();
        match round % 3 {
            0 => {
                let pos = (next() as usize) % t.len();
                t[pos] ^= 1 << (next() % 8);
            }
            1 => {
                let pos = (next() as usize) % t.len();
                t.truncate(pos);
            }
            _ => {
                let pos = (next() as usize) % t.len();
                let n = 1 + (next() as usize) % 16;
                for k in pos..(pos + n).min(t.len()) {
                    t[k] = next() as u8;
                }
            }
        }
        if t == orig {
            continue;
        }
        let v = verify(&t, Some(&agg.digest));
        assert!(!v.valid, "mutation {round} verified");
        assert!(v.reason.is_some());
    }
}

#[test]
fn plan_with_hints_returns_the_digest_of_the_whole_input() {
    let dir = tmpdir("plan-digest");
    let workers: Vec<(String, u64)> = vec![("A".into(), 2), ("B".into(), 1)];
    for n in [0usize, 1, 56, 57, 1000] {
        let bytes = data(n, n as u64 + 5);
        let path = dir.join(format!("input-{n}"));
        std::fs::write(&path, &bytes).unwrap();
        let input = InputRef {
            path: path.to_string_lossy().into(),
            offset: 0,
        };
        let hints = dir.join(format!("hints-{n}")).to_string_lossy().to_string();
        for max in [1, segment::MAX_SEGMENT_BLOCKS] {
            let plan = plan::plan(&input, &workers, max, Some(&hints), &Ctx::none()).unwrap();
            let json = serde_json::to_value(&plan).unwrap();
            let digest = plan
                .prepared
                .digest
                .expect("a digest when hintsOut is given");
            assert_eq!(
                digest,
                sponge::digest_to_hex(&sponge::hash(&bytes)),
                "n={n}"
            );
            assert_eq!(digest, expected_digest(&bytes), "n={n}");
            assert_eq!(json["digest"], digest.as_str(), "n={n}");
            if n == 0 {
                assert_eq!(digest, "0".repeat(64), "the empty input");
            }
        }
        let plan = plan::plan(&input, &workers, 1, None, &Ctx::none()).unwrap();
        assert!(plan.prepared.digest.is_none());
        let json = serde_json::to_value(plan).unwrap();
        assert!(json.get("digest").is_none(), "no digest without hintsOut");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
