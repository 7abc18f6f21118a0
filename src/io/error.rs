//! The error type shared by the adapters.

use std::fmt;

use crate::close::CloseCode;
use crate::error::{HandshakeError, SendError};
use crate::event::Closed;
use crate::handshake::Response;

/// Why an adapter call failed.
///
/// Every variant except [`Error::Send`] means the connection is over: the
/// adapter has nothing more to report and its transport can be dropped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading from or writing to the transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A command was used wrongly (sending after close, a ping payload over
    /// 125 bytes …); the connection is unchanged and still usable.
    #[error(transparent)]
    Send(#[from] SendError),
    /// Client: the server answered the upgrade with a status other than
    /// 101. The response carries the status, headers and (part of) the
    /// body, e.g. a redirect's `Location`.
    #[error("HTTP {} {}", .0.status, .0.reason)]
    Rejected(Box<Response>),
    /// The opening handshake failed for another reason: a malformed or
    /// invalid answer, a timeout, the transport ending early, or (server)
    /// a bad request — answered with its 4xx status by the engine — or a
    /// request the application rejected.
    #[error("handshake failed: {0}")]
    Handshake(HandshakeError),
    /// The connection is over. [`Closed::is_clean`] tells whether the
    /// closing handshake completed; otherwise [`Closed::error`] says why
    /// not and [`Closed::code`] is the close code that was sent (1002
    /// protocol error, 1007 invalid UTF-8, 1009 too big, 1011 keepalive
    /// timeout) or 1006 when the transport ended without one.
    #[error("{}", ClosedDisplay(.0))]
    Closed(Closed),
}

impl Error {
    /// The close code, when the connection ended after the handshake.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Error::Closed(closed) => Some(closed.code),
            _ => None,
        }
    }

    /// Whether this is the end of a connection whose closing handshake
    /// completed cleanly (not a failure).
    pub fn is_clean_close(&self) -> bool {
        matches!(self, Error::Closed(closed) if closed.is_clean())
    }

    /// Turns the terminal event of a connection that never opened into the
    /// most specific error.
    pub(crate) fn from_handshake(closed: Closed) -> Error {
        match closed.error {
            Some(crate::Error::Handshake(error)) => Error::Handshake(error),
            _ => Error::Closed(closed),
        }
    }
}

struct ClosedDisplay<'a>(&'a Closed);

impl fmt::Display for ClosedDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let closed = self.0;
        match &closed.error {
            None => write!(f, "connection closed: {}", closed.code)?,
            Some(error) => write!(f, "connection failed ({}): {error}", closed.code)?,
        }
        if !closed.reason.is_empty() {
            write!(f, " ({:?})", closed.reason)?;
        }
        Ok(())
    }
}
