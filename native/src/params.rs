//! The parameters of NPP's long methods (`plan`, `contribute`, `prove`, `aggregate`, `verify`),
//! as `serve` decodes them (see `protocols/native-prover.md`). 32-byte values are decoded here,
//! once, as [`Hex32`]; their results are typed where they are computed.

use crate::hex32::Hex32;
use crate::input::InputRef;
use crate::segment::Segment;
use serde::{Deserialize, Serialize};

/// A worker of `plan` and its capacity units.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Worker {
    pub id: String,
    pub units: u64,
}

/// `plan`'s NPP v2 parameters: the layout the daemon chose.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayoutParams {
    pub job: String,
    pub program: String,
    pub input: InputRef,
    pub segments: Vec<Segment>,
    pub hints_out: Option<String>,
}

/// `plan`'s NPP v1 parameters.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanParams {
    pub job: String,
    pub program: String,
    pub input: InputRef,
    pub workers: Vec<Worker>,
    pub max_segment_blocks: Option<u64>,
    pub hints_out: Option<String>,
}

/// `contribute`'s NPP parameters, which `prove`'s hold too: a job's segment and where its input is.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ContributeParams {
    pub job: String,
    pub program: String,
    pub input_size: u64,
    pub segment: Segment,
    pub input: InputRef,
    pub hints: Option<String>,
}

/// `prove`'s NPP parameters: `contribute`'s, the job's challenge, and where to write the proof.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ProveParams {
    #[serde(flatten)]
    pub seg: ContributeParams,
    pub challenge: Hex32,
    pub out: String,
}

/// `aggregate`'s NPP parameters.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct AggregateParams {
    pub job: String,
    pub program: String,
    pub input_size: u64,
    pub challenge: Hex32,
    pub contributions: Vec<Hex32>,
    pub proofs: Vec<String>,
    pub out: String,
}

/// `verify`'s NPP parameters.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct VerifyParams {
    pub program: String,
    pub proof: String,
    pub digest: Option<String>,
    pub job: Option<String>,
    pub input: Option<String>,
}
