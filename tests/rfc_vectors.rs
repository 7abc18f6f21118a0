//! Byte-for-byte vectors from RFC 6455: the §1.2/§1.3 opening handshake
//! and every example frame of §5.7, checked on the receiving side (the
//! right event comes out) and on the sending side (exactly these bytes go
//! out).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Instant;

use bytes::Bytes;
use common::{client_frame, config, drain, events, open_server};
use wsproto::frame::{OpCode, decode_header};
use wsproto::handshake::accept_key;
use wsproto::{
    Accept, ClientRequest, Config, Connection, Entropy, EntropySource, Event, Message, Negotiated,
    Role, State, Text,
};

/// The nonce of RFC 6455 §1.3 (`dGhlIHNhbXBsZSBub25jZQ==` decoded).
const RFC_NONCE: &[u8; 16] = b"the sample nonce";
/// The masking key of every masked example in RFC 6455 §5.7.
const RFC_MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The opening handshake of RFC 6455 §1.2, verbatim.
const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\
\r\n";
const RFC_RESPONSE: &str = "HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\
\r\n";

// The §5.7 frames.
const HELLO_UNMASKED: [u8; 7] = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const HELLO_MASKED: [u8; 11] = [
    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];
const HELLO_FRAGMENTED: [u8; 9] = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
const PING_UNMASKED: [u8; 7] = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const PONG_MASKED: [u8; 11] = [
    0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];
const PONG_UNMASKED: [u8; 7] = [0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const HEADER_256: [u8; 4] = [0x82, 0x7E, 0x01, 0x00];
const HEADER_64K: [u8; 10] = [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00];

/// Entropy that hands out `prefix` once, then `RFC_MASK` forever: a client
/// built with it sends the RFC's key and masks every frame with the RFC's
/// key, so its output can be compared with the RFC byte for byte.
struct Scripted {
    prefix: Vec<u8>,
    pos: usize,
}

impl Entropy for Scripted {
    fn fill(&mut self, dest: &mut [u8]) {
        for byte in dest {
            *byte = match self.prefix.get(self.pos) {
                Some(&b) => b,
                None => RFC_MASK[(self.pos - self.prefix.len()) % 4],
            };
            self.pos += 1;
        }
    }
}

fn scripted(prefix: &'static [u8]) -> Config {
    config().entropy(EntropySource::from_fn(move || {
        Box::new(Scripted {
            prefix: prefix.to_vec(),
            pos: 0,
        })
    }))
}

fn open_client(config: Config, now: Instant) -> Connection {
    Connection::from_upgraded(Role::Client, Negotiated::new(), config, now)
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 256) as u8).collect()
}

fn text(s: &str) -> Event {
    Event::Message(Message::Text(Text::from(s)))
}

fn binary(data: &[u8]) -> Event {
    Event::Message(Message::Binary(Bytes::copy_from_slice(data)))
}

/// Feeds `bytes` whole, and again one byte at a time to a fresh
/// connection; both must report exactly `expected`.
fn receive(make: impl Fn() -> Connection, bytes: &[u8], expected: &[Event]) {
    let mut whole = make();
    whole.handle_data(Instant::now(), bytes);
    assert_eq!(events(&mut whole), expected, "fed whole");
    assert_eq!(whole.state(), State::Open);

    let mut trickle = make();
    for byte in bytes {
        trickle.handle_data(Instant::now(), std::slice::from_ref(byte));
    }
    assert_eq!(events(&mut trickle), expected, "fed one byte at a time");
}

/// Unmasks one client frame that must be the whole of `wire`; returns the
/// first byte, the key and the payload.
fn unmask_client_frame(wire: &[u8]) -> (u8, [u8; 4], Vec<u8>) {
    let (header, header_len) = decode_header(wire).unwrap().expect("a whole header");
    let key = header
        .mask
        .expect("client frames are masked (RFC 6455 §5.3)");
    assert_eq!(wire[1] & 0x80, 0x80, "mask bit set");
    let body = &wire[header_len..];
    assert_eq!(body.len() as u64, header.payload_len, "exactly one frame");
    let plain = body
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect();
    (wire[0], key, plain)
}

// ---- §1.2 / §1.3: the opening handshake ---------------------------------

