//! Server side: parsing and validating the upgrade request (RFC 6455
//! §4.2.1) and writing the 101 answer (§4.2.2).

use std::mem::MaybeUninit;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::BufMut;

use super::headers::{Extension, Headers, is_token, parse_extensions, write_header};
use super::{Negotiated, accept_key_bytes};
use crate::deflate::{DeflateChoice, check_server_choice};
use crate::error::{HandshakeError, SendError};

/// A validated WebSocket upgrade request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    target: String,
    headers: Headers,
    /// A valid key is 16 bytes in base64: always 24 ASCII bytes.
    key: [u8; 24],
    subprotocols: Vec<String>,
    extensions: Vec<Extension>,
}

impl Request {
    /// The method (always `GET` for a valid request).
    pub fn method(&self) -> &str {
        "GET"
    }

    /// The request target as sent: path and query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(&self.target, |(path, _)| path)
    }

    /// The query string after `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// Every header of the request.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The `Host` header.
    pub fn host(&self) -> Option<&str> {
        self.headers.get_str("Host")
    }

    /// The `Origin` header, sent by browsers; check it against an allow-list
    /// to stop cross-site WebSocket hijacking.
    pub fn origin(&self) -> Option<&str> {
        self.headers.get_str("Origin")
    }

    /// The `Sec-WebSocket-Key`.
    pub fn key(&self) -> &str {
        std::str::from_utf8(&self.key).unwrap_or_default()
    }

    /// The offered subprotocols in the client's order, from every
    /// `Sec-WebSocket-Protocol` line.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The offered extensions, from every `Sec-WebSocket-Extensions` line.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The first of `preferred` (the server's order) that the client
    /// offered.
    pub fn pick_subprotocol<'a>(&self, preferred: &'a [impl AsRef<str>]) -> Option<&'a str> {
        preferred
            .iter()
            .map(AsRef::as_ref)
            .find(|p| self.subprotocols.iter().any(|offered| offered == p))
    }

    /// The 101 response for this request, and what it negotiates.
    ///
    /// [`DeflateChoice::Auto`] needs a connection's config to decide; here
    /// it declines compression. Pass [`DeflateChoice::Use`] with parameters
    /// from [`negotiate_server`](crate::deflate::negotiate_server) instead.
    pub fn accept_response(&self, accept: &Accept) -> Result<(Vec<u8>, Negotiated), SendError> {
        let mut out = Vec::with_capacity(160);
        let negotiated = self.write_accept_response(accept, &mut out)?;
        Ok((out, negotiated))
    }

    /// [`accept_response`](Self::accept_response) written straight into
    /// `out` (the connection's output buffer); nothing is written on error.
    pub(crate) fn write_accept_response(
        &self,
        accept: &Accept,
        out: &mut impl BufMut,
    ) -> Result<Negotiated, SendError> {
        if let Some(chosen) = &accept.subprotocol {
            if !self.subprotocols.contains(chosen) {
                return Err(SendError::SubprotocolNotOffered(chosen.clone()));
            }
        }
        accept
            .headers
            .validate()
            .map_err(SendError::InvalidHeader)?;
        let extensions = match accept.deflate {
            DeflateChoice::Use(params) if check_server_choice(&params, &self.extensions) => {
                vec![params.to_extension()]
            }
            DeflateChoice::Use(_) => return Err(SendError::InvalidDeflateChoice),
            DeflateChoice::Auto | DeflateChoice::Decline => Vec::new(),
        };
        out.put_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
        write_header(out, "Upgrade", b"websocket");
        write_header(out, "Connection", b"Upgrade");
        write_header(out, "Sec-WebSocket-Accept", &accept_key_bytes(&self.key));
        if let Some(chosen) = &accept.subprotocol {
            write_header(out, "Sec-WebSocket-Protocol", chosen.as_bytes());
        }
        for extension in &extensions {
            write_header(
                out,
                "Sec-WebSocket-Extensions",
                extension.to_string().as_bytes(),
            );
        }
        accept.headers.write_to(out);
        out.put_slice(b"\r\n");
        // The request's headers already reached the application with the
        // request; an open connection does not keep a second copy.
        let negotiated = Negotiated {
            subprotocol: accept.subprotocol.clone(),
            extensions,
            headers: Headers::new(),
        };
        Ok(negotiated)
    }
}

