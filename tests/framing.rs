//! Receiving frames: every malformed input with the close code it must
//! produce, fragmentation, control frames between fragments, limits,
//! auto-pong, zero-copy delivery.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Instant;

use bytes::Bytes;
use common::{
    client_frame, closed, config, drain, events, frame, open_server, parse_frames, sent_close_code,
};
use wsproto::frame::{OpCode, decode_header};
use wsproto::{
    CloseCode, Config, Connection, Error, Event, Message, Negotiated, ProtocolError, Role,
};

fn open_client(config: Config) -> Connection {
    Connection::from_upgraded(Role::Client, Negotiated::new(), config, Instant::now())
}

/// Each malformed input a server can receive after the handshake, the
/// close code it must answer with, and the error it reports.
#[test]
fn malformed_frames_get_their_close_code() {
    let long_len_top_bit = {
        let mut f = vec![0x82, 0xFF];
        f.extend_from_slice(&(1u64 << 63).to_be_bytes());
        f.extend_from_slice(&[1, 2, 3, 4]);
        f
    };
    let cases: Vec<(&str, Vec<u8>, u16, ProtocolError)> = vec![
        (
            "RSV1 without extension",
            client_frame(0xC1, b"x"),
            1002,
            ProtocolError::ReservedBits,
        ),
        (
            "RSV2",
            client_frame(0xA1, b"x"),
            1002,
            ProtocolError::ReservedBits,
        ),
        (
            "RSV3 on ping",
            client_frame(0x99, b""),
            1002,
            ProtocolError::ReservedBits,
        ),
        (
            "reserved data opcode 3",
            client_frame(0x83, b""),
            1002,
            ProtocolError::ReservedOpcode(3),
        ),
        (
            "reserved control opcode 0xB",
            client_frame(0x8B, b""),
            1002,
            ProtocolError::ReservedOpcode(0xB),
        ),
        (
            "fragmented ping",
            client_frame(0x09, b"p"),
            1002,
            ProtocolError::FragmentedControlFrame,
        ),
        (
            "ping over 125 bytes",
            client_frame(0x89, &[0; 126]),
            1002,
            ProtocolError::ControlFrameTooLong(126),
        ),
        (
            "close over 125 bytes",
            client_frame(0x88, &[0x03, 0xe8].repeat(63)),
            1002,
            ProtocolError::ControlFrameTooLong(126),
        ),
        (
            "unmasked client frame",
            frame(0x81, b"hi", None),
            1002,
            ProtocolError::UnmaskedFrame,
        ),
        (
            "continuation without a message",
            client_frame(0x80, b"x"),
            1002,
            ProtocolError::UnexpectedContinuation,
        ),
        (
            "new message inside a fragmented one",
            [client_frame(0x01, b"a"), client_frame(0x81, b"b")].concat(),
            1002,
            ProtocolError::ExpectedContinuation,
        ),
        (
            "64-bit length with the top bit",
            long_len_top_bit,
            1002,
            ProtocolError::InvalidLength,
        ),
        (
            "invalid UTF-8 text",
            client_frame(0x81, b"\xce\xba\xff"),
            1007,
            ProtocolError::InvalidUtf8,
        ),
        (
            "invalid UTF-8 across fragments",
            [client_frame(0x01, b"\xce"), client_frame(0x80, b"x")].concat(),
            1007,
            ProtocolError::InvalidUtf8,
        ),
        (
            "text ending mid code point",
            client_frame(0x81, b"\xe2\x82"),
            1007,
            ProtocolError::InvalidUtf8,
        ),
        (
            "one-byte close payload",
            client_frame(0x88, &[0x03]),
            1002,
            ProtocolError::CloseFrameTooShort,
        ),
        (
            "close code 999",
            client_frame(0x88, &999u16.to_be_bytes()),
            1002,
            ProtocolError::InvalidCloseCode(999),
        ),
        (
            "close code 1005",
            client_frame(0x88, &1005u16.to_be_bytes()),
            1002,
            ProtocolError::InvalidCloseCode(1005),
        ),
        (
            "close code 1006",
            client_frame(0x88, &1006u16.to_be_bytes()),
            1002,
            ProtocolError::InvalidCloseCode(1006),
        ),
        (
            "close code 1015",
            client_frame(0x88, &1015u16.to_be_bytes()),
            1002,
            ProtocolError::InvalidCloseCode(1015),
        ),
        (
            "close code 5000",
            client_frame(0x88, &5000u16.to_be_bytes()),
            1002,
            ProtocolError::InvalidCloseCode(5000),
        ),
        (
            "close reason not UTF-8",
            client_frame(0x88, b"\x03\xe8\xff"),
            1007,
            ProtocolError::InvalidCloseReason,
        ),
    ];
    for (name, input, code, error) in cases {
        let now = Instant::now();
        let mut server = open_server(config(), now);
        server.handle_data(now, &input);
        let (bytes, shutdown) = drain(&mut server);
        assert_eq!(sent_close_code(&bytes), Some(code), "{name}");
        assert!(shutdown, "{name}: the server closes TCP after failing");
        let evs = events(&mut server);
        let closed = closed(&evs).unwrap_or_else(|| panic!("{name}: {evs:?}"));
        assert_eq!(closed.code, CloseCode(code), "{name}");
        assert_eq!(closed.error, Some(Error::Protocol(error)), "{name}");
        assert_eq!(closed.initiator, wsproto::Initiator::Local);
        // Input after the failure is discarded.
        server.handle_data(now, &client_frame(0x81, b"late"));
        assert!(events(&mut server).is_empty(), "{name}");
    }
}

