//! Opening handshake, both roles: parsing in any split, every RFC 6455
//! §4.2.1 / §4.1 check with its HTTP status or error, rejections.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Instant;

use common::{REQUEST, client_frame, closed, config, drain, events};
use wsproto::{
    Accept, ClientRequest, Connection, Error, Event, HandshakeError, Message, Response, SendError,
    State,
};

const BROWSER_REQUEST: &str = "GET /chat?room=7&x=1 HTTP/1.1\r\nHost: example.com:8080\r\nConnection: keep-alive, Upgrade\r\nPragma: no-cache\r\nUpgrade: websocket\r\nOrigin: https://example.com\r\nSec-WebSocket-Version: 13\r\nUser-Agent: Mozilla/5.0\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Protocol: v2.chat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

fn request_event(events: &[Event]) -> wsproto::Request {
    events
        .iter()
        .find_map(|e| match e {
            Event::Request(r) => Some((**r).clone()),
            _ => None,
        })
        .expect("a Request event")
}

#[test]
fn server_parses_a_request_trickled_one_byte_at_a_time() {
    let now = Instant::now();
    let mut server = Connection::server(config(), now);
    for byte in BROWSER_REQUEST.as_bytes() {
        assert!(server.poll_event().is_none());
        server.handle_data(now, std::slice::from_ref(byte));
    }
    let request = request_event(&events(&mut server));
    assert_eq!(request.method(), "GET");
    assert_eq!(request.target(), "/chat?room=7&x=1");
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), Some("room=7&x=1"));
    assert_eq!(request.host(), Some("example.com:8080"));
    assert_eq!(request.origin(), Some("https://example.com"));
    assert_eq!(request.subprotocols(), ["chat", "superchat", "v2.chat"]);
    assert_eq!(request.extensions().len(), 1);
    assert_eq!(request.extensions()[0].name, "permessage-deflate");
    assert_eq!(request.headers().get_str("user-agent"), Some("Mozilla/5.0"));
    assert_eq!(request.headers().len(), 11);
    assert_eq!(server.state(), State::Connecting);
}

#[test]
fn accept_writes_the_101_with_subprotocol_and_extra_headers() {
    let now = Instant::now();
    let mut server = Connection::server(config(), now);
    server.handle_data(now, BROWSER_REQUEST.as_bytes());
    let request = request_event(&events(&mut server));
    let chosen = request
        .pick_subprotocol(&["superchat", "chat"])
        .unwrap()
        .to_owned();
    assert_eq!(chosen, "superchat");

    // A subprotocol the client did not offer is refused, and nothing changes.
    assert_eq!(
        server.accept(now, Accept::new().subprotocol("graphql-ws")),
        Err(SendError::SubprotocolNotOffered("graphql-ws".into()))
    );
    assert_eq!(
        server.accept(now, Accept::new().header("Bad\r\nName", "x")),
        Err(SendError::InvalidHeader("Bad\r\nName".into()))
    );
    assert!(drain(&mut server).0.is_empty());

    server
        .accept(
            now,
            Accept::new()
                .subprotocol(chosen)
                .header("Set-Cookie", "id=1"),
        )
        .unwrap();
    let (bytes, shutdown) = drain(&mut server);
    assert!(!shutdown);
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: superchat\r\nSet-Cookie: id=1\r\n\r\n"
    );
    let evs = events(&mut server);
    let Some(Event::Connected(negotiated)) = evs.first() else {
        panic!("{evs:?}")
    };
    assert_eq!(negotiated.subprotocol.as_deref(), Some("superchat"));
    assert_eq!(server.state(), State::Open);
    assert_eq!(
        server.accept(now, Accept::new()),
        Err(SendError::NoPendingRequest)
    );
}

#[test]
fn frames_behind_the_request_are_decoded_after_accept() {
    let now = Instant::now();
    let mut server = Connection::server(config(), now);
    let mut input = REQUEST.as_bytes().to_vec();
    input.extend(client_frame(0x81, b"early"));
    input.extend(client_frame(0x82, &[1, 2]));
    server.handle_data(now, &input);
    let evs = events(&mut server);
    assert_eq!(evs.len(), 1, "{evs:?}");
    server.accept(now, Accept::new()).unwrap();
    let evs = events(&mut server);
    assert!(matches!(evs[0], Event::Connected(_)));
    assert!(matches!(&evs[1], Event::Message(Message::Text(t)) if t == "early"));
    assert!(matches!(&evs[2], Event::Message(Message::Binary(b)) if b[..] == [1, 2]));
}

