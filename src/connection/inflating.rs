//! Compressed messages (permessage-deflate): each frame's payload is
//! unmasked and inflated as it arrives and then dropped from the receive
//! buffer, so memory is bounded by the message limit, not the frame size.

use std::time::Instant;

use bytes::{Buf, Bytes};

use super::{Connection, MessageKind};
use crate::deflate::InflateError;
use crate::error::ProtocolError;
use crate::frame::apply_mask;

impl Connection {
    /// Inflates the part of the current compressed frame that has arrived;
    /// `Ok(true)` once the whole frame is consumed.
    pub(super) fn inflate_arrived(&mut self) -> Result<bool, ProtocolError> {
        let (Some(frame), Some(message)) =
            (self.reader.frame.as_mut(), self.reader.message.as_mut())
        else {
            return Ok(true);
        };
        let Some(deflate) = self.deflate.as_mut() else {
            return Err(ProtocolError::ReservedBits);
        };
        let available = self.recv.len().min(frame.len);
        let last = frame.header.fin && available == frame.len;
        if available == 0 && !last {
            return Ok(frame.len == 0);
        }
        let chunk = self.recv.get_mut(..available).unwrap_or_default();
        if let Some(key) = frame.header.mask {
            apply_mask(chunk, key, frame.offset);
        }
        let before = message.inflated.len();
        let limit = self.config.max_message_size;
        deflate
            .decompressor
            .inflate(chunk, last, &mut message.inflated, limit)
            .map_err(|error| match error {
                InflateError::TooLarge => ProtocolError::MessageTooLarge {
                    size: message.inflated.len() as u64,
                    limit,
                },
                InflateError::Corrupt => ProtocolError::CorruptCompressedData,
            })?;
        if message.kind == MessageKind::Text {
            let fresh = message.inflated.get(before..).unwrap_or_default();
            self.reader
                .utf8
                .feed(fresh)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        self.recv.advance(available);
        frame.len -= available;
        frame.offset += available;
        Ok(frame.len == 0)
    }

    /// The current compressed frame is consumed; a final one delivers the
    /// message.
    pub(super) fn complete_compressed_frame(&mut self, now: Instant) {
        let Some(frame) = self.reader.frame.take() else {
            return;
        };
        self.stats.frames_received += 1;
        if frame.header.fin {
            if let Some(message) = self.reader.message.take() {
                self.deliver(now, message.kind, Bytes::from(message.inflated));
            }
        }
    }
}
