//! Client side: building the upgrade request (RFC 6455 §4.1) and checking
//! the server's answer.

use bytes::{Buf, Bytes, BytesMut};

use super::head::HeadScanner;
use super::headers::{Extension, Headers, is_token, parse_extensions, write_header};
use super::server::STACK_HEADER_SLOTS;
use super::{Negotiated, Response, accept_key_bytes};
use crate::error::{HandshakeError, SendError};

/// What a client asks for: where to connect and what to offer.
///
/// ```
/// let request = wsproto::ClientRequest::from_url("ws://example.com:8080/chat?room=1")
///     .unwrap()
///     .subprotocol("chat")
///     .origin("https://example.com")
///     .header("Authorization", "Bearer token");
/// assert_eq!(request.host_header(), "example.com:8080");
/// assert_eq!(request.target(), "/chat?room=1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRequest {
    host: String,
    port: Option<u16>,
    secure: bool,
    target: String,
    subprotocols: Vec<String>,
    origin: Option<String>,
    headers: Headers,
    extensions: Vec<Extension>,
}

impl ClientRequest {
    /// A request for `target` (path and query) on `host`, port 80.
    pub fn new(host: impl Into<String>, target: impl Into<String>) -> Self {
        ClientRequest {
            host: host.into(),
            port: None,
            secure: false,
            target: target.into(),
            subprotocols: Vec::new(),
            origin: None,
            headers: Headers::new(),
            extensions: Vec::new(),
        }
    }

    /// Parses a `ws://` or `wss://` URL (host, optional port, path, query;
    /// IPv6 literals in brackets).
    pub fn from_url(url: &str) -> Result<Self, SendError> {
        let bad = || SendError::InvalidUrl(url.to_owned());
        let (secure, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "ws://") {
            (false, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(url, "wss://") {
            (true, rest)
        } else {
            return Err(bad());
        };
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at_checked(split).ok_or_else(bad)?;
        if authority.contains('@') {
            return Err(bad()); // credentials in URLs are not supported
        }
        let (host, port) = split_host_port(authority).ok_or_else(bad)?;
        let target = match target {
            "" => "/".to_owned(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_owned(),
        };
        if host.is_empty() || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad());
        }
        let mut request = ClientRequest::new(host, target);
        request.secure = secure;
        request.port = port;
        Ok(request)
    }

    /// Sets the port (the `Host` header names it unless it is the default).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Whether the connection runs over TLS (`wss://`, default port 443).
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Offers a subprotocol; call again to offer more, in preference order.
    pub fn subprotocol(mut self, name: impl Into<String>) -> Self {
        self.subprotocols.push(name.into());
        self
    }

    /// Sets the `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Adds a header (cookies, authorization, …).
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<[u8]>) -> Self {
        self.headers.push(name, value);
        self
    }

    /// The host name (without brackets for IPv6).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to: the one given, else 443 or 80.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(if self.secure { 443 } else { 80 })
    }

    /// Whether the URL was `wss://`.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The request target: path and query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The offered subprotocols.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The `Host` header: the host, with the port when it is not the
    /// scheme's default.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(port) if port != if self.secure { 443 } else { 80 } => format!("{host}:{port}"),
            _ => host,
        }
    }

    /// Extension offers added by the engine (permessage-deflate).
    pub(crate) fn offered_extensions(&self) -> &[Extension] {
        &self.extensions
    }

    pub(crate) fn set_extension_offers(&mut self, offers: Vec<Extension>) {
        self.extensions = offers;
    }

    /// Serialises the GET with the given key.
    pub(crate) fn encode(&self, key: &str) -> Result<Vec<u8>, SendError> {
        self.headers.validate().map_err(SendError::InvalidHeader)?;
        if let Some(bad) = self.subprotocols.iter().find(|p| !is_token(p)) {
            return Err(SendError::InvalidHeader(format!("subprotocol {bad:?}")));
        }
        let origin_ok = self
            .origin
            .as_deref()
            .is_none_or(|o| !o.bytes().any(|b| b.is_ascii_control()));
        if !origin_ok || self.host.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(SendError::InvalidHeader("Host or Origin".into()));
        }
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        write_header(&mut out, "Host", self.host_header().as_bytes());
        write_header(&mut out, "Upgrade", b"websocket");
        write_header(&mut out, "Connection", b"Upgrade");
        write_header(&mut out, "Sec-WebSocket-Key", key.as_bytes());
        write_header(&mut out, "Sec-WebSocket-Version", b"13");
        if !self.subprotocols.is_empty() {
            write_header(
                &mut out,
                "Sec-WebSocket-Protocol",
                self.subprotocols.join(", ").as_bytes(),
            );
        }
        if !self.extensions.is_empty() {
            let offers: Vec<String> = self.extensions.iter().map(ToString::to_string).collect();
            write_header(
                &mut out,
                "Sec-WebSocket-Extensions",
                offers.join(", ").as_bytes(),
            );
        }
        if let Some(origin) = &self.origin {
            write_header(&mut out, "Origin", origin.as_bytes());
        }
        self.headers.write_to(&mut out);
        out.extend_from_slice(b"\r\n");
        Ok(out)
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

