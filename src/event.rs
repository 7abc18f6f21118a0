//! What a connection reports to the application.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;

use crate::close::{CloseCode, CloseFrame};
use crate::error::Error;
use crate::handshake::{Negotiated, Request, Response};

/// Something that happened on the connection, from
/// [`Connection::poll_event`](crate::Connection::poll_event).
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Server: a valid upgrade request; answer with
    /// [`accept`](crate::Connection::accept) or
    /// [`reject`](crate::Connection::reject). (Shared with the connection,
    /// which keeps it until the decision, instead of copied; behind a
    /// pointer, like `Rejected`, so the common events stay small.)
    Request(Arc<Request>),
    /// The handshake completed; the connection is open.
    Connected(Negotiated),
    /// Client: the server answered with a status other than 101.
    Rejected(Box<Response>),
    /// A complete message.
    Message(Message),
    /// A ping (already answered when auto-pong is on).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer sent a close frame (already answered by the engine).
    CloseReceived(CloseFrame),
    /// The connection is over. Reported exactly once, last.
    Closed(Closed),
}

/// A complete data message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message, checked to be UTF-8.
    Text(Text),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
        }
    }

    /// The payload as `Bytes` (a cheap handle, no copy).
    pub fn into_bytes(self) -> Bytes {
        match self {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(bytes) => bytes,
        }
    }
}

/// UTF-8 text backed by [`Bytes`]: received text is checked once, as it
/// arrives, and never copied into a `String`.
///
/// The crate forbids `unsafe`, so borrowing it as `&str` runs the UTF-8
/// check again (SIMD, several GB/s). Use
/// [`as_bytes`](Text::as_bytes) or [`into_bytes`](Text::into_bytes) where
/// bytes are enough.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(Bytes);

impl Text {
    /// Wraps bytes that are valid UTF-8; `None` otherwise.
    pub fn from_utf8(bytes: Bytes) -> Option<Text> {
        simdutf8::basic::from_utf8(&bytes).ok()?;
        Some(Text(bytes))
    }

    /// Wraps bytes the engine has already validated.
    pub(crate) fn from_validated(bytes: Bytes) -> Text {
        Text(bytes)
    }

    /// The text as a string slice.
    pub fn as_str(&self) -> &str {
        // Valid by construction; the fallback is unreachable.
        simdutf8::basic::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The UTF-8 bytes as `Bytes` (no copy).
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Bytes::from(s))
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side started the close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiator {
    /// This endpoint: the application called `close`, or the engine failed
    /// the connection (a protocol error by the peer, a timeout).
    Local,
    /// The peer sent the first close frame, or the transport ended.
    Remote,
}

/// How the connection ended: the last event.
#[derive(Clone, Debug, PartialEq)]
pub struct Closed {
    /// The close code: the one in the peer's close frame after a clean
    /// close; the one we sent when we failed the connection; 1006 when the
    /// transport ended without a closing handshake.
    pub code: CloseCode,
    /// The close reason that went with `code`.
    pub reason: String,
    /// Who started the close.
    pub initiator: Initiator,
    /// Why it ended abnormally; `None` after a clean closing handshake.
    pub error: Option<Error>,
}

impl Closed {
    /// Whether the closing handshake completed without error.
    pub fn is_clean(&self) -> bool {
        self.error.is_none()
    }
}
