//! [`Connection`]: one object that owns the handshake, framing, closing
//! handshake and timers of one WebSocket connection.

mod closing;
mod direct;
mod handshake;
mod inflating;
mod payload_block;
mod recv;
mod send;
mod state;
mod stats;

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

pub use send::MessageKind;
pub use state::{Role, State};
pub use stats::Stats;

use crate::config::Config;
use crate::deflate::{DeflateParams, DeflateState, EXTENSION_NAME};
use crate::entropy::MaskKeys;
use crate::error::{HandshakeError, SendError};
use crate::event::{Event, Message};
use crate::handshake::{Accept, ClientRequest, Negotiated, Response};
use crate::timer::{Timer, TimerTable};
use crate::transmit::{Transmit, TransmitQueue};
use payload_block::PayloadBlock;
use recv::FrameReader;
use send::FrameWriter;
use state::{CloseProgress, Phase};

/// Receive buffers larger than this are released once drained, so a large
/// message does not pin its buffer on an idle connection.
const KEEP_RECV_CAPACITY: usize = 64 << 10;

/// A WebSocket connection as a sans-IO state machine.
///
/// Bytes and time go in; bytes, events and deadlines come out. The methods
/// fall into four groups, named by direction:
///
/// - **Input** (`handle_*`), from the network or the clock:
///   [`handle_data`](Self::handle_data),
///   [`handle_read_with`](Self::handle_read_with),
///   [`handle_eof`](Self::handle_eof),
///   [`handle_timeout`](Self::handle_timeout). They never fail: a peer that
///   breaks the protocol gets the right close frame or HTTP status, and the
///   connection ends with [`Event::Closed`] carrying the reason.
/// - **Commands**, from the application: [`accept`](Self::accept),
///   [`reject`](Self::reject), [`send`](Self::send),
///   [`send_text`](Self::send_text), [`send_binary`](Self::send_binary),
///   [`send_binary_slice`](Self::send_binary_slice),
///   [`send_fragment`](Self::send_fragment), [`send_ping`](Self::send_ping),
///   [`send_pong`](Self::send_pong), [`close`](Self::close). An `Err` means
///   the call itself was wrong (see [`SendError`]) and changed nothing.
/// - **Output** (`poll_*`): [`poll_transmit`](Self::poll_transmit) (bytes
///   to write, then a shutdown), [`poll_event`](Self::poll_event),
///   [`poll_timeout`](Self::poll_timeout) (when to call `handle_timeout`).
///   Each is independent of the others; any order of calls is correct.
/// - **Getters**: [`state`](Self::state), [`role`](Self::role),
///   [`negotiated`](Self::negotiated),
///   [`buffered_amount`](Self::buffered_amount).
///
/// A driver loop: feed what the socket read, write everything
/// `poll_transmit` gives, handle every event, sleep until the earlier of
/// the next read and `poll_timeout`, and stop after `Event::Closed` and
/// `Transmit::Shutdown`.
pub struct Connection {
    role: Role,
    config: Config,
    entropy: MaskKeys,
    phase: Phase,
    /// Received bytes not yet consumed; frames are unmasked in place and
    /// handed out as slices of it.
    recv: BytesMut,
    /// Large messages, read past the receive buffer into a reusable block.
    block: PayloadBlock,
    /// Large masked payloads, masked into a reusable block on the way out.
    send_block: PayloadBlock,
    out: TransmitQueue,
    events: VecDeque<Event>,
    timers: TimerTable,
    negotiated: Option<Negotiated>,
    reader: FrameReader,
    writer: FrameWriter,
    closing: CloseProgress,
    /// A ping answer waiting to be written; a newer ping replaces it
    /// (RFC 6455 §5.5.3), so a ping flood cannot grow the queue.
    pending_pong: Option<Bytes>,
    /// A keepalive ping is out and unanswered.
    awaiting_pong: bool,
    /// permessage-deflate, when negotiated.
    deflate: Option<DeflateState>,
    /// Parsing stopped after a message so the application can answer it
    /// before later frames (a close, a violation) are acted on; it resumes
    /// when the application asks for the next event.
    paused: bool,
    /// End of stream arrived while paused; it takes effect once the
    /// buffered frames are processed.
    eof_pending: bool,
    /// The latest time any input method was given, for work resumed from
    /// `poll_event`.
    last_now: Instant,
    stats: Stats,
    /// Ping and pong events queued and not yet taken.
    queued_control_events: usize,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("buffered_amount", &self.buffered_amount())
            .finish_non_exhaustive()
    }
}

impl Connection {
    fn new(role: Role, phase: Phase, config: Config, now: Instant) -> Self {
        Connection {
            role,
            entropy: MaskKeys::new(config.entropy.clone()),
            config,
            phase,
            recv: BytesMut::new(),
            block: PayloadBlock::default(),
            send_block: PayloadBlock::default(),
            out: TransmitQueue::default(),
            events: VecDeque::new(),
            timers: TimerTable::default(),
            negotiated: None,
            reader: FrameReader::default(),
            writer: FrameWriter::default(),
            closing: CloseProgress::default(),
            pending_pong: None,
            awaiting_pong: false,
            deflate: None,
            paused: false,
            eof_pending: false,
            last_now: now,
            stats: Stats::default(),
            queued_control_events: 0,
        }
    }

