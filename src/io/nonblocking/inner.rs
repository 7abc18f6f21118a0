//! The state all handles of one connection share, and the synchronous
//! steps that move it forward. Everything here runs under the handles'
//! lock and never awaits; waiting is `Poll::Pending` with the stream or
//! the timer registered on the shared waker.

use std::collections::VecDeque;
use std::io;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Transport, is_disconnect};
use crate::io::Error;
use crate::{Closed, Connection, Event, Role};

/// Receive-buffer space offered to the first read; it doubles while reads
/// fill it, up to `MAX_READ`. Small, so an idle connection stays small.
const MIN_READ: usize = 4 << 10;
const MAX_READ: usize = 64 << 10;
/// Events `close` keeps for a live [`Reader`](super::Reader), in payload
/// bytes; past this it stops reading until the reader catches up or the
/// close deadline passes.
const STASH_LIMIT: usize = 1 << 20;
/// How long a server keeps reading (and discarding) after its shutdown,
/// so unread input does not turn its close into a TCP reset.
const LINGER: Duration = Duration::from_secs(2);

/// What to do with events that are not the end of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pull {
    /// Keep them for the reader (`close` on a split writer).
    Stash,
    /// Drop them (`close` when nobody else reads).
    Discard,
}

/// Whether the write side was shut down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shutdown {
    No,
    Queued,
    Done,
}

pub(super) struct Inner<T> {
    pub(super) conn: Connection,
    pub(super) io: T,
    /// Polls the stream and the timer: wakes every waiting handle.
    pub(super) io_waker: Waker,
    /// Chunks taken from the engine and not yet (fully) written.
    pub(super) out: VecDeque<Bytes>,
    pub(super) out_len: usize,
    pub(super) needs_flush: bool,
    pub(super) shutdown: Shutdown,
    /// Writing failed; later writes are dropped.
    pub(super) write_failed: Option<io::ErrorKind>,
    read_closed: bool,
    read_size: usize,
    /// The deadline the transport's timer is armed for.
    armed: Option<Instant>,
    /// Events `close` took for the reader, oldest first, and their size.
    stash: VecDeque<Event>,
    stash_bytes: usize,
    /// The end of the connection, once taken from the engine.
    pub(super) closed: Option<Closed>,
    linger_until: Option<Instant>,
    /// A [`Reader`](super::Reader) exists and will take events.
    pub(super) reader_alive: bool,
    /// The high-water mark for `send`, in unwritten bytes.
    pub(super) write_limit: usize,
    /// Something changed that other waiting handles may wait for.
    pub(super) changed: bool,
}

impl<T: Transport> Inner<T> {
    pub(super) fn new(io: T, conn: Connection, io_waker: Waker) -> Self {
        Inner {
            conn,
            io,
            io_waker,
            out: VecDeque::new(),
            out_len: 0,
            needs_flush: false,
            shutdown: Shutdown::No,
            write_failed: None,
            read_closed: false,
            read_size: MIN_READ,
            armed: None,
            stash: VecDeque::new(),
            stash_bytes: 0,
            closed: None,
            linger_until: None,
            reader_alive: false,
            write_limit: 0,
            changed: false,
        }
    }

    /// Forgets the events kept for a reader that is gone.
    pub(super) fn drop_stash(&mut self) {
        self.stash = VecDeque::new();
        self.stash_bytes = 0;
    }

    /// Bytes queued in the engine or here and not yet written.
    pub(super) fn unwritten(&self) -> usize {
        self.conn.buffered_amount() + self.out_len
    }

    /// The next event for a reader, driving the transport while there is
    /// none. The end of the connection comes as `Err(Error::Closed)`, after
    /// the last bytes are written (and, on a server, the client closed too
    /// or the linger passed); it repeats on every later call.
    pub(super) fn next_event(&mut self) -> Poll<Result<Event, Error>> {
        loop {
            if let Some(event) = self.stash.pop_front() {
                self.stash_bytes -= event_size(&event);
                self.changed = true;
                return Poll::Ready(Ok(event));
            }
            if let Some(event) = self.take_event() {
                // Answers (a pong, a close echo) go out now if the stream
                // takes them; the next call finishes the job otherwise. A
                // write error must not cost the event: it ends the
                // connection, which the next call reports.
                let _ = self.flush_out();
                return Poll::Ready(Ok(event));
            }
            if let Some(closed) = &self.closed {
                let closed = closed.clone();
                std::task::ready!(self.poll_finish());
                return Poll::Ready(Err(Error::from_handshake(closed)));
            }
            std::task::ready!(self.drive(true))?;
        }
    }

    /// Waits for the end of the connection, handling events per `pull`;
    /// `Ok` after a clean closing handshake.
    pub(super) fn poll_closed(&mut self, pull: Pull) -> Poll<Result<(), Error>> {
        loop {
            if let Some(closed) = &self.closed {
                let closed = closed.clone();
                std::task::ready!(self.poll_finish());
                return Poll::Ready(match closed.is_clean() {
                    true => Ok(()),
                    false => Err(Error::Closed(closed)),
                });
            }
            let stash_full = pull == Pull::Stash && self.stash_bytes >= STASH_LIMIT;
            if !stash_full {
                if let Some(event) = self.take_event() {
                    if pull == Pull::Stash {
                        self.stash_bytes += event_size(&event);
                        self.stash.push_back(event);
                        self.changed = true;
                    }
                    continue;
                }
                if self.closed.is_some() {
                    continue;
                }
            }
            // With a full stash, only deadlines and writes move on.
            std::task::ready!(self.drive(!stash_full))?;
        }
    }

