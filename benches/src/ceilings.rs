//! The ceilings: the least work any receiver must do on the same bytes.

/// Copies `src` into `dst` in [`READ_CHUNK`](crate::READ_CHUNK) pieces,
/// as a receiver's reads would.
pub fn copy_in_reads(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst
        .chunks_mut(crate::READ_CHUNK)
        .zip(src.chunks(crate::READ_CHUNK))
    {
        d.copy_from_slice(s);
    }
}

fn rotated(key: [u8; 4], offset: usize) -> [u8; 4] {
    let mut key = key;
    key.rotate_left(offset & 3);
    key
}

/// The fastest unmask loop in safe Rust we found: 32-byte blocks as four
/// 64-bit words (fixed-size arrays, no bounds checks; the compiler turns
/// them into vector XORs), then 8-byte words, then bytes. Nothing is set
/// up per call beyond one 64-bit key word, so short payloads stay cheap.
pub fn unmask_fast(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotated(key, offset);
    let word = u64::from(u32::from_ne_bytes(key)) * 0x1_0000_0001;
    let (blocks, rest) = buf.as_chunks_mut::<32>();
    for block in blocks {
        let (words, _) = block.as_chunks_mut::<8>();
        for w in words {
            *w = (u64::from_ne_bytes(*w) ^ word).to_ne_bytes();
        }
    }
    let (words, tail) = rest.as_chunks_mut::<8>();
    for w in words {
        *w = (u64::from_ne_bytes(*w) ^ word).to_ne_bytes();
    }
    for (x, k) in tail.iter_mut().zip(key.iter().cycle()) {
        *x ^= *k;
    }
}

/// Copy and unmask in one pass (what a receiver that unmasks while moving
/// bytes out of the read buffer could do).
pub fn copy_unmask_fast(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let word = u64::from(u32::from_ne_bytes(key)) * 0x1_0000_0001;
    let (dblocks, dtail) = dst.as_chunks_mut::<8>();
    let (sblocks, stail) = src.as_chunks::<8>();
    for (d, s) in dblocks.iter_mut().zip(sblocks) {
        *d = (u64::from_ne_bytes(*s) ^ word).to_ne_bytes();
    }
    for ((x, y), k) in dtail.iter_mut().zip(stail.iter()).zip(key.iter().cycle()) {
        *x = *y ^ *k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmask_matches_wsproto() {
        for len in [0, 1, 63, 64, 65, 200, 1000] {
            for offset in 0..4 {
                let data = crate::binary_payload(len, 3);
                let mut a = data.clone();
                let mut b = data.clone();
                unmask_fast(&mut a, [1, 2, 3, 4], offset);
                wsproto::frame::apply_mask(&mut b, [1, 2, 3, 4], offset);
                assert_eq!(a, b);
                let mut c = vec![0; len];
                copy_unmask_fast(&mut c, &data, [1, 2, 3, 4]);
                wsproto::frame::apply_mask(&mut c, [1, 2, 3, 4], 0);
                assert_eq!(c, data);
            }
        }
    }
}
