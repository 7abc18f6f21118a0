//! permessage-deflate: negotiation in both roles, round trips for every
//! window size and takeover setting, RSV1 rules, budgets, RFC 7692 vectors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Instant;

use common::{Pair, client_frame, closed, config, drain, events, open_server};
use wsproto::deflate::{
    DeflateChoice, DeflateConfig, DeflateParams, client_offers, negotiate_client, negotiate_server,
};
use wsproto::handshake::{Extension, Headers, parse_extensions};
use wsproto::{
    Accept, ClientRequest, CloseCode, Config, Connection, Error, Event, HandshakeError, Message,
    ProtocolError,
};

fn exts(value: &str) -> Vec<Extension> {
    let mut headers = Headers::new();
    headers.push("Sec-WebSocket-Extensions", value);
    parse_extensions(&headers).unwrap()
}

fn offer_string(config: &DeflateConfig) -> String {
    client_offers(config)
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn client_offers_follow_the_config() {
    let d = DeflateConfig::default();
    assert_eq!(
        offer_string(&d),
        "permessage-deflate; client_max_window_bits"
    );
    assert_eq!(
        offer_string(
            &d.clone()
                .client_max_window_bits(Some(10))
                .client_no_context_takeover(true)
        ),
        "permessage-deflate; client_no_context_takeover; client_max_window_bits=10"
    );
    // Asking something of the server adds a plain fallback offer.
    assert_eq!(
        offer_string(
            &d.clone()
                .server_max_window_bits(Some(9))
                .server_no_context_takeover(true)
        ),
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits, permessage-deflate; client_max_window_bits"
    );
    assert_eq!(
        offer_string(
            &d.clone()
                .server_no_context_takeover(true)
                .fallback_offer(false)
        ),
        "permessage-deflate; server_no_context_takeover; client_max_window_bits"
    );
}

#[test]
fn server_negotiation_table() {
    let plain = DeflateConfig::default();
    let p = |s: bool, c: bool, sb: Option<u8>, cb: Option<u8>| DeflateParams {
        server_no_context_takeover: s,
        client_no_context_takeover: c,
        server_max_window_bits: sb,
        client_max_window_bits: cb,
    };
    let cases: Vec<(&str, DeflateConfig, Option<DeflateParams>)> = vec![
        (
            "permessage-deflate",
            plain.clone(),
            Some(p(false, false, None, None)),
        ),
        (
            "permessage-deflate; client_max_window_bits",
            plain.clone(),
            Some(p(false, false, None, None)),
        ),
        (
            "permessage-deflate; server_no_context_takeover",
            plain.clone(),
            Some(p(true, false, None, None)),
        ),
        (
            "permessage-deflate; client_no_context_takeover",
            plain.clone(),
            Some(p(false, true, None, None)),
        ),
        (
            "permessage-deflate; server_max_window_bits=10",
            plain.clone(),
            Some(p(false, false, Some(10), None)),
        ),
        (
            "permessage-deflate; server_max_window_bits=\"12\"",
            plain.clone(),
            Some(p(false, false, Some(12), None)),
        ),
        // Server settings: its own window, and asking the client for one.
        (
            "permessage-deflate",
            plain.clone().server_max_window_bits(Some(9)),
            Some(p(false, false, Some(9), None)),
        ),
        (
            "permessage-deflate; server_max_window_bits=12",
            plain.clone().server_max_window_bits(Some(10)),
            Some(p(false, false, Some(10), None)),
        ),
        (
            "permessage-deflate; client_max_window_bits",
            plain.clone().client_max_window_bits(Some(11)),
            Some(p(false, false, None, Some(11))),
        ),
        (
            "permessage-deflate; client_max_window_bits=9",
            plain.clone().client_max_window_bits(Some(11)),
            Some(p(false, false, None, Some(9))),
        ),
        (
            "permessage-deflate",
            plain.clone().client_max_window_bits(Some(11)),
            Some(p(false, false, None, None)),
        ),
        (
            "permessage-deflate",
            plain
                .clone()
                .server_no_context_takeover(true)
                .client_no_context_takeover(true),
            Some(p(true, true, None, None)),
        ),
        // Malformed offers are declined and the next one is taken.
        (
            "permessage-deflate; server_max_window_bits=16, permessage-deflate",
            plain.clone(),
            Some(p(false, false, None, None)),
        ),
        (
            "permessage-deflate; server_max_window_bits=7",
            plain.clone(),
            None,
        ),
        (
            "permessage-deflate; server_max_window_bits",
            plain.clone(),
            None,
        ),
        (
            "permessage-deflate; server_max_window_bits=010",
            plain.clone(),
            None,
        ),
        (
            "permessage-deflate; client_max_window_bits=abc",
            plain.clone(),
            None,
        ),
        (
            "permessage-deflate; server_no_context_takeover=1",
            plain.clone(),
            None,
        ),
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            plain.clone(),
            None,
        ),
        ("permessage-deflate; unknown_param", plain.clone(), None),
        ("x-webkit-deflate-frame", plain.clone(), None),
        (
            "x-other, permessage-deflate; client_no_context_takeover",
            plain.clone(),
            Some(p(false, true, None, None)),
        ),
    ];
    for (offer, config, expected) in cases {
        assert_eq!(negotiate_server(&config, &exts(offer)), expected, "{offer}");
    }
}

