//! Errors with NPP (JSON-RPC) codes.

use serde_json::{Value, json};
use std::fmt;

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
pub const UNKNOWN_PROGRAM: i64 = 1001;
pub const IO_ERROR: i64 = 1002;
pub const INVALID_SEGMENT: i64 = 1003;
pub const CANCELLED: i64 = 1004;
pub const PROOF_INVALID: i64 = 1005;
pub const INVALID_HINTS: i64 = 1006;
pub const UNSUPPORTED_VERSION: i64 = 1007;

#[derive(Debug, Clone, PartialEq)]
pub struct PmError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

pub type Result<T> = std::result::Result<T, PmError>;

impl PmError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        PmError {
            code,
            message: message.into(),
            data: None,
        }
    }
    pub fn params(message: impl Into<String>) -> Self {
        Self::new(INVALID_PARAMS, message)
    }
    pub fn io(path: &str, what: impl fmt::Display) -> Self {
        PmError {
            code: IO_ERROR,
            message: format!("{path}: {what}"),
            data: Some(json!({ "path": path })),
        }
    }
    pub fn segment(message: impl Into<String>) -> Self {
        Self::new(INVALID_SEGMENT, message)
    }
    pub fn hints(message: impl Into<String>) -> Self {
        Self::new(INVALID_HINTS, message)
    }
    pub fn cancelled() -> Self {
        Self::new(CANCELLED, "cancelled")
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(INTERNAL_ERROR, message)
    }
    pub fn proof_invalid(segment: usize, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        PmError {
            code: PROOF_INVALID,
            message: format!("segment {segment}: {reason}"),
            data: Some(json!({ "segment": segment, "reason": reason })),
        }
    }
    /// A partial proof of another prover version: not a forgery, so not `PROOF_INVALID`.
    pub fn unsupported_version(segment: usize, version: u8) -> Self {
        let reason = crate::proof_file::unsupported_version("segment proof", version);
        PmError {
            code: UNSUPPORTED_VERSION,
            message: format!("segment {segment}: {reason}"),
            data: Some(json!({ "segment": segment, "version": version, "reason": reason })),
        }
    }
    pub fn unknown_program(id: &str) -> Self {
        Self::new(
            UNKNOWN_PROGRAM,
            format!("unknown program '{id}' (this prover has: rescue-sponge)"),
        )
    }
}

impl fmt::Display for PmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for PmError {}