/// Every malformed request, with the status it must get.
#[test]
fn bad_requests_are_answered_with_their_status() {
    type Case<'a> = (&'a str, &'a str, u16, Option<(&'a str, &'a str)>);
    let cases: &[Case] = &[
        ("GET /chat", "POST /chat", 405, Some(("Allow", "GET"))),
        ("GET /chat", "PUT /chat", 405, Some(("Allow", "GET"))),
        (" HTTP/1.1\r\n", " HTTP/1.0\r\n", 400, None),
        ("Host: server.example.com\r\n", "", 400, None),
        ("Upgrade: websocket\r\n", "", 400, None),
        ("Upgrade: websocket", "Upgrade: h2c", 400, None),
        ("Connection: Upgrade\r\n", "", 400, None),
        ("Connection: Upgrade", "Connection: keep-alive", 400, None),
        (
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            "",
            400,
            None,
        ),
        ("dGhlIHNhbXBsZSBub25jZQ==", "AAAA", 400, None),
        ("dGhlIHNhbXBsZSBub25jZQ==", "not base64!", 400, None),
        ("Sec-WebSocket-Version: 13\r\n", "", 400, None),
        (
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Version: 8",
            426,
            Some(("Sec-WebSocket-Version", "13")),
        ),
        ("GET /chat HTTP/1.1", "GET /chat HTTP/1.1 junk", 400, None),
        (
            "Host: server.example.com",
            "Host server.example.com",
            400,
            None,
        ),
    ];
    for (from, to, status, header) in cases {
        let now = Instant::now();
        let mut server = Connection::server(config(), now);
        let head = REQUEST.replacen(from, to, 1);
        assert_ne!(head, REQUEST, "{from} not found");
        server.handle_data(now, head.as_bytes());
        let (bytes, shutdown) = drain(&mut server);
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.starts_with(&format!("HTTP/1.1 {status} ")),
            "{to}: {text}"
        );
        if let Some((name, value)) = header {
            assert!(
                text.contains(&format!("{name}: {value}\r\n")),
                "{to}: {text}"
            );
        }
        assert!(shutdown, "{to}");
        let evs = events(&mut server);
        assert_eq!(evs.len(), 1, "{to}: {evs:?}");
        let closed = closed(&evs).unwrap();
        let Some(Error::Handshake(error)) = &closed.error else {
            panic!("{closed:?}")
        };
        assert_eq!(error.status(), Some(*status), "{to}");
        assert_eq!(server.state(), State::Closed);
    }
}

#[test]
fn oversized_heads_get_431() {
    let now = Instant::now();
    // A head over the size limit, with no end in sight.
    let mut server = Connection::server(config().max_handshake_size(1024), now);
    server.handle_data(now, b"GET / HTTP/1.1\r\nX-Long: ");
    server.handle_data(now, &[b'a'; 2048]);
    let (bytes, shutdown) = drain(&mut server);
    assert!(
        bytes.starts_with(b"HTTP/1.1 431 "),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(shutdown);

    // Too many headers.
    let mut server = Connection::server(config().max_headers(8), now);
    let mut head = String::from("GET / HTTP/1.1\r\n");
    for i in 0..20 {
        head.push_str(&format!("X-H{i}: v\r\n"));
    }
    head.push_str("\r\n");
    server.handle_data(now, head.as_bytes());
    let (bytes, _) = drain(&mut server);
    assert!(bytes.starts_with(b"HTTP/1.1 431 "));
    let evs = events(&mut server);
    assert_eq!(
        closed(&evs).unwrap().error,
        Some(Error::Handshake(HandshakeError::TooManyHeaders(8)))
    );
}

#[test]
fn reject_sends_any_status_headers_and_body() {
    let now = Instant::now();
    let mut server = Connection::server(config(), now);
    server.handle_data(now, REQUEST.as_bytes());
    events(&mut server);
    assert_eq!(
        server.reject(Response::new(101)),
        Err(SendError::InvalidStatus(101))
    );
    server
        .reject(
            Response::new(403)
                .header("WWW-Authenticate", "Bearer")
                .body("go away"),
        )
        .unwrap();
    let (bytes, shutdown) = drain(&mut server);
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "HTTP/1.1 403 Forbidden\r\nWWW-Authenticate: Bearer\r\nContent-Length: 7\r\nConnection: close\r\n\r\ngo away"
    );
    assert!(shutdown);
    let evs = events(&mut server);
    assert_eq!(
        closed(&evs).unwrap().error,
        Some(Error::Handshake(HandshakeError::RejectedByApplication(403)))
    );
}

