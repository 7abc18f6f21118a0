//! [`WebSocket`]: one connection driven over a blocking stream.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::transport::{Transport, is_disconnect, is_retry, write_all_vectored};
use crate::io::Error;
use crate::{
    Accept, CloseCode, CloseFrame, Closed, Config, Connection, Event, Message, Negotiated,
    Response, Role, SendError, State, Transmit,
};

/// Receive-buffer space offered to a read: it starts small (the engine
/// zero-fills what it offers) and doubles while reads fill it.
const MIN_READ: usize = 4 << 10;
const MAX_READ: usize = 256 << 10;
/// How long a server keeps reading (and discarding) after it shut down its
/// write side, so unread input does not turn its close into a TCP reset
/// that could destroy the close frame before the peer reads it.
const LINGER: Duration = Duration::from_secs(2);
/// Shortest read timeout set; a zero timeout means "forever" to the OS.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// What [`WebSocket::recv`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A complete text or binary message.
    Message(Message),
    /// A ping; the engine has already answered it (unless auto-pong is
    /// off in the config).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame; the engine has already echoed it. The next
    /// `recv` reports the end of the connection.
    Close(CloseFrame),
}

/// A WebSocket over a blocking stream `S`: any `Read + Write` that
/// implements [`Transport`] (`TcpStream` does).
///
/// Every call writes out what the connection queued (replies to pings, the
/// close echo, …) before it returns. While a call blocks in a read, the
/// stream's read timeout is set to the connection's next deadline, so
/// keepalive pings, the close timeout and the handshake timeout fire on
/// time.
///
/// The stream must be in blocking mode.
#[derive(Debug)]
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    /// Chunks being written, kept to reuse the allocation.
    out: Vec<Bytes>,
    /// Space offered to the next read.
    read_size: usize,
    /// The read timeout last set on the stream (`None`: not known).
    read_timeout: Option<Option<Duration>>,
    /// Whether the stream can bound reads.
    can_time_out: bool,
    read_closed: bool,
    write_closed: bool,
    /// The terminal event, once reported.
    closed: Option<Closed>,
}

impl<S: Read + Write + Transport> WebSocket<S> {
    pub(super) fn new(stream: S, conn: Connection) -> Self {
        WebSocket {
            stream,
            conn,
            out: Vec::new(),
            read_size: MIN_READ,
            read_timeout: None,
            can_time_out: true,
            read_closed: false,
            write_closed: false,
            closed: None,
        }
    }

    /// A WebSocket on a stream whose opening handshake was done elsewhere
    /// (see [`Connection::from_upgraded`]).
    pub fn from_upgraded(stream: S, role: Role, negotiated: Negotiated, config: Config) -> Self {
        let conn = Connection::from_upgraded(role, negotiated, config, Instant::now());
        WebSocket::new(stream, conn)
    }

    // ---- receiving -------------------------------------------------------

    /// Blocks until something arrives.
    ///
    /// `Err` means the connection is over (except [`Error::Send`], which
    /// this never returns): [`Error::Closed`] carries how it ended, clean
    /// or not. Calling `recv` again returns the same `Err`.
    pub fn recv(&mut self) -> Result<Incoming, Error> {
        loop {
            if let Some(incoming) = self.recv_until(None)? {
                return Ok(incoming);
            }
        }
    }

    /// Like [`recv`](Self::recv), but gives up after `timeout` with
    /// `Ok(None)`; the connection stays usable. (Streams that cannot bound
    /// reads block until data arrives.)
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<Incoming>, Error> {
        let deadline = Instant::now().checked_add(timeout);
        self.recv_until(deadline)
    }