    /// A client: queues the upgrade request for `request` and waits for
    /// the answer. Fails if a header cannot be written.
    pub fn client(request: ClientRequest, config: Config, now: Instant) -> Result<Self, SendError> {
        let mut conn = Connection::new(Role::Client, Phase::Closed, config, now);
        conn.start_client(request, now)?;
        Ok(conn)
    }

    /// A server: waits for the upgrade request.
    pub fn server(config: Config, now: Instant) -> Self {
        let mut conn = Connection::new(
            Role::Server,
            Phase::AwaitingRequest(Default::default()),
            config,
            now,
        );
        conn.arm(Timer::Handshake, conn.config.handshake_timeout, now);
        conn
    }

    /// A connection whose opening handshake was done elsewhere (hyper,
    /// axum, an HTTP/2 extended CONNECT): it starts open. Feed any bytes
    /// the HTTP stack read past the head through
    /// [`handle_data`](Self::handle_data).
    pub fn from_upgraded(role: Role, negotiated: Negotiated, config: Config, now: Instant) -> Self {
        let mut conn = Connection::new(role, Phase::Open, config, now);
        let params = negotiated
            .extensions
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(EXTENSION_NAME));
        if let Some(extension) = params {
            // Parameters that do not parse are read as the defaults.
            let params = DeflateParams::from_extension(extension).unwrap_or_default();
            conn.deflate = Some(DeflateState::new(
                role,
                &params,
                conn.config.deflate.as_ref(),
            ));
        }
        conn.negotiated = Some(negotiated);
        conn.reset_keepalive(now);
        conn
    }

    // ---- input -------------------------------------------------------

    /// Bytes read from the transport.
    pub fn handle_data(&mut self, now: Instant, data: &[u8]) {
        self.last_now = now;
        if self.discarding_input() {
            return;
        }
        self.stats.bytes_received += data.len() as u64;
        let data = self.feed_direct(now, data);
        self.reserve_input(data.len());
        crate::copy::extend(&mut self.recv, data);
        self.process_input(now);
    }

    /// Reads straight into the receive buffer, with no copy in between:
    /// `read` gets up to `max` bytes of space and returns how many it
    /// filled, like [`std::io::Read::read`]. Zero bytes read means the end
    /// of the stream and is handled as [`handle_eof`](Self::handle_eof).
    ///
    /// The space may be shorter than `max`: the payload of a large frame
    /// is read into a block of its own, and a read then stops at the
    /// frame's end.
    pub fn handle_read_with<E>(
        &mut self,
        now: Instant,
        max: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        self.last_now = now;
        if self.direct_rest() > 0 {
            return self.read_direct(now, max, read);
        }
        if self.speculate_direct() {
            return self.read_speculative(now, max, read);
        }
        let start = self.recv.len();
        self.reserve_input(max);
        self.recv.resize(start + max, 0);
        let result = read(self.recv.get_mut(start..).unwrap_or_default());
        let n = *result.as_ref().unwrap_or(&0);
        self.recv.truncate(start + n.min(max));
        self.stats.bytes_received += n.min(max) as u64;
        match result {
            Ok(0) if max > 0 => self.handle_eof(now),
            Ok(_) if self.discarding_input() => self.recv.clear(),
            Ok(_) => self.process_input(now),
            Err(_) => self.release_idle_buffers(),
        }
        result
    }

    /// A read found nothing: the connection is idle, so an empty receive
    /// buffer and the block kept for the next large message are released
    /// rather than kept at the size of the last traffic. A message being
    /// assembled in the block stays.
    fn release_idle_buffers(&mut self) {
        if self.recv.is_empty() {
            self.recv = BytesMut::new();
        }
        self.block.release_last();
        self.send_block.release_last();
    }

    /// The transport reached end of stream.
    pub fn handle_eof(&mut self, now: Instant) {
        self.last_now = now;
        if self.paused {
            self.eof_pending = true;
            return;
        }
        self.on_eof(now);
    }

    /// A deadline from [`poll_timeout`](Self::poll_timeout) may have passed.
    /// Early and repeated calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = now;
        while let Some(timer) = self.timers.take_expired(now) {
            self.on_timer(timer, now);
        }
    }

    // ---- commands ----------------------------------------------------

    /// Server: accepts the request reported in [`Event::Request`]. Frames
    /// that arrived behind the request are processed now.
    pub fn accept(&mut self, now: Instant, accept: Accept) -> Result<(), SendError> {
        self.accept_request(now, accept)
    }

    /// Server: answers the request reported in [`Event::Request`] with
    /// `response` (any status 200–599, headers, body) and closes.
    pub fn reject(&mut self, response: Response) -> Result<(), SendError> {
        self.reject_request(response)
    }

    /// Sends a whole message. The payload is not copied by a server.
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        match message {
            Message::Text(text) => self.send_message(MessageKind::Text, text.into_bytes().into()),
            Message::Binary(bytes) => self.send_message(MessageKind::Binary, bytes.into()),
        }
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_message(MessageKind::Text, text.as_bytes().into())
    }

    /// Sends a binary message. The payload is not copied by a server.
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send_message(MessageKind::Binary, data.into().into())
    }

    /// Sends a binary message from a borrowed buffer, which is copied into
    /// the output queue (a client copies every payload anyway, to mask
    /// it), so the caller can reuse the buffer at once.
    pub fn send_binary_slice(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_message(MessageKind::Binary, data.into())
    }

    /// Sends one fragment of a message; `last` ends it. Every fragment of a
    /// message must have the same kind, and text fragments together must be
    /// UTF-8 (a code point may be split between fragments).
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: impl Into<Bytes>,
        last: bool,
    ) -> Result<(), SendError> {
        self.send_fragment_inner(kind, data.into(), last)
    }

    /// Sends a ping with at most 125 bytes of payload.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(crate::frame::OpCode::Ping, payload)
    }

    /// Sends an unsolicited pong (or answers pings when auto-pong is off).
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(crate::frame::OpCode::Pong, payload)
    }

    /// Starts the closing handshake with `code` and a reason of at most
    /// 123 bytes. Messages keep arriving until the peer's close.
    pub fn close(
        &mut self,
        now: Instant,
        code: crate::CloseCode,
        reason: &str,
    ) -> Result<(), SendError> {
        self.close_local(now, code, reason)
    }

    // ---- output ------------------------------------------------------

    /// The next bytes to write, then [`Transmit::Shutdown`] once the
    /// connection is over.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.flush_pending_pong();
        self.out.poll()
    }

    /// The next bytes to write, lent rather than handed out: write a
    /// prefix of them, then call [`consume_transmit`](Self::consume_transmit)
    /// with how many were written. Saves a `Bytes` handle per write, which
    /// matters for small frames. Empty when nothing waits; a requested
    /// shutdown is then still reported by `poll_transmit`.
    pub fn peek_transmit(&mut self) -> &[u8] {
        self.flush_pending_pong();
        self.out.peek()
    }

    /// Marks the first `n` bytes shown by [`peek_transmit`](Self::peek_transmit)
    /// as written.
    pub fn consume_transmit(&mut self, n: usize) {
        self.out.consume(n);
    }

    /// The next event.
    ///
    /// Input is processed up to the end of each data message and resumes
    /// when that message's event has been taken and the next one is asked
    /// for, so an answer sent in between goes out before anything the
    /// later frames cause (a close echo, a failure).
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.events.is_empty() && self.paused {
            self.paused = false;
            let now = self.last_now;
            self.read_frames(now);
            self.after_input();
            if !self.paused && std::mem::take(&mut self.eof_pending) {
                self.on_eof(now);
            }
        }
        let event = self.events.pop_front();
        if matches!(event, Some(Event::Ping(_) | Event::Pong(_))) {
            self.queued_control_events -= 1;
        }
        event
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // ---- getters -----------------------------------------------------

    /// The connection's state.
    pub fn state(&self) -> State {
        self.phase.state()
    }

    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// What the handshake negotiated, once open.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Bytes queued for the transport and not yet taken by
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn buffered_amount(&self) -> usize {
        self.out.queued()
    }

    /// Running totals of what the connection received.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ---- shared plumbing --------------------------------------------

    fn discarding_input(&self) -> bool {
        match self.phase {
            Phase::Closed => true,
            Phase::Open | Phase::Closing => !self.closing.reading,
            _ => false,
        }
    }

    fn process_input(&mut self, now: Instant) {
        match self.phase {
            Phase::AwaitingRequest(_) => self.read_request(),
            Phase::AwaitingResponse(_) => self.read_response(now),
            Phase::AwaitingDecision(_) => {
                // A client must wait for the 101 before sending frames;
                // up to one largest frame of early data is tolerated.
                let limit = self
                    .config
                    .max_frame_size
                    .max(self.config.max_handshake_size);
                if self.recv.len() > limit.saturating_add(crate::frame::MAX_HEADER_LEN) {
                    self.fail_request(HandshakeError::Malformed(
                        "data sent before the handshake completed".into(),
                    ));
                }
            }
            Phase::Closed => {}
            Phase::Open | Phase::Closing => {
                self.reset_keepalive(now);
                if !self.paused {
                    self.read_frames(now);
                }
            }
        }
        self.after_input();
    }

    /// Drops input that will never be read, and a drained buffer that grew
    /// large.
    #[inline]
    fn after_input(&mut self) {
        if self.discarding_input() {
            self.recv.clear();
            self.block.clear();
        }
        if self.recv.is_empty() && self.recv.capacity() >= KEEP_RECV_CAPACITY {
            self.recv = BytesMut::new();
        }
    }

    fn arm(&mut self, timer: Timer, after: Option<std::time::Duration>, now: Instant) {
        match after.and_then(|d| now.checked_add(d)) {
            Some(at) => self.timers.set(timer, at),
            None => self.timers.stop(timer),
        }
    }
}