/// How the server accepts a request: the chosen subprotocol and extra
/// response headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accept {
    /// The subprotocol; must be one the client offered.
    pub subprotocol: Option<String>,
    /// Extra headers for the 101 response (e.g. `Set-Cookie`).
    pub headers: Headers,
    /// How to answer the client's permessage-deflate offers.
    pub deflate: DeflateChoice,
}

impl Accept {
    /// Accept with no subprotocol and no extra header.
    pub fn new() -> Self {
        Accept::default()
    }

    /// Chooses a subprotocol.
    pub fn subprotocol(mut self, name: impl Into<String>) -> Self {
        self.subprotocol = Some(name.into());
        self
    }

    /// Overrides the permessage-deflate choice (by default the connection
    /// picks the first acceptable offer under its config).
    pub fn deflate(mut self, choice: DeflateChoice) -> Self {
        self.deflate = choice;
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<[u8]>) -> Self {
        self.headers.push(name, value);
        self
    }
}

/// Checks a request that an HTTP stack has already parsed, in the order
/// that gives the most useful status: method (405), HTTP version, `Host`,
/// `Upgrade`, `Connection`, `Sec-WebSocket-Version` (426 when it is not 13),
/// `Sec-WebSocket-Key`, and the protocol and extension lists (400).
///
/// `http_minor` is the minor version of HTTP/1.x (1 for HTTP/1.1).
pub fn validate_request(
    method: &str,
    http_minor: u8,
    target: &str,
    headers: Headers,
) -> Result<Request, HandshakeError> {
    if method != "GET" {
        return Err(HandshakeError::MethodNotAllowed(method.to_owned()));
    }
    if http_minor < 1 {
        return Err(HandshakeError::HttpVersion);
    }
    if headers.get("Host").is_none_or(<[u8]>::is_empty) {
        return Err(HandshakeError::MissingHeader("Host"));
    }
    require_token(&headers, "Upgrade", "websocket")?;
    require_token(&headers, "Connection", "upgrade")?;
    match headers.get_str("Sec-WebSocket-Version").map(str::trim) {
        None => return Err(HandshakeError::MissingHeader("Sec-WebSocket-Version")),
        Some("13") => {}
        Some(other) => return Err(HandshakeError::UnsupportedVersion(other.to_owned())),
    }
    let mut keys = headers.get_all("Sec-WebSocket-Key");
    let key = keys
        .next()
        .ok_or(HandshakeError::MissingHeader("Sec-WebSocket-Key"))?;
    if keys.next().is_some() {
        return Err(HandshakeError::InvalidKey);
    }
    let key: [u8; 24] = key
        .trim_ascii()
        .try_into()
        .map_err(|_| HandshakeError::InvalidKey)?;
    drop(keys);
    let mut nonce = [0u8; 18];
    match BASE64.decode_slice(key, &mut nonce) {
        Ok(16) => {}
        _ => return Err(HandshakeError::InvalidKey),
    }
    let subprotocols: Vec<String> = headers
        .list("Sec-WebSocket-Protocol")
        .map(str::to_owned)
        .collect();
    if !subprotocols.iter().all(|p| is_token(p)) {
        return Err(HandshakeError::InvalidHeader("Sec-WebSocket-Protocol"));
    }
    let extensions = parse_extensions(&headers)
        .map_err(|_| HandshakeError::InvalidHeader("Sec-WebSocket-Extensions"))?;
    Ok(Request {
        target: target.to_owned(),
        key,
        headers,
        subprotocols,
        extensions,
    })
}

fn require_token(headers: &Headers, name: &'static str, token: &str) -> Result<(), HandshakeError> {
    if !headers.contains(name) {
        return Err(HandshakeError::MissingHeader(name));
    }
    if !headers.has_token(name, token) {
        return Err(HandshakeError::InvalidHeader(name));
    }
    Ok(())
}

