//! The outgoing byte queue. Small writes (headers, small and masked
//! payloads) are coalesced into one buffer; large server payloads are
//! queued as their own `Bytes` without copying, ready for vectored writes.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

/// Payloads at least this long are queued by reference instead of copied.
const ZERO_COPY_THRESHOLD: usize = 1024;

/// What to do with the transport, from
/// [`Connection::poll_transmit`](crate::Connection::poll_transmit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// Write these bytes, in order.
    Data(Bytes),
    /// Everything has been written: close the transport's write side and
    /// then the transport. Reported once, after the last data.
    Shutdown,
}

#[derive(Debug, Default)]
pub(crate) struct TransmitQueue {
    /// Finished chunks, in order, ahead of `tail`.
    chunks: VecDeque<Bytes>,
    /// Bytes being coalesced.
    tail: BytesMut,
    /// Bytes queued and not yet handed out.
    queued: usize,
    shutdown: ShutdownState,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ShutdownState {
    #[default]
    No,
    Requested,
    Reported,
}

impl TransmitQueue {
    /// The coalescing buffer, for encoders to append to.
    pub(crate) fn tail(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Records that `n` bytes were appended to `tail`.
    pub(crate) fn appended(&mut self, n: usize) {
        self.queued += n;
    }

    /// Queues a payload: by reference when large, else copied.
    pub(crate) fn push_payload(&mut self, payload: Bytes) {
        self.queued += payload.len();
        if payload.len() >= ZERO_COPY_THRESHOLD {
            if !self.tail.is_empty() {
                self.chunks.push_back(self.tail.split().freeze());
            }
            self.chunks.push_back(payload);
        } else {
            self.tail.extend_from_slice(&payload);
        }
    }

    /// Asks for a shutdown after everything queued so far.
    pub(crate) fn request_shutdown(&mut self) {
        if self.shutdown == ShutdownState::No {
            self.shutdown = ShutdownState::Requested;
        }
    }

    /// Bytes queued and not yet handed out.
    pub(crate) fn queued(&self) -> usize {
        self.queued
    }

    /// The next bytes to write, without taking them.
    #[inline]
    pub(crate) fn peek(&self) -> &[u8] {
        match self.chunks.front() {
            Some(chunk) => chunk,
            None => &self.tail,
        }
    }

    /// Drops the first `n` bytes of what [`peek`](Self::peek) showed.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.peek().len());
        self.queued -= n;
        match self.chunks.front_mut() {
            Some(chunk) => {
                chunk.advance(n);
                if chunk.is_empty() {
                    self.chunks.pop_front();
                }
            }
            // All of it: clearing keeps the buffer's start where it is, so
            // the next frame is written without moving anything.
            None if n == self.tail.len() => self.tail.clear(),
            None => self.tail.advance(n),
        }
    }

    #[inline]
    pub(crate) fn poll(&mut self) -> Option<Transmit> {
        if self.queued == 0 && self.shutdown != ShutdownState::Requested {
            // The common answer for a writer that drained through peek.
            return None;
        }
        let chunk = match self.chunks.pop_front() {
            Some(chunk) => Some(chunk),
            None if !self.tail.is_empty() => Some(self.tail.split().freeze()),
            None => None,
        };
        if let Some(chunk) = chunk {
            self.queued -= chunk.len();
            return Some(Transmit::Data(chunk));
        }
        if self.shutdown == ShutdownState::Requested {
            self.shutdown = ShutdownState::Reported;
            return Some(Transmit::Shutdown);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_and_consume_walk_the_same_bytes_as_poll() {
        let mut q = TransmitQueue::default();
        q.tail().extend_from_slice(b"h1");
        q.appended(2);
        q.push_payload(Bytes::from(vec![7u8; 2000]));
        q.tail().extend_from_slice(b"h2");
        q.appended(2);
        let mut out = Vec::new();
        while !q.peek().is_empty() {
            let take = q.peek().len().min(3);
            out.extend_from_slice(&q.peek()[..take]);
            q.consume(take);
        }
        let mut expected = b"h1".to_vec();
        expected.extend_from_slice(&[7u8; 2000]);
        expected.extend_from_slice(b"h2");
        assert_eq!(out, expected);
        assert_eq!(q.queued(), 0);
        assert_eq!(q.poll(), None);
    }

    #[test]
    fn order_and_zero_copy() {
        let mut q = TransmitQueue::default();
        q.tail().extend_from_slice(b"h1");
        q.appended(2);
        let big = Bytes::from(vec![7u8; 2000]);
        q.push_payload(big.clone());
        q.tail().extend_from_slice(b"h2");
        q.appended(2);
        q.push_payload(Bytes::from_static(b"small"));
        q.request_shutdown();
        assert_eq!(q.queued(), 2009);
        assert_eq!(q.poll(), Some(Transmit::Data(Bytes::from_static(b"h1"))));
        match q.poll() {
            Some(Transmit::Data(chunk)) => assert_eq!(chunk.as_ptr(), big.as_ptr()),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            q.poll(),
            Some(Transmit::Data(Bytes::from_static(b"h2small")))
        );
        assert_eq!(q.poll(), Some(Transmit::Shutdown));
        assert_eq!(q.poll(), None);
        assert_eq!(q.queued(), 0);
    }
}