#[test]
fn a_client_fails_on_a_masked_server_frame() {
    let mut client = open_client(config());
    let now = Instant::now();
    client.handle_data(now, &frame(0x81, b"hi", Some([1, 2, 3, 4])));
    let (bytes, shutdown) = drain(&mut client);
    assert_eq!(sent_close_code(&bytes), Some(1002));
    // The client waits for the server to close TCP.
    assert!(!shutdown);
    client.handle_eof(now);
    let evs = events(&mut client);
    assert_eq!(
        closed(&evs).unwrap().error,
        Some(Error::Protocol(ProtocolError::MaskedFrame))
    );
    assert!(drain(&mut client).1);
}

#[test]
fn utf8_errors_fail_fast_before_the_frame_is_complete() {
    let now = Instant::now();
    let mut server = open_server(config(), now);
    let mut payload = b"valid prefix ".to_vec();
    payload.extend_from_slice(b"\xed\xa0\x80"); // a surrogate: never valid
    payload.extend(vec![b'a'; 10_000]);
    let bytes = client_frame(0x81, &payload);
    // Only the first part of the frame arrives.
    server.handle_data(now, &bytes[..40]);
    let evs = events(&mut server);
    assert_eq!(
        closed(&evs).unwrap().code,
        CloseCode::INVALID_PAYLOAD,
        "{evs:?}"
    );
}