/// Header limits up to this are parsed with slots on the stack.
pub(crate) const STACK_HEADER_SLOTS: usize = 64;

/// Outcome of parsing a complete request head.
pub(crate) enum RequestParse {
    Valid(Request),
    Invalid(HandshakeError),
}

/// Parses and validates a complete head (the scanner found its end).
pub(crate) fn parse_request(head: &[u8], max_headers: usize) -> RequestParse {
    // Header slots on the stack for the usual limits, left uninitialised
    // (httparse fills them): no allocation and no 2 KiB fill per request.
    let mut stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADER_SLOTS];
    let mut heap = Vec::new();
    let slots = match stack.get_mut(..max_headers) {
        Some(slots) => slots,
        None => {
            heap.resize_with(max_headers, MaybeUninit::uninit);
            heap.as_mut_slice()
        }
    };
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(head, slots) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return RequestParse::Invalid(HandshakeError::Malformed("incomplete head".into()));
        }
        Err(httparse::Error::TooManyHeaders) => {
            return RequestParse::Invalid(HandshakeError::TooManyHeaders(max_headers));
        }
        Err(e) => return RequestParse::Invalid(HandshakeError::Malformed(e.to_string())),
    }
    let method = req.method.unwrap_or_default();
    let target = req.path.unwrap_or_default();
    let minor = req.version.unwrap_or_default();
    let headers = Headers::from_httparse(req.headers);
    match validate_request(method, minor, target, headers) {
        Ok(request) => RequestParse::Valid(request),
        Err(e) => RequestParse::Invalid(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(head: &str) -> Result<Request, HandshakeError> {
        match parse_request(head.as_bytes(), 64) {
            RequestParse::Valid(r) => Ok(r),
            RequestParse::Invalid(e) => Err(e),
        }
    }

    const GOOD: &str = "GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn rfc_request_is_accepted() {
        let r = parse(GOOD).ok();
        let r = r.as_ref();
        assert_eq!(r.map(Request::path), Some("/chat"));
        assert_eq!(r.and_then(Request::query), Some("room=1"));
        assert_eq!(r.and_then(Request::origin), Some("http://example.com"));
        assert_eq!(
            r.map(|r| r.subprotocols().to_vec()),
            Some(vec!["chat".to_owned(), "superchat".to_owned()])
        );
        assert_eq!(
            r.and_then(|r| r.pick_subprotocol(&["superchat", "chat"])),
            Some("superchat")
        );
        let (bytes, _) = r
            .map(|r| r.accept_response(&Accept::new().subprotocol("chat")))
            .and_then(Result::ok)
            .unwrap_or_default();
        let text = String::from_utf8(bytes).unwrap_or_default();
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(text.contains("Sec-WebSocket-Protocol: chat\r\n"));
        assert!(
            r.map(|r| r
                .accept_response(&Accept::new().subprotocol("other"))
                .is_err())
                .unwrap_or(false)
        );
    }

    #[test]
    fn bad_requests_get_their_status() {
        let cases: &[(&str, &str, u16)] = &[
            ("GET ", "POST ", 405),
            ("HTTP/1.1\r\n", "HTTP/1.0\r\n", 400),
            ("Host: server.example.com\r\n", "", 400),
            ("Upgrade: websocket", "Upgrade: h2c", 400),
            (
                "Connection: keep-alive, Upgrade",
                "Connection: keep-alive",
                400,
            ),
            ("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", 426),
            ("Sec-WebSocket-Version: 13\r\n", "", 400),
            ("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZQ==", 400),
            (
                "Sec-WebSocket-Protocol: chat",
                "Sec-WebSocket-Protocol: ch at",
                400,
            ),
        ];
        for (from, to, status) in cases {
            let head = GOOD.replacen(from, to, 1);
            let err = parse(&head).err();
            assert_eq!(
                err.as_ref().and_then(HandshakeError::status),
                Some(*status),
                "{to}: {err:?}"
            );
        }
    }
}
