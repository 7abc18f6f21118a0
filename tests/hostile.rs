//! Hostile input, in memory and over loopback: every attack gets its close
//! code or HTTP status, in bounded work, and a server keeps serving normal
//! clients afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::{REQUEST, client_frame, closed, config, drain, events, open_server, sent_close_code};
use wsproto::deflate::DeflateConfig;
use wsproto::io::blocking::{self, Incoming};
use wsproto::{Accept, CloseCode, Config, Connection, Error, HandshakeError, ProtocolError};

/// Feeds `input` to a fresh server in `chunk`-sized pieces and returns the
/// status line it answered with.
fn status_for(config: Config, input: &[u8], chunk: usize) -> (String, Connection) {
    let now = Instant::now();
    let mut server = Connection::server(config, now);
    for piece in input.chunks(chunk) {
        server.handle_data(now, piece);
        if server.state() == wsproto::State::Closed {
            break;
        }
    }
    let (bytes, shutdown) = drain(&mut server);
    assert!(shutdown, "the server closes after answering");
    let text = String::from_utf8_lossy(&bytes);
    (text.lines().next().unwrap_or_default().to_owned(), server)
}

#[test]
fn a_hundred_thousand_headers_get_431_in_linear_work() {
    let mut head = String::from("GET / HTTP/1.1\r\n");
    for i in 0..100_000 {
        head.push_str(&format!("X-{i}: v\r\n"));
    }
    head.push_str("\r\n");
    let (status, server) = status_for(config(), head.as_bytes(), 4096);
    assert_eq!(status, "HTTP/1.1 431 Request Header Fields Too Large");
    // It stopped right after the limit, having looked at each byte about once.
    assert!(server.stats().bytes_received <= (16 << 10) + 4096);
    assert!(server.stats().head_bytes_scanned <= server.stats().bytes_received + 64);
    // Many short headers within the size limit hit the count limit.
    let mut head = String::from("GET / HTTP/1.1\r\n");
    for i in 0..1000 {
        head.push_str(&format!("X{i}:\r\n"));
    }
    head.push_str("\r\n");
    let (status, _) = status_for(config(), head.as_bytes(), 4096);
    assert_eq!(status, "HTTP/1.1 431 Request Header Fields Too Large");
}

#[test]
fn a_one_mebibyte_header_line_gets_431_without_buffering_it() {
    let mut head = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 1 << 20));
    let (status, server) = status_for(config(), &head, 8192);
    assert_eq!(status, "HTTP/1.1 431 Request Header Fields Too Large");
    assert!(server.stats().bytes_received <= (16 << 10) + 8192);
}

#[test]
fn a_head_trickled_a_byte_at_a_time_is_parsed_in_linear_work_and_times_out() {
    let t0 = Instant::now();
    let mut server = Connection::server(config(), t0);
    let partial = &REQUEST.as_bytes()[..REQUEST.len() - 2];
    for (i, b) in partial.iter().enumerate() {
        let now = t0 + Duration::from_millis(100 * i as u64);
        server.handle_timeout(now);
        if server.state() == wsproto::State::Closed {
            break;
        }
        server.handle_data(now, std::slice::from_ref(b));
    }
    let stats = server.stats();
    // Each byte is examined a constant number of times, not once per call.
    assert!(
        stats.head_bytes_scanned <= 3 * stats.bytes_received,
        "{stats:?}"
    );
    // 10 s / 100 ms: the deadline came before the head was complete.
    assert!(stats.bytes_received < partial.len() as u64);
    let (bytes, shutdown) = drain(&mut server);
    assert!(bytes.starts_with(b"HTTP/1.1 408 "));
    assert!(shutdown);
    let evs = events(&mut server);
    assert_eq!(
        closed(&evs).unwrap().error,
        Some(Error::Handshake(HandshakeError::Timeout))
    );
}