#[test]
fn accept_key_of_section_1_3() {
    assert_eq!(
        accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn server_answers_the_section_1_2_request_with_the_section_1_2_response() {
    let now = Instant::now();
    let mut server = Connection::server(config(), now);
    server.handle_data(now, RFC_REQUEST.as_bytes());
    let request = match events(&mut server).as_slice() {
        [Event::Request(request)] => request.clone(),
        other => panic!("expected one Request, got {other:?}"),
    };
    assert_eq!(request.method(), "GET");
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.host(), Some("server.example.com"));
    assert_eq!(request.origin(), Some("http://example.com"));
    assert_eq!(request.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(request.subprotocols(), ["chat", "superchat"]);
    assert_eq!(request.pick_subprotocol(&["chat"]), Some("chat"));

    server
        .accept(now, Accept::new().subprotocol("chat"))
        .unwrap();
    let (wire, shutdown) = drain(&mut server);
    assert!(!shutdown);
    assert_eq!(String::from_utf8(wire).unwrap(), RFC_RESPONSE);
    match events(&mut server).as_slice() {
        [Event::Connected(negotiated)] => {
            assert_eq!(negotiated.subprotocol.as_deref(), Some("chat"));
        }
        other => panic!("expected Connected, got {other:?}"),
    }
    assert_eq!(server.state(), State::Open);
}

#[test]
fn client_sends_the_section_1_2_request_and_accepts_the_section_1_2_response() {
    let now = Instant::now();
    let request = ClientRequest::new("server.example.com", "/chat")
        .subprotocol("chat")
        .subprotocol("superchat")
        .origin("http://example.com");
    let mut client = Connection::client(request, scripted(RFC_NONCE), now).unwrap();
    let (wire, _) = drain(&mut client);
    let wire = String::from_utf8(wire).unwrap();
    assert!(wire.ends_with("\r\n\r\n"), "{wire:?}");
    // Header fields are an unordered set (§1.2): compare them as a set, with
    // the request line first.
    let mut sent: Vec<&str> = wire.trim_end().split("\r\n").collect();
    let mut rfc: Vec<&str> = RFC_REQUEST.trim_end().split("\r\n").collect();
    assert_eq!(sent.first(), rfc.first());
    sent.sort_unstable();
    rfc.sort_unstable();
    assert_eq!(sent, rfc);

    // The RFC's answer, followed in the same read by the RFC's first frame.
    let mut answer = RFC_RESPONSE.as_bytes().to_vec();
    answer.extend_from_slice(&HELLO_UNMASKED);
    client.handle_data(now, &answer);
    match events(&mut client).as_slice() {
        [Event::Connected(negotiated), hello] => {
            assert_eq!(negotiated.subprotocol.as_deref(), Some("chat"));
            assert_eq!(*hello, text("Hello"));
        }
        other => panic!("expected Connected and Hello, got {other:?}"),
    }
    assert_eq!(client.state(), State::Open);

    // Its first frame is masked with the key the entropy source gave it,
    // which is the RFC's, so it is the RFC's masked "Hello".
    client.send_text("Hello").unwrap();
    assert_eq!(drain(&mut client).0, HELLO_MASKED);
}

// ---- §5.7: receiving the example frames ---------------------------------

#[test]
fn single_frame_unmasked_text_received_by_client() {
    receive(
        || open_client(config(), Instant::now()),
        &HELLO_UNMASKED,
        &[text("Hello")],
    );
}

#[test]
fn single_frame_masked_text_received_by_server() {
    receive(
        || open_server(config(), Instant::now()),
        &HELLO_MASKED,
        &[text("Hello")],
    );
}

#[test]
fn fragmented_unmasked_text_received_by_client() {
    receive(
        || open_client(config(), Instant::now()),
        &HELLO_FRAGMENTED,
        &[text("Hello")],
    );
}

#[test]
fn unmasked_ping_received_by_client_is_answered_with_a_masked_pong() {
    receive(
        || open_client(config(), Instant::now()),
        &PING_UNMASKED,
        &[Event::Ping(Bytes::from_static(b"Hello"))],
    );

    // With the RFC's masking key, the answer is the RFC's pong exactly.
    let now = Instant::now();
    let mut client = open_client(scripted(b""), now);
    client.handle_data(now, &PING_UNMASKED);
    assert_eq!(drain(&mut client).0, PONG_MASKED);

    // With any key, it is a masked pong carrying the ping's body.
    let mut client = open_client(config(), now);
    client.handle_data(now, &PING_UNMASKED);
    let (first, _, body) = unmask_client_frame(&drain(&mut client).0);
    assert_eq!(first, 0x8a);
    assert_eq!(body, b"Hello");
}

#[test]
fn masked_pong_received_by_server() {
    receive(
        || open_server(config(), Instant::now()),
        &PONG_MASKED,
        &[Event::Pong(Bytes::from_static(b"Hello"))],
    );
}

#[test]
fn binary_256_bytes_with_16_bit_length() {
    let data = payload(256);
    let mut wire = HEADER_256.to_vec();
    wire.extend_from_slice(&data);
    let (header, len) = decode_header(&wire).unwrap().unwrap();
    assert_eq!(
        (header.opcode, header.payload_len, len),
        (OpCode::Binary, 256, 4)
    );
    receive(
        || open_client(config(), Instant::now()),
        &wire,
        &[binary(&data)],
    );
    // The same message masked, towards a server.
    receive(
        || open_server(config(), Instant::now()),
        &client_frame(0x82, &data),
        &[binary(&data)],
    );
}

#[test]
fn binary_64_kib_with_64_bit_length() {
    let data = payload(65536);
    let mut wire = HEADER_64K.to_vec();
    wire.extend_from_slice(&data);
    let (header, len) = decode_header(&wire).unwrap().unwrap();
    assert_eq!(
        (header.opcode, header.payload_len, len),
        (OpCode::Binary, 65536, 10)
    );
    receive(
        || open_client(config(), Instant::now()),
        &wire,
        &[binary(&data)],
    );
    receive(
        || open_server(config(), Instant::now()),
        &client_frame(0x82, &data),
        &[binary(&data)],
    );
}

#[test]
fn all_section_5_7_frames_in_one_read() {
    // Every unmasked example back to back, as one server would send them.
    let big = payload(65536);
    let small = payload(256);
    let mut wire = Vec::new();
    wire.extend_from_slice(&HELLO_UNMASKED);
    wire.extend_from_slice(&HELLO_FRAGMENTED);
    wire.extend_from_slice(&PING_UNMASKED);
    wire.extend_from_slice(&HEADER_256);
    wire.extend_from_slice(&small);
    wire.extend_from_slice(&HEADER_64K);
    wire.extend_from_slice(&big);
    receive(
        || open_client(config(), Instant::now()),
        &wire,
        &[
            text("Hello"),
            text("Hello"),
            Event::Ping(Bytes::from_static(b"Hello")),
            binary(&small),
            binary(&big),
        ],
    );
}

// ---- §5.7: sending the example frames -----------------------------------

#[test]
fn server_encodes_hello_unmasked() {
    let mut server = open_server(config(), Instant::now());
    server.send_text("Hello").unwrap();
    assert_eq!(drain(&mut server).0, HELLO_UNMASKED);
    server.send(Message::Text(Text::from("Hello"))).unwrap();
    assert_eq!(drain(&mut server).0, HELLO_UNMASKED);
}

#[test]
fn server_encodes_binary_256_and_64_kib() {
    let mut server = open_server(config(), Instant::now());
    for (header, len) in [(&HEADER_256[..], 256), (&HEADER_64K[..], 65536)] {
        let data = payload(len);
        server.send_binary(data.clone()).unwrap();
        let wire = drain(&mut server).0;
        assert_eq!(&wire[..header.len()], header, "header for {len} bytes");
        assert_eq!(&wire[header.len()..], &data[..], "payload of {len} bytes");
    }
}

#[test]
fn server_auto_pong_is_the_unmasked_pong() {
    let now = Instant::now();
    let mut server = open_server(config(), now);
    server.handle_data(now, &client_frame(0x89, b"Hello"));
    assert_eq!(
        events(&mut server),
        [Event::Ping(Bytes::from_static(b"Hello"))]
    );
    assert_eq!(drain(&mut server).0, PONG_UNMASKED);
    // An explicit pong and ping are encoded the same way.
    server.send_pong(b"Hello").unwrap();
    assert_eq!(drain(&mut server).0, PONG_UNMASKED);
    server.send_ping(b"Hello").unwrap();
    assert_eq!(drain(&mut server).0, PING_UNMASKED);
}

#[test]
fn client_with_the_rfc_key_encodes_the_rfc_masked_frames() {
    let mut client = open_client(scripted(b""), Instant::now());
    client.send_text("Hello").unwrap();
    assert_eq!(drain(&mut client).0, HELLO_MASKED);
    client.send_pong(b"Hello").unwrap();
    assert_eq!(drain(&mut client).0, PONG_MASKED);
}

#[test]
fn client_frames_are_masked_with_a_fresh_key_each() {
    let mut client = open_client(config(), Instant::now());
    let mut keys = Vec::new();

    client.send_text("Hello").unwrap();
    let (first, key, body) = unmask_client_frame(&drain(&mut client).0);
    assert_eq!((first, body.as_slice()), (0x81, &b"Hello"[..]));
    keys.push(key);

    client.send_ping(b"Hello").unwrap();
    let (first, key, body) = unmask_client_frame(&drain(&mut client).0);
    assert_eq!((first, body.as_slice()), (0x89, &b"Hello"[..]));
    keys.push(key);

    for (len, length_bytes) in [
        (256usize, &[0xFE, 0x01, 0x00][..]),
        (65536, &[0xFF, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00][..]),
    ] {
        let data = payload(len);
        client.send_binary(data.clone()).unwrap();
        let wire = drain(&mut client).0;
        // Same length encoding as the RFC's examples, with the mask bit.
        assert_eq!(wire[0], 0x82);
        assert_eq!(&wire[1..1 + length_bytes.len()], length_bytes);
        let (_, key, body) = unmask_client_frame(&wire);
        assert_eq!(body, data, "{len} bytes");
        keys.push(key);
    }

    // RFC 6455 §5.3: a fresh, unpredictable key for every frame.
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            assert_ne!(a, b, "mask keys repeat: {keys:?}");
        }
    }
}
