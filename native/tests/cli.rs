//! The one-shot command line: exit codes and help.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_proofmesh-prover"))
}

#[test]
fn prove_all_verify_and_exit_codes() {
    let dir = std::env::temp_dir().join(format!("pm-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input");
    std::fs::write(
        &input,
        (0..3000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    let out = dir.join("final.proof");
    let r = bin()
        .args(["prove-all", "--segments", "3", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["segments"], 3);
    let digest = v["digest"].as_str().unwrap().to_string();

    let h = bin().arg("hash").arg(&input).output().unwrap();
    let hv: serde_json::Value = serde_json::from_slice(&h.stdout).unwrap();
    assert_eq!(hv["digest"], digest.as_str());
    let pl = bin()
        .args(["plan", "--workers", "A=2,B=1", "--input"])
        .arg(&input)
        .arg("--hints-out")
        .arg(dir.join("hints"))
        .output()
        .unwrap();
    assert_eq!(pl.status.code(), Some(0));
    let pv: serde_json::Value = serde_json::from_slice(&pl.stdout).unwrap();
    assert_eq!(
        pv["digest"],
        digest.as_str(),
        "plan --hints-out prints the digest"
    );
    let pl = bin()
        .arg("plan")
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    let pv: serde_json::Value = serde_json::from_slice(&pl.stdout).unwrap();
    assert!(pv.get("digest").is_none(), "no digest without --hints-out");

    let ok = bin()
        .args(["verify", "--digest", &digest, "--job", "local", "--proof"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let wrong = bin()
        .args(["verify", "--digest", &"0".repeat(64), "--proof"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    let mut bytes = std::fs::read(&out).unwrap();
    let n = bytes.len();
    bytes[n - 50] ^= 4;
    let bad = dir.join("bad.proof");
    std::fs::write(&bad, &bytes).unwrap();
    let r = bin()
        .args(["verify", "--proof"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("segment 2"));
    let r = bin()
        .args(["verify", "--proof", "/nonexistent/pm.proof"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    let r = bin().args(["verify"]).output().unwrap();
    assert_eq!(r.status.code(), Some(2), "usage error");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_command_has_help() {
    for cmd in [
        "serve",
        "hash",
        "plan",
        "contribute",
        "prove",
        "aggregate",
        "verify",
        "prove-all",
    ] {
        let r = bin().args([cmd, "--help"]).output().unwrap();
        assert_eq!(r.status.code(), Some(0), "{cmd} --help");
        assert!(
            String::from_utf8_lossy(&r.stdout).contains("Usage"),
            "{cmd}"
        );
    }
}