#[test]
fn client_response_validation_table() {
    let plain = DeflateConfig::default();
    let asks = plain
        .clone()
        .server_max_window_bits(Some(10))
        .fallback_offer(false);
    let ok = |config: &DeflateConfig, answer: &str| negotiate_client(config, &exts(answer));
    assert_eq!(
        ok(&plain, "permessage-deflate").unwrap().unwrap(),
        DeflateParams::default()
    );
    let p = ok(
        &plain,
        "permessage-deflate; server_no_context_takeover; client_max_window_bits=9",
    )
    .unwrap()
    .unwrap();
    assert!(p.server_no_context_takeover);
    assert_eq!(p.client_max_window_bits, Some(9));
    // The server may state its own window even unasked.
    assert_eq!(
        ok(&plain, "permessage-deflate; server_max_window_bits=12")
            .unwrap()
            .unwrap()
            .server_max_window_bits,
        Some(12)
    );
    assert_eq!(
        ok(&asks, "permessage-deflate; server_max_window_bits=8")
            .unwrap()
            .unwrap()
            .server_max_window_bits,
        Some(8)
    );
    for bad in [
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; foo",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate, permessage-deflate",
    ] {
        assert!(
            matches!(ok(&plain, bad), Err(HandshakeError::InvalidExtension(_))),
            "{bad}"
        );
    }
    // We asked for at most 10 bits and got more, or got nothing.
    assert!(ok(&asks, "permessage-deflate; server_max_window_bits=11").is_err());
    assert!(ok(&asks, "permessage-deflate").is_err());
    // With the fallback offer, a plain answer is fine.
    assert!(
        ok(
            &plain.clone().server_max_window_bits(Some(10)),
            "permessage-deflate"
        )
        .is_ok()
    );
    // client_max_window_bits above our offered value.
    assert!(
        ok(
            &plain.clone().client_max_window_bits(Some(10)),
            "permessage-deflate; client_max_window_bits=11"
        )
        .is_err()
    );
}

fn deflate_pair(client: DeflateConfig, server: DeflateConfig) -> Pair {
    Pair::with(
        ClientRequest::new("h", "/"),
        config().deflate(Some(client)),
        config().deflate(Some(server)),
        |_| Accept::new(),
    )
}

