//! Segment proof and final proof (bundle) files: one encoding per proof, every length capped
//! before anything is allocated for it.
//!
//! * segment proof: `"PMSEG\x03\n\0"` ‖ u32le `H` ‖ `H` bytes of JSON [`SegmentHeader`] ‖ the
//!   winterfell STARK (`Proof::to_bytes()`, empty for the 0-block segment of the empty input);
//! * bundle: `"PMBUNDL\x03"` ‖ u32le `H` ‖ `H` bytes of JSON [`BundleHeader`] ‖ for each segment
//!   in index order: u32le length ‖ the segment proof file.
//!
//! The magic's version byte ([`FORMAT_VERSION`]) changes whenever a proof of the previous prover
//! would not verify (the AIR, the statement, the options or the encoding changed), so that such a
//! proof is told apart as another version's, not as a forgery: version 2 was the statement before
//! and after the range check (they do not verify against each other), version 3 is this one.
//!
//! A file decodes only if it is the one encoding of its content: each JSON header must be exactly
//! what serde_json writes for the decoded value (no whitespace, fields in order, no unknown or
//! repeated field, no escape that is not needed), and the STARK must re-encode to the same bytes
//! with nothing after it. The STARK is read through [`BoundedReader`], which refuses any element
//! count larger than the bytes left, so no length in the bytes can make the decoder allocate more
//! than the file's size; decoding runs under `catch_unwind`.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use winter_utils::{ByteReader, Deserializable, DeserializationError};
use winterfell::Proof;

/// The proof format this prover writes and reads.
pub const FORMAT_VERSION: u8 = 3;
pub const SEGMENT_MAGIC: &[u8; 8] = b"PMSEG\x03\n\0";
/// Where the version byte sits in [`SEGMENT_MAGIC`].
const SEGMENT_VERSION_AT: usize = 5;
pub const BUNDLE_MAGIC: &[u8; 8] = b"PMBUNDL\x03";
/// Where the version byte sits in [`BUNDLE_MAGIC`].
const BUNDLE_VERSION_AT: usize = 7;
/// A segment header is ~1 KB (four hex states of 192 characters and a few numbers).
pub const MAX_SEGMENT_HEADER_BYTES: usize = 4 << 10;
/// A bundle header carries 67 bytes per contribution: 2 MiB holds more than the most segments.
pub const MAX_BUNDLE_HEADER_BYTES: usize = 2 << 20;
/// A segment STARK is ~146–212 KB from 2^14 to 2^18 rows (it grows with log2 of the rows).
pub const MAX_STARK_BYTES: usize = 1 << 20;
/// The largest segment proof file.
pub const MAX_SEGMENT_FILE_BYTES: usize = 12 + MAX_SEGMENT_HEADER_BYTES + MAX_STARK_BYTES;

/// The JSON header of a segment proof file (hex strings are lower-case).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SegmentHeader {
    pub program: String,
    pub index: u64,
    pub start_block: u64,
    pub block_count: u64,
    pub input_offset: u64,
    pub input_length: u64,
    pub input_size: u64,
    pub challenge: String,
    pub start_state: String,
    pub end_state: String,
    pub input_sha256: String,
    pub contribution: String,
}

/// The JSON header of a bundle.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleHeader {
    pub program: String,
    pub job: String,
    pub input_size: u64,
    pub total_blocks: u64,
    pub challenge: String,
    pub contributions: Vec<String>,
    pub digest: String,
    pub segments: u64,
}