    fn recv_until(&mut self, deadline: Option<Instant>) -> Result<Option<Incoming>, Error> {
        loop {
            let Some(event) = self.next_event(deadline)? else {
                return Ok(None);
            };
            let incoming = match event {
                Event::Message(message) => Incoming::Message(message),
                Event::Ping(payload) => Incoming::Ping(payload),
                Event::Pong(payload) => Incoming::Pong(payload),
                Event::CloseReceived(frame) => Incoming::Close(frame),
                Event::Closed(closed) => return Err(Error::Closed(closed)),
                Event::Rejected(response) => return Err(Error::Rejected(response)),
                Event::Request(_) | Event::Connected(_) => continue,
            };
            return Ok(Some(incoming));
        }
    }

    /// The next event of the connection; `None` once `deadline` passed.
    pub(super) fn next_event(&mut self, deadline: Option<Instant>) -> Result<Option<Event>, Error> {
        loop {
            if let Some(event) = self.conn.poll_event() {
                if let Event::Closed(closed) = &event {
                    self.closed = Some(closed.clone());
                }
                // Taking an event can resume parsing and queue output (a
                // pong, a close). A write error here has told the engine
                // the stream ended, and its Closed event will say so.
                let _ = self.flush();
                return Ok(Some(event));
            }
            if let Some(closed) = &self.closed {
                return Err(Error::Closed(closed.clone()));
            }
            if !self.wait(deadline)? {
                return Ok(None);
            }
        }
    }

    /// Reads once (bounded by the connection's next deadline and
    /// `deadline`) or fires a due timer. `false` once `deadline` passed.
    fn wait(&mut self, deadline: Option<Instant>) -> Result<bool, Error> {
        self.flush_input()?;
        let now = Instant::now();
        let timer = self.conn.poll_timeout();
        if timer.is_some_and(|at| at <= now) {
            self.conn.handle_timeout(now);
            self.flush_input()?;
            return Ok(true);
        }
        if deadline.is_some_and(|at| at <= now) {
            return Ok(false);
        }
        let wake = match (timer, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if self.read_closed {
            // Nothing more can arrive; only a deadline can change anything.
            let Some(wake) = wake else {
                return Err(Error::Io(io::ErrorKind::UnexpectedEof.into()));
            };
            std::thread::sleep(wake.saturating_duration_since(now));
            return Ok(true);
        }
        self.set_read_timeout(wake.map(|at| at.saturating_duration_since(now).max(MIN_WAIT)))?;
        let stream = &mut self.stream;
        let read = self
            .conn
            .handle_read_with(now, self.read_size, |buf| stream.read(buf));
        if let Ok(n) = read {
            self.read_size = match n {
                n if n == self.read_size => (n * 2).min(MAX_READ),
                n if n < MIN_READ => MIN_READ,
                _ => self.read_size,
            };
        }
        let result = match read {
            Ok(0) => {
                // End of stream: the connection has handled it.
                self.read_closed = true;
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) if is_retry(&e) => Ok(()),
            Err(e) => {
                // A reset is the peer going away; anything else is reported.
                self.read_closed = true;
                self.conn.handle_eof(now);
                if is_disconnect(&e) { Ok(()) } else { Err(e) }
            }
        };
        self.flush_input()?;
        result?;
        Ok(true)
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if self.can_time_out && self.read_timeout != Some(timeout) {
            self.can_time_out = self.stream.set_read_timeout(timeout)?;
            self.read_timeout = Some(timeout);
        }
        Ok(())
    }

    // ---- sending ---------------------------------------------------------

    /// Sends a whole message, text or binary (echoing a received
    /// `Message` copies nothing on a server).
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        self.command(|conn| conn.send(message))
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.command(|conn| conn.send_text(text))
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.command(|conn| conn.send_binary(data))
    }