#[test]
fn limits_are_checked_from_the_declared_length() {
    let now = Instant::now();
    let mut server = open_server(config().max_frame_size(1000).max_message_size(1500), now);
    // Only the header of a huge frame: rejected at once, nothing buffered.
    let mut header = vec![0x82, 0xFF];
    header.extend_from_slice(&(1u64 << 40).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    server.handle_data(now, &header);
    let evs = events(&mut server);
    let c = closed(&evs).unwrap();
    assert_eq!(c.code, CloseCode::MESSAGE_TOO_BIG);
    assert_eq!(
        c.error,
        Some(Error::Protocol(ProtocolError::FrameTooLarge {
            size: 1 << 40,
            limit: 1000
        }))
    );

    // Fragments that add up past the message limit.
    let mut server = open_server(config().max_frame_size(1000).max_message_size(1500), now);
    server.handle_data(now, &client_frame(0x02, &[0; 1000]));
    server.handle_data(now, &client_frame(0x80, &[0; 600])[..8]);
    let evs = events(&mut server);
    let c = closed(&evs).unwrap();
    assert_eq!(
        c.error,
        Some(Error::Protocol(ProtocolError::MessageTooLarge {
            size: 1600,
            limit: 1500
        }))
    );
    assert_eq!(sent_close_code(&drain(&mut server).0), Some(1009));
}

#[test]
fn fragments_with_control_frames_between_them() {
    let now = Instant::now();
    let mut server = open_server(config(), now);
    let input = [
        client_frame(0x01, "frag".as_bytes()),
        client_frame(0x89, b"ping!"),
        client_frame(0x00, "men".as_bytes()),
        client_frame(0x8A, b"pong"),
        client_frame(0x00, &"té".as_bytes()[..2]),
        client_frame(0x80, &"té".as_bytes()[2..]),
    ]
    .concat();
    server.handle_data(now, &input);
    let evs = events(&mut server);
    assert_eq!(evs.len(), 3, "{evs:?}");
    assert_eq!(evs[0], Event::Ping(Bytes::from_static(b"ping!")));
    assert_eq!(evs[1], Event::Pong(Bytes::from_static(b"pong")));
    assert!(matches!(&evs[2], Event::Message(Message::Text(t)) if t == "fragmenté"));
    // The auto-pong went out.
    let frames = parse_frames(&drain(&mut server).0);
    assert_eq!(frames, [(OpCode::Pong, true, b"ping!".to_vec())]);
}

#[test]
fn empty_and_zero_length_frames() {
    let now = Instant::now();
    let mut server = open_server(config(), now);
    let input = [
        client_frame(0x81, b""),
        client_frame(0x02, b""),
        client_frame(0x00, b""),
        client_frame(0x80, b""),
    ]
    .concat();
    server.handle_data(now, &input);
    let evs = events(&mut server);
    assert_eq!(
        evs,
        [
            Event::Message(Message::Text("".into())),
            Event::Message(Message::Binary(Bytes::new()))
        ]
    );
}

#[test]
fn every_ping_is_answered_until_pongs_pile_up() {
    let now = Instant::now();
    // A few pings: one pong each, in order.
    let mut server = open_server(config(), now);
    let pings: Vec<u8> = (0..10u8).flat_map(|i| client_frame(0x89, &[i])).collect();
    server.handle_data(now, &pings);
    let pongs: Vec<_> = parse_frames(&drain(&mut server).0)
        .into_iter()
        .map(|(_, _, p)| p[0])
        .collect();
    assert_eq!(pongs, (0..10).collect::<Vec<u8>>());

    // A flood while nobody takes the output: the queue stays bounded and
    // the latest ping is still answered.
    let mut server = open_server(config(), now);
    for i in 0..1000u32 {
        let mut payload = vec![0u8; 125];
        payload[..4].copy_from_slice(&i.to_be_bytes());
        server.handle_data(now, &client_frame(0x89, &payload));
    }
    assert!(
        server.buffered_amount() < 17 << 10,
        "{}",
        server.buffered_amount()
    );
    // The events an unread queue keeps are bounded too.
    assert_eq!(events(&mut server).len(), 64);
    assert_eq!(server.stats().control_events_dropped, 936);
    let frames = parse_frames(&drain(&mut server).0);
    assert!(frames.len() < 200, "{}", frames.len());
    assert_eq!(frames.last().unwrap().2[..4], 999u32.to_be_bytes());
}

#[test]
fn a_message_can_be_answered_before_a_later_violation_is_acted_on() {
    let now = Instant::now();
    let mut server = open_server(config(), now);
    // One read: a message, then a frame with a reserved opcode.
    server.handle_data(
        now,
        &[client_frame(0x81, b"Hello"), client_frame(0x85, b"")].concat(),
    );
    let Some(Event::Message(message)) = server.poll_event() else {
        panic!()
    };
    server.send(message).unwrap();
    let evs = events(&mut server);
    assert_eq!(closed(&evs).unwrap().code, CloseCode::PROTOCOL_ERROR);
    let frames = parse_frames(&drain(&mut server).0);
    assert_eq!(frames[0], (OpCode::Text, true, b"Hello".to_vec()));
    assert_eq!(frames[1].0, OpCode::Close);
}

#[test]
fn a_message_read_together_with_the_close_is_answered_before_the_echo() {
    let now = Instant::now();
    let mut server = open_server(config(), now);
    server.handle_data(
        now,
        &[
            client_frame(0x81, b"a"),
            client_frame(0x81, b"b"),
            client_frame(0x88, &[0x03, 0xe8]),
        ]
        .concat(),
    );
    // The transport also ended right away.
    server.handle_eof(now);
    let mut echoed = Vec::new();
    let mut last = None;
    while let Some(event) = server.poll_event() {
        if let Event::Message(m) = &event {
            server.send(m.clone()).unwrap();
            echoed.push(m.as_bytes().to_vec());
        }
        last = Some(event);
    }
    assert_eq!(echoed, [b"a".to_vec(), b"b".to_vec()]);
    let Some(Event::Closed(c)) = last else {
        panic!("{last:?}")
    };
    assert!(c.is_clean(), "{c:?}");
    let frames = parse_frames(&drain(&mut server).0);
    let ops: Vec<_> = frames.iter().map(|f| f.0).collect();
    assert_eq!(ops, [OpCode::Text, OpCode::Text, OpCode::Close]);
}

#[test]
fn auto_pong_can_be_turned_off() {
    let now = Instant::now();
    let mut server = open_server(config().auto_pong(false), now);
    server.handle_data(now, &client_frame(0x89, b"x"));
    assert_eq!(events(&mut server), [Event::Ping(Bytes::from_static(b"x"))]);
    assert!(drain(&mut server).0.is_empty());
    server.send_pong(b"x").unwrap();
    assert_eq!(
        parse_frames(&drain(&mut server).0),
        [(OpCode::Pong, true, b"x".to_vec())]
    );
}

#[test]
fn unfragmented_payloads_are_slices_of_the_receive_buffer() {
    let now = Instant::now();
    let mut server = open_server(config(), now);
    let input = [client_frame(0x82, &[7; 300]), client_frame(0x82, &[8; 300])].concat();
    server
        .handle_read_with(now, input.len(), |buf: &mut [u8]| {
            buf.copy_from_slice(&input);
            Ok::<_, ()>(input.len())
        })
        .unwrap();
    let evs = events(&mut server);
    let (Event::Message(Message::Binary(a)), Event::Message(Message::Binary(b))) =
        (&evs[0], &evs[1])
    else {
        panic!("{evs:?}")
    };
    assert_eq!((a[..] == [7; 300], b[..] == [8; 300]), (true, true));
    // Both live in one allocation: b starts right after a and b's header.
    let gap = b.as_ptr() as usize - a.as_ptr() as usize;
    assert_eq!(gap, 300 + 8);
}

#[test]
fn outgoing_frames_are_split_at_the_configured_size() {
    let now = Instant::now();
    let mut server = open_server(config().max_outgoing_frame_size(Some(100)), now);
    server.send_binary(vec![1u8; 250]).unwrap();
    let frames = parse_frames(&drain(&mut server).0);
    let shape: Vec<_> = frames
        .iter()
        .map(|(op, fin, p)| (*op, *fin, p.len()))
        .collect();
    assert_eq!(
        shape,
        [
            (OpCode::Binary, false, 100),
            (OpCode::Continuation, false, 100),
            (OpCode::Continuation, true, 50)
        ]
    );
}

#[test]
fn client_frames_are_masked_with_a_fresh_key_each() {
    let mut client = open_client(Config::default());
    client.send_text("same").unwrap();
    client.send_text("same").unwrap();
    let (bytes, _) = drain(&mut client);
    let (h1, l1) = decode_header(&bytes).unwrap().unwrap();
    let (h2, _) = decode_header(&bytes[l1 + 4..]).unwrap().unwrap();
    assert!(h1.mask.is_some() && h2.mask.is_some());
    assert_ne!(h1.mask, h2.mask);
    assert_eq!(
        parse_frames(&bytes),
        [
            (OpCode::Text, true, b"same".to_vec()),
            (OpCode::Text, true, b"same".to_vec())
        ]
    );
}

#[test]
fn send_fragment_checks_kind_and_utf8() {
    use wsproto::{MessageKind, SendError};
    let now = Instant::now();
    let mut server = open_server(config(), now);
    let euro = "€".as_bytes();
    server
        .send_fragment(MessageKind::Text, Bytes::copy_from_slice(&euro[..1]), false)
        .unwrap();
    assert_eq!(
        server.send_text("x"),
        Err(SendError::FragmentedMessageInProgress)
    );
    assert_eq!(
        server.send_fragment(MessageKind::Binary, Bytes::new(), true),
        Err(SendError::FragmentedMessageInProgress)
    );
    assert_eq!(
        server.send_fragment(MessageKind::Text, Bytes::from_static(b"\xff"), true),
        Err(SendError::InvalidUtf8)
    );
    server
        .send_fragment(MessageKind::Text, Bytes::copy_from_slice(&euro[1..]), true)
        .unwrap();
    let frames = parse_frames(&drain(&mut server).0);
    assert_eq!(
        frames,
        [
            (OpCode::Text, false, euro[..1].to_vec()),
            (OpCode::Continuation, true, euro[1..].to_vec())
        ]
    );
    assert_eq!(
        server.send_ping(&[0; 126]),
        Err(SendError::ControlPayloadTooLong(126))
    );
}

#[test]
fn a_borrowed_slice_is_sent_as_the_same_message_as_owned_bytes() {
    let mut pair = common::Pair::new();
    let mut buffer = vec![5u8; 3000];
    pair.client.send_binary_slice(&buffer[..20]).unwrap();
    // The caller may reuse its buffer at once.
    buffer.fill(6);
    pair.client.send_binary_slice(&buffer).unwrap();
    pair.client.send_binary(Bytes::from(vec![7u8; 20])).unwrap();
    pair.drive();
    let got: Vec<_> = pair
        .take_server_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Message(Message::Binary(b)) => Some(b.to_vec()),
            _ => None,
        })
        .collect();
    assert_eq!(got, [vec![5u8; 20], vec![6u8; 3000], vec![7u8; 20]]);
}
