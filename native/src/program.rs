//! The program this prover proves: its NPP identity. Its phases live in their own modules:
//! [`crate::plan`], [`crate::statement`] (`contribute`), [`crate::prove`], [`crate::verify`]
//! (`aggregate`, `verify`); the segments in [`crate::segment`], the input file in
//! [`crate::input`], the file formats in [`crate::proof_file`].

use crate::error::{PmError, Result};

pub const PROGRAM_ID: &str = "rescue-sponge";
pub const PROGRAM_DESCRIPTION: &str = "Rescue-Prime Rp64_256 sponge hash of the input bytes \
     (7-byte LE chunks, 0x01 pad byte, element count in the capacity); range-checked STARK \
     (winterfell 0.13) per segment of blocks, 128-bit conjectured security for the final proof";

pub fn check_program(id: &str) -> Result<()> {
    if id == PROGRAM_ID {
        Ok(())
    } else {
        Err(PmError::unknown_program(id))
    }
}