fn split_host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host.to_owned(), port))
}

/// Checks a server's 101 response to a request with `key` (RFC 6455 §4.1):
/// `Upgrade` and `Connection` tokens, the exact `Sec-WebSocket-Accept`, a
/// subprotocol only if offered, extensions only if offered.
pub fn validate_response(
    status: u16,
    headers: Headers,
    key: &str,
    offered_subprotocols: &[String],
    offered_extensions: &[Extension],
) -> Result<Negotiated, HandshakeError> {
    if status != 101 {
        return Err(HandshakeError::Rejected(status));
    }
    for (name, token) in [("Upgrade", "websocket"), ("Connection", "upgrade")] {
        if !headers.contains(name) {
            return Err(HandshakeError::MissingHeader(name));
        }
        if !headers.has_token(name, token) {
            return Err(HandshakeError::InvalidHeader(name));
        }
    }
    let accept = headers
        .get("Sec-WebSocket-Accept")
        .ok_or(HandshakeError::MissingHeader("Sec-WebSocket-Accept"))?;
    if accept.trim_ascii() != accept_key_bytes(key.as_bytes()) {
        return Err(HandshakeError::AcceptMismatch);
    }
    let chosen: Vec<&str> = headers.list("Sec-WebSocket-Protocol").collect();
    let subprotocol = match chosen.as_slice() {
        [] => None,
        [one] if offered_subprotocols.iter().any(|p| p == one) => Some((*one).to_owned()),
        _ => return Err(HandshakeError::SubprotocolNotOffered(chosen.join(", "))),
    };
    let extensions = parse_extensions(&headers)
        .map_err(|_| HandshakeError::InvalidHeader("Sec-WebSocket-Extensions"))?;
    if let Some(unknown) = extensions.iter().find(|e| {
        !offered_extensions
            .iter()
            .any(|o| o.name.eq_ignore_ascii_case(&e.name))
    }) {
        return Err(HandshakeError::ExtensionNotOffered(unknown.name.clone()));
    }
    Ok(Negotiated {
        subprotocol,
        extensions,
        headers,
    })
}

/// Where reading the server's answer stands.
pub(crate) enum ResponseProgress {
    /// More bytes are needed.
    Partial,
    /// A 101 that passed every check; the head has been consumed from the
    /// buffer, any bytes behind it are frames.
    Accepted(Negotiated),
    /// A complete non-101 answer.
    Rejected(Response),
    /// The answer is malformed or fails a check.
    Failed(HandshakeError),
}

/// Reads the server's answer incrementally: the head, then for a non-101
/// answer its body (up to `Content-Length`, the end of a chunked body, or
/// the end of the stream), keeping at most `max_body` bytes.
#[derive(Debug, Default)]
pub(crate) struct ResponseParser {
    scanner: HeadScanner,
    rejected: Option<PendingRejection>,
}

#[derive(Debug)]
struct PendingRejection {
    response: Response,
    body: BodyLength,
}

#[derive(Debug, Clone, Copy)]
enum BodyLength {
    Known(usize),
    Chunked,
    UntilEof,
}

/// The limits and offers a response is checked against.
pub(crate) struct ResponseCheck<'a> {
    pub key: &'a str,
    pub request: &'a ClientRequest,
    pub max_head: usize,
    pub max_headers: usize,
    pub max_body: usize,
}

impl ResponseParser {
    /// Head bytes examined since the last call.
    pub(crate) fn take_examined(&mut self) -> u64 {
        self.scanner.take_examined()
    }