fn client_with(request: ClientRequest) -> (Connection, String) {
    let mut client = Connection::client(request, config(), Instant::now()).unwrap();
    let (bytes, _) = drain(&mut client);
    (client, String::from_utf8(bytes).unwrap())
}

fn key_of(head: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap()
        .to_owned()
}

fn response_for(head: &str, extra: &str) -> String {
    let accept = wsproto::handshake::accept_key(key_of(head).as_bytes());
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
    )
}

#[test]
fn client_request_carries_everything_asked_for() {
    let request = ClientRequest::from_url("ws://example.com:8080/chat?room=1")
        .unwrap()
        .subprotocol("chat")
        .subprotocol("superchat")
        .origin("https://example.com")
        .header("Authorization", "Bearer abc");
    let (_, head) = client_with(request);
    assert!(head.starts_with("GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "), "{head}");
    assert!(head.contains("Sec-WebSocket-Version: 13\r\n"));
    assert!(head.contains("Sec-WebSocket-Protocol: chat, superchat\r\n"));
    assert!(head.contains("Origin: https://example.com\r\n"));
    assert!(head.contains("Authorization: Bearer abc\r\n"));
    assert!(head.ends_with("\r\n\r\n"));
    let key = key_of(&head);
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&key)
            .unwrap()
            .len(),
        16
    );

    // Default port: no port in Host.
    let (_, head) = client_with(ClientRequest::from_url("ws://example.com:80/").unwrap());
    assert!(head.contains("\r\nHost: example.com\r\n"));
    // Bad header values are refused up front.
    let bad = ClientRequest::new("h", "/").header("X", "a\r\nInjected: 1");
    assert!(matches!(
        Connection::client(bad, config(), Instant::now()),
        Err(SendError::InvalidHeader(_))
    ));
}

#[test]
fn client_keys_are_fresh_per_connection() {
    let request = ClientRequest::new("h", "/");
    let a =
        Connection::client(request.clone(), wsproto::Config::default(), Instant::now()).unwrap();
    let b = Connection::client(request, wsproto::Config::default(), Instant::now()).unwrap();
    let (mut a, mut b) = (a, b);
    assert_ne!(
        key_of(&String::from_utf8(drain(&mut a).0).unwrap()),
        key_of(&String::from_utf8(drain(&mut b).0).unwrap())
    );
}

#[test]
fn client_accepts_a_response_in_any_split_with_frames_behind_it() {
    let (_, head) = client_with(ClientRequest::new("h", "/").subprotocol("chat"));
    let mut input = response_for(&head, "Sec-WebSocket-Protocol: chat\r\n").into_bytes();
    input.extend(common::frame(0x81, b"hi", None));
    for split in 1..input.len() {
        let (mut client, _) = client_with(ClientRequest::new("h", "/").subprotocol("chat"));
        let now = Instant::now();
        client.handle_data(now, &input[..split]);
        client.handle_data(now, &input[split..]);
        let evs = events(&mut client);
        let Some(Event::Connected(n)) = evs.first() else {
            panic!("split {split}: {evs:?}")
        };
        assert_eq!(n.subprotocol.as_deref(), Some("chat"));
        assert!(
            matches!(&evs[1], Event::Message(Message::Text(t)) if t == "hi"),
            "split {split}: {evs:?}"
        );
    }
    // One byte at a time.
    let (mut client, _) = client_with(ClientRequest::new("h", "/").subprotocol("chat"));
    for b in &input {
        client.handle_data(Instant::now(), std::slice::from_ref(b));
    }
    assert_eq!(events(&mut client).len(), 2);
}