fn corpus() -> Vec<Vec<u8>> {
    let json = br#"{"id":12345,"user":"alice","tags":["a","b","c"],"text":"The quick brown fox jumps over the lazy dog","nested":{"x":1.5,"y":[1,2,3]}}"#;
    vec![
        json.to_vec(),
        json.repeat(30),
        Vec::new(),
        b"x".to_vec(),
        (0..70_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
        "héllo wörld ✓ 漢字 ".repeat(500).into_bytes(),
        json.repeat(30),
    ]
}

fn exchange_everything(pair: &mut Pair) {
    for (i, payload) in corpus().into_iter().enumerate() {
        let text = std::str::from_utf8(&payload).ok().filter(|_| i % 2 == 0);
        match text {
            Some(t) => pair.client.send_text(t).unwrap(),
            None => pair.client.send_binary(payload.clone()).unwrap(),
        }
        match text {
            Some(t) => pair.server.send_text(t).unwrap(),
            None => pair.server.send_binary(payload.clone()).unwrap(),
        }
        pair.drive();
        for events in [pair.take_server_events(), pair.take_client_events()] {
            let [Event::Message(message)] = &events[..] else {
                panic!("message {i}: {events:?}")
            };
            assert_eq!(message.as_bytes(), &payload[..], "message {i}");
            assert_eq!(matches!(message, Message::Text(_)), text.is_some());
        }
    }
}

#[test]
fn every_window_and_takeover_setting_roundtrips_in_both_directions() {
    for bits in 8..=15u8 {
        for takeover in [true, false] {
            let server = DeflateConfig::default()
                .server_max_window_bits(Some(bits))
                .client_max_window_bits(Some(bits))
                .server_no_context_takeover(!takeover)
                .client_no_context_takeover(!takeover);
            let mut pair = deflate_pair(DeflateConfig::default(), server);
            let n = pair.client.negotiated().unwrap();
            assert_eq!(n.extensions.len(), 1, "{bits} {takeover}");
            exchange_everything(&mut pair);
        }
    }
}

#[test]
fn compressed_frames_carry_rsv1_on_the_first_frame_only() {
    let now = Instant::now();
    let mut server = Connection::server(
        config()
            .deflate(Some(DeflateConfig::default()))
            .max_outgoing_frame_size(Some(10)),
        now,
    );
    let request = common::REQUEST.replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    );
    server.handle_data(now, request.as_bytes());
    events(&mut server);
    server.accept(now, Accept::new()).unwrap();
    let (head, _) = drain(&mut server);
    assert!(
        String::from_utf8_lossy(&head).contains("Sec-WebSocket-Extensions: permessage-deflate\r\n")
    );
    server.send_text(&"hello ".repeat(20)).unwrap();
    let (bytes, _) = drain(&mut server);
    let firsts: Vec<_> = common::frames(&bytes)
        .into_iter()
        .map(|(h, _)| (h.rsv, h.opcode))
        .collect();
    assert!(firsts.len() > 1);
    assert_eq!(firsts[0], (0b100, wsproto::frame::OpCode::Text));
    assert!(
        firsts[1..]
            .iter()
            .all(|(rsv, op)| *rsv == 0 && *op == wsproto::frame::OpCode::Continuation)
    );
    // Short messages go uncompressed.
    server.send_text("hi").unwrap();
    let (bytes, _) = drain(&mut server);
    assert_eq!(bytes[0], 0x81);
}

fn open_deflate_server(params: &str) -> Connection {
    let now = Instant::now();
    let mut server = Connection::server(
        config()
            .deflate(Some(DeflateConfig::default()))
            .max_message_size(1 << 20),
        now,
    );
    let request = common::REQUEST.replace(
        "\r\n\r\n",
        &format!("\r\nSec-WebSocket-Extensions: {params}\r\n\r\n"),
    );
    server.handle_data(now, request.as_bytes());
    events(&mut server);
    server.accept(now, Accept::new()).unwrap();
    events(&mut server);
    drain(&mut server);
    server
}