/// Every hostile frame sequence after a good handshake, with its code.
fn hostile_frames() -> Vec<(&'static str, Vec<u8>, u16)> {
    let mut huge = vec![0x82, 0xFF];
    huge.extend_from_slice(&(u64::MAX >> 1).to_be_bytes());
    huge.extend_from_slice(&[1, 2, 3, 4]);
    let mut cases = vec![
        ("a frame declaring 2^63-1 bytes", huge, 1009),
        (
            "an unmasked client frame",
            common::frame(0x81, b"x", None),
            1002,
        ),
        ("RSV1 without deflate", client_frame(0xC1, b"x"), 1002),
        ("RSV2", client_frame(0xA2, b"x"), 1002),
        ("RSV3", client_frame(0x92, b"x"), 1002),
        ("reserved opcode 3", client_frame(0x83, b""), 1002),
        ("reserved opcode 0xF", client_frame(0x8F, b""), 1002),
        ("a fragmented ping", client_frame(0x09, b""), 1002),
        ("a 126-byte ping", client_frame(0x89, &[0; 126]), 1002),
        ("invalid UTF-8 text", client_frame(0x81, b"\xc0\xaf"), 1007),
        (
            "invalid UTF-8 close reason",
            client_frame(0x88, b"\x03\xe8\xed\xa0\x80"),
            1007,
        ),
        (
            "a one-byte close payload",
            client_frame(0x88, b"\x03"),
            1002,
        ),
    ];
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        let name: &'static str = Box::leak(format!("close code {code}").into_boxed_str());
        cases.push((name, client_frame(0x88, &code.to_be_bytes()), 1002));
    }
    let mut flood = client_frame(0x02, b"");
    for _ in 0..200_000 {
        flood.extend(client_frame(0x00, b""));
    }
    cases.push(("a flood of empty continuation frames", flood, 1009));
    cases
}

#[test]
fn hostile_frames_in_memory() {
    for (name, input, code) in hostile_frames() {
        let now = Instant::now();
        let mut server = open_server(config(), now);
        for piece in input.chunks(16 << 10) {
            server.handle_data(now, piece);
        }
        let (bytes, shutdown) = drain(&mut server);
        assert_eq!(sent_close_code(&bytes), Some(code), "{name}");
        assert!(shutdown, "{name}");
        assert_eq!(
            closed(&events(&mut server)).unwrap().code,
            CloseCode(code),
            "{name}"
        );
    }
}

#[test]
fn deflate_attacks_in_memory() {
    let now = Instant::now();
    let deflate = config()
        .deflate(Some(DeflateConfig::default()))
        .max_message_size(1 << 20);
    let request = REQUEST.replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    );
    let open = || {
        let mut server = Connection::server(deflate.clone(), now);
        server.handle_data(now, request.as_bytes());
        events(&mut server);
        server.accept(now, Accept::new()).unwrap();
        events(&mut server);
        drain(&mut server);
        server
    };
    let cases: Vec<(&str, Vec<u8>, ProtocolError)> = vec![
        (
            "a compressed ping",
            client_frame(0xC9, b""),
            ProtocolError::ReservedBits,
        ),
        (
            "RSV1 on a continuation",
            [client_frame(0x42, &[0]), client_frame(0xC0, &[0])].concat(),
            ProtocolError::ReservedBits,
        ),
        (
            "corrupt deflate data",
            client_frame(0xC2, &[0xff; 8]),
            ProtocolError::CorruptCompressedData,
        ),
    ];
    for (name, input, error) in cases {
        let mut server = open();
        server.handle_data(now, &input);
        let c = closed(&events(&mut server))
            .cloned()
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(c.error, Some(Error::Protocol(error)), "{name}");
    }
    // A bomb: 64 MiB of zeros in a few dozen KiB, against a 1 MiB limit.
    let mut server = open();
    let frames = compress_zeros(64 << 20);
    server.handle_data(now, &frames);
    let c = closed(&events(&mut server)).cloned().unwrap();
    assert_eq!(c.code, CloseCode::MESSAGE_TOO_BIG);
}

