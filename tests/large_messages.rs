//! Large frames, which bypass the receive buffer and are read straight
//! into a block of their own that is reused once the application drops
//! the message: every way of reading them delivers the same messages, a
//! message still held is never written over, and errors inside them are
//! caught as early as in small frames. A client's large payloads are
//! masked into such a block on the way out, with the same guarantees.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Instant;

use common::{client_frame, closed, config, drain, events, open_server, parse_frames};
use wsproto::frame::OpCode;
use wsproto::{CloseCode, Connection, Event, Message};

const KIB: usize = 1024;

/// A payload whose bytes depend on `seed` and their position.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Mixed-script text of about `len` bytes, with code points of 1 to 4
/// bytes, so fragment and read boundaries fall inside them.
fn text(len: usize) -> String {
    "wsproto ünïcödé 日本語 🦀 "
        .chars()
        .cycle()
        .scan(0, |n, c| {
            *n += c.len_utf8();
            (*n <= len).then_some(c)
        })
        .collect()
}

/// What the client sends, and the messages the server must deliver.
fn traffic() -> (Vec<u8>, Vec<Message>) {
    let big_text = text(300 * KIB);
    let split = big_text.len() / 3 + 1; // not on a char boundary
    let fragmented = pattern(200 * KIB, 9);
    let wire = [
        client_frame(0x82, &pattern(64 * KIB, 1)),
        client_frame(0x82, &pattern(20, 2)),
        client_frame(0x82, &pattern(1 << 20, 3)),
        client_frame(0x89, b"ping"),
        client_frame(0x81, big_text.as_bytes()),
        // A small first fragment, a large one, a ping, a large last one.
        client_frame(0x02, &fragmented[..100]),
        client_frame(0x00, &fragmented[100..100 * KIB]),
        client_frame(0x89, b"mid"),
        client_frame(0x80, &fragmented[100 * KIB..]),
        // Text split inside a code point between a large and a small frame.
        client_frame(0x01, &big_text.as_bytes()[..split]),
        client_frame(0x80, &big_text.as_bytes()[split..]),
        client_frame(0x82, &pattern(17 * KIB, 4)),
        client_frame(0x82, &[]),
        client_frame(0x88, &1000u16.to_be_bytes()),
    ]
    .concat();
    let expected = vec![
        Message::Binary(pattern(64 * KIB, 1).into()),
        Message::Binary(pattern(20, 2).into()),
        Message::Binary(pattern(1 << 20, 3).into()),
        Message::Text(big_text.clone().into()),
        Message::Binary(fragmented.into()),
        Message::Text(big_text.into()),
        Message::Binary(pattern(17 * KIB, 4).into()),
        Message::Binary(Vec::new().into()),
    ];
    (wire, expected)
}

