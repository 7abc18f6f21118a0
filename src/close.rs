//! Close codes (RFC 6455 §7.4) and the close frame payload.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, SendError};

/// The longest close reason that fits a control frame: 125 bytes minus the
/// two-byte code.
pub const MAX_CLOSE_REASON: usize = 123;

/// A WebSocket close status code (RFC 6455 §7.4).
///
/// Any `u16` can be represented, so codes received from a peer are never
/// lost; [`CloseCode::is_sendable`] tells which ones may appear on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a message of a type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: reserved; reported when a close frame carried no code. Never sent.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: reserved; reported when the connection ended without a close
    /// frame. Never sent.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: a message's data was inconsistent with its type (invalid UTF-8).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message was too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected the server to negotiate an extension.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server met an unexpected condition (also used when a
    /// keepalive ping goes unanswered).
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later.
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway received an invalid response from upstream.
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: reserved; reported when the TLS handshake failed. Never sent.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether the code may appear in a close frame on the wire: 1000–1003,
    /// 1007–1014 and the registered/private ranges 3000–4999.
    pub fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// Whether the code is one of the reserved codes that only report a
    /// condition locally and are never sent (1005, 1006, 1015).
    pub fn is_never_sent(self) -> bool {
        matches!(self.0, 1005 | 1006 | 1015)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A close frame's content: a code and a UTF-8 reason.
///
/// A close frame without a payload is reported with
/// [`CloseCode::NO_STATUS`] and an empty reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, at most 123 bytes of UTF-8.
    pub reason: String,
}

impl CloseFrame {
    /// Builds a close frame.
    pub fn new(code: CloseCode, reason: impl Into<String>) -> Self {
        CloseFrame {
            code,
            reason: reason.into(),
        }
    }

    /// Parses a received close payload: empty, or a sendable code followed
    /// by a UTF-8 reason.
    pub fn parse(payload: &[u8]) -> Result<CloseFrame, ProtocolError> {
        let Some((code_bytes, reason)) = payload.split_first_chunk::<2>() else {
            return if payload.is_empty() {
                Ok(CloseFrame::new(CloseCode::NO_STATUS, ""))
            } else {
                Err(ProtocolError::CloseFrameTooShort)
            };
        };
        let code = CloseCode(u16::from_be_bytes(*code_bytes));
        if !code.is_sendable() {
            return Err(ProtocolError::InvalidCloseCode(code.0));
        }
        let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidCloseReason)?;
        Ok(CloseFrame::new(code, reason))
    }

    /// Checks that this frame may be sent: a sendable code and a reason of
    /// at most 123 bytes.
    pub fn validate_outgoing(&self) -> Result<(), SendError> {
        if !self.code.is_sendable() {
            return Err(SendError::UnsendableCloseCode(self.code.0));
        }
        if self.reason.len() > MAX_CLOSE_REASON {
            return Err(SendError::CloseReasonTooLong(self.reason.len()));
        }
        Ok(())
    }

    /// The payload of this frame on the wire (empty for
    /// [`CloseCode::NO_STATUS`]).
    pub fn to_payload(&self) -> Bytes {
        if self.code == CloseCode::NO_STATUS {
            return Bytes::new();
        }
        let mut out = BytesMut::with_capacity(2 + self.reason.len());
        out.put_u16(self.code.0);
        out.put_slice(self.reason.as_bytes());
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_ranges() {
        for code in [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999] {
            assert!(CloseCode(code).is_sendable(), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            assert!(!CloseCode(code).is_sendable(), "{code}");
        }
        assert!(CloseCode::ABNORMAL.is_never_sent());
    }

    #[test]
    fn parse_and_roundtrip() {
        let frame = CloseFrame::new(CloseCode::GOING_AWAY, "bye ✓");
        assert_eq!(CloseFrame::parse(&frame.to_payload()).ok(), Some(frame));
        assert_eq!(
            CloseFrame::parse(&[]).ok(),
            Some(CloseFrame::new(CloseCode::NO_STATUS, ""))
        );
        assert_eq!(
            CloseFrame::parse(&[3]),
            Err(ProtocolError::CloseFrameTooShort)
        );
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xed]),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xe8, 0xff]),
            Err(ProtocolError::InvalidCloseReason)
        );
    }
}
