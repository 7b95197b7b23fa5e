//! Final proofs: `verify --input` checks every claim a header makes, a proof has one encoding,
//! and an invalid proof reports nothing it did not prove.

mod common;

use common::{data, job, verify, verify_with};
use proofmesh_prover::ctx::Ctx;
use proofmesh_prover::error;
use proofmesh_prover::proof_file::{
    self, BUNDLE_MAGIC, BundleHeader, SEGMENT_MAGIC, SegmentHeader,
};
use proofmesh_prover::verify::{self, Expect, VerifyResult};
use proofmesh_prover::{prove, statement};
use sha2::{Digest, Sha256};

fn with_input(bytes: &[u8], input: &std::path::Path) -> VerifyResult {
    verify_with(
        bytes,
        Expect {
            input: Some(&input.to_string_lossy()),
            ..Default::default()
        },
    )
}

/// Replaces `from` by `to` (same length) in a file's header.
fn patch(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let text = String::from_utf8_lossy(bytes).to_string();
    let pos = text.find(from).expect("the value is in the header");
    let mut out = bytes.to_vec();
    out[pos..pos + to.len()].copy_from_slice(to.as_bytes());
    out
}

#[test]
fn slice_hashes_of_another_input_are_refused_with_input() {
    // F3: segment headers naming input A's slices, with the digest of input B.
    let size = 56 * 5 + 3;
    let b = data(size, 21);
    let a = data(size, 22);
    let j = job(&b, 2, "slices");
    let a_path = j.dir.join("a");
    std::fs::write(&a_path, &a).unwrap();
    let ctx = Ctx::none();
    let mut forged = Vec::new();
    for (i, p) in j.proofs.iter().enumerate() {
        let honest = std::fs::read(p).unwrap();
        let mut st = verify::verify_segment(&honest).unwrap().statement;
        let seg = &j.segments[i];
        let slice = &a[seg.input_offset as usize..(seg.input_offset + seg.input_length) as usize];
        st.input_sha256 = Sha256::digest(slice).into();
        forged.push(st);
    }
    let contributions: Vec<[u8; 32]> = forged.iter().map(|s| s.contribution()).collect();
    let challenge = statement::challenge(&j.name, &contributions);
    for (i, seg) in j.segments.iter().enumerate() {
        let r = prove::prove(j.size, seg, &j.input, Some(&j.hints), challenge, &ctx).unwrap();
        let honest_sha = hex::encode(Sha256::digest(
            &b[seg.input_offset as usize..(seg.input_offset + seg.input_length) as usize],
        ));
        let honest_contribution = verify::verify_segment(&r.bytes).unwrap().contribution;
        let t = patch(&r.bytes, &honest_sha, &hex::encode(forged[i].input_sha256));
        let t = patch(
            &t,
            &hex::encode(honest_contribution),
            &hex::encode(contributions[i]),
        );
        std::fs::write(&j.proofs[i], t).unwrap();
    }
    let out = j.dir.join("forged").to_string_lossy().to_string();
    verify::aggregate(
        &j.name,
        j.size,
        challenge,
        &contributions,
        &j.proofs,
        &out,
        &ctx,
    )
    .expect("the STARKs do not prove the slice hashes, so aggregate accepts them");
    let bundle = std::fs::read(&out).unwrap();
    assert!(verify(&bundle, None).valid);
    let v = with_input(&bundle, std::path::Path::new(&j.input.path));
    assert!(!v.valid);
    assert!(v.reason.unwrap().contains("SHA-256"), "B's slices");
    let v = with_input(&bundle, &a_path);
    assert!(!v.valid, "A does not hash to the digest");
}

#[test]
fn verify_with_input_checks_size_and_digest() {
    let bytes = data(56 * 3 + 10, 23);
    let j = job(&bytes, 2, "input");
    let agg = j.aggregate().unwrap();
    let v = with_input(&agg.bytes, std::path::Path::new(&j.input.path));
    assert_eq!(
        v,
        VerifyResult {
            valid: true,
            digest: Some(agg.digest.clone()),
            input_size: Some(j.size),
            job: Some(j.name.clone()),
            segments: Some(2),
            reason: None,
        }
    );
    for (name, other) in [
        ("longer", [bytes.as_slice(), b"x"].concat()),
        ("shorter", bytes[..bytes.len() - 1].to_vec()),
        ("flipped", {
            let mut o = bytes.clone();
            o[7] ^= 1;
            o
        }),
    ] {
        let p = j.dir.join(name);
        std::fs::write(&p, &other).unwrap();
        let v = with_input(&agg.bytes, &p);
        assert!(!v.valid, "{name}");
    }
    let missing = verify::verify_bundle(
        &j.dir.join("final").to_string_lossy(),
        Expect {
            input: Some("/nonexistent/input"),
            ..Default::default()
        },
        &Ctx::none(),
    )
    .unwrap_err();
    assert_eq!(missing.code, error::IO_ERROR);
}

/// Re-frames a file's header (magic ‖ u32 length ‖ JSON) around new JSON text.
fn reframe(bytes: &[u8], magic: &[u8; 8], json: &str) -> Vec<u8> {
    let n = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let mut out = magic.to_vec();
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(&bytes[12 + n..]);
    out
}

/// Variants of a canonical JSON header that decode to the same value (or one with an extra
/// field): each must be refused.
fn malleable(json: &str, first_field: &str) -> Vec<String> {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    let obj = v.as_object_mut().unwrap();
    obj.insert("extra".into(), serde_json::json!(1));
    vec![
        json.replacen(',', ", ", 1),
        format!(" {json}"),
        json.replacen("rescue", "\\u0072escue", 1),
        json.replacen('{', &format!("{{\"{first_field}\":\"x\","), 1),
        serde_json::to_string(&v).unwrap(),
        {
            // fields in another order: a map sorts them
            let m: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).unwrap();
            serde_json::to_string(&m).unwrap()
        },
    ]
}

