//! Writing: the engine's queue goes out in vectored writes, then a flush,
//! then the shutdown after [`Transmit::Shutdown`].

use std::io::{self, IoSlice};
use std::task::{Context, Poll};

use bytes::Buf;

use super::inner::{Inner, Shutdown};
use super::{Transport, is_disconnect};
use crate::Transmit;
use crate::io::Error;

/// Chunks handed to one vectored write.
const MAX_SLICES: usize = 32;

impl<T: Transport> Inner<T> {
    /// Writes everything queued, flushes, and shuts the write side down
    /// once the engine asked for it. `Pending` while the stream is full.
    /// A write error ends the connection (the engine reports 1006) and is
    /// returned once, to the caller that hit it.
    pub(super) fn flush_out(&mut self) -> Poll<io::Result<()>> {
        let waker = self.io_waker.clone();
        let mut cx = Context::from_waker(&waker);
        loop {
            while self.out.len() < MAX_SLICES {
                match self.conn.poll_transmit() {
                    Some(Transmit::Data(bytes)) => {
                        if self.write_failed.is_none() && !bytes.is_empty() {
                            self.out_len += bytes.len();
                            self.out.push_back(bytes);
                        }
                    }
                    Some(Transmit::Shutdown) => {
                        if self.shutdown == Shutdown::No {
                            self.shutdown = Shutdown::Queued;
                        }
                    }
                    None => break,
                }
            }
            if self.out.is_empty() {
                break;
            }
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let mut count = 0;
            for (slot, chunk) in slices.iter_mut().zip(&self.out) {
                *slot = IoSlice::new(chunk);
                count += 1;
            }
            let slices = slices.get(..count).unwrap_or_default();
            match self.io.poll_write_vectored(&mut cx, slices) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(self.fail_write(io::ErrorKind::WriteZero.into())));
                }
                Poll::Ready(Ok(n)) => {
                    self.advance(n);
                    self.needs_flush = true;
                    self.changed = true;
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.fail_write(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.write_failed.is_some() {
            return Poll::Ready(Ok(()));
        }
        if self.needs_flush {
            match self.io.poll_flush(&mut cx) {
                Poll::Ready(Ok(())) => self.needs_flush = false,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.fail_write(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.shutdown == Shutdown::Queued {
            // Best effort: the peer may already be gone.
            std::task::ready!(self.io.poll_shutdown(&mut cx)).ok();
            self.shutdown = Shutdown::Done;
            self.changed = true;
        }
        Poll::Ready(Ok(()))
    }

    /// [`flush_out`](Self::flush_out) where waiting is fine: a peer that
    /// went away is reported by the connection's end, not as an error.
    pub(super) fn flush_lenient(&mut self) -> Result<(), Error> {
        match self.flush_out() {
            Poll::Ready(Err(e)) if !is_disconnect(&e) => Err(Error::Io(e)),
            _ => Ok(()),
        }
    }

    /// Waits until at most `limit` bytes are unwritten (the high-water
    /// mark), writing meanwhile.
    pub(super) fn poll_drained(&mut self, limit: usize) -> Poll<Result<(), Error>> {
        let flushed = self.flush_out();
        if let Some(kind) = self.write_failed {
            if let Poll::Ready(Err(e)) = flushed {
                return Poll::Ready(Err(Error::Io(e)));
            }
            return Poll::Ready(Err(Error::Io(kind.into())));
        }
        if let Poll::Ready(Err(e)) = flushed {
            return Poll::Ready(Err(Error::Io(e)));
        }
        if self.unwritten() <= limit {
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }

    /// Drops `n` written bytes off the front of the queue.
    fn advance(&mut self, mut n: usize) {
        self.out_len -= n.min(self.out_len);
        while n > 0 {
            let Some(front) = self.out.front_mut() else {
                break;
            };
            if n < front.len() {
                front.advance(n);
                break;
            }
            n -= front.len();
            self.out.pop_front();
        }
    }

    /// The stream cannot be written any more: the connection is over.
    fn fail_write(&mut self, e: io::Error) -> io::Error {
        self.write_failed = Some(e.kind());
        self.out.clear();
        self.out_len = 0;
        self.changed = true;
        let now = self.io.now();
        self.conn.handle_eof(now);
        while self.conn.poll_transmit().is_some() {}
        e
    }
}
