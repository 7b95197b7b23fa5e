//! Segments: a run of blocks of the input, its canonical byte range, and the caps on its size.

use crate::error::{PmError, Result};
use crate::sponge::{self, BLOCK_BYTES};
use serde::{Deserialize, Serialize};

/// Default (and recommended) maximum blocks per segment: 2^15 blocks = 2^18 trace rows.
pub const MAX_SEGMENT_BLOCKS: u64 = 1 << 15;
/// Hard cap on a segment's size (2^17 blocks = 2^20 rows, ~3.6 GB of prover memory: 4× the peak
/// at 2^18 rows).
pub const HARD_MAX_SEGMENT_BLOCKS: u64 = 1 << 17;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    pub index: u64,
    pub start_block: u64,
    pub block_count: u64,
    pub input_offset: u64,
    pub input_length: u64,
}

/// The canonical segment covering blocks `[start_block, start_block + block_count)`.
pub fn segment_for(index: u64, start_block: u64, block_count: u64, input_size: u64) -> Segment {
    let off = (start_block * BLOCK_BYTES as u64).min(input_size);
    let end = ((start_block + block_count) * BLOCK_BYTES as u64).min(input_size);
    Segment {
        index,
        start_block,
        block_count,
        input_offset: off,
        input_length: end - off,
    }
}

/// Checks that a segment is canonical for the input size.
pub fn check_segment(seg: &Segment, input_size: u64) -> Result<()> {
    let total = sponge::num_blocks(input_size);
    if input_size == 0 {
        if seg.start_block != 0 || seg.block_count != 0 {
            return Err(PmError::segment(
                "the empty input has one segment: startBlock 0, blockCount 0",
            ));
        }
    } else {
        if seg.block_count == 0 {
            return Err(PmError::segment("blockCount must be at least 1"));
        }
        if seg.block_count > HARD_MAX_SEGMENT_BLOCKS {
            return Err(PmError::segment(format!(
                "blockCount {} exceeds the hard limit {HARD_MAX_SEGMENT_BLOCKS}",
                seg.block_count
            )));
        }
        if seg
            .start_block
            .checked_add(seg.block_count)
            .is_none_or(|e| e > total)
        {
            return Err(PmError::segment(format!(
                "blocks [{}, {}) exceed the input's {total} blocks",
                seg.start_block,
                seg.start_block.saturating_add(seg.block_count)
            )));
        }
    }
    let canon = segment_for(seg.index, seg.start_block, seg.block_count, input_size);
    if canon != *seg {
        return Err(PmError::segment(format!(
            "inputOffset/inputLength must be {}/{} for blocks starting at {} ({} bytes per block)",
            canon.input_offset, canon.input_length, seg.start_block, BLOCK_BYTES
        )));
    }
    Ok(())
}
