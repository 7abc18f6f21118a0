//! Error types. Each one knows what it means on the wire: the close code a
//! protocol error is answered with, the HTTP status a bad request gets.
//!
//! Peer faults never come back as `Err` from `handle_*`: they close the
//! connection and are reported in [`Closed`](crate::Closed). `Err` is only
//! returned by commands, for local misuse ([`SendError`]).

use thiserror::Error;

use crate::close::CloseCode;

/// The peer broke RFC 6455 after the handshake, or a deadline passed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RSV bits set without an extension that defines them.
    #[error("reserved bits set without a negotiated extension")]
    ReservedBits,
    /// An opcode that RFC 6455 reserves.
    #[error("reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// A control frame without FIN.
    #[error("fragmented control frame")]
    FragmentedControlFrame,
    /// A control frame with more than 125 bytes of payload.
    #[error("control frame payload of {0} bytes exceeds 125")]
    ControlFrameTooLong(u64),
    /// A server received an unmasked frame.
    #[error("client frame is not masked")]
    UnmaskedFrame,
    /// A client received a masked frame.
    #[error("server frame is masked")]
    MaskedFrame,
    /// A 64-bit length with the most significant bit set.
    #[error("frame length has the most significant bit set")]
    InvalidLength,
    /// A continuation frame with no message in progress.
    #[error("continuation frame without a message in progress")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is in progress.
    #[error("new data frame while a fragmented message is in progress")]
    ExpectedContinuation,
    /// A frame larger than the configured maximum frame size.
    #[error("frame of {size} bytes exceeds the limit of {limit}")]
    FrameTooLarge {
        /// Declared payload length.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message larger than the configured maximum message size.
    #[error("message of at least {size} bytes exceeds the limit of {limit}")]
    MessageTooLarge {
        /// Bytes the message reached, at least.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message in more frames than the configured maximum.
    #[error("message arrived in more than {0} frames")]
    TooManyFragments(usize),
    /// A text message that is not valid UTF-8.
    #[error("text message is not valid UTF-8")]
    InvalidUtf8,
    /// A close payload of exactly one byte.
    #[error("close frame payload of one byte")]
    CloseFrameTooShort,
    /// A close code that may not appear on the wire.
    #[error("invalid close code {0}")]
    InvalidCloseCode(u16),
    /// A close reason that is not valid UTF-8.
    #[error("close reason is not valid UTF-8")]
    InvalidCloseReason,
    /// A compressed message that is not valid deflate data.
    #[error("compressed data is corrupt")]
    CorruptCompressedData,
    /// No pong (or any other byte) arrived within the keepalive timeout.
    #[error("keepalive ping was not answered in time")]
    KeepaliveTimeout,
    /// The peer did not complete the closing handshake in time.
    #[error("closing handshake timed out")]
    CloseTimeout,
    /// The transport ended without a closing handshake.
    #[error("connection closed without a close frame")]
    UnexpectedEof,
}

impl ProtocolError {
    /// The close code this error is reported with: the code sent to the peer,
    /// or [`CloseCode::ABNORMAL`] (never sent) when the transport failed.
    pub fn close_code(&self) -> CloseCode {
        use ProtocolError::*;
        match self {
            FrameTooLarge { .. } | MessageTooLarge { .. } | TooManyFragments(_) => {
                CloseCode::MESSAGE_TOO_BIG
            }
            InvalidUtf8 | InvalidCloseReason => CloseCode::INVALID_PAYLOAD,
            KeepaliveTimeout => CloseCode::INTERNAL_ERROR,
            CloseTimeout | UnexpectedEof => CloseCode::ABNORMAL,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

/// The opening handshake failed: a bad request (server side) or a bad or
/// negative response (client side).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The HTTP head could not be parsed.
    #[error("malformed HTTP head: {0}")]
    Malformed(String),
    /// The head exceeded the configured size limit.
    #[error("HTTP head exceeds {0} bytes")]
    HeadTooLarge(usize),
    /// The head had more headers than the configured limit.
    #[error("HTTP head has more than {0} headers")]
    TooManyHeaders(usize),
    /// A request method other than GET.
    #[error("method {0} is not allowed")]
    MethodNotAllowed(String),
    /// HTTP/1.0 (RFC 6455 needs HTTP/1.1 or later).
    #[error("HTTP/1.1 or later is required")]
    HttpVersion,
    /// A required header is missing.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header is present but does not have the required value.
    #[error("invalid value for header {0}")]
    InvalidHeader(&'static str),
    /// `Sec-WebSocket-Key` does not decode to 16 bytes.
    #[error("Sec-WebSocket-Key is not 16 base64-encoded bytes")]
    InvalidKey,
    /// A `Sec-WebSocket-Version` other than 13.
    #[error("unsupported WebSocket version {0:?}")]
    UnsupportedVersion(String),
    /// The head did not arrive within the handshake timeout.
    #[error("handshake timed out")]
    Timeout,
    /// The transport closed before the handshake completed.
    #[error("connection closed during the handshake")]
    Eof,
    /// The application rejected the request with this status.
    #[error("request rejected with status {0}")]
    RejectedByApplication(u16),
    /// The server answered with a status other than 101.
    #[error("server answered with status {0}")]
    Rejected(u16),
    /// `Sec-WebSocket-Accept` does not match the key that was sent.
    #[error("Sec-WebSocket-Accept does not match the key")]
    AcceptMismatch,
    /// The server chose a subprotocol that was not offered, or several.
    #[error("server chose subprotocol {0:?}, which was not offered")]
    SubprotocolNotOffered(String),
    /// The server's extension answer is malformed or does not fit the offer.
    #[error("invalid extension answer: {0}")]
    InvalidExtension(String),
    /// The server answered with an extension that was not offered.
    #[error("server answered with extension {0:?}, which was not offered")]
    ExtensionNotOffered(String),
}

impl HandshakeError {
    /// The HTTP status a server answers this request error with, or `None`
    /// for errors found in a server's response (the client sends no status).
    ///
    /// A version mismatch (426) is answered with `Sec-WebSocket-Version: 13`,
    /// a wrong method (405) with `Allow: GET`.
    pub fn status(&self) -> Option<u16> {
        use HandshakeError::*;
        match self {
            Malformed(_) | HttpVersion | MissingHeader(_) | InvalidHeader(_) | InvalidKey => {
                Some(400)
            }
            MethodNotAllowed(_) => Some(405),
            Timeout => Some(408),
            UnsupportedVersion(_) => Some(426),
            HeadTooLarge(_) | TooManyHeaders(_) => Some(431),
            RejectedByApplication(status) => Some(*status),
            Eof
            | Rejected(_)
            | AcceptMismatch
            | SubprotocolNotOffered(_)
            | ExtensionNotOffered(_)
            | InvalidExtension(_) => None,
        }
    }
}

/// Why a connection ended abnormally: reported in
/// [`Closed::error`](crate::Closed::error).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Error {
    /// The opening handshake failed.
    #[error("handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// The peer broke the protocol or a deadline passed.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
}

/// A command was used wrongly. The connection's state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SendError {
    /// Messages can only be sent while the connection is open and no close
    /// frame has been sent.
    #[error("the connection is not open for sending")]
    NotOpen,
    /// `accept` or `reject` without a request waiting for an answer.
    #[error("no handshake request is waiting for an answer")]
    NoPendingRequest,
    /// A ping, pong or close payload over 125 bytes.
    #[error("control frame payload of {0} bytes exceeds 125")]
    ControlPayloadTooLong(usize),
    /// A close code that may not be sent.
    #[error("close code {0} may not be sent")]
    UnsendableCloseCode(u16),
    /// A close reason over 123 bytes.
    #[error("close reason of {0} bytes exceeds 123")]
    CloseReasonTooLong(usize),
    /// A subprotocol the client did not offer.
    #[error("subprotocol {0:?} was not offered by the client")]
    SubprotocolNotOffered(String),
    /// A header name or value that cannot be written into an HTTP head.
    #[error("invalid header {0:?}")]
    InvalidHeader(String),
    /// A status that cannot answer a handshake (`reject` needs 200–599
    /// other than 101).
    #[error("invalid status {0}")]
    InvalidStatus(u16),
    /// A whole message was sent while a fragmented one is in progress, or a
    /// fragment's kind differs from the message's.
    #[error("a fragmented message is in progress")]
    FragmentedMessageInProgress,
    /// Deflate parameters that answer none of the client's offers.
    #[error("the deflate parameters answer none of the client's offers")]
    InvalidDeflateChoice,
    /// A URL that is not a valid `ws://` or `wss://` URL.
    #[error("invalid WebSocket URL {0:?}")]
    InvalidUrl(String),
    /// Text fragments that do not form valid UTF-8.
    #[error("text is not valid UTF-8")]
    InvalidUtf8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_codes() {
        assert_eq!(ProtocolError::InvalidUtf8.close_code(), CloseCode(1007));
        assert_eq!(ProtocolError::ReservedBits.close_code(), CloseCode(1002));
        assert_eq!(
            ProtocolError::MessageTooLarge { size: 2, limit: 1 }.close_code(),
            CloseCode(1009)
        );
        assert_eq!(
            ProtocolError::KeepaliveTimeout.close_code(),
            CloseCode(1011)
        );
        assert_eq!(
            HandshakeError::UnsupportedVersion("8".into()).status(),
            Some(426)
        );
        assert_eq!(
            HandshakeError::MethodNotAllowed("POST".into()).status(),
            Some(405)
        );
        assert_eq!(HandshakeError::HeadTooLarge(1).status(), Some(431));
        assert_eq!(HandshakeError::AcceptMismatch.status(), None);
    }
}
