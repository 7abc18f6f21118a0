//! Sending: message and fragment commands, control frames, and frame
//! encoding (masked with a fresh key per frame on a client; by reference,
//! without copying, on a server).

use bytes::Bytes;

use super::Connection;
use super::state::Phase;
use crate::Role;
use crate::error::SendError;
use crate::frame::{FrameHeader, OpCode, RSV1, apply_mask, copy_masked, header_bytes};
use crate::utf8::Utf8Validator;

/// The least the output buffer grows by: small frames then share one
/// block instead of each making the buffer reclaim or reallocate.
const MIN_OUTPUT_RESERVE: usize = 256;

/// Makes room for `n` more bytes in the output buffer.
fn reserve(tail: &mut bytes::BytesMut, n: usize) {
    if tail.capacity() - tail.len() < n {
        tail.reserve(n.max(MIN_OUTPUT_RESERVE));
    }
}

/// Masked payloads from this size on go out through the send block rather
/// than being copied into the output buffer and masked there.
const MASK_BLOCK_MIN: usize = 16 << 10;

/// Pongs are written at once while less than this is waiting to be sent.
const EAGER_PONG_LIMIT: usize = 16 << 10;

/// The kind of a data message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text.
    Text,
    /// Arbitrary bytes.
    Binary,
}

impl MessageKind {
    fn opcode(self) -> OpCode {
        match self {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        }
    }
}

/// Send-side state: the fragmented message in progress, if any.
#[derive(Debug, Default)]
pub(crate) struct FrameWriter {
    fragmenting: Option<(MessageKind, Utf8Validator)>,
}

/// A payload to encode: borrowed (copied into the queue) or shared
/// (queued by reference on a server).
pub(crate) enum Payload<'a> {
    Borrowed(&'a [u8]),
    Shared(Bytes),
}

impl<'a> From<&'a [u8]> for Payload<'a> {
    fn from(slice: &'a [u8]) -> Self {
        Payload::Borrowed(slice)
    }
}

impl From<Bytes> for Payload<'_> {
    fn from(bytes: Bytes) -> Self {
        Payload::Shared(bytes)
    }
}

impl Payload<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Payload::Borrowed(slice) => slice,
            Payload::Shared(bytes) => bytes,
        }
    }

    fn piece(&self, start: usize, end: usize) -> Payload<'_> {
        match self {
            Payload::Borrowed(slice) => {
                Payload::Borrowed(slice.get(start..end).unwrap_or_default())
            }
            Payload::Shared(bytes) => Payload::Shared(bytes.slice(start..end)),
        }
    }
}

impl Connection {
    fn check_can_send(&self) -> Result<(), SendError> {
        if matches!(self.phase, Phase::Open) && self.closing.sent.is_none() {
            Ok(())
        } else {
            Err(SendError::NotOpen)
        }
    }

