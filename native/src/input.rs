//! Reading the job's input file: a byte range of it, or the sponge streamed over its blocks.

use crate::ctx::Ctx;
use crate::error::{PmError, Result};
use crate::sponge::{self, BLOCK_BYTES, State};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// Where a request's input bytes are: a file holding bytes `[offset, offset + its size)` of the
/// job's input (a peer may hold only its segment's slice).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputRef {
    pub path: String,
    #[serde(default)]
    pub offset: u64,
}

pub(crate) fn file_size(path: &str) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| PmError::io(path, e))
}

/// Reads input bytes `[from, from + len)` (absolute positions in the job's input).
pub(crate) fn read_range(input: &InputRef, from: u64, len: u64) -> Result<Vec<u8>> {
    let size = file_size(&input.path)?;
    if from < input.offset || from + len > input.offset + size {
        return Err(PmError::segment(format!(
            "the input file {} holds bytes [{}, {}) of the input; bytes [{}, {}) are needed",
            input.path,
            input.offset,
            input.offset + size,
            from,
            from + len
        )));
    }
    let mut f = File::open(&input.path).map_err(|e| PmError::io(&input.path, e))?;
    f.seek(SeekFrom::Start(from - input.offset))
        .map_err(|e| PmError::io(&input.path, e))?;
    let mut buf = vec![0u8; len as usize];
    f.read_exact(&mut buf)
        .map_err(|e| PmError::io(&input.path, e))?;
    Ok(buf)
}

/// Streams the sponge over blocks `[0, upto)` of the input file (which must start at offset 0) and
/// calls `at(block, state)` for every block index in `marks` (sorted), before absorbing it.
pub(crate) fn stream_states(
    input: &InputRef,
    input_size: u64,
    upto: u64,
    marks: &[u64],
    ctx: &Ctx,
    mut at: impl FnMut(u64, &State),
) -> Result<State> {
    if input.offset != 0 {
        return Err(PmError::segment(
            "without hints the input file must start at offset 0 (the prover recomputes the \
             start state from the bytes before the segment)",
        ));
    }
    let need = (upto * BLOCK_BYTES as u64).min(input_size);
    let size = file_size(&input.path)?;
    if size < need {
        return Err(PmError::segment(format!(
            "the input file {} has {size} bytes; {need} are needed",
            input.path
        )));
    }
    let mut f = File::open(&input.path).map_err(|e| PmError::io(&input.path, e))?;
    let mut state = sponge::initial_state(input_size);
    const CHUNK_BLOCKS: u64 = 4096;
    let mut buf = vec![0u8; CHUNK_BLOCKS as usize * BLOCK_BYTES];
    let mut block = 0u64;
    let mut mi = 0usize;
    while block < upto || mi < marks.len() {
        while mi < marks.len() && marks[mi] == block {
            at(block, &state);
            mi += 1;
        }
        if block >= upto {
            break;
        }
        ctx.check()?;
        let n = CHUNK_BLOCKS.min(upto - block);
        let lo = block * BLOCK_BYTES as u64;
        let hi = ((block + n) * BLOCK_BYTES as u64).min(input_size);
        let bytes = &mut buf[..(hi - lo) as usize];
        f.read_exact(bytes)
            .map_err(|e| PmError::io(&input.path, e))?;
        // Marks inside this chunk: run block by block up to each.
        let mut b = block;
        while b < block + n {
            let next_mark = marks[mi..]
                .iter()
                .copied()
                .find(|&m| m > b)
                .unwrap_or(u64::MAX);
            let stop = next_mark.min(block + n);
            let off = ((b - block) as usize) * BLOCK_BYTES;
            sponge::run_blocks(&mut state, b, stop - b, &bytes[off..], input_size);
            b = stop;
            while mi < marks.len() && marks[mi] == b && b < block + n {
                at(b, &state);
                mi += 1;
            }
        }
        block += n;
    }
    Ok(state)
}