/// `magic ‖ u32le len ‖ header JSON`.
pub fn encode_header<T: Serialize>(magic: &[u8; 8], header: &T) -> Vec<u8> {
    let json = serde_json::to_vec(header).expect("headers serialise");
    let mut out = Vec::with_capacity(12 + json.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out
}

/// The version byte of a file that has `magic` but for that byte: a proof of another prover
/// version (None: this version, or not a proofmesh proof of this kind at all).
pub fn other_version(bytes: &[u8], magic: &[u8; 8]) -> Option<u8> {
    let at = if magic == SEGMENT_MAGIC {
        SEGMENT_VERSION_AT
    } else {
        BUNDLE_VERSION_AT
    };
    let prefix = bytes.get(..8)?;
    let same_but_version = prefix
        .iter()
        .zip(magic)
        .enumerate()
        .all(|(i, (a, b))| i == at || a == b);
    (same_but_version && prefix[at] != magic[at]).then_some(prefix[at])
}

/// Why a proof of another version is not checked.
pub fn unsupported_version(what: &str, version: u8) -> String {
    format!(
        "unsupported {what} version {version}: this prover reads version {FORMAT_VERSION} \
         (the proof was made by another version of the prover)"
    )
}

/// The 12-byte prefix's header length, after the magic and cap checks.
pub fn header_len(prefix: &[u8], magic: &[u8; 8], cap: usize, what: &str) -> Result<usize, String> {
    if let Some(v) = other_version(prefix, magic) {
        return Err(unsupported_version(what, v));
    }
    if prefix.len() < 12 || &prefix[..8] != magic {
        return Err(format!("not a {what} (bad magic)"));
    }
    let n = u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]) as usize;
    if n > cap {
        return Err(format!(
            "the {what} header has {n} bytes, over the {cap} allowed"
        ));
    }
    Ok(n)
}

/// Decodes a JSON header that must be exactly the bytes its value encodes to.
pub fn canonical_json<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<T, String> {
    let value: T = serde_json::from_slice(bytes).map_err(|e| format!("bad {what} header: {e}"))?;
    if serde_json::to_vec(&value).map_err(|e| e.to_string())? != bytes {
        return Err(format!(
            "the {what} header is not in canonical form (serde_json's, without whitespace)"
        ));
    }
    Ok(value)
}

/// Splits a segment proof file into its header and its STARK bytes.
pub fn decode_segment(bytes: &[u8]) -> Result<(SegmentHeader, &[u8]), String> {
    if bytes.len() > MAX_SEGMENT_FILE_BYTES {
        return Err(format!(
            "the segment proof has {} bytes, over the {MAX_SEGMENT_FILE_BYTES} allowed",
            bytes.len()
        ));
    }
    let n = header_len(
        bytes,
        SEGMENT_MAGIC,
        MAX_SEGMENT_HEADER_BYTES,
        "segment proof",
    )?;
    let body = &bytes[12..];
    if body.len() < n {
        return Err("truncated segment proof header".into());
    }
    let header = canonical_json(&body[..n], "segment proof")?;
    let stark = &body[n..];
    if stark.len() > MAX_STARK_BYTES {
        return Err(format!(
            "the STARK has {} bytes, over the {MAX_STARK_BYTES} allowed",
            stark.len()
        ));
    }
    Ok((header, stark))
}

/// A byte reader over a slice that never lets a length read from the bytes allocate more than
/// the bytes left: every element winterfell decodes takes at least one byte.
pub struct BoundedReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> BoundedReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        BoundedReader { bytes, pos: 0 }
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.pos
    }
}