/// A compressed client frame of `n` zero bytes (a few dozen KiB on the wire).
fn compress_zeros(n: usize) -> Vec<u8> {
    let negotiated = wsproto::Negotiated {
        extensions: vec![wsproto::handshake::Extension {
            name: "permessage-deflate".into(),
            params: Vec::new(),
        }],
        ..Default::default()
    };
    let mut client = Connection::from_upgraded(
        wsproto::Role::Client,
        negotiated,
        config().deflate(Some(DeflateConfig::default().level(9))),
        Instant::now(),
    );
    client.send_binary(vec![0u8; n]).unwrap();
    drain(&mut client).0
}

/// Reads from a raw socket until EOF or the deadline.
fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 64 << 10];
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

#[test]
fn a_loopback_server_survives_every_attack_and_keeps_serving() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let attacks = hostile_frames();
    let total = attacks.len() + 4;
    let server = thread::spawn(move || {
        let mut handles = Vec::new();
        for stream in listener.incoming().take(total) {
            let stream = stream.unwrap();
            handles.push(thread::spawn(move || {
                let config = Config::default()
                    .handshake_timeout(Some(Duration::from_secs(2)))
                    .close_timeout(Some(Duration::from_secs(2)));
                let Ok(mut ws) = blocking::accept(stream, config, |_| Ok(Accept::new())) else {
                    return;
                };
                for _ in 0..1000 {
                    match ws.recv_timeout(Duration::from_secs(5)) {
                        Ok(Some(Incoming::Message(m))) => {
                            if ws.send(m).is_err() {
                                return;
                            }
                        }
                        Ok(Some(_)) => {}
                        Ok(None) | Err(_) => return,
                    }
                }
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
    });

    // Attacks on the handshake.
    let mut many = String::from("GET / HTTP/1.1\r\n");
    for i in 0..100_000 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    let mut long_line = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    long_line.extend(std::iter::repeat_n(b'a', 1 << 20));
    for (name, input, status) in [
        ("100,000 headers", many.into_bytes(), "431"),
        ("a 1 MiB header line", long_line, "431"),
    ] {
        let mut s = TcpStream::connect(addr).unwrap();
        let _ = s.write_all(&input); // the server may close mid-write
        let answer = read_all(&mut s);
        let line = String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(
            line.starts_with(&format!("HTTP/1.1 {status} ")),
            "{name}: {line}"
        );
    }
    // A head that never completes: the handshake deadline answers 408.
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = Instant::now();
    let answer = read_all(&mut s);
    assert!(
        answer.starts_with(b"HTTP/1.1 408 "),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(started.elapsed() < Duration::from_secs(8));

    // Attacks after the handshake.
    for (name, input, code) in attacks {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(REQUEST.as_bytes()).unwrap();
        let _ = s.write_all(&input);
        let answer = read_all(&mut s);
        let head_end = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(sent_close_code(&answer[head_end..]), Some(code), "{name}");
    }

    // A normal client is still served.
    let mut ws = blocking::connect(&format!("ws://{addr}/")).unwrap();
    ws.send_text("still here").unwrap();
    match ws.recv_timeout(Duration::from_secs(5)).unwrap() {
        Some(Incoming::Message(m)) => assert_eq!(m.as_bytes(), b"still here"),
        other => panic!("{other:?}"),
    }
    ws.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
}

#[test]
fn data_piling_up_before_accept_is_bounded() {
    let now = Instant::now();
    let mut server = Connection::server(config().max_frame_size(20_000), now);
    server.handle_data(now, REQUEST.as_bytes());
    events(&mut server);
    // The application takes its time; the client floods frames meanwhile.
    let frame = client_frame(0x82, &[0; 1000]);
    for _ in 0..100 {
        server.handle_data(now, &frame);
    }
    assert!(server.stats().bytes_received < 100 * 1000);
    let (bytes, shutdown) = drain(&mut server);
    assert!(bytes.starts_with(b"HTTP/1.1 400 "));
    assert!(shutdown);
    assert_eq!(
        server.accept(now, Accept::new()),
        Err(wsproto::SendError::NoPendingRequest)
    );
}