    /// An event from the engine; the end of the connection is recorded
    /// instead of returned.
    fn take_event(&mut self) -> Option<Event> {
        match self.conn.poll_event()? {
            Event::Closed(closed) => {
                self.closed = Some(closed);
                self.changed = true;
                None
            }
            event => Some(event),
        }
    }

    /// One round of I/O: writes what is queued, fires a due deadline, reads
    /// once (if `read`). `Ready(Ok)` when something happened that may have
    /// produced an event.
    fn drive(&mut self, read: bool) -> Poll<Result<(), Error>> {
        self.flush_lenient()?;
        let now = self.io.now();
        if self.poll_deadline(now).is_ready() {
            self.flush_lenient()?;
            return Poll::Ready(Ok(()));
        }
        if !read {
            return Poll::Pending;
        }
        if self.read_closed {
            if self.conn.poll_timeout().is_none() && self.conn.state() != crate::State::Closed {
                // Nothing can arrive and nothing is due: do not hang.
                return Poll::Ready(Err(Error::Io(io::ErrorKind::UnexpectedEof.into())));
            }
            return Poll::Pending;
        }
        let result = std::task::ready!(self.read(now));
        self.flush_lenient()?;
        Poll::Ready(result)
    }

    /// Reads once into the engine's receive buffer.
    fn read(&mut self, now: Instant) -> Poll<Result<(), Error>> {
        let mut cx = Context::from_waker(&self.io_waker);
        let io = &mut self.io;
        let max = self.read_size;
        let read = self
            .conn
            .handle_read_with(now, max, |buf| match io.poll_read(&mut cx, buf) {
                Poll::Ready(Ok(n)) => Ok(n),
                Poll::Ready(Err(e)) => Err(Some(e)),
                Poll::Pending => Err(None),
            });
        match read {
            Ok(0) => {
                // End of stream: the engine has handled it.
                self.read_closed = true;
                self.changed = true;
            }
            Ok(n) => {
                if n >= max {
                    self.read_size = (max * 2).min(MAX_READ);
                }
            }
            Err(None) => return Poll::Pending,
            Err(Some(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(Some(e)) => {
                self.read_closed = true;
                self.changed = true;
                self.conn.handle_eof(now);
                if !is_disconnect(&e) {
                    return Poll::Ready(Err(Error::Io(e)));
                }
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Fires the engine's deadline if it is due, else arms the timer for
    /// it. The timer is only moved earlier: when a later deadline replaces
    /// an armed one (keepalive moves on every read), the armed timer fires
    /// early once and is re-armed, instead of being reset on every read.
    fn poll_deadline(&mut self, now: Instant) -> Poll<()> {
        loop {
            let Some(at) = self.conn.poll_timeout() else {
                if self.armed.take().is_some() {
                    self.io.disarm_timer();
                }
                return Poll::Pending;
            };
            if at <= now {
                self.conn.handle_timeout(now);
                self.changed = true;
                return Poll::Ready(());
            }
            if self.armed.is_none_or(|armed| at < armed) {
                self.io.arm_timer(at);
                self.armed = Some(at);
            }
            let mut cx = Context::from_waker(&self.io_waker);
            std::task::ready!(self.io.poll_timer(&mut cx));
            let fired = self.armed.take();
            if fired.is_some_and(|fired| fired >= at) {
                // The runtime says the deadline passed; trust it over a
                // clock read that may round differently.
                self.conn.handle_timeout(now.max(at));
                self.changed = true;
                return Poll::Ready(());
            }
        }
    }

    /// After the end: writes what is left, shuts the write side down and,
    /// on a server, reads until the client closes too — all bounded by
    /// `LINGER`.
    fn poll_finish(&mut self) -> Poll<()> {
        let now = self.io.now();
        let until = *self
            .linger_until
            .get_or_insert_with(|| now.checked_add(LINGER).unwrap_or(now));
        loop {
            if now >= until {
                return Poll::Ready(());
            }
            match self.flush_out() {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Pending => return self.sleep_until(until),
            }
            if self.conn.role() != Role::Server || self.read_closed {
                return Poll::Ready(());
            }
            let mut scratch = [0u8; 1024];
            let mut cx = Context::from_waker(&self.io_waker);
            match self.io.poll_read(&mut cx, &mut scratch) {
                Poll::Ready(Ok(0) | Err(_)) => self.read_closed = true,
                Poll::Ready(Ok(_)) => {}
                Poll::Pending => return self.sleep_until(until),
            }
        }
    }

    /// Waits for `until` on the transport's timer (free once the engine's
    /// deadlines are all over).
    fn sleep_until(&mut self, until: Instant) -> Poll<()> {
        if self.armed != Some(until) {
            self.io.arm_timer(until);
            self.armed = Some(until);
        }
        let mut cx = Context::from_waker(&self.io_waker);
        self.io.poll_timer(&mut cx)
    }
}

/// What an event holds, for the stash limit.
fn event_size(event: &Event) -> usize {
    match event {
        Event::Message(message) => message.as_bytes().len(),
        Event::Ping(payload) | Event::Pong(payload) => payload.len(),
        _ => 0,
    }
}
