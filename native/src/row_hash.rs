//! Blake3 of many equal-length rows, eight rows side by side in AVX2 lanes.
//!
//! The trace and composition commitments hash every LDE row (2^20 rows each at 2^18 trace rows):
//! a row of 42 values is 336 bytes, under one Blake3 chunk (1 KiB), so the `blake3` crate hashes
//! it alone through its one-block compressor (its SIMD paths hash the chunks of one long input
//! side by side, never separate inputs). Here eight rows' compressions run at once, one row per
//! 32-bit lane: the same function, bit for bit (tested against the crate), for rows of at most a
//! chunk. Elsewhere, and for what does not fill eight lanes, the crate's own hash.

use rayon::prelude::*;

/// Rows per task: large enough that the split costs nothing, small enough to share 2^20 rows.
const ROWS_PER_TASK: usize = 1 << 9;

/// Blake3 of each `row_len`-byte row of `data`, in order.
pub fn hash_rows(data: &[u8], row_len: usize) -> Vec<[u8; 32]> {
    assert!(row_len > 0 && data.len().is_multiple_of(row_len));
    let mut out = vec![[0u8; 32]; data.len() / row_len];
    hash_rows_into(data, row_len, &mut out);
    out
}

/// Blake3 of each `row_len`-byte row of `data` into `out` (one digest per row). Up to one task's
/// rows stay on the calling thread: a Merkle tree's upper levels are too small to share.
pub fn hash_rows_into(data: &[u8], row_len: usize, out: &mut [[u8; 32]]) {
    assert!(row_len > 0 && data.len() == out.len() * row_len);
    if out.len() <= ROWS_PER_TASK {
        hash_task(data, row_len, out);
    } else {
        out.par_chunks_mut(ROWS_PER_TASK)
            .zip(data.par_chunks(ROWS_PER_TASK * row_len))
            .for_each(|(out, rows)| hash_task(rows, row_len, out));
    }
}

fn hash_task(rows: &[u8], row_len: usize, out: &mut [[u8; 32]]) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if row_len <= CHUNK_LEN && crate::goldilocks::avx2_detected() {
        for (group, out) in rows.chunks_exact(8 * row_len).zip(out.chunks_exact_mut(8)) {
            // SAFETY: AVX2 was detected just above.
            unsafe { avx2::hash8(group, row_len, out) };
            done += 8;
        }
    }
    for (row, out) in rows.chunks_exact(row_len).zip(out).skip(done) {
        *out = *blake3::hash(row).as_bytes();
    }
}

