//! proofmesh reference native prover: program `rescue-sponge` on winterfell 0.13.
//!
//! See `protocols/native-prover.md` (NPP v1) for the contract and [`sponge`] for the byte packing.

pub mod air;
pub mod child;
pub mod error;
pub mod evaluator;
pub mod hasher;
pub mod lde;
pub mod mds;
pub mod npp;
pub mod plan;
pub mod program;
pub mod proof_file;
pub mod spans;
pub mod sponge;
pub mod stark;
pub mod trace;
pub mod verify;
