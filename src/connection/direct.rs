//! Large uncompressed frames read straight into the payload block: the
//! part of the payload already in the receive buffer is copied over once,
//! and every later read lands in the block, bounded by the frame's end so
//! the next frame's bytes still go to the receive buffer.

use std::time::Instant;

use bytes::BytesMut;

use super::recv::{DIRECT_MIN, IncomingMessage, RESERVE_AHEAD};
use super::state::Phase;
use super::{Connection, MessageKind};
use crate::error::ProtocolError;
use crate::frame::{MAX_HEADER_LEN, OpCode, apply_mask, copy_masked, decode_header};

impl Connection {
    /// Payload bytes still to come for a frame being read into the payload
    /// block; zero when input goes to the receive buffer.
    pub(super) fn direct_rest(&self) -> usize {
        if self.recv.is_empty() && !self.discarding_input() {
            self.direct_rest_unchecked()
        } else {
            0
        }
    }

    /// Moves the frame that was just begun to the payload block if most of
    /// a large payload has yet to arrive.
    pub(super) fn start_direct(&mut self) -> Result<(), ProtocolError> {
        let Some(frame) = self.reader.frame.as_mut() else {
            return Ok(());
        };
        let arrived = self.recv.len().min(frame.len);
        let rest = frame.len - arrived;
        // Only data frames get here: a control frame is at most 125 bytes.
        if frame.compressed || rest < DIRECT_MIN || rest < arrived {
            return Ok(());
        }
        frame.direct = true;
        let frame_len = frame.len;
        match self.reader.message.as_mut() {
            Some(message) if message.in_block => {}
            Some(message) => {
                let prefix = std::mem::take(&mut message.data);
                message.in_block = true;
                self.block
                    .begin(&prefix, prefix.len().saturating_add(frame_len));
            }
            None => {
                self.block.begin(&[], frame_len);
                self.reader.message = Some(block_message(frame.header.opcode));
            }
        }
        let head = self.recv.split_to(arrived);
        self.direct_copy(&head)
    }

    /// Copies payload bytes of the direct frame into the block, unmasking
    /// them on the way (one pass over the bytes rather than two).
    pub(super) fn direct_copy(&mut self, data: &[u8]) -> Result<(), ProtocolError> {
        self.direct_reserve(data.len());
        let Some(frame) = self.reader.frame.as_mut() else {
            return Ok(());
        };
        let room = self.block.room(data.len());
        match frame.header.mask {
            Some(key) => copy_masked(room, data, key, frame.offset),
            None => crate::copy::copy(room, data),
        }
        let n = self.block.commit(data.len()).len();
        self.advance_direct(n)
    }

    /// Makes room for `extra` more payload bytes in the block. Memory ahead
    /// of the data doubles, and the whole rest of the frame is committed
    /// only once the message so far is an eighth of what it would then
    /// hold, as for the receive buffer.
    pub(super) fn direct_reserve(&mut self, extra: usize) {
        let rest = self.direct_rest_unchecked();
        let after = self.block.len().saturating_add(extra);
        let target = if rest.saturating_sub(extra) <= after.saturating_mul(RESERVE_AHEAD) {
            // Room for a header too, so the next message of this size,
            // read into the block header and all, fits.
            self.block
                .len()
                .saturating_add(rest)
                .saturating_add(MAX_HEADER_LEN)
        } else {
            after.saturating_mul(2)
        };
        self.block.reserve(extra, target);
    }

    /// Takes `n` bytes just written into the block's room: unmasks them,
    /// validates text and advances the frame.
    pub(super) fn direct_commit(&mut self, n: usize) -> Result<(), ProtocolError> {
        let Some(frame) = self.reader.frame.as_mut() else {
            return Ok(());
        };
        let fresh = self.block.commit(n);
        if let Some(key) = frame.header.mask {
            apply_mask(fresh, key, frame.offset);
        }
        let n = fresh.len();
        self.advance_direct(n)
    }

    /// Moves the direct frame past the last `n` (unmasked) bytes of the
    /// block, validating them if the message is text.
    fn advance_direct(&mut self, n: usize) -> Result<(), ProtocolError> {
        let Some(frame) = self.reader.frame.as_mut() else {
            return Ok(());
        };
        frame.offset += n;
        let end = self.block.len();
        let fresh = self
            .block
            .message()
            .get(end.saturating_sub(n)..)
            .unwrap_or_default();
        if frame.text && self.reader.utf8.feed(fresh).is_err() {
            return Err(ProtocolError::InvalidUtf8);
        }
        Ok(())
    }

