//! Receiving frames: header checks, in-place unmasking, incremental UTF-8
//! validation, reassembly and control frames.

use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};

use super::state::Phase;
use super::{Connection, MessageKind};
use crate::close::CloseFrame;
use crate::error::ProtocolError;
use crate::event::{Event, Message, Text};
use crate::frame::{FrameHeader, OpCode, RSV1, apply_mask, decode_header};
use crate::utf8::Utf8Validator;

/// Receive-side framing state.
#[derive(Debug, Default)]
pub(crate) struct FrameReader {
    /// The frame whose payload is arriving.
    pub(super) frame: Option<IncomingFrame>,
    /// The data message in progress (first frame seen, FIN not yet).
    pub(super) message: Option<IncomingMessage>,
    /// UTF-8 state of the text message in progress.
    pub(super) utf8: Utf8Validator,
    /// A data message was just delivered.
    delivered: bool,
    /// The last data message was read into the payload block, so the next
    /// read is tried there too, header and all.
    pub(super) last_direct: bool,
}

#[derive(Debug)]
pub(super) struct IncomingFrame {
    pub(super) header: FrameHeader,
    /// Payload bytes still to come (or, uncompressed, the payload length:
    /// the payload stays in the buffer until the frame is complete).
    pub(super) len: usize,
    /// Payload bytes at the front of the receive buffer already unmasked
    /// (and, for text, validated).
    ready: usize,
    /// Payload bytes already consumed (compressed frames are inflated and
    /// dropped as they arrive); the masking key continues from here.
    pub(super) offset: usize,
    /// Whether the payload is text that must be validated as it arrives.
    pub(super) text: bool,
    /// The payload is read straight into the payload block (see
    /// [`DIRECT_MIN`]); `offset` counts what has arrived.
    pub(super) direct: bool,
    /// Part of a compressed message: inflated as it arrives.
    pub(super) compressed: bool,
}

#[derive(Debug)]
pub(super) struct IncomingMessage {
    pub(super) kind: MessageKind,
    /// The payload so far, when not compressed.
    pub(super) data: BytesMut,
    /// The inflated payload so far, when compressed (a `Vec` so its growth
    /// can be held to the message limit).
    pub(super) inflated: Vec<u8>,
    /// RSV1 was set on the first frame (permessage-deflate).
    pub(super) compressed: bool,
    /// Frames received so far.
    pub(super) frames: usize,
    /// The payload so far lives in the connection's payload block, not in
    /// `data`.
    pub(super) in_block: bool,
}

/// How far past what has arrived the receive buffer may be reserved for
/// the rest of a frame, as a multiple of what has arrived.
pub(super) const RESERVE_AHEAD: usize = 8;

/// A data frame with at least this much payload still to come (and more
/// to come than has arrived) is read straight into the payload block
/// instead of the receive buffer, which saves the receive buffer's
/// zero-fill per read.
pub(super) const DIRECT_MIN: usize = 16 << 10;

/// Ping and pong events kept for an application that is not reading.
const MAX_QUEUED_CONTROL_EVENTS: usize = 64;

impl Connection {
    /// Makes room for `incoming` more bytes. While an uncompressed frame
    /// is arriving, the buffer doubles (up to the frame's end), and once an
    /// eighth of the frame is in, the rest is reserved in one piece: a
    /// 16 MiB frame read in 16 KiB pieces is moved a few times rather than
    /// once per read, and the allocator can reuse the block for the next
    /// one. A declared length alone allocates nothing; what is reserved is
    /// at most eight times what has arrived.
    pub(super) fn reserve_input(&mut self, incoming: usize) {
        let len = self.recv.len();
        if self.recv.capacity() - len >= incoming {
            return;
        }
        let frame_rest = match &self.reader.frame {
            Some(frame) if !frame.compressed && !frame.direct => frame.len.saturating_sub(len),
            _ => 0,
        };
        // The rest of the frame plus one more read, so the read that ends
        // the frame does not make the buffer double once more.
        let ahead = if frame_rest <= len.saturating_mul(RESERVE_AHEAD) {
            frame_rest.saturating_add(incoming)
        } else {
            len.max(incoming)
        };
        if len == 0 {
            // Everything before was handed out: start a block of exactly
            // the size wanted instead of letting `reserve` double the old
            // one (a 16 MiB message would otherwise leave 32 MiB blocks,
            // which the allocator maps and unmaps afresh every time).
            self.recv = BytesMut::with_capacity(ahead);
        } else {
            self.recv.reserve(ahead);
        }
    }

