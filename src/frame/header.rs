//! Frame header wire format (RFC 6455 §5.2).

use bytes::BufMut;

use super::OpCode;
use crate::error::ProtocolError;

/// The longest header: 2 bytes, 8 bytes of extended length, 4 of mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: the last frame of a message.
    pub fin: bool,
    /// The three RSV bits, RSV1 in the highest position (0b100).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// Payload length.
    pub payload_len: u64,
}

/// Decodes a header from the start of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed, otherwise the header and
/// its length in bytes. Fails on reserved opcodes and on a 64-bit length
/// with the most significant bit set; every other check depends on the
/// connection's role and state and is made by the caller.
pub fn decode_header(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    let Some(&[b0, b1]) = buf.first_chunk::<2>() else {
        return Ok(None);
    };
    let opcode_bits = b0 & 0x0F;
    let opcode =
        OpCode::from_bits(opcode_bits).ok_or(ProtocolError::ReservedOpcode(opcode_bits))?;
    let rest = buf.get(2..).unwrap_or_default();
    let (payload_len, rest, mut len) = match b1 & 0x7F {
        126 => match rest.split_first_chunk::<2>() {
            Some((ext, rest)) => (u64::from(u16::from_be_bytes(*ext)), rest, 4),
            None => return Ok(None),
        },
        127 => match rest.split_first_chunk::<8>() {
            Some((ext, rest)) => {
                let n = u64::from_be_bytes(*ext);
                if n >> 63 != 0 {
                    return Err(ProtocolError::InvalidLength);
                }
                (n, rest, 10)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), rest, 2),
    };
    let mask = if b1 & 0x80 != 0 {
        match rest.first_chunk::<4>() {
            Some(key) => {
                len += 4;
                Some(*key)
            }
            None => return Ok(None),
        }
    } else {
        None
    };
    let header = FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0x07,
        opcode,
        mask,
        payload_len,
    };
    Ok(Some((header, len)))
}

/// Appends the header to `out`, using the shortest length encoding.
pub fn encode_header(out: &mut impl BufMut, header: &FrameHeader) {
    let (bytes, len) = header_bytes(header);
    out.put_slice(bytes.get(..len).unwrap_or_default());
}

/// The encoded header on the stack and its length (2 to 14 bytes), so an
/// encoder appends it with one copy.
pub(crate) fn header_bytes(header: &FrameHeader) -> ([u8; MAX_HEADER_LEN], usize) {
    let mut out = [0u8; MAX_HEADER_LEN];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        if let Some(slot) = out.get_mut(at..at + bytes.len()) {
            slot.copy_from_slice(bytes);
        }
        at += bytes.len();
    };
    let b0 = (u8::from(header.fin) << 7) | ((header.rsv & 0x07) << 4) | header.opcode.bits();
    let mask_bit = if header.mask.is_some() { 0x80 } else { 0 };
    match header.payload_len {
        n @ 0..=125 => put(&[b0, mask_bit | n as u8]),
        n @ 126..=0xFFFF => {
            put(&[b0, mask_bit | 126]);
            put(&(n as u16).to_be_bytes());
        }
        n => {
            put(&[b0, mask_bit | 127]);
            put(&n.to_be_bytes());
        }
    }
    if let Some(key) = header.mask {
        put(&key);
    }
    (out, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(header: FrameHeader) {
        let mut buf = Vec::new();
        encode_header(&mut buf, &header);
        assert_eq!(decode_header(&buf), Ok(Some((header, buf.len()))));
        for cut in 0..buf.len() {
            assert_eq!(decode_header(buf.get(..cut).unwrap_or_default()), Ok(None));
        }
    }

    #[test]
    fn header_roundtrips_at_length_boundaries() {
        for len in [0, 125, 126, 65535, 65536, u64::MAX >> 1] {
            for mask in [None, Some([1, 2, 3, 4])] {
                roundtrip(FrameHeader {
                    fin: len % 2 == 0,
                    rsv: 0b101,
                    opcode: OpCode::Binary,
                    mask,
                    payload_len: len,
                });
            }
        }
    }

    #[test]
    fn rejects_reserved_opcode_and_top_bit() {
        assert_eq!(
            decode_header(&[0x83, 0]),
            Err(ProtocolError::ReservedOpcode(3))
        );
        assert_eq!(
            decode_header(&[0x8B, 0]),
            Err(ProtocolError::ReservedOpcode(0xB))
        );
        let huge = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(decode_header(&huge), Err(ProtocolError::InvalidLength));
    }
}
