//! The closing handshake, failures, end of stream and deadlines.

use std::time::Instant;

use super::Connection;
use super::state::Phase;
use crate::Role;
use crate::close::{CloseCode, CloseFrame, MAX_CLOSE_REASON};
use crate::error::{Error, ProtocolError, SendError};
use crate::event::{Closed, Event, Initiator};
use crate::frame::OpCode;
use crate::timer::Timer;

impl Connection {
    /// The application starts the closing handshake.
    pub(super) fn close_local(
        &mut self,
        now: Instant,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), SendError> {
        let frame = CloseFrame::new(code, reason);
        frame.validate_outgoing()?;
        if !matches!(self.phase, Phase::Open) {
            return Err(SendError::NotOpen);
        }
        self.closing.initiator = Some(Initiator::Local);
        self.send_close(frame);
        self.phase = Phase::Closing;
        self.timers.stop(Timer::Keepalive);
        self.arm(Timer::Close, self.config.close_timeout, now);
        Ok(())
    }

    /// The peer's close frame arrived.
    pub(super) fn on_close_frame(&mut self, now: Instant, frame: CloseFrame) {
        self.closing.reading = false;
        self.events.push_back(Event::CloseReceived(frame.clone()));
        if self.closing.sent.is_none() {
            self.closing.initiator = Some(Initiator::Remote);
            // Echo the code (RFC 6455 §5.5.1); an empty close gets an empty one.
            self.send_close(CloseFrame::new(frame.code, ""));
        }
        self.closing.received = Some(frame);
        self.close_exchanged(now);
    }

    /// The peer broke the protocol (or a deadline passed): send the close
    /// code that says why, stop reading, and close.
    pub(super) fn fail(&mut self, now: Instant, error: ProtocolError) {
        self.closing.reading = false;
        if self.closing.initiator.is_none() {
            self.closing.initiator = Some(Initiator::Local);
        }
        let code = error.close_code();
        if self.closing.sent.is_none() && code.is_sendable() {
            let mut reason = error.to_string();
            truncate_utf8(&mut reason, MAX_CLOSE_REASON);
            self.send_close(CloseFrame::new(code, reason));
        }
        self.closing.error.get_or_insert(Error::Protocol(error));
        self.close_exchanged(now);
    }

    /// Both close frames have crossed, or we gave up on the peer: a server
    /// closes the transport now, a client waits for the server to do it.
    fn close_exchanged(&mut self, now: Instant) {
        self.timers.stop(Timer::Keepalive);
        if self.role == Role::Server {
            return self.finish();
        }
        if !matches!(self.phase, Phase::Closing) {
            self.phase = Phase::Closing;
            self.arm(Timer::Close, self.config.close_timeout, now);
        }
        if self.timers.get(Timer::Close).is_none() && self.config.close_timeout.is_some() {
            self.arm(Timer::Close, self.config.close_timeout, now);
        }
    }

    pub(super) fn on_eof(&mut self, _now: Instant) {
        match self.phase {
            Phase::Closed => {}
            Phase::AwaitingRequest(_) | Phase::AwaitingDecision(_) | Phase::AwaitingResponse(_) => {
                self.handshake_eof();
            }
            Phase::Open | Phase::Closing => {
                if self.closing.received.is_none() && self.closing.error.is_none() {
                    self.closing.initiator.get_or_insert(Initiator::Remote);
                    self.closing.error = Some(Error::Protocol(ProtocolError::UnexpectedEof));
                }
                self.finish();
            }
        }
    }

    pub(super) fn on_timer(&mut self, timer: Timer, now: Instant) {
        match timer {
            Timer::Handshake => self.handshake_timeout(),
            Timer::Close => {
                if self.closing.received.is_none() {
                    self.closing
                        .error
                        .get_or_insert(Error::Protocol(ProtocolError::CloseTimeout));
                }
                self.finish();
            }
            Timer::Keepalive if matches!(self.phase, Phase::Open) => {
                if self.awaiting_pong {
                    // The peer is gone or stuck: say why, and do not wait
                    // for a closing handshake it will not complete.
                    self.fail(now, ProtocolError::KeepaliveTimeout);
                    self.finish();
                } else if let Some(keepalive) = self.config.keepalive {
                    self.encode_frame(OpCode::Ping, true, &[][..]);
                    self.awaiting_pong = true;
                    self.arm(Timer::Keepalive, Some(keepalive.timeout), now);
                }
            }
            Timer::Keepalive => {}
        }
    }

    /// Enters `Closed`: reports `Event::Closed` once and queues the
    /// transport shutdown behind the last bytes.
    pub(super) fn finish(&mut self) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        self.phase = Phase::Closed;
        self.timers.stop_all();
        self.recv = Default::default();
        self.block.clear();
        self.send_block.clear();
        self.pending_pong = None;
        self.paused = false;
        let closing = &self.closing;
        let (code, reason) = match (&closing.error, &closing.received) {
            (Some(Error::Protocol(e)), _) => {
                let code = e.close_code();
                let sent = closing.sent.as_ref().filter(|sent| sent.code == code);
                (
                    code,
                    sent.map(|sent| sent.reason.clone()).unwrap_or_default(),
                )
            }
            (None, Some(received)) => (received.code, received.reason.clone()),
            (Some(Error::Handshake(_)), _) | (None, None) => (CloseCode::ABNORMAL, String::new()),
        };
        self.events.push_back(Event::Closed(Closed {
            code,
            reason,
            initiator: closing.initiator.unwrap_or(Initiator::Remote),
            error: closing.error.clone(),
        }));
        self.out.request_shutdown();
    }

    fn send_close(&mut self, frame: CloseFrame) {
        self.flush_pending_pong();
        let payload = frame.to_payload();
        self.encode_frame(OpCode::Close, true, &payload[..]);
        self.closing.sent = Some(frame);
    }
}

fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}