    /// Sends a ping (at most 125 bytes); its pong comes back through
    /// [`recv`](Self::recv).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.command(|conn| conn.send_ping(payload))
    }

    /// Sends an unsolicited pong (at most 125 bytes).
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.command(|conn| conn.send_pong(payload))
    }

    /// Closes with `code` and `reason` (at most 123 bytes) and waits for
    /// the closing handshake to finish, up to the config's close timeout.
    /// Messages that arrive in the meantime are dropped; to read them, call
    /// [`start_close`](Self::start_close) and keep calling `recv`.
    ///
    /// `Ok` after a clean closing handshake (also when the peer had started
    /// it); otherwise the error says what happened.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if self.conn.state() == State::Open {
            self.start_close(code, reason)?;
        }
        loop {
            match self.recv() {
                Ok(_) => {}
                Err(e) if e.is_clean_close() => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends a close frame without waiting; [`recv`](Self::recv) keeps
    /// delivering what the peer sent before it saw the close, then the end
    /// of the connection.
    pub fn start_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let now = Instant::now();
        self.command(|conn| conn.close(now, code, reason))
    }

    fn command(
        &mut self,
        command: impl FnOnce(&mut Connection) -> Result<(), SendError>,
    ) -> Result<(), Error> {
        command(&mut self.conn)?;
        self.flush().map_err(Error::Io)
    }

    /// Server: answers the pending request; a failing answer becomes a 500.
    pub(super) fn answer(&mut self, decision: Result<Accept, Response>) -> Result<(), Error> {
        let result = match decision {
            Ok(accept) => self.conn.accept(Instant::now(), accept),
            Err(response) => self.conn.reject(response),
        };
        if let Err(e) = result {
            let _ = self.conn.reject(Response::new(500));
            self.flush_input()?;
            return Err(Error::Send(e));
        }
        self.flush_input()
    }

    // ---- writing ---------------------------------------------------------

    /// Flushes after input: a peer that went away is reported by the
    /// connection's `Closed` event, not as an I/O error.
    fn flush_input(&mut self) -> Result<(), Error> {
        match self.flush() {
            Err(e) if !is_disconnect(&e) => Err(Error::Io(e)),
            _ => Ok(()),
        }
    }

    /// Writes everything the connection queued, then half-closes on
    /// `Transmit::Shutdown`. A write error ends the connection.
    fn flush(&mut self) -> io::Result<()> {
        let mut shutdown = false;
        while let Some(transmit) = self.conn.poll_transmit() {
            match transmit {
                Transmit::Data(bytes) if !self.write_closed => self.out.push(bytes),
                Transmit::Data(_) => {}
                Transmit::Shutdown => shutdown = true,
            }
        }
        let written = write_all_vectored(&mut self.stream, &self.out);
        self.out.clear();
        if let Err(e) = written {
            self.write_closed = true;
            self.read_closed = true;
            self.conn.handle_eof(Instant::now());
            while self.conn.poll_transmit().is_some() {}
            return Err(e);
        }
        if shutdown && !self.write_closed {
            self.write_closed = true;
            // Best effort: the peer may already be gone.
            let _ = self.stream.shutdown_write();
            self.linger();
        }
        Ok(())
    }

    /// Server, after its half-close: reads and discards until the peer
    /// closes too (or `LINGER` passes), so the close is a FIN, not a reset.
    fn linger(&mut self) {
        if self.conn.role() != Role::Server || self.read_closed || !self.can_time_out {
            return;
        }
        let Some(end) = Instant::now().checked_add(LINGER) else {
            return;
        };
        let mut scratch = [0u8; 4096];
        self.read_timeout = None;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if !matches!(
                self.stream.set_read_timeout(Some(left.max(MIN_WAIT))),
                Ok(true)
            ) {
                break;
            }
            match self.stream.read(&mut scratch) {
                Ok(0) => {
                    self.read_closed = true;
                    break;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }

    // ---- getters ---------------------------------------------------------

    /// The connection's state.
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// What the handshake negotiated (subprotocol, extensions, the peer's
    /// headers).
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.conn.negotiated()
    }

    /// The engine underneath.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl<S> WebSocket<S> {
    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably. Reading from or writing to it directly breaks
    /// the framing.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The stream, giving up the WebSocket.
    pub fn into_inner(self) -> S {
        self.stream
    }
}
