//! The opening handshake (RFC 6455 §4): request and response types, their
//! validation, and the helpers a caller whose HTTP stack did the upgrade
//! needs ([`accept_key`], [`validate_request`], [`validate_response`]).

mod client;
mod head;
mod headers;
mod server;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use sha1::{Digest, Sha1};

pub use client::{ClientRequest, validate_response};
pub(crate) use client::{ResponseCheck, ResponseParser, ResponseProgress};
pub(crate) use head::HeadScanner;
pub use headers::{Extension, Header, Headers, InvalidExtensionList, is_token, parse_extensions};
pub use server::{Accept, Request, validate_request};
pub(crate) use server::{RequestParse, parse_request};

use crate::entropy::Entropy;
use crate::error::SendError;

/// The GUID of RFC 6455 §1.3, appended to the key before hashing.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64 of the SHA-1 of
/// the key followed by the GUID.
///
/// ```
/// assert_eq!(
///     wsproto::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// );
/// ```
pub fn accept_key(key: &[u8]) -> String {
    String::from_utf8_lossy(&accept_key_bytes(key)).into_owned()
}

/// [`accept_key`] on the stack: a SHA-1 digest is always 28 base64 bytes.
pub(crate) fn accept_key_bytes(key: &[u8]) -> [u8; 28] {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    let mut out = [0u8; 28];
    // 20 bytes always encode to exactly 28.
    let _ = BASE64.encode_slice(sha.finalize(), &mut out);
    out
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64-encoded.
pub fn generate_key(entropy: &mut dyn Entropy) -> String {
    let mut nonce = [0u8; 16];
    entropy.fill(&mut nonce);
    BASE64.encode(nonce)
}

/// What the handshake settled: the subprotocol, the extensions in force and
/// the peer's handshake headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The subprotocol both sides agreed on, if any.
    pub subprotocol: Option<String>,
    /// The extensions in force, as the server answered them.
    pub extensions: Vec<Extension>,
    /// The server's response headers, on a client. Empty on a server: the
    /// request's headers came with [`Event::Request`](crate::Event::Request).
    pub headers: Headers,
}

impl Negotiated {
    /// Nothing negotiated: no subprotocol, no extension.
    pub fn new() -> Self {
        Negotiated::default()
    }

    /// With a subprotocol.
    pub fn with_subprotocol(mut self, subprotocol: impl Into<String>) -> Self {
        self.subprotocol = Some(subprotocol.into());
        self
    }
}

/// An HTTP response other than 101: sent by a server with
/// [`reject`](crate::Connection::reject), reported to a client as
/// [`Event::Rejected`](crate::Event::Rejected).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The headers.
    pub headers: Headers,
    /// The body (a client keeps at most `max_rejection_body` bytes of it).
    pub body: Bytes,
}

impl Response {
    /// A response with the standard reason phrase and no body.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            reason: reason_phrase(status).to_owned(),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<[u8]>) -> Self {
        self.headers.push(name, value);
        self
    }

    /// Sets the body (`Content-Length` is added when written).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The header `Location`, for redirects.
    pub fn location(&self) -> Option<&str> {
        self.headers.get_str("Location")
    }

    /// Serialises the response; `Content-Length` and `Connection: close` are
    /// added unless present.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, SendError> {
        if !(200..=599).contains(&self.status) {
            return Err(SendError::InvalidStatus(self.status));
        }
        self.headers.validate().map_err(SendError::InvalidHeader)?;
        if self.reason.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(SendError::InvalidHeader("reason phrase".into()));
        }
        let mut out = Vec::with_capacity(128 + self.body.len());
        out.extend_from_slice(format!("HTTP/1.1 {} {}\r\n", self.status, self.reason).as_bytes());
        self.headers.write_to(&mut out);
        if !self.headers.contains("Content-Length") {
            headers::write_header(
                &mut out,
                "Content-Length",
                self.body.len().to_string().as_bytes(),
            );
        }
        if !self.headers.contains("Connection") {
            headers::write_header(&mut out, "Connection", b"close");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        Ok(out)
    }
}

/// The standard reason phrase of the statuses a handshake uses.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}