    pub(super) fn send_message(
        &mut self,
        kind: MessageKind,
        payload: Payload<'_>,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.writer.fragmenting.is_some() {
            return Err(SendError::FragmentedMessageInProgress);
        }
        if let Some(deflate) = self.deflate.as_mut() {
            if payload.as_slice().len() >= deflate.min_size {
                let mut compressed = Vec::new();
                deflate
                    .compressor
                    .compress(payload.as_slice(), &mut compressed);
                self.encode_data(
                    kind.opcode(),
                    RSV1,
                    Payload::Shared(Bytes::from(compressed)),
                );
                return Ok(());
            }
        }
        self.encode_data(kind.opcode(), 0, payload);
        Ok(())
    }

    pub(super) fn send_fragment_inner(
        &mut self,
        kind: MessageKind,
        data: Bytes,
        last: bool,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        let (opcode, mut utf8) = match &self.writer.fragmenting {
            Some((current, _)) if *current != kind => {
                return Err(SendError::FragmentedMessageInProgress);
            }
            Some((_, utf8)) => (OpCode::Continuation, utf8.clone()),
            None => (kind.opcode(), Utf8Validator::default()),
        };
        if kind == MessageKind::Text {
            utf8.feed(&data).map_err(|_| SendError::InvalidUtf8)?;
            if last {
                utf8.finish().map_err(|_| SendError::InvalidUtf8)?;
            }
        }
        self.writer.fragmenting = if last { None } else { Some((kind, utf8)) };
        // Fragments are sent as they come, uncompressed.
        self.encode_frame_with(opcode, last, 0, data);
        Ok(())
    }

    pub(super) fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > 125 {
            return Err(SendError::ControlPayloadTooLong(payload.len()));
        }
        self.check_can_send()?;
        self.encode_frame(opcode, true, payload);
        Ok(())
    }

    /// Answers a ping at once while little output is waiting; past that,
    /// only the latest ping is answered when output is next taken (RFC 6455
    /// §5.5.3), so a ping flood cannot grow the queue.
    pub(super) fn answer_ping(&mut self, payload: Bytes) {
        if self.out.queued() < EAGER_PONG_LIMIT {
            self.flush_pending_pong();
            self.encode_frame(OpCode::Pong, true, &payload[..]);
        } else {
            self.pending_pong = Some(payload);
        }
    }

    /// Writes the answer to the latest ping, if one is waiting.
    #[inline]
    pub(super) fn flush_pending_pong(&mut self) {
        if let Some(payload) = self.pending_pong.take() {
            if self.closing.sent.is_none() && !matches!(self.phase, Phase::Closed) {
                self.encode_frame(OpCode::Pong, true, &payload[..]);
            }
        }
    }

    /// Encodes a whole message, split into fragments of at most
    /// `max_outgoing_frame_size` bytes; `rsv` goes on the first frame only.
    fn encode_data(&mut self, opcode: OpCode, rsv: u8, payload: Payload<'_>) {
        let len = payload.as_slice().len();
        let max = self
            .config
            .max_outgoing_frame_size
            .unwrap_or(usize::MAX)
            .max(1);
        if len <= max {
            return self.encode_frame_with(opcode, true, rsv, payload);
        }
        let mut start = 0;
        while start < len {
            let end = start.saturating_add(max).min(len);
            let (piece_opcode, piece_rsv) = if start == 0 {
                (opcode, rsv)
            } else {
                (OpCode::Continuation, 0)
            };
            self.encode_frame_with(
                piece_opcode,
                end == len,
                piece_rsv,
                payload.piece(start, end),
            );
            start = end;
        }
    }

    /// Encodes one frame (no RSV bits) into the transmit queue.
    pub(super) fn encode_frame<'a>(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload: impl Into<Payload<'a>>,
    ) {
        self.encode_frame_with(opcode, fin, 0, payload);
    }

    /// Encodes one frame into the transmit queue.
    fn encode_frame_with<'a>(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv: u8,
        payload: impl Into<Payload<'a>>,
    ) {
        let payload = payload.into();
        let bytes = payload.as_slice();
        let mask = match self.role {
            Role::Client => Some(self.entropy.next_key()),
            Role::Server => None,
        };
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: bytes.len() as u64,
        };
        let (head, head_len) = header_bytes(&header);
        let head = head.get(..head_len).unwrap_or_default();
        let tail = self.out.tail();
        match (mask, payload) {
            (Some(key), payload) if payload.as_slice().len() >= MASK_BLOCK_MIN => {
                let body = payload.as_slice();
                tail.extend_from_slice(head);
                self.out.appended(head.len());
                // Masked while copied, in one pass, into a block that is
                // initialised once and reused once the bytes are written.
                let block = &mut self.send_block;
                block.begin(&[], body.len());
                block.reserve(body.len(), body.len());
                copy_masked(block.room(body.len()), body, key, 0);
                block.commit(body.len());
                self.out.push_payload(block.take());
            }
            (Some(key), payload) => {
                let body = payload.as_slice();
                reserve(tail, head.len() + body.len());
                tail.extend_from_slice(head);
                let start = tail.len();
                crate::copy::extend(tail, body);
                apply_mask(tail.get_mut(start..).unwrap_or_default(), key, 0);
                self.out.appended(head.len() + body.len());
            }
            (None, Payload::Shared(bytes)) => {
                tail.extend_from_slice(head);
                self.out.appended(head.len());
                self.out.push_payload(bytes);
            }
            (None, Payload::Borrowed(slice)) => {
                reserve(tail, head.len() + slice.len());
                tail.extend_from_slice(head);
                crate::copy::extend(tail, slice);
                self.out.appended(head.len() + slice.len());
            }
        }
    }
}