/// How to hand the bytes over.
#[derive(Clone, Copy, Debug)]
enum Feed {
    /// `handle_data` with pieces of these sizes, in turn.
    Data(&'static [usize]),
    /// `handle_read_with` offering these sizes, in turn; each read fills
    /// all it is lent.
    ReadWith(&'static [usize]),
    /// Alternating: `handle_data` and then `handle_read_with`.
    Mixed(&'static [usize]),
}

/// Feeds `wire` as `feed` says, taking events after every call, and
/// returns the messages, the pings seen and what the server wrote.
fn receive(wire: &[u8], feed: Feed, hold: bool) -> (Vec<Message>, Vec<Vec<u8>>, Vec<u8>) {
    let now = Instant::now();
    let mut server = open_server(config().max_message_size(4 << 20), now);
    let (mut messages, mut pings, mut out) = (Vec::new(), Vec::new(), Vec::new());
    let mut pos = 0;
    let mut step = 0;
    while pos < wire.len() {
        let (sizes, use_read) = match feed {
            Feed::Data(s) => (s, false),
            Feed::ReadWith(s) => (s, true),
            Feed::Mixed(s) => (s, step % 2 == 1),
        };
        let size = sizes[step % sizes.len()];
        step += 1;
        if use_read {
            let read = server.handle_read_with(now, size, |buf| {
                assert!(buf.len() <= size, "lent more than asked");
                let n = buf.len().min(wire.len() - pos);
                buf[..n].copy_from_slice(&wire[pos..pos + n]);
                Ok::<usize, ()>(n)
            });
            let n = read.unwrap();
            assert!(n > 0, "no room lent for a read of {size}");
            pos += n;
        } else {
            let end = (pos + size).min(wire.len());
            server.handle_data(now, &wire[pos..end]);
            pos = end;
        }
        for event in events(&mut server) {
            match event {
                Event::Message(m) => messages.push(m),
                Event::Ping(p) => pings.push(p.to_vec()),
                Event::Closed(c) => assert_eq!(c.code, CloseCode::NORMAL, "{c:?}"),
                _ => {}
            }
        }
        if !hold {
            // Dropping the messages lets the engine reuse their blocks;
            // compare them as they arrive.
            messages = messages
                .into_iter()
                .map(|m| Message::Binary(m.as_bytes().to_vec().into()))
                .collect();
        }
        out.extend(drain(&mut server).0);
    }
    (messages, pings, out)
}

fn bytes_of(messages: &[Message]) -> Vec<Vec<u8>> {
    messages.iter().map(|m| m.as_bytes().to_vec()).collect()
}

#[test]
fn every_way_of_reading_delivers_the_same_messages() {
    let (wire, expected) = traffic();
    let feeds = [
        Feed::Data(&[16 * KIB]),
        Feed::Data(&[1, 7, 4096, 65_536, 3, 200_000]),
        Feed::Data(&[usize::MAX]),
        Feed::ReadWith(&[16 * KIB]),
        Feed::ReadWith(&[4 * KIB, 64 * KIB, 256 * KIB]),
        Feed::ReadWith(&[1, 13, 9_999, 65_537]),
        Feed::ReadWith(&[4 << 20]),
        Feed::Mixed(&[16 * KIB, 5, 70_000, 1]),
        Feed::Mixed(&[3, 64 * KIB]),
    ];
    for feed in feeds {
        for hold in [true, false] {
            let (messages, pings, out) = receive(&wire, feed, hold);
            assert_eq!(messages.len(), expected.len(), "{feed:?}");
            assert_eq!(
                bytes_of(&messages),
                bytes_of(&expected),
                "{feed:?} hold {hold}"
            );
            if hold {
                for (got, want) in messages.iter().zip(&expected) {
                    assert_eq!(
                        matches!(got, Message::Text(_)),
                        matches!(want, Message::Text(_)),
                        "{feed:?}"
                    );
                }
            }
            assert_eq!(pings, [b"ping".to_vec(), b"mid".to_vec()], "{feed:?}");
            let sent: Vec<_> = parse_frames(&out)
                .into_iter()
                .map(|(op, _, p)| (op, p))
                .collect();
            assert_eq!(
                sent,
                [
                    (OpCode::Pong, b"ping".to_vec()),
                    (OpCode::Pong, b"mid".to_vec()),
                    (OpCode::Close, 1000u16.to_be_bytes().to_vec()),
                ],
                "{feed:?}"
            );
        }
    }
}

/// Reads `wire` in 16 KiB reads and returns the events, taken after each.
fn read_events(server: &mut Connection, wire: &[u8]) -> Vec<Event> {
    let now = Instant::now();
    let mut pos = 0;
    let mut evs = Vec::new();
    while pos < wire.len() {
        let n = server
            .handle_read_with(now, 16 * KIB, |buf| {
                let n = buf.len().min(wire.len() - pos);
                buf[..n].copy_from_slice(&wire[pos..pos + n]);
                Ok::<usize, ()>(n)
            })
            .unwrap();
        pos += n;
        evs.extend(events(server));
    }
    evs
}

/// The messages among `evs`.
fn messages(evs: Vec<Event>) -> Vec<Message> {
    evs.into_iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

/// Reads `wire` in 16 KiB reads and returns the messages delivered.
fn read_all(server: &mut Connection, wire: &[u8]) -> Vec<Message> {
    messages(read_events(server, wire))
}

#[test]
fn a_message_still_held_is_never_written_over() {
    let now = Instant::now();
    let mut server = open_server(config(), now);
    let first = read_all(&mut server, &client_frame(0x82, &pattern(64 * KIB, 1)));
    // The application holds the first message while more arrive.
    for seed in 2..6 {
        let next = read_all(&mut server, &client_frame(0x82, &pattern(64 * KIB, seed)));
        assert_eq!(next[0].as_bytes(), &pattern(64 * KIB, seed)[..]);
        assert_eq!(
            first[0].as_bytes(),
            &pattern(64 * KIB, 1)[..],
            "seed {seed}"
        );
    }
}

#[test]
fn a_dropped_message_leaves_its_block_for_the_next() {
    let now = Instant::now();
    let mut server = open_server(config(), now);
    let wire = client_frame(0x82, &pattern(256 * KIB, 1));
    let mut addresses = Vec::new();
    for _ in 0..4 {
        let again = read_all(&mut server, &wire);
        assert_eq!(again[0].as_bytes(), &pattern(256 * KIB, 1)[..]);
        addresses.push(again[0].as_bytes().as_ptr() as usize);
    }
    // The first message found no block to reuse; every later one lands in
    // the block the first left (after its header, which the first had in
    // the receive buffer).
    assert!(
        addresses[1..].iter().all(|&a| a == addresses[0] + 14),
        "{addresses:x?}"
    );
}

#[test]
fn invalid_utf8_in_a_large_frame_fails_before_the_frame_ends() {
    for at in [10, 20 * KIB, 100 * KIB] {
        let now = Instant::now();
        let mut server = open_server(config(), now);
        let mut payload = text(200 * KIB).into_bytes();
        payload[at] = 0xff;
        let wire = client_frame(0x81, &payload);
        // Everything up to a little past the bad byte, in 16 KiB reads.
        let mut pos = 0;
        let end = at + 14 + 32 * KIB;
        let mut evs = Vec::new();
        while pos < end && closed(&evs).is_none() {
            pos += server
                .handle_read_with(now, 16 * KIB, |buf| {
                    let n = buf.len().min(end - pos);
                    buf[..n].copy_from_slice(&wire[pos..pos + n]);
                    Ok::<usize, ()>(n)
                })
                .unwrap();
            evs.extend(events(&mut server));
        }
        let c = closed(&evs).expect("closed");
        assert_eq!(c.code, CloseCode::INVALID_PAYLOAD, "at {at}");
        assert!(pos < wire.len(), "at {at}: only failed at the end");
    }
}

#[test]
fn the_message_limit_counts_large_fragments() {
    let now = Instant::now();
    let mut server = open_server(config().max_message_size(100 * KIB), now);
    let wire = [
        client_frame(0x02, &pattern(64 * KIB, 1)),
        client_frame(0x80, &pattern(64 * KIB, 2)),
    ]
    .concat();
    let evs = read_events(&mut server, &wire[..64 * KIB + 14 + 20]);
    assert_eq!(
        closed(&evs).map(|c| c.code),
        Some(CloseCode::MESSAGE_TOO_BIG),
        "{evs:?}"
    );
}

#[test]
fn end_of_stream_inside_a_large_frame_is_abnormal() {
    let now = Instant::now();
    let mut server = open_server(config(), now);
    let wire = client_frame(0x82, &pattern(64 * KIB, 1));
    read_all(&mut server, &wire[..40 * KIB]);
    let read = server.handle_read_with(now, 16 * KIB, |_| Ok::<usize, ()>(0));
    assert_eq!(read, Ok(0));
    let evs = events(&mut server);
    assert!(!evs.iter().any(|e| matches!(e, Event::Message(_))));
    assert_eq!(
        closed(&evs).map(|c| c.code),
        Some(CloseCode::ABNORMAL),
        "{evs:?}"
    );
}

#[test]
fn a_wrong_guess_after_a_large_message_loses_nothing() {
    // After a large message the next read goes to the large-message block
    // before its header is seen; small frames, a close and a violation
    // behind it must be handled as if read into the receive buffer.
    let now = Instant::now();
    let mut server = open_server(config(), now);
    let wire = [
        client_frame(0x82, &pattern(64 * KIB, 1)),
        client_frame(0x81, b"small"),
        client_frame(0x82, &pattern(64 * KIB, 2)),
        client_frame(0x89, b"p"),
        client_frame(0x82, &pattern(64 * KIB, 3)),
        vec![0x82 | 0x40, 0x80, 0, 0, 0, 0], // RSV2 set: a violation
    ]
    .concat();
    let evs = read_events(&mut server, &wire);
    assert_eq!(
        closed(&evs).map(|c| c.code),
        Some(CloseCode::PROTOCOL_ERROR),
        "{evs:?}"
    );
    assert_eq!(
        bytes_of(&messages(evs)),
        [
            pattern(64 * KIB, 1),
            b"small".to_vec(),
            pattern(64 * KIB, 2),
            pattern(64 * KIB, 3),
        ]
    );
    let sent = parse_frames(&drain(&mut server).0);
    assert_eq!(sent[0], (OpCode::Pong, true, b"p".to_vec()));
}

/// A client connection, already open.
fn open_client() -> Connection {
    wsproto::Connection::from_upgraded(
        wsproto::Role::Client,
        wsproto::Negotiated::new(),
        config(),
        Instant::now(),
    )
}

/// The payloads of the frames a client wrote, unmasked and checked to be
/// binary messages.
fn sent_payloads(wire: &[u8]) -> Vec<Vec<u8>> {
    common::frames(wire)
        .into_iter()
        .map(|(header, payload)| {
            assert!(header.mask.is_some(), "a client masks every frame");
            assert_eq!((header.opcode, header.fin), (OpCode::Binary, true));
            payload
        })
        .collect()
}

#[test]
fn large_client_messages_go_out_whole_however_the_output_is_taken() {
    for len in [16 * KIB - 1, 16 * KIB, 16 * KIB + 1, 100 * KIB, 1 << 20] {
        let payloads = [pattern(len, 1), pattern(len, 2), pattern(300, 3)];
        // Everything queued, then taken with poll_transmit.
        let mut client = open_client();
        for p in &payloads {
            client.send_binary_slice(p).unwrap();
        }
        assert_eq!(sent_payloads(&drain(&mut client).0), payloads, "{len}");
        // Taken after every send through peek and consume, a few bytes at
        // a time, so every block is written and released in turn.
        let mut client = open_client();
        let mut wire = Vec::new();
        for p in &payloads {
            client.send_binary_slice(p).unwrap();
            loop {
                let pending = client.peek_transmit();
                if pending.is_empty() {
                    break;
                }
                let take = pending.len().min(7_000);
                wire.extend_from_slice(&pending[..take]);
                client.consume_transmit(take);
            }
        }
        assert_eq!(sent_payloads(&wire), payloads, "{len}");
    }
}

#[test]
fn a_large_send_reuses_its_block_only_once_written() {
    let mut client = open_client();
    let payload = pattern(64 * KIB, 5);
    let payload_chunk = |client: &mut Connection| {
        let mut chunks = Vec::new();
        while let Some(wsproto::Transmit::Data(d)) = client.poll_transmit() {
            chunks.push(d);
        }
        chunks.into_iter().max_by_key(|d| d.len()).unwrap()
    };
    client.send_binary_slice(&payload).unwrap();
    let held = payload_chunk(&mut client);
    let held_copy = held.to_vec();
    // The first payload is still held by the writer: the next send must
    // not mask into it.
    client.send_binary_slice(&pattern(64 * KIB, 6)).unwrap();
    let second = payload_chunk(&mut client);
    assert_ne!(second.as_ptr(), held.as_ptr());
    assert_eq!(&held[..], &held_copy[..], "a held chunk was written over");
    let second_address = second.as_ptr();
    drop(second);
    drop(held);
    // Both written: the next send reuses the last block.
    client.send_binary_slice(&payload).unwrap();
    let third = payload_chunk(&mut client);
    assert_eq!(third.as_ptr(), second_address, "the block was reused");
    assert_eq!(third.len(), payload.len());
}