    /// Processes every complete frame (and any partial text payload) in the
    /// receive buffer.
    pub(super) fn read_frames(&mut self, now: Instant) {
        while self.closing.reading && matches!(self.phase, Phase::Open | Phase::Closing) {
            if self.reader.frame.is_none() {
                match decode_header(&self.recv) {
                    Ok(None) => return,
                    Ok(Some((header, header_len))) => match self.check_header(&header) {
                        Ok(frame) if Self::is_whole_small_frame(&frame, header_len, &self.recv) => {
                            self.recv.advance(header_len);
                            if self.take_whole_frame(now, frame) {
                                return;
                            }
                            continue;
                        }
                        Ok(frame) => {
                            let large = frame.len >= DIRECT_MIN;
                            self.recv.advance(header_len);
                            self.begin_frame(frame);
                            if large {
                                if let Err(error) = self.start_direct() {
                                    return self.fail(now, error);
                                }
                            }
                        }
                        Err(error) => return self.fail(now, error),
                    },
                    Err(error) => return self.fail(now, error),
                }
            }
            if self.reader.frame.as_ref().is_some_and(|f| f.compressed) {
                match self.inflate_arrived() {
                    Ok(true) => self.complete_compressed_frame(now),
                    Ok(false) => return,
                    Err(error) => return self.fail(now, error),
                }
                if self.pause_after_delivery() {
                    return;
                }
                continue;
            }
            if let Some(frame) = self.reader.frame.as_ref().filter(|f| f.direct) {
                if frame.offset < frame.len {
                    return;
                }
                let header = frame.header;
                self.reader.frame = None;
                self.stats.frames_received += 1;
                if header.fin {
                    if let Some(message) = self.reader.message.take() {
                        let data = self.block.take();
                        self.deliver(now, message.kind, data);
                        self.reader.last_direct = true;
                    }
                }
                if self.pause_after_delivery() {
                    return;
                }
                continue;
            }
            let Some(frame) = self.reader.frame.as_mut() else {
                return;
            };
            let available = self.recv.len().min(frame.len);
            if available > frame.ready {
                let fresh = self
                    .recv
                    .get_mut(frame.ready..available)
                    .unwrap_or_default();
                if let Some(key) = frame.header.mask {
                    apply_mask(fresh, key, frame.ready);
                }
                if frame.text && self.reader.utf8.feed(fresh).is_err() {
                    return self.fail(now, ProtocolError::InvalidUtf8);
                }
                frame.ready = available;
            }
            if frame.ready < frame.len {
                return;
            }
            let header = frame.header;
            let payload = self.recv.split_to(frame.len);
            self.reader.frame = None;
            self.stats.frames_received += 1;
            self.complete_frame(now, header, payload);
            if self.pause_after_delivery() {
                return;
            }
        }
    }

    /// Whether a frame that passed its checks is already complete in the
    /// receive buffer and is an uncompressed one for the receive buffer:
    /// the usual small message, which is then finished in one step.
    #[inline(always)]
    fn is_whole_small_frame(frame: &IncomingFrame, header_len: usize, recv: &[u8]) -> bool {
        !frame.compressed
            && frame.len < DIRECT_MIN
            && header_len.saturating_add(frame.len) <= recv.len()
    }