#[test]
fn a_proof_has_one_encoding() {
    let bytes = data(56 * 4 + 1, 24);
    let j = job(&bytes, 2, "encoding");
    let agg = j.aggregate().unwrap();

    // Segment proofs: trailing bytes after the STARK, other header encodings.
    let seg = std::fs::read(&j.proofs[1]).unwrap();
    let (h, _) = proof_file::decode_segment(&seg).unwrap();
    let json = serde_json::to_string::<SegmentHeader>(&h).unwrap();
    let mut variants = vec![[seg.as_slice(), &[0u8]].concat()];
    for text in malleable(&json, "program") {
        variants.push(reframe(&seg, SEGMENT_MAGIC, &text));
    }
    for (k, t) in variants.iter().enumerate() {
        std::fs::write(&j.proofs[1], t).unwrap();
        let e = j.aggregate().expect_err("a second encoding");
        assert_eq!(e.code, error::PROOF_INVALID, "variant {k}: {e}");
        assert_eq!(e.data.unwrap()["segment"], 1, "variant {k}");
    }
    std::fs::write(&j.proofs[1], &seg).unwrap();

    // Bundles: trailing bytes, other header encodings.
    let n = u32::from_le_bytes(agg.bytes[8..12].try_into().unwrap()) as usize;
    let h: BundleHeader = serde_json::from_slice(&agg.bytes[12..12 + n]).unwrap();
    let json = serde_json::to_string(&h).unwrap();
    let mut variants = vec![[agg.bytes.as_slice(), &[0u8]].concat()];
    for text in malleable(&json, "program") {
        variants.push(reframe(&agg.bytes, BUNDLE_MAGIC, &text));
    }
    for (k, t) in variants.iter().enumerate() {
        let v = verify(t, None);
        assert!(!v.valid, "bundle variant {k}");
    }
    assert!(verify(&agg.bytes, None).valid);
}

#[test]
fn lengths_are_capped_before_anything_is_read() {
    let bytes = data(100, 25);
    let j = job(&bytes, 1, "caps");
    let agg = j.aggregate().unwrap();
    let n = u32::from_le_bytes(agg.bytes[8..12].try_into().unwrap()) as usize;
    for (at, what) in [(8usize, "header"), (12 + n, "segment")] {
        let mut t = agg.bytes.clone();
        t[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let v = verify(&t, None);
        assert!(!v.valid, "{what}");
        assert!(v.reason.unwrap().contains("allowed"), "{what}");
    }
    // A partial proof over the cap is the segment's fault, found before it is read.
    let big = j.dir.join("big");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(proof_file::MAX_SEGMENT_FILE_BYTES as u64 + 1)
        .unwrap();
    let out = j.dir.join("out").to_string_lossy().to_string();
    let e = verify::aggregate(
        &j.name,
        j.size,
        j.challenge,
        &j.contributions,
        &[big.to_string_lossy().to_string()],
        &out,
        &Ctx::none(),
    )
    .unwrap_err();
    assert_eq!(e.code, error::PROOF_INVALID);
    assert_eq!(e.data.unwrap()["segment"], 0);
}

#[test]
fn an_invalid_proof_reports_only_its_reason() {
    let bytes = data(80, 26);
    let j = job(&bytes, 1, "reason");
    let agg = j.aggregate().unwrap();
    let mut t = agg.bytes.clone();
    let n = t.len();
    t[n - 40] ^= 8;
    let v = verify(&t, Some(&agg.digest));
    assert!(!v.valid);
    assert!(v.digest.is_none() && v.job.is_none() && v.segments.is_none());
    assert!(v.input_size.is_none());
    let text = serde_json::to_value(&v).unwrap();
    assert_eq!(
        text.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["reason", "valid"]
    );
}

#[test]
fn a_proof_of_another_prover_version_is_unsupported_not_invalid() {
    let bytes = data(56 * 3 + 5, 27);
    let j = job(&bytes, 2, "version");
    let agg = j.aggregate().unwrap();
    // A partial proof in the previous version's format: UNSUPPORTED_VERSION naming its segment,
    // not PROOF_INVALID (its maker is not lying, it runs another prover).
    let seg = std::fs::read(&j.proofs[1]).unwrap();
    let mut old = seg.clone();
    old[5] = 2;
    std::fs::write(&j.proofs[1], &old).unwrap();
    let e = j.aggregate().expect_err("another version");
    assert_eq!(e.code, error::UNSUPPORTED_VERSION, "{e}");
    let d = e.data.unwrap();
    assert_eq!(
        (d["segment"].as_u64(), d["version"].as_u64()),
        (Some(1), Some(2))
    );
    std::fs::write(&j.proofs[1], &seg).unwrap();
    // A final proof of the previous version, or holding a segment of it: refused with the reason.
    let mut old_bundle = agg.bytes.clone();
    old_bundle[7] = 2;
    let v = verify(&old_bundle, None);
    assert!(!v.valid);
    let r = v.reason.unwrap();
    assert!(r.starts_with("unsupported final proof version 2"), "{r}");
    let n = u32::from_le_bytes(agg.bytes[8..12].try_into().unwrap()) as usize;
    let mut inner = agg.bytes.clone();
    inner[12 + n + 4 + 5] = 2;
    let r = verify(&inner, None).reason.unwrap();
    assert!(
        r.starts_with("segment 0: unsupported segment proof version 2"),
        "{r}"
    );
    assert!(verify(&agg.bytes, None).valid);
}