#[test]
fn client_rejects_bad_101_responses() {
    let cases: &[(&str, HandshakeError)] = &[
        (
            "Sec-WebSocket-Protocol: chat\r\n",
            HandshakeError::SubprotocolNotOffered("chat".into()),
        ),
        (
            "Sec-WebSocket-Extensions: permessage-deflate\r\n",
            HandshakeError::ExtensionNotOffered("permessage-deflate".into()),
        ),
    ];
    for (extra, expected) in cases {
        let (mut client, head) = client_with(ClientRequest::new("h", "/"));
        client.handle_data(Instant::now(), response_for(&head, extra).as_bytes());
        let evs = events(&mut client);
        assert_eq!(
            closed(&evs).unwrap().error,
            Some(Error::Handshake(expected.clone())),
            "{extra}"
        );
        assert!(drain(&mut client).1);
    }
    let mangled: &[(&str, &str, HandshakeError)] = &[
        (
            "Upgrade: websocket\r\n",
            "",
            HandshakeError::MissingHeader("Upgrade"),
        ),
        (
            "Connection: Upgrade\r\n",
            "Connection: close\r\n",
            HandshakeError::InvalidHeader("Connection"),
        ),
        (
            "Sec-WebSocket-Accept: ",
            "Sec-WebSocket-Accept: x",
            HandshakeError::AcceptMismatch,
        ),
    ];
    for (from, to, expected) in mangled {
        let (mut client, head) = client_with(ClientRequest::new("h", "/"));
        let response = response_for(&head, "").replacen(from, to, 1);
        client.handle_data(Instant::now(), response.as_bytes());
        let evs = events(&mut client);
        assert_eq!(
            closed(&evs).unwrap().error,
            Some(Error::Handshake(expected.clone())),
            "{to}"
        );
    }
}

#[test]
fn non_101_answers_are_reported_with_status_headers_and_body() {
    let (mut client, _) = client_with(ClientRequest::new("h", "/"));
    let now = Instant::now();
    let answer = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\nContent-Length: 12\r\n\r\nlogin first!";
    for b in answer {
        client.handle_data(now, std::slice::from_ref(b));
    }
    let evs = events(&mut client);
    let Some(Event::Rejected(response)) = evs.first() else {
        panic!("{evs:?}")
    };
    assert_eq!(response.status, 401);
    assert_eq!(response.reason, "Unauthorized");
    assert_eq!(response.headers.get_str("www-authenticate"), Some("Basic"));
    assert_eq!(&response.body[..], b"login first!");
    assert_eq!(
        closed(&evs).unwrap().error,
        Some(Error::Handshake(HandshakeError::Rejected(401)))
    );
    assert!(drain(&mut client).1);

    // A redirect without a body; a chunked body; a body until EOF.
    let (mut client, _) = client_with(ClientRequest::new("h", "/"));
    client.handle_data(
        now,
        b"HTTP/1.1 302 Found\r\nLocation: ws://other/\r\nContent-Length: 0\r\n\r\n",
    );
    let evs = events(&mut client);
    let Some(Event::Rejected(response)) = evs.first() else {
        panic!("{evs:?}")
    };
    assert_eq!(response.location(), Some("ws://other/"));

    let (mut client, _) = client_with(ClientRequest::new("h", "/"));
    client.handle_data(now, b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nbusy.\r\n0\r\n\r\n");
    let evs = events(&mut client);
    let Some(Event::Rejected(response)) = evs.first() else {
        panic!("{evs:?}")
    };
    assert_eq!(&response.body[..], b"busy.");

    let (mut client, _) = client_with(ClientRequest::new("h", "/"));
    client.handle_data(now, b"HTTP/1.0 404 Not Found\r\n\r\nnothing here");
    assert!(events(&mut client).is_empty());
    client.handle_eof(now);
    let evs = events(&mut client);
    let Some(Event::Rejected(response)) = evs.first() else {
        panic!("{evs:?}")
    };
    assert_eq!(&response.body[..], b"nothing here");

    // The body kept is bounded.
    let config = config().max_rejection_body(4);
    let mut client = Connection::client(ClientRequest::new("h", "/"), config, now).unwrap();
    client.handle_data(
        now,
        b"HTTP/1.1 500 Oops\r\nContent-Length: 1000000\r\n\r\n0123456789",
    );
    let evs = events(&mut client);
    let Some(Event::Rejected(response)) = evs.first() else {
        panic!("{evs:?}")
    };
    assert_eq!(&response.body[..], b"0123");
}

#[test]
fn eof_during_the_handshake_is_reported() {
    let now = Instant::now();
    let mut server = Connection::server(config(), now);
    server.handle_data(now, b"GET / HTTP/1.1\r\n");
    server.handle_eof(now);
    let evs = events(&mut server);
    assert_eq!(
        closed(&evs).unwrap().error,
        Some(Error::Handshake(HandshakeError::Eof))
    );
    assert!(drain(&mut server).1);
    assert_eq!(server.state(), State::Closed);
}