#[test]
fn rfc7692_examples_are_received() {
    let now = Instant::now();
    let mut server = open_deflate_server("permessage-deflate");
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    server.handle_data(now, &client_frame(0xC1, &hello));
    // §7.2.3.2: the same message again, referencing the first.
    server.handle_data(now, &client_frame(0xC1, &[0xf2, 0x00, 0x11, 0x00, 0x00]));
    // §7.2.3.3: a stored block, and §7.2.3.1 split over two frames.
    server.handle_data(
        now,
        &client_frame(
            0xC1,
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ],
        ),
    );
    let mut server2 = open_deflate_server("permessage-deflate");
    server2.handle_data(
        now,
        &[
            client_frame(0x41, &hello[..3]),
            client_frame(0x80, &hello[3..]),
        ]
        .concat(),
    );
    let evs: Vec<Event> = events(&mut server)
        .into_iter()
        .chain(events(&mut server2))
        .collect();
    assert_eq!(evs.len(), 4, "{evs:?}");
    for e in evs {
        assert!(
            matches!(&e, Event::Message(Message::Text(t)) if t == "Hello"),
            "{e:?}"
        );
    }
}

#[test]
fn rsv1_rules_and_bad_compressed_data() {
    let now = Instant::now();
    let cases: Vec<(&str, Vec<u8>, u16, ProtocolError)> = vec![
        (
            "RSV1 on a continuation",
            [
                client_frame(0x41, &[0xf2, 0x48]),
                client_frame(0xC0, &[0xcd]),
            ]
            .concat(),
            1002,
            ProtocolError::ReservedBits,
        ),
        (
            "compressed ping",
            client_frame(0xC9, b""),
            1002,
            ProtocolError::ReservedBits,
        ),
        (
            "RSV2 with deflate",
            client_frame(0xA1, b"x"),
            1002,
            ProtocolError::ReservedBits,
        ),
        (
            "corrupt deflate data",
            client_frame(0xC2, &[0xff, 0xff, 0xff]),
            1002,
            ProtocolError::CorruptCompressedData,
        ),
        (
            "compressed invalid UTF-8",
            client_frame(0xC1, &{
                // "\xff" as a stored block.
                vec![0x00, 0x01, 0x00, 0xfe, 0xff, 0xff, 0x00]
            }),
            1007,
            ProtocolError::InvalidUtf8,
        ),
    ];
    for (name, input, code, error) in cases {
        let mut server = open_deflate_server("permessage-deflate");
        server.handle_data(now, &input);
        let evs = events(&mut server);
        let c = closed(&evs).unwrap_or_else(|| panic!("{name}: {evs:?}"));
        assert_eq!(
            (c.code, c.error.clone()),
            (CloseCode(code), Some(Error::Protocol(error))),
            "{name}"
        );
    }
    // RSV1 without negotiation.
    let mut server = open_server(config(), now);
    server.handle_data(
        now,
        &client_frame(0xC1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
    );
    assert_eq!(
        closed(&events(&mut server)).unwrap().error,
        Some(Error::Protocol(ProtocolError::ReservedBits))
    );
}

#[test]
fn a_deflate_bomb_fails_with_1009_within_the_limit() {
    // 64 MiB of zeros compresses to ~64 KiB; the limit is 1 MiB.
    let mut compressed = Vec::new();
    let mut pair_config = DeflateConfig::default().level(9);
    pair_config = pair_config.min_size(0);
    let mut sender = Connection::from_upgraded(
        wsproto::Role::Client,
        wsproto::Negotiated {
            extensions: exts("permessage-deflate"),
            ..Default::default()
        },
        Config::default().deflate(Some(pair_config)),
        Instant::now(),
    );
    sender.send_binary(vec![0u8; 64 << 20]).unwrap();
    while let Some(wsproto::Transmit::Data(d)) = sender.poll_transmit() {
        compressed.extend_from_slice(&d);
    }
    assert!(compressed.len() < 256 << 10, "{}", compressed.len());
    let now = Instant::now();
    let mut server = open_deflate_server("permessage-deflate");
    server.handle_data(now, &compressed);
    let evs = events(&mut server);
    let c = closed(&evs).unwrap();
    assert_eq!(c.code, CloseCode::MESSAGE_TOO_BIG);
}

#[test]
fn the_application_can_override_the_choice() {
    let now = Instant::now();
    let request = common::REQUEST.replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
    );
    // Decline although configured.
    let mut server = Connection::server(config().deflate(Some(DeflateConfig::default())), now);
    server.handle_data(now, request.as_bytes());
    events(&mut server);
    server
        .accept(now, Accept::new().deflate(DeflateChoice::Decline))
        .unwrap();
    assert!(!String::from_utf8_lossy(&drain(&mut server).0).contains("Extensions"));
    // Choose explicitly although not configured; an impossible choice is refused.
    let mut server = Connection::server(config(), now);
    server.handle_data(now, request.as_bytes());
    let Some(Event::Request(r)) = server.poll_event() else {
        panic!()
    };
    assert_eq!(r.extensions()[0].name, "permessage-deflate");
    let bad = DeflateParams {
        server_max_window_bits: Some(20),
        ..Default::default()
    };
    assert_eq!(
        server.accept(now, Accept::new().deflate(DeflateChoice::Use(bad))),
        Err(wsproto::SendError::InvalidDeflateChoice)
    );
    let good = DeflateParams {
        client_max_window_bits: Some(10),
        ..Default::default()
    };
    server
        .accept(now, Accept::new().deflate(DeflateChoice::Use(good)))
        .unwrap();
    assert!(
        String::from_utf8_lossy(&drain(&mut server).0).contains(
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n"
        )
    );
}