    /// Reads into the block: `read` gets at most the frame's rest.
    pub(super) fn read_direct<E>(
        &mut self,
        now: Instant,
        max: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let want = max.min(self.direct_rest());
        self.direct_reserve(want);
        let result = read(self.block.room(want));
        let n = (*result.as_ref().unwrap_or(&0)).min(want);
        self.stats.bytes_received += n as u64;
        match result {
            Ok(0) if max > 0 => self.handle_eof(now),
            Ok(_) => self.after_direct(now, n),
            Err(_) => self.release_idle_buffers(),
        }
        result
    }

    /// Feeds the head of `data` that belongs to the direct frame and
    /// returns the rest, for the receive buffer.
    pub(super) fn feed_direct<'a>(&mut self, now: Instant, data: &'a [u8]) -> &'a [u8] {
        let (head, tail) = data.split_at(self.direct_rest().min(data.len()));
        if head.is_empty() {
            return tail;
        }
        match self.direct_copy(head) {
            Ok(()) => tail,
            Err(error) => {
                self.fail(now, error);
                &[]
            }
        }
    }

    /// Whether the next read should go to the payload block before its
    /// frame header is known: the last message was large, and nothing is
    /// waiting in the receive buffer. A guess that proves wrong costs one
    /// copy of the read into the receive buffer.
    pub(super) fn speculate_direct(&self) -> bool {
        self.reader.last_direct
            && self.reader.frame.is_none()
            && self.reader.message.is_none()
            && self.recv.is_empty()
            && !self.paused
            && matches!(self.phase, Phase::Open | Phase::Closing)
            && !self.discarding_input()
    }

    /// Reads into the payload block, header and all (see
    /// [`speculate_direct`](Self::speculate_direct)).
    pub(super) fn read_speculative<E>(
        &mut self,
        now: Instant,
        max: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        self.block.begin(&[], usize::MAX);
        self.block.reserve(max, max);
        let result = read(self.block.room(max));
        let n = (*result.as_ref().unwrap_or(&0)).min(max);
        self.stats.bytes_received += n as u64;
        match result {
            Ok(0) if max > 0 => {
                self.block.abandon();
                self.handle_eof(now);
            }
            Ok(_) => self.after_speculative(now, n),
            Err(_) => {
                self.block.abandon();
                self.release_idle_buffers();
            }
        }
        result
    }

    /// `n` bytes were read into the block at a frame boundary: keeps them
    /// there if they begin a large frame, else moves them to the receive
    /// buffer.
    fn after_speculative(&mut self, now: Instant, n: usize) {
        let block_size = self.block.capacity();
        let head =
            decode_header(self.block.room(n))
                .ok()
                .flatten()
                .and_then(|(header, header_len)| {
                    let frame = self.check_header(&header).ok()?;
                    let arrived = (n - header_len).min(frame.len);
                    let fits = block_size <= frame.len.saturating_mul(4);
                    let large = frame.len - arrived >= DIRECT_MIN.max(arrived);
                    let fresh = matches!(header.opcode, OpCode::Text | OpCode::Binary);
                    (fits && large && fresh && !frame.compressed).then_some((frame, header_len))
                });
        let Some((mut frame, header_len)) = head else {
            self.reader.last_direct = false;
            self.recv.extend_from_slice(self.block.room(n));
            self.block.abandon();
            return self.process_input(now);
        };
        frame.direct = true;
        self.reader.message = Some(block_message(frame.header.opcode));
        self.reader.frame = Some(frame);
        self.block.commit(header_len);
        self.block.skip(header_len);
        self.after_direct(now, n - header_len);
    }

    /// `n` bytes were read into the block's room.
    fn after_direct(&mut self, now: Instant, n: usize) {
        match self.direct_commit(n) {
            Ok(()) => self.process_input(now),
            Err(error) => {
                self.fail(now, error);
                self.after_input();
            }
        }
    }

    /// [`direct_rest`](Self::direct_rest) without the receive-buffer check,
    /// for sizing while the arrived head is being moved.
    fn direct_rest_unchecked(&self) -> usize {
        match &self.reader.frame {
            Some(frame) if frame.direct => frame.len.saturating_sub(frame.offset),
            _ => 0,
        }
    }
}

/// A data message that starts with a frame read into the payload block.
fn block_message(opcode: OpCode) -> IncomingMessage {
    IncomingMessage {
        kind: if opcode == OpCode::Text {
            MessageKind::Text
        } else {
            MessageKind::Binary
        },
        data: BytesMut::new(),
        inflated: Vec::new(),
        compressed: false,
        frames: 1,
        in_block: true,
    }
}