    pub(crate) fn advance(
        &mut self,
        buf: &mut BytesMut,
        check: &ResponseCheck<'_>,
    ) -> ResponseProgress {
        if self.rejected.is_some() {
            return self.advance_body(buf, check.max_body, false);
        }
        let Some(head_len) = self.scanner.find_end(buf) else {
            if buf.len() > check.max_head {
                return ResponseProgress::Failed(HandshakeError::HeadTooLarge(check.max_head));
            }
            return ResponseProgress::Partial;
        };
        if head_len > check.max_head {
            return ResponseProgress::Failed(HandshakeError::HeadTooLarge(check.max_head));
        }
        // Slots on the stack for the usual limits: no allocation per
        // handshake.
        let mut stack = [httparse::EMPTY_HEADER; STACK_HEADER_SLOTS];
        let mut heap = Vec::new();
        let slots = match stack.get_mut(..check.max_headers) {
            Some(slots) => slots,
            None => {
                heap.resize(check.max_headers, httparse::EMPTY_HEADER);
                heap.as_mut_slice()
            }
        };
        let mut parsed = httparse::Response::new(slots);
        match parsed.parse(buf.get(..head_len).unwrap_or_default()) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => {
                return ResponseProgress::Failed(HandshakeError::Malformed(
                    "incomplete head".into(),
                ));
            }
            Err(httparse::Error::TooManyHeaders) => {
                return ResponseProgress::Failed(HandshakeError::TooManyHeaders(check.max_headers));
            }
            Err(e) => return ResponseProgress::Failed(HandshakeError::Malformed(e.to_string())),
        }
        let status = parsed.code.unwrap_or_default();
        let reason = parsed.reason.unwrap_or_default().to_owned();
        let headers = Headers::from_httparse(parsed.headers);
        buf.advance(head_len);
        if status == 101 {
            let request = check.request;
            return match validate_response(
                status,
                headers,
                check.key,
                &request.subprotocols,
                request.offered_extensions(),
            ) {
                Ok(negotiated) => ResponseProgress::Accepted(negotiated),
                Err(e) => ResponseProgress::Failed(e),
            };
        }
        let body = if headers.has_token("Transfer-Encoding", "chunked") {
            BodyLength::Chunked
        } else if let Some(len) = headers
            .get_str("Content-Length")
            .and_then(|v| v.trim().parse().ok())
        {
            BodyLength::Known(len)
        } else if status == 204 || status == 304 || (100..200).contains(&status) {
            BodyLength::Known(0)
        } else {
            BodyLength::UntilEof
        };
        self.rejected = Some(PendingRejection {
            response: Response {
                status,
                reason,
                headers,
                body: Bytes::new(),
            },
            body,
        });
        self.advance_body(buf, check.max_body, false)
    }

    /// The stream ended: a rejection in progress is complete with what
    /// arrived.
    pub(crate) fn finish(&mut self, buf: &mut BytesMut, max_body: usize) -> Option<Response> {
        match self.advance_body(buf, max_body, true) {
            ResponseProgress::Rejected(response) => Some(response),
            _ => None,
        }
    }

    fn advance_body(&mut self, buf: &mut BytesMut, max_body: usize, eof: bool) -> ResponseProgress {
        let Some(pending) = &self.rejected else {
            return ResponseProgress::Partial;
        };
        let complete_len = match pending.body {
            BodyLength::Known(len) => (buf.len() >= len.min(max_body)).then_some(len.min(max_body)),
            BodyLength::Chunked => {
                chunked_body_end(buf).or((buf.len() >= max_body).then_some(max_body))
            }
            BodyLength::UntilEof => (buf.len() >= max_body).then_some(max_body),
        };
        let take = match complete_len {
            Some(n) => n,
            None if eof => buf.len(),
            None => return ResponseProgress::Partial,
        };
        let Some(mut pending) = self.rejected.take() else {
            return ResponseProgress::Partial;
        };
        let raw = buf.split_to(take.min(buf.len())).freeze();
        pending.response.body = match pending.body {
            BodyLength::Chunked => decode_chunked(&raw).map_or(raw, Bytes::from),
            _ => raw,
        };
        pending.response.body.truncate(max_body);
        ResponseProgress::Rejected(pending.response)
    }
}

/// The length of a complete chunked body at the start of `buf`, if it is
/// all there.
fn chunked_body_end(buf: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let rest = buf.get(pos..)?;
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(rest.get(..line_end)?).ok()?;
        let size_hex = line.split(';').next()?.trim();
        let size = usize::from_str_radix(size_hex, 16).ok()?;
        pos += line_end + 2;
        if size == 0 {
            // Skip trailers up to the empty line.
            let rest = buf.get(pos..)?;
            if rest.starts_with(b"\r\n") {
                return Some(pos + 2);
            }
            let end = rest.windows(4).position(|w| w == b"\r\n\r\n")?;
            return Some(pos + end + 4);
        }
        pos = pos.checked_add(size)?.checked_add(2)?;
        if pos > buf.len() {
            return None;
        }
    }
}

fn decode_chunked(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = raw;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(rest.get(..line_end)?).ok()?;
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        rest = rest.get(line_end + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let r = ClientRequest::from_url("ws://[::1]:9001").ok();
        assert_eq!(
            r.as_ref().map(ClientRequest::host_header),
            Some("[::1]:9001".to_owned())
        );
        assert_eq!(r.as_ref().map(ClientRequest::target), Some("/"));
        let r = ClientRequest::from_url("WSS://example.com:443?x=1#frag").ok();
        assert_eq!(
            r.as_ref().map(ClientRequest::host_header),
            Some("example.com".to_owned())
        );
        assert_eq!(r.as_ref().map(ClientRequest::target), Some("/?x=1"));
        assert_eq!(r.as_ref().map(ClientRequest::port_or_default), Some(443));
        for bad in [
            "http://x/",
            "ws://",
            "ws://h:99999/",
            "ws://u@h/",
            "ws://h/a b",
        ] {
            assert!(ClientRequest::from_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chunked_bodies() {
        let body = b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n";
        assert_eq!(chunked_body_end(body), Some(body.len()));
        assert_eq!(chunked_body_end(&body[..body.len() - 1]), None);
        assert_eq!(decode_chunked(body), Some(b"Wikipedia".to_vec()));
    }
}