impl ByteReader for BoundedReader<'_> {
    fn read_u8(&mut self) -> Result<u8, DeserializationError> {
        self.check_eor(1)?;
        let b = self.bytes[self.pos];
        self.pos += 1;
        Ok(b)
    }

    fn peek_u8(&self) -> Result<u8, DeserializationError> {
        self.check_eor(1)?;
        Ok(self.bytes[self.pos])
    }

    fn read_slice(&mut self, len: usize) -> Result<&[u8], DeserializationError> {
        self.check_eor(len)?;
        let s = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(s)
    }

    fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DeserializationError> {
        let s = self.read_slice(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn check_eor(&self, num_bytes: usize) -> Result<(), DeserializationError> {
        if num_bytes > self.left() {
            return Err(DeserializationError::UnexpectedEOF);
        }
        Ok(())
    }

    fn has_more_bytes(&self) -> bool {
        self.left() > 0
    }

    fn read_many<D: Deserializable>(
        &mut self,
        num_elements: usize,
    ) -> Result<Vec<D>, DeserializationError> {
        if num_elements > self.left() {
            return Err(DeserializationError::InvalidValue(format!(
                "{num_elements} elements announced with {} bytes left",
                self.left()
            )));
        }
        let mut v = Vec::with_capacity(num_elements);
        for _ in 0..num_elements {
            v.push(D::read_from(self)?);
        }
        Ok(v)
    }
}

/// Decodes a STARK: bounded, under `catch_unwind`, nothing after it, and only its one encoding.
pub fn decode_stark(bytes: &[u8]) -> Result<Proof, String> {
    let decoded = std::panic::catch_unwind(|| {
        let mut reader = BoundedReader::new(bytes);
        let proof = Proof::read_from(&mut reader).map_err(|e| e.to_string())?;
        if reader.has_more_bytes() {
            return Err(format!("{} bytes after the STARK", reader.left()));
        }
        if proof.to_bytes() != bytes {
            return Err("the STARK is not in its canonical encoding".to_string());
        }
        Ok(proof)
    })
    .map_err(|_| "the STARK decoder panicked on these bytes".to_string())?;
    decoded.map_err(|e| format!("the STARK proof does not decode: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_counts_beyond_the_bytes_are_refused_before_allocating() {
        let mut r = BoundedReader::new(&[1, 2, 3]);
        let e = r.read_many::<u8>(usize::MAX).unwrap_err();
        assert!(matches!(e, DeserializationError::InvalidValue(_)));
        assert_eq!(r.read_many::<u8>(3).unwrap(), vec![1, 2, 3]);
        assert!(r.read_slice(usize::MAX).is_err());
    }

    #[test]
    fn another_versions_magic_is_told_apart() {
        let old_segment = b"PMSEG\x02\n\0\0\0\0\0";
        assert_eq!(other_version(old_segment, SEGMENT_MAGIC), Some(2));
        assert_eq!(other_version(b"PMBUNDL\x01", BUNDLE_MAGIC), Some(1));
        assert_eq!(other_version(SEGMENT_MAGIC, SEGMENT_MAGIC), None);
        assert_eq!(other_version(b"PMSEG\x02\n\x01", SEGMENT_MAGIC), None);
        assert_eq!(other_version(b"PMBUNDL", BUNDLE_MAGIC), None);
        let e = header_len(old_segment, SEGMENT_MAGIC, 10, "segment proof").unwrap_err();
        assert!(e.starts_with("unsupported segment proof version 2"), "{e}");
    }

    #[test]
    fn headers_have_one_encoding() {
        let h = BundleHeader {
            program: "rescue-sponge".into(),
            job: "j".into(),
            input_size: 1,
            total_blocks: 1,
            challenge: "00".into(),
            contributions: vec!["aa".into()],
            digest: "bb".into(),
            segments: 1,
        };
        let json = serde_json::to_vec(&h).unwrap();
        assert_eq!(canonical_json::<BundleHeader>(&json, "b").unwrap(), h);
        let text = String::from_utf8(json).unwrap();
        for bad in [
            text.replace(",\"job\"", ", \"job\""),
            text.replace("\"job\":\"j\"", "\"job\":\"\\u006a\""),
            text.replace("}", ",\"extra\":1}"),
            text.replace("\"job\":\"j\",", "\"job\":\"j\",\"job\":\"j\","),
            text.replace("\"inputSize\":1", "\"inputSize\":1.0"),
            format!("{text} "),
            {
                let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
                let o = v.as_object_mut().unwrap();
                let job = o.remove("job").unwrap();
                o.insert("job".into(), job);
                serde_json::to_string(&v).unwrap()
            },
        ] {
            assert!(
                canonical_json::<BundleHeader>(bad.as_bytes(), "b").is_err(),
                "accepted {bad}"
            );
        }
    }
}