    /// Finishes a frame whose payload is all at the front of the receive
    /// buffer, as the general path would over several steps; true when
    /// parsing must stop (a failure, or a pause after a message).
    #[inline(always)]
    fn take_whole_frame(&mut self, now: Instant, frame: IncomingFrame) -> bool {
        let header = frame.header;
        if header.opcode == OpCode::Continuation {
            if let Some(message) = self.reader.message.as_mut() {
                message.frames += 1;
            }
        }
        let mut payload = self.recv.split_to(frame.len);
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        if frame.text && self.reader.utf8.feed(&payload).is_err() {
            self.fail(now, ProtocolError::InvalidUtf8);
            return true;
        }
        self.stats.frames_received += 1;
        self.complete_frame(now, header, payload);
        self.pause_after_delivery()
    }

    /// After a delivered message, stops parsing while more input waits,
    /// so the application can see (and answer) the message first.
    fn pause_after_delivery(&mut self) -> bool {
        if std::mem::take(&mut self.reader.delivered) && !self.recv.is_empty() {
            self.paused = true;
        }
        self.paused
    }

    /// Takes an accepted header: counts the message's frames, and opens a
    /// compressed message at once, since its payload is inflated as it
    /// arrives.
    fn begin_frame(&mut self, frame: IncomingFrame) {
        match (frame.header.opcode, self.reader.message.as_mut()) {
            (OpCode::Continuation, Some(message)) => message.frames += 1,
            (OpCode::Text | OpCode::Binary, None) if frame.compressed => {
                let kind = if frame.header.opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                self.reader.message = Some(IncomingMessage {
                    kind,
                    data: BytesMut::new(),
                    inflated: Vec::new(),
                    compressed: true,
                    frames: 1,
                    in_block: false,
                });
            }
            _ => {}
        }
        self.reader.frame = Some(frame);
    }

