//! 32-byte values (challenges, contributions, SHA-256s) as NPP and the proof headers carry them:
//! 64 lower-case hex digits, the only encoding accepted, so that a value has one form.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::str::FromStr;

/// Decodes 64 lower-case hex digits; `what` names the value in the error.
pub fn hex32(s: &str, what: &str) -> Result<[u8; 32], String> {
    if s.len() != 64
        || !s
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return Err(format!("{what} is not 64 lower-case hex digits"));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|e| format!("{what}: {e}"))?;
    Ok(out)
}

/// A 32-byte value decoded where it enters (NPP parameters, CLI arguments), written back as the
/// same 64 lower-case hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hex32(pub [u8; 32]);

impl Serialize for Hex32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Hex32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        hex32(&s, "a 32-byte value")
            .map(Hex32)
            .map_err(serde::de::Error::custom)
    }
}

impl FromStr for Hex32 {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        hex32(s, "the value").map(Hex32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_encoding_only() {
        let lower = "ab".repeat(32);
        assert_eq!(hex32(&lower, "x"), Ok([0xab; 32]));
        for bad in [
            "AB".repeat(32),
            "ab".repeat(31),
            "ab".repeat(33),
            "zz".repeat(32),
        ] {
            assert!(hex32(&bad, "x").is_err(), "{bad}");
        }
        let v: Hex32 = serde_json::from_str(&format!("\"{lower}\"")).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{lower}\""));
        assert!(serde_json::from_str::<Hex32>(&format!("\"{}\"", "AB".repeat(32))).is_err());
        assert_eq!(lower.parse::<Hex32>(), Ok(Hex32([0xab; 32])));
    }
}
