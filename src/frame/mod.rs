//! The frame layer (RFC 6455 §5): header decoding and encoding and masking.
//! Payload handling and message reassembly live in the connection.

mod header;
mod mask;

pub(crate) use header::header_bytes;
pub use header::{FrameHeader, MAX_HEADER_LEN, decode_header, encode_header};
pub use mask::{apply_mask, copy_masked};

/// The RSV1 bit in [`FrameHeader::rsv`]: a compressed message under
/// permessage-deflate (RFC 7692 §6).
pub const RSV1: u8 = 0b100;

/// A frame opcode (RFC 6455 §5.2). Reserved opcodes are rejected when the
/// header is decoded, so they have no variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: a text message (UTF-8).
    Text,
    /// 0x2: a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// Decodes the four opcode bits; `None` for reserved opcodes.
    pub fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The four opcode bits.
    pub fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, ping and pong.
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}
