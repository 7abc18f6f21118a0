//! Large payloads read straight into a block of their own, and large
//! masked payloads written out of one.
//!
//! Safe Rust must initialise memory before lending it to `read`, so the
//! receive buffer zero-fills the space of every read: one more pass over
//! each byte than the copy and the unmasking. A message whose frames are
//! large is instead assembled in a block that is initialised once, handed
//! out as the message, and reused without a fill as soon as the
//! application has dropped every handle to it. A client's large payload
//! is masked into such a block as it is copied, where the output buffer
//! (not initialised past its end) would need a copy and then a pass to
//! mask.

use bytes::{Bytes, BytesMut};

/// The smallest block allocated, so a message growing from a short prefix
/// does not move many times.
const MIN_BLOCK: usize = 16 << 10;

/// A reused block may be at most this many times the message expected in
/// it: a small message must not pin a block a much larger one left.
const MAX_REUSE_SLACK: usize = 4;

/// The block a large message is assembled in, and the last one handed out.
#[derive(Debug, Default)]
pub(crate) struct PayloadBlock {
    /// Initialised memory; bytes `start..filled` are the message so far
    /// (a read that began at a frame header leaves the header before it).
    buf: BytesMut,
    start: usize,
    filled: usize,
    /// The block of the last message delivered from here, reused once the
    /// application holds no handle to it.
    last: Option<Bytes>,
}

impl PayloadBlock {
    /// Bytes of the message assembled so far.
    pub(crate) fn len(&self) -> usize {
        self.filled - self.start
    }

    /// Starts a message expected to reach `expected` bytes, with `prefix`
    /// (the payload that arrived before) copied in. The last block is
    /// reused if nothing else holds it and it is not far too large.
    pub(crate) fn begin(&mut self, prefix: &[u8], expected: usize) {
        self.start = 0;
        self.filled = 0;
        self.buf = match self.last.take().map(Bytes::try_into_mut) {
            Some(Ok(block)) if block.len() <= expected.saturating_mul(MAX_REUSE_SLACK) => block,
            _ => BytesMut::new(),
        };
        self.extend(prefix);
    }

    /// Makes `filled + extra` bytes of initialised room, growing to at
    /// least `target` bytes when it must grow (the caller's bound on how
    /// far ahead of the data memory may be committed).
    pub(crate) fn reserve(&mut self, extra: usize, target: usize) {
        let needed = self.filled.saturating_add(extra);
        if needed <= self.buf.len() {
            return;
        }
        let size = needed.max(target).max(MIN_BLOCK);
        // A fresh zeroed block (calloc) rather than `resize`, which would
        // round the capacity up and fill the old block's tail first.
        let mut grown = BytesMut::zeroed(size);
        if let (Some(to), Some(from)) = (grown.get_mut(..self.filled), self.buf.get(..self.filled))
        {
            crate::copy::copy(to, from);
        }
        self.buf = grown;
    }

    /// The `n` bytes of room after the message, for a read to fill; call
    /// [`reserve`](Self::reserve) first.
    pub(crate) fn room(&mut self, n: usize) -> &mut [u8] {
        let end = self.filled.saturating_add(n);
        self.buf.get_mut(self.filled..end).unwrap_or_default()
    }

    /// Adds `n` bytes just written into [`room`](Self::room) to the
    /// message and returns them, to unmask and validate in place.
    pub(crate) fn commit(&mut self, n: usize) -> &mut [u8] {
        let start = self.filled;
        self.filled = start.saturating_add(n).min(self.buf.len());
        self.buf.get_mut(start..self.filled).unwrap_or_default()
    }

    /// The message assembled so far.
    pub(crate) fn message(&self) -> &[u8] {
        self.buf.get(self.start..self.filled).unwrap_or_default()
    }

    /// Copies `data` onto the end of the message.
    pub(crate) fn extend(&mut self, data: &[u8]) {
        self.reserve(data.len(), self.filled.saturating_mul(2));
        crate::copy::copy(self.room(data.len()), data);
        self.commit(data.len());
    }

    /// The size of the block being filled.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Drops the first `n` bytes of the message (a frame header that a read
    /// brought in ahead of its payload).
    pub(crate) fn skip(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.filled);
    }

    /// Hands the message out and keeps its block for reuse.
    pub(crate) fn take(&mut self) -> Bytes {
        let block = std::mem::take(&mut self.buf).freeze();
        let end = self.filled.min(block.len());
        let message = block.slice(self.start.min(end)..end);
        self.start = 0;
        self.filled = 0;
        self.last = Some(block);
        message
    }

    /// Gives up the message begun (its bytes were moved elsewhere) and
    /// keeps the block for reuse.
    pub(crate) fn abandon(&mut self) {
        let block = std::mem::take(&mut self.buf);
        self.start = 0;
        self.filled = 0;
        if !block.is_empty() {
            self.last = Some(block.freeze());
        }
    }

    /// Forgets the block kept for reuse (the connection went idle).
    pub(crate) fn release_last(&mut self) {
        self.last = None;
    }

    /// Drops everything.
    pub(crate) fn clear(&mut self) {
        *self = PayloadBlock::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_message_gives_its_block_back() {
        let mut block = PayloadBlock::default();
        block.begin(b"abc", 100_000);
        block.reserve(100_000, 100_003);
        block.room(4).copy_from_slice(b"defg");
        assert_eq!(block.commit(4), b"defg");
        let first = block.take();
        assert_eq!(&first[..], b"abcdefg");
        let address = first.as_ptr();
        drop(first);
        block.begin(b"x", 100_000);
        let second = block.take();
        assert_eq!(second.as_ptr(), address, "the block was reused");
    }

    #[test]
    fn a_message_still_held_is_never_written_over() {
        let mut block = PayloadBlock::default();
        block.begin(&[1; 50_000], 50_000);
        let held = block.take();
        block.begin(&[2; 50_000], 50_000);
        let next = block.take();
        assert!(held.iter().all(|&b| b == 1));
        assert!(next.iter().all(|&b| b == 2));
        assert_ne!(held.as_ptr(), next.as_ptr());
    }

    #[test]
    fn a_far_larger_block_is_not_reused_for_a_small_message() {
        let mut block = PayloadBlock::default();
        block.begin(&[1; 1 << 20], 1 << 20);
        drop(block.take());
        block.begin(&[2; 20_000], 20_000);
        let small = block.take();
        assert_eq!(small.len(), 20_000);
        assert!(block.last.as_ref().is_some_and(|b| b.len() < 1 << 20));
    }
}