#[test]
fn without_config_nothing_is_offered_or_accepted() {
    let mut pair = Pair::new();
    assert!(pair.client.negotiated().unwrap().extensions.is_empty());
    pair.client.send_text(&"a".repeat(1000)).unwrap();
    pair.drive();
    assert!(matches!(&pair.server_events[0], Event::Message(_)));
    // A server with deflate and a client without: plain.
    let mut pair = Pair::with(
        ClientRequest::new("h", "/"),
        config(),
        config().deflate(Some(DeflateConfig::default())),
        |_| Accept::new(),
    );
    assert!(pair.server.negotiated().unwrap().extensions.is_empty());
    exchange_everything(&mut pair);
}

/// Our compressor's output for small windows must inflate with a
/// decompressor limited to that window: zlib with wbits=-N checks every
/// match distance against the window.
#[test]
fn small_window_output_inflates_with_a_window_limited_zlib() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let payload: Vec<u8> = corpus().concat();
    let mut script = String::from("import sys, zlib, json\ncases = json.loads(sys.stdin.read())\n");
    // One decompressor per window, across messages: context is taken over.
    script.push_str("ds = {}\nfor bits, data, expect in cases:\n    d = ds.setdefault(bits, zlib.decompressobj(wbits=-bits))\n    out = d.decompress(bytes.fromhex(data) + b'\\x00\\x00\\xff\\xff')\n    assert out == bytes.fromhex(expect), bits\nprint('ok', len(cases))\n");
    let mut cases = Vec::new();
    for bits in 8..=15u8 {
        let params = format!("permessage-deflate; server_max_window_bits={bits}");
        let mut server = open_deflate_server(&params);
        for piece in payload.chunks(20_000) {
            server.send_binary(piece.to_vec()).unwrap();
            let (bytes, _) = drain(&mut server);
            // Reassemble the frames' payloads.
            let data: Vec<u8> = common::frames(&bytes)
                .into_iter()
                .flat_map(|(_, p)| p)
                .collect();
            let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
            cases.push(format!("[{bits}, \"{}\", \"{}\"]", hex(&data), hex(piece)));
        }
    }
    let mut child = Command::new("python3")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("[{}]", cases.join(",")).as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok"));
}