/// Blake3's constants (the BLAKE3 specification, section 2).
const CHUNK_LEN: usize = 1024;
const BLOCK_LEN: usize = 64;
const IV: [u32; 8] = [
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
];
const MSG_PERMUTATION: [usize; 16] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
const CHUNK_START: u32 = 1;
const CHUNK_END: u32 = 2;
const ROOT: u32 = 8;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{BLOCK_LEN, CHUNK_END, CHUNK_START, IV, MSG_PERMUTATION, ROOT};
    use core::arch::x86_64::*;

    #[target_feature(enable = "avx2")]
    #[inline]
    fn add(a: __m256i, b: __m256i) -> __m256i {
        _mm256_add_epi32(a, b)
    }

    /// Rotations right by 16 and 8 move whole bytes: one shuffle each.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn rot16(x: __m256i) -> __m256i {
        let m = _mm256_setr_epi8(
            2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11,
            8, 9, 14, 15, 12, 13,
        );
        _mm256_shuffle_epi8(x, m)
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn rot8(x: __m256i) -> __m256i {
        let m = _mm256_setr_epi8(
            1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0, 5, 6, 7, 4, 9, 10,
            11, 8, 13, 14, 15, 12,
        );
        _mm256_shuffle_epi8(x, m)
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn rot12(x: __m256i) -> __m256i {
        _mm256_or_si256(_mm256_srli_epi32::<12>(x), _mm256_slli_epi32::<20>(x))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn rot7(x: __m256i) -> __m256i {
        _mm256_or_si256(_mm256_srli_epi32::<7>(x), _mm256_slli_epi32::<25>(x))
    }

    /// The quarter-round `G` on state words `a, b, c, d` with message words `x, y`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn g(v: &mut [__m256i; 16], [a, b, c, d]: [usize; 4], x: __m256i, y: __m256i) {
        v[a] = add(add(v[a], v[b]), x);
        v[d] = rot16(_mm256_xor_si256(v[d], v[a]));
        v[c] = add(v[c], v[d]);
        v[b] = rot12(_mm256_xor_si256(v[b], v[c]));
        v[a] = add(add(v[a], v[b]), y);
        v[d] = rot8(_mm256_xor_si256(v[d], v[a]));
        v[c] = add(v[c], v[d]);
        v[b] = rot7(_mm256_xor_si256(v[b], v[c]));
    }

    /// Blake3's compression of one block per lane, keeping the first half of its output (the
    /// chaining value, or the digest of a root block).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn compress(cv: &mut [__m256i; 8], mut m: [__m256i; 16], block_len: u32, flags: u32) {
        let splat = |w: u32| _mm256_set1_epi32(w as i32);
        let mut v = [
            cv[0],
            cv[1],
            cv[2],
            cv[3],
            cv[4],
            cv[5],
            cv[6],
            cv[7],
            splat(IV[0]),
            splat(IV[1]),
            splat(IV[2]),
            splat(IV[3]),
            // The chunk counter: every row is chunk 0 of its own input.
            splat(0),
            splat(0),
            splat(block_len),
            splat(flags),
        ];
        for round in 0..7 {
            g(&mut v, [0, 4, 8, 12], m[0], m[1]);
            g(&mut v, [1, 5, 9, 13], m[2], m[3]);
            g(&mut v, [2, 6, 10, 14], m[4], m[5]);
            g(&mut v, [3, 7, 11, 15], m[6], m[7]);
            g(&mut v, [0, 5, 10, 15], m[8], m[9]);
            g(&mut v, [1, 6, 11, 12], m[10], m[11]);
            g(&mut v, [2, 7, 8, 13], m[12], m[13]);
            g(&mut v, [3, 4, 9, 14], m[14], m[15]);
            if round < 6 {
                m = std::array::from_fn(|i| m[MSG_PERMUTATION[i]]);
            }
        }
        for i in 0..8 {
            cv[i] = _mm256_xor_si256(v[i], v[i + 8]);
        }
    }

    /// The 8×8 transpose of 32-bit words: lane `k` of vector `j` becomes lane `j` of vector `k`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn transpose(r: [__m256i; 8]) -> [__m256i; 8] {
        // Pairs of rows interleaved word by word, then two words at a time: u[j] holds word j of
        // rows 0-3 in its low half and word j + 4 in its high half (u[j + 4] the same of rows 4-7).
        let t = [
            _mm256_unpacklo_epi32(r[0], r[1]),
            _mm256_unpackhi_epi32(r[0], r[1]),
            _mm256_unpacklo_epi32(r[2], r[3]),
            _mm256_unpackhi_epi32(r[2], r[3]),
            _mm256_unpacklo_epi32(r[4], r[5]),
            _mm256_unpackhi_epi32(r[4], r[5]),
            _mm256_unpacklo_epi32(r[6], r[7]),
            _mm256_unpackhi_epi32(r[6], r[7]),
        ];
        let u = [
            _mm256_unpacklo_epi64(t[0], t[2]),
            _mm256_unpackhi_epi64(t[0], t[2]),
            _mm256_unpacklo_epi64(t[1], t[3]),
            _mm256_unpackhi_epi64(t[1], t[3]),
            _mm256_unpacklo_epi64(t[4], t[6]),
            _mm256_unpackhi_epi64(t[4], t[6]),
            _mm256_unpacklo_epi64(t[5], t[7]),
            _mm256_unpackhi_epi64(t[5], t[7]),
        ];
        std::array::from_fn(|j| {
            let (lo, hi) = (u[j % 4], u[j % 4 + 4]);
            if j < 4 {
                _mm256_permute2x128_si256::<0x20>(lo, hi)
            } else {
                _mm256_permute2x128_si256::<0x31>(lo, hi)
            }
        })
    }

    /// The 16 message words of block `b` of each of the eight rows, lane `k` from row `k`; the
    /// bytes past a row's end are zero.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn block_words(rows: &[u8], row_len: usize, b: usize) -> [__m256i; 16] {
        let start = b * BLOCK_LEN;
        let len = (row_len - start).min(BLOCK_LEN);
        if len == BLOCK_LEN {
            // A whole block of each row: two vector loads per row, transposed.
            let half = |h: usize| {
                transpose(std::array::from_fn(|k| {
                    let words = &rows[k * row_len + start + 32 * h..][..32];
                    // SAFETY: `words` is 32 readable bytes.
                    unsafe { _mm256_loadu_si256(words.as_ptr().cast()) }
                }))
            };
            let (low, high) = (half(0), half(1));
            return std::array::from_fn(|j| if j < 8 { low[j] } else { high[j - 8] });
        }
        let mut words = [[0u32; 8]; 16];
        for k in 0..8 {
            let mut block = [0u8; BLOCK_LEN];
            block[..len].copy_from_slice(&rows[k * row_len + start..k * row_len + start + len]);
            for (j, w) in block.chunks_exact(4).enumerate() {
                words[j][k] = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            }
        }
        // SAFETY: each `[u32; 8]` is 32 readable bytes.
        words.map(|w| unsafe { _mm256_loadu_si256(w.as_ptr().cast()) })
    }

    /// Blake3 of the eight `row_len`-byte rows of `rows` (`0 < row_len ≤` a chunk) into `out`.
    ///
    /// # Safety
    /// The CPU must have AVX2 (`goldilocks::avx2_detected`).
    #[target_feature(enable = "avx2")]
    pub fn hash8(rows: &[u8], row_len: usize, out: &mut [[u8; 32]]) {
        assert!(rows.len() == 8 * row_len && out.len() == 8 && row_len <= super::CHUNK_LEN);
        let blocks = row_len.div_ceil(BLOCK_LEN);
        let mut cv = IV.map(|w| _mm256_set1_epi32(w as i32));
        for b in 0..blocks {
            let last = b + 1 == blocks;
            let mut flags = if b == 0 { CHUNK_START } else { 0 };
            if last {
                flags |= CHUNK_END | ROOT;
            }
            let len = if last {
                row_len - b * BLOCK_LEN
            } else {
                BLOCK_LEN
            };
            compress(&mut cv, block_words(rows, row_len, b), len as u32, flags);
        }
        // Lane `k` of the eight chaining words is row `k`'s digest: transposed, one store each.
        for (digest, v) in out.iter_mut().zip(transpose(cv)) {
            // SAFETY: `digest` is 32 writable bytes.
            unsafe { _mm256_storeu_si256(digest.as_mut_ptr().cast(), v) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_hash_as_the_crate_hashes_them() {
        // Lengths across block boundaries and the trace's row widths (42, 12 and 9 values of 8
        // bytes), and row counts that leave a remainder past the groups of eight.
        for row_len in [1, 63, 64, 65, 72, 96, 128, 336, 1000, 1024] {
            for rows in [1, 8, 13, 1030] {
                let data: Vec<u8> = (0..row_len * rows)
                    .map(|i| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes()[7])
                    .collect();
                let expected: Vec<[u8; 32]> = data
                    .chunks_exact(row_len)
                    .map(|r| *blake3::hash(r).as_bytes())
                    .collect();
                assert_eq!(
                    hash_rows(&data, row_len),
                    expected,
                    "{rows} rows of {row_len}"
                );
            }
        }
    }
}
