//! Property: with permessage-deflate negotiated under any window size
//! (8–15 bits each way) and any takeover setting, every message sent by
//! either side, whole or in fragments, compressed or left plain by the
//! size threshold, arrives unchanged — however the bytes between the two
//! are cut.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Instant;

use common::{config, drain, events};
use proptest::prelude::*;
use wsproto::deflate::DeflateConfig;
use wsproto::{Accept, ClientRequest, Connection, Event, MessageKind};

/// What the server's settings force; the client offers the default.
#[derive(Clone, Copy, Debug)]
struct Settings {
    server_bits: u8,
    client_bits: u8,
    server_no_takeover: bool,
    client_no_takeover: bool,
    level: u8,
    min_size: usize,
    /// Fragment size for whole messages the engine splits itself.
    max_frame: Option<usize>,
}

fn settings() -> impl Strategy<Value = Settings> {
    // 15 bits twice as likely: only there does our compressor carry its
    // dictionary from one message to the next.
    let bits = || prop_oneof![8..=15u8, Just(15u8)];
    (
        bits(),
        bits(),
        any::<bool>(),
        any::<bool>(),
        1..=9u8,
        prop_oneof![Just(0usize), Just(100)],
        prop_oneof![Just(None), (1..3000usize).prop_map(Some)],
    )
        .prop_map(
            |(server_bits, client_bits, snt, cnt, level, min_size, max_frame)| Settings {
                server_bits,
                client_bits,
                server_no_takeover: snt,
                client_no_takeover: cnt,
                level,
                min_size,
                max_frame,
            },
        )
}

/// One message: who sends it, text or binary, its bytes, and whether the
/// application sends it in fragments of a given size.
#[derive(Clone, Debug)]
struct Send {
    from_client: bool,
    text: bool,
    body: Vec<u8>,
    fragment: Option<usize>,
}

/// Bodies that compress well and bodies that do not, longer than the
/// smallest windows so matches reach back past 2^bits. Bodies built on
/// `shared` repeat what earlier messages said, so a compressor that kept
/// its dictionary when it should not would be caught.
fn body(text: bool, shared: String) -> impl Strategy<Value = Vec<u8>> {
    let word = if text {
        "[a-z é漢✓{}\":,]{1,24}".boxed()
    } else {
        prop::collection::vec(any::<u8>(), 1..24)
            .prop_map(|b| b.into_iter().map(char::from).collect::<String>())
            .boxed()
    };
    let repeated = (word, 0..1500usize).prop_map(move |(w, n)| {
        if text {
            w.repeat(n).into_bytes()
        } else {
            w.chars().map(|c| c as u8).collect::<Vec<u8>>().repeat(n)
        }
    });
    let noise = prop::collection::vec(any::<u8>(), 0..5000);
    let echoes = (0..40usize, "[a-z]{0,8}").prop_map(move |(n, tail)| {
        let mut body = shared.repeat(n);
        body.push_str(&tail);
        body.into_bytes()
    });
    if text {
        prop_oneof![repeated, echoes].boxed()
    } else {
        prop_oneof![repeated, noise, echoes].boxed()
    }
}

fn send(shared: String) -> impl Strategy<Value = Send> {
    (any::<bool>(), any::<bool>()).prop_flat_map(move |(from_client, text)| {
        (
            body(text, shared.clone()),
            prop_oneof![Just(None), (1..4000usize).prop_map(Some)],
        )
            .prop_map(move |(body, fragment)| Send {
                from_client,
                text,
                body,
                fragment,
            })
    })
}

fn pair(s: Settings, now: Instant) -> (Connection, Connection) {
    let server_deflate = DeflateConfig::default()
        .server_max_window_bits(Some(s.server_bits))
        .client_max_window_bits(Some(s.client_bits))
        .server_no_context_takeover(s.server_no_takeover)
        .client_no_context_takeover(s.client_no_takeover)
        .level(s.level)
        .min_size(s.min_size);
    let client_deflate = DeflateConfig::default().level(s.level).min_size(s.min_size);
    let client_config = config()
        .deflate(Some(client_deflate))
        .max_outgoing_frame_size(s.max_frame);
    let server_config = config()
        .deflate(Some(server_deflate))
        .max_outgoing_frame_size(s.max_frame);
    let mut client = Connection::client(ClientRequest::new("h", "/"), client_config, now).unwrap();
    let mut server = Connection::server(server_config, now);
    server.handle_data(now, &drain(&mut client).0);
    assert!(matches!(events(&mut server)[..], [Event::Request(_)]));
    server.accept(now, Accept::new()).unwrap();
    assert!(matches!(events(&mut server)[..], [Event::Connected(_)]));
    client.handle_data(now, &drain(&mut server).0);
    let opened = events(&mut client);
    let [Event::Connected(negotiated)] = &opened[..] else {
        panic!("{opened:?}")
    };
    assert_eq!(negotiated.extensions.len(), 1, "{s:?}");
    (client, server)
}

/// Sends one message from `from` and hands the bytes to `to` in pieces of
/// `cut` bytes; returns what `to` reported.
fn deliver(
    from: &mut Connection,
    to: &mut Connection,
    m: &Send,
    cut: usize,
    now: Instant,
) -> Vec<Event> {
    let kind = if m.text {
        MessageKind::Text
    } else {
        MessageKind::Binary
    };
    match m.fragment {
        None if m.text => from
            .send_text(std::str::from_utf8(&m.body).unwrap())
            .unwrap(),
        None => from.send_binary(m.body.clone()).unwrap(),
        Some(size) => {
            let pieces: Vec<&[u8]> = m.body.chunks(size).collect();
            if pieces.is_empty() {
                from.send_fragment(kind, Vec::new(), true).unwrap();
            }
            for (i, piece) in pieces.iter().enumerate() {
                let last = i + 1 == pieces.len();
                from.send_fragment(kind, piece.to_vec(), last).unwrap();
            }
        }
    }
    let (wire, shutdown) = drain(from);
    assert!(!shutdown);
    let mut seen = Vec::new();
    for piece in wire.chunks(cut.max(1)) {
        to.handle_data(now, piece);
        seen.extend(events(to));
    }
    seen
}

/// Events in one short line: a failing case may carry 100 KiB messages.
fn summary(events: &[Event]) -> String {
    let short: Vec<String> = events
        .iter()
        .map(|e| match e {
            Event::Message(m) => format!("Message({} bytes)", m.as_bytes().len()),
            other => format!("{other:?}").chars().take(200).collect(),
        })
        .collect();
    short.join(", ")
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn messages_round_trip_under_every_deflate_setting(
        s in settings(),
        sends in "[a-z é漢✓{}\":,]{20,200}"
            .prop_flat_map(|shared| prop::collection::vec(send(shared), 1..6)),
        cut in prop_oneof![Just(usize::MAX), 1..2000usize],
    ) {
        let now = Instant::now();
        let (mut client, mut server) = pair(s, now);
        for (i, m) in sends.iter().enumerate() {
            let seen = if m.from_client {
                deliver(&mut client, &mut server, m, cut, now)
            } else {
                deliver(&mut server, &mut client, m, cut, now)
            };
            let [Event::Message(message)] = &seen[..] else {
                panic!("message {i} of {s:?}: {}", summary(&seen))
            };
            prop_assert_eq!(message.as_bytes(), &m.body[..], "message {} of {:?}", i, s);
            prop_assert_eq!(matches!(message, wsproto::Message::Text(_)), m.text);
        }
    }
}
