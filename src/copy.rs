//! Byte copies that step around a slow case of the platform's `memcpy`.
//!
//! On x86-64 CPUs with fast short `rep movsb` (measured on AMD EPYC),
//! glibc copies of a few KiB and more with `rep movsb`, which runs more
//! than ten times slower when the destination lies 1 to 63 bytes past
//! the source's offset within a 4 KiB page. Which offsets a connection
//! gets depends on where the allocator put the buffers and how far the
//! stream has moved through them, so roughly one copy in a hundred would
//! hit it. Such a copy is made in pieces small enough for glibc's vector
//! loop instead, which has no such case; every other copy is one call.

use bytes::BytesMut;

const PAGE: usize = 4096;
/// How far past the source's page offset the slow case reaches.
const NEAR: usize = 64;
/// Below every glibc `rep movsb` threshold (2 KiB and up).
const PIECE: usize = 1024;

/// Whether a copy from `src` to `dst` of `len` bytes is the slow case.
fn near_alias(dst: usize, src: usize, len: usize) -> bool {
    len > PIECE && (1..NEAR).contains(&(dst.wrapping_sub(src) % PAGE))
}

/// `dst.copy_from_slice(src)`; the lengths must be equal.
pub(crate) fn copy(dst: &mut [u8], src: &[u8]) {
    if near_alias(dst.as_ptr() as usize, src.as_ptr() as usize, src.len()) {
        for (to, from) in dst.chunks_mut(PIECE).zip(src.chunks(PIECE)) {
            to.copy_from_slice(from);
        }
    } else {
        dst.copy_from_slice(src);
    }
}

/// `buf.extend_from_slice(src)`.
pub(crate) fn extend(buf: &mut BytesMut, src: &[u8]) {
    buf.reserve(src.len());
    let end = (buf.as_ptr() as usize).wrapping_add(buf.len());
    if near_alias(end, src.as_ptr() as usize, src.len()) {
        for piece in src.chunks(PIECE) {
            buf.extend_from_slice(piece);
        }
    } else {
        buf.extend_from_slice(src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slow_case_is_only_just_past_the_page_offset() {
        assert!(!near_alias(4096, 0, 8192));
        assert!(near_alias(4096 + 16, 0, 8192));
        assert!(near_alias(63, 0, 8192));
        assert!(!near_alias(64, 0, 8192));
        assert!(!near_alias(0, 16, 8192), "destination before the source");
        assert!(!near_alias(16, 0, PIECE), "short copies are one call");
    }

    #[test]
    fn copies_in_pieces_are_whole() {
        let src: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut space = vec![0u8; src.len() + PAGE];
        let gap = (src.as_ptr() as usize).wrapping_sub(space.as_ptr() as usize) % PAGE;
        let start = (gap + 16) % PAGE;
        let dst = &mut space[start..start + src.len()];
        assert!(near_alias(
            dst.as_ptr() as usize,
            src.as_ptr() as usize,
            src.len()
        ));
        copy(dst, &src);
        assert_eq!(dst, &src[..]);
        for skip in 0..80 {
            let mut buf = BytesMut::with_capacity(src.len() + 80);
            buf.extend_from_slice(&src[..skip]);
            extend(&mut buf, &src);
            assert_eq!(&buf[skip..], &src[..]);
        }
    }
}