    /// Checks a header against the role, the negotiated extensions, the
    /// message in progress and the limits, before any payload is buffered.
    #[inline(always)]
    pub(super) fn check_header(
        &self,
        header: &FrameHeader,
    ) -> Result<IncomingFrame, ProtocolError> {
        let opcode = header.opcode;
        let compressed = header.rsv & RSV1 != 0;
        let rsv1_allowed =
            self.deflate.is_some() && matches!(opcode, OpCode::Text | OpCode::Binary);
        if header.rsv & !RSV1 != 0 || (compressed && !rsv1_allowed) {
            return Err(ProtocolError::ReservedBits);
        }
        match (self.role, header.mask) {
            (super::Role::Server, None) => return Err(ProtocolError::UnmaskedFrame),
            (super::Role::Client, Some(_)) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if opcode.is_control() {
            if !header.fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if header.payload_len > 125 {
                return Err(ProtocolError::ControlFrameTooLong(header.payload_len));
            }
        }
        let in_progress = self.reader.message.as_ref();
        let (kind, compressed) = match (opcode, in_progress) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Continuation, Some(m)) if m.frames >= self.config.max_fragments => {
                return Err(ProtocolError::TooManyFragments(self.config.max_fragments));
            }
            (OpCode::Continuation, Some(m)) => (Some(m.kind), m.compressed),
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(ProtocolError::ExpectedContinuation);
            }
            (OpCode::Text, None) => (Some(MessageKind::Text), compressed),
            (OpCode::Binary, None) => (Some(MessageKind::Binary), compressed),
            _ => (None, false),
        };
        let limit = self.config.max_frame_size;
        if header.payload_len > limit as u64 {
            return Err(ProtocolError::FrameTooLarge {
                size: header.payload_len,
                limit,
            });
        }
        // A compressed message's limit applies to its inflated size, which
        // the decompressor enforces as it inflates.
        if kind.is_some() && !compressed {
            let so_far = in_progress.map_or(0, |m| {
                if m.in_block {
                    self.block.len()
                } else {
                    m.data.len()
                }
            }) as u64;
            let total = so_far.saturating_add(header.payload_len);
            let limit = self.config.max_message_size;
            if total > limit as u64 {
                return Err(ProtocolError::MessageTooLarge { size: total, limit });
            }
        }
        Ok(IncomingFrame {
            header: *header,
            len: usize::try_from(header.payload_len).unwrap_or(usize::MAX),
            ready: 0,
            offset: 0,
            // Compressed text is validated after inflating.
            text: kind == Some(MessageKind::Text) && !compressed,
            direct: false,
            compressed,
        })
    }

    fn complete_frame(&mut self, now: Instant, header: FrameHeader, payload: BytesMut) {
        match header.opcode {
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                self.complete_data_frame(now, header, payload);
            }
            OpCode::Ping => {
                let payload = payload.freeze();
                if self.config.auto_pong && self.closing.sent.is_none() {
                    self.answer_ping(payload.clone());
                }
                self.report_control(Event::Ping(payload));
            }
            OpCode::Pong => {
                self.awaiting_pong = false;
                self.report_control(Event::Pong(payload.freeze()));
            }
            OpCode::Close => match CloseFrame::parse(&payload) {
                Ok(frame) => self.on_close_frame(now, frame),
                Err(error) => self.fail(now, error),
            },
        }
    }

    /// Completes an uncompressed data frame.
    fn complete_data_frame(&mut self, now: Instant, header: FrameHeader, payload: BytesMut) {
        if header.opcode != OpCode::Continuation {
            let kind = if header.opcode == OpCode::Text {
                MessageKind::Text
            } else {
                MessageKind::Binary
            };
            if header.fin {
                // Unmasked and validated in place: hand the payload over as
                // it lies in the receive buffer.
                self.deliver(now, kind, payload.freeze());
            } else {
                self.reader.message = Some(IncomingMessage {
                    kind,
                    data: payload,
                    inflated: Vec::new(),
                    compressed: false,
                    frames: 1,
                    in_block: false,
                });
            }
            return;
        }
        let Some(message) = self.reader.message.as_mut() else {
            return;
        };
        if message.in_block {
            self.block.extend(&payload);
        } else {
            crate::copy::extend(&mut message.data, &payload);
        }
        if header.fin {
            if let Some(message) = self.reader.message.take() {
                let data = if message.in_block {
                    self.block.take()
                } else {
                    message.data.freeze()
                };
                self.deliver(now, message.kind, data);
            }
        }
    }

    /// Queues a ping or pong event unless the application has fallen
    /// behind by [`MAX_QUEUED_CONTROL_EVENTS`]: a flood must not grow the
    /// queue while nobody reads it.
    fn report_control(&mut self, event: Event) {
        if self.queued_control_events >= MAX_QUEUED_CONTROL_EVENTS {
            self.stats.control_events_dropped += 1;
            return;
        }
        self.queued_control_events += 1;
        self.events.push_back(event);
    }

    pub(super) fn deliver(&mut self, now: Instant, kind: MessageKind, data: Bytes) {
        let message = match kind {
            MessageKind::Binary => Message::Binary(data),
            MessageKind::Text => {
                let complete = self.reader.utf8.finish();
                self.reader.utf8 = Utf8Validator::default();
                if complete.is_err() {
                    return self.fail(now, ProtocolError::InvalidUtf8);
                }
                Message::Text(Text::from_validated(data))
            }
        };
        self.events.push_back(Event::Message(message));
        self.stats.messages_received += 1;
        self.reader.delivered = true;
        self.reader.last_direct = false;
    }

    /// Restarts the keepalive countdown: any inbound byte is a sign of
    /// life, so a large message still arriving never trips it.
    pub(super) fn reset_keepalive(&mut self, now: Instant) {
        if let (Some(keepalive), Phase::Open) = (self.config.keepalive, &self.phase) {
            self.awaiting_pong = false;
            self.arm(
                crate::timer::Timer::Keepalive,
                Some(keepalive.interval),
                now,
            );
        }
    }
}
