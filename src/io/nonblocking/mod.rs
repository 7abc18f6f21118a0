//! The runtime-independent core of the async adapters
//! ([`tokio`](crate::io::tokio), [`futures`](crate::io::futures)): a
//! [`WebSocket`] over any poll-based [`Transport`], which can be
//! [`split`](WebSocket::split) into a [`Reader`] and cloneable [`Writer`]s.
//!
//! Use it through one of the runtime modules, which supply the transport
//! (the stream plus a timer) and the `connect`/`accept` functions; this
//! module holds what they share.
//!
//! # Design
//!
//! **No background task, no channel.** Every handle of one connection
//! shares one [`Connection`](crate::Connection), the stream and a little
//! bookkeeping behind a `std::sync::Mutex`. The lock is only ever held for
//! synchronous work — engine calls and the stream's own `poll_read` /
//! `poll_write` — and never across an `.await`. Whichever task is waiting
//! does the I/O its wait needs: `recv` reads, fires deadlines and writes
//! queued bytes; `send` writes until the queue drains below the
//! high-water mark; `close` reads until the closing handshake is over.
//! The stream and the timer are always polled with one shared waker that
//! wakes every waiting handle, so no task can steal another's wake-up, and
//! a handle that changes something another one waits for (bytes written,
//! a command queued, the end of the connection) wakes it. This needs no
//! spawn, so it runs on any executor, and an idle connection costs one
//! allocation for the shared state plus its receive buffer.
//!
//! **Cancellation safety.** `recv` keeps no state in its future: between
//! polls everything lives in the shared state. An event is taken from the
//! engine only in the same poll that returns it, so dropping a `recv`
//! future (a losing `select!` branch, a timeout) loses nothing: the next
//! `recv` returns the next event. Frames are queued into the engine whole,
//! in one synchronous call, so a cancelled `send` never leaves half a frame
//! on the wire: the message was either queued in full (and will be sent)
//! or not at all.
//!
//! **Timers** come from the engine's `poll_timeout` and sleep on the
//! runtime's timer while a task waits in `recv` or `close`, so keepalive
//! pings, the keepalive timeout and the close deadline fire while the
//! application is idle in `recv`.
//!
//! **Backpressure.** `send` waits while more than the write buffer limit
//! (the high-water mark, [`WebSocket::set_write_buffer_limit`]) is queued
//! and unwritten, and returns once the queue is at or below it again. The
//! default limit is 0: `send` returns once the transport has taken every
//! byte, like `tungstenite`'s `send`. With a higher limit, `send` returns
//! early and the rest is written by whichever call comes next on the
//! connection — a task waiting in `recv` is woken to do it.
//!
//! **Closing.** `close` sends a close frame and reads until the peer's
//! close arrives, or until the close deadline, even if nobody calls `recv`
//! any more. A server then shuts its write side down and reads until the
//! client closes too (bounded by a short linger), so its close is a FIN,
//! not a reset.
//!
//! Futures `Stream`/`Sink` are not implemented: `recv` is cancel-safe, so
//! `select!` and `timeout` work on it directly, and
//! [`Reader::poll_recv`] makes a `Stream` a few lines for those who want
//! one, without tying the crate to `futures-core`/`futures-sink`.

mod handles;
mod hub;
mod inner;
mod shared;
mod write;

use std::io::{self, IoSlice};
use std::task::{Context, Poll};
use std::time::Instant;

pub use crate::io::blocking::Incoming;
pub use handles::{Reader, WebSocket, Writer};
pub(crate) use handles::{accept, client};

/// A byte stream plus a timer, polled by the adapters: what
/// [`WebSocket`] needs from a runtime. The runtime modules implement it
/// for their streams ([`TokioTransport`](crate::io::tokio::TokioTransport),
/// [`FuturesTransport`](crate::io::futures::FuturesTransport)).
///
/// The poll methods follow the usual contract: `Pending` means the waker
/// of `cx` will be woken when it is worth polling again.
pub trait Transport {
    /// Reads into `buf`; `Ok(0)` is the end of the stream.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Writes from `bufs`, in order; returns how many bytes were taken.
    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;

    /// Pushes buffered bytes (a TLS record …) to the peer.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Closes the write side after the last byte (a TCP FIN, a TLS
    /// close_notify).
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// The current time on the clock the timer uses.
    fn now(&self) -> Instant;

    /// Arms the timer for `deadline`, replacing any earlier setting.
    fn arm_timer(&mut self, deadline: Instant);

    /// `Ready` once the armed deadline has passed; `Pending` while it has
    /// not, or when no timer is armed.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()>;

    /// Disarms the timer and frees what it holds.
    fn disarm_timer(&mut self);
}

/// The peer is gone: the connection reports this as its end (1006, or
/// clean if the closing handshake had completed), not as an I/O error.
fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}
