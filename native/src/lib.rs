//! proofmesh reference native prover: program `rescue-sponge` on winterfell 0.13.
//!
//! See `protocols/native-prover.md` (NPP v1) for the contract and [`sponge`] for the byte packing.

pub mod air;
pub mod child;
pub mod ctx;
pub mod error;
pub mod evaluator;
pub mod fft;
pub mod goldilocks;
pub mod hasher;
pub mod hex32;
pub mod input;
pub mod lde;
pub mod mds;
pub mod merkle;
pub mod npp;
pub mod out_file;
pub mod params;
pub mod pipeline;
pub mod plan;
pub mod program;
pub mod proof_file;
pub mod prove;
pub mod rescue;
pub mod row_hash;
pub mod sample;
pub mod segment;
pub mod spans;
pub mod sponge;
pub mod stark;
pub mod statement;
pub mod trace;
pub mod verify;
