//! The closing handshake in both directions, data in flight during it,
//! abnormal ends, and command validation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, Instant};

use common::{Pair, client_frame, closed, config, drain, events, open_server};
use wsproto::{
    CloseCode, CloseFrame, Error, Event, Initiator, Message, ProtocolError, SendError, State,
};

fn messages(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(Message::Text(t)) => Some(t.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn client_initiated_close_is_clean_on_both_sides() {
    let mut pair = Pair::new();
    pair.client
        .close(pair.now, CloseCode::GOING_AWAY, "bye")
        .unwrap();
    assert_eq!(pair.client.state(), State::Closing);
    assert_eq!(pair.client.send_text("more"), Err(SendError::NotOpen));
    pair.drive();
    let server = pair.take_server_events();
    assert_eq!(
        server[0],
        Event::CloseReceived(CloseFrame::new(CloseCode::GOING_AWAY, "bye"))
    );
    let s = closed(&server).unwrap();
    assert_eq!(
        (s.code, s.reason.as_str(), s.initiator, s.is_clean()),
        (CloseCode::GOING_AWAY, "bye", Initiator::Remote, true)
    );
    let client = pair.take_client_events();
    // The server echoed the code.
    assert_eq!(
        client[0],
        Event::CloseReceived(CloseFrame::new(CloseCode::GOING_AWAY, ""))
    );
    let c = closed(&client).unwrap();
    assert_eq!(
        (c.code, c.initiator, c.is_clean()),
        (CloseCode::GOING_AWAY, Initiator::Local, true)
    );
    assert!(pair.server_eof_sent, "the server closes TCP first");
    assert_eq!(
        (pair.client.state(), pair.server.state()),
        (State::Closed, State::Closed)
    );
}

#[test]
fn server_initiated_close_waits_for_the_client_echo() {
    let mut pair = Pair::new();
    pair.server
        .close(pair.now, CloseCode(4000), "app reason")
        .unwrap();
    pair.drive();
    let client = pair.take_client_events();
    assert_eq!(
        client[0],
        Event::CloseReceived(CloseFrame::new(CloseCode(4000), "app reason"))
    );
    let c = closed(&client).unwrap();
    assert_eq!(
        (c.code, c.initiator, c.is_clean()),
        (CloseCode(4000), Initiator::Remote, true)
    );
    let s = closed(&pair.server_events).unwrap();
    assert_eq!(
        (s.code, s.initiator, s.is_clean()),
        (CloseCode(4000), Initiator::Local, true)
    );
}

#[test]
fn messages_sent_before_the_peer_saw_our_close_are_delivered() {
    let now = Instant::now();
    let mut server = open_server(config(), now);
    server.close(now, CloseCode::NORMAL, "").unwrap();
    // The client had sent these before it read our close.
    server.handle_data(
        now,
        &[client_frame(0x81, b"one"), client_frame(0x81, b"two")].concat(),
    );
    assert_eq!(server.state(), State::Closing);
    server.handle_data(now, &client_frame(0x88, &1000u16.to_be_bytes()));
    // Anything after the peer's close is ignored.
    server.handle_data(now, &client_frame(0x81, b"three"));
    let evs = events(&mut server);
    assert_eq!(messages(&evs), ["one", "two"]);
    assert!(closed(&evs).unwrap().is_clean());
    assert_eq!(
        evs.iter().filter(|e| matches!(e, Event::Closed(_))).count(),
        1
    );
}

#[test]
fn an_empty_close_is_answered_with_an_empty_close() {
    let now = Instant::now();
    let mut server = open_server(config(), now);
    server.handle_data(now, &client_frame(0x88, b""));
    let (bytes, shutdown) = drain(&mut server);
    assert_eq!(bytes, [0x88, 0x00]);
    assert!(shutdown);
    let evs = events(&mut server);
    let c = closed(&evs).unwrap();
    assert_eq!(c.code, CloseCode::NO_STATUS);
    assert!(c.is_clean());
}

#[test]
fn eof_without_close_is_1006_and_nothing_is_sent() {
    let mut pair = Pair::new();
    pair.server.handle_eof(pair.now);
    let (bytes, shutdown) = drain(&mut pair.server);
    assert!(bytes.is_empty());
    assert!(shutdown);
    let evs = events(&mut pair.server);
    let c = closed(&evs).unwrap();
    assert_eq!(c.code, CloseCode::ABNORMAL);
    assert_eq!(c.initiator, Initiator::Remote);
    assert_eq!(c.error, Some(Error::Protocol(ProtocolError::UnexpectedEof)));
    // More input or EOF changes nothing.
    pair.server.handle_eof(pair.now);
    pair.server.handle_data(pair.now, b"junk");
    assert!(events(&mut pair.server).is_empty());
}

#[test]
fn close_arguments_are_validated_and_leave_the_state_alone() {
    let mut pair = Pair::new();
    let now = pair.now;
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        assert_eq!(
            pair.client.close(now, CloseCode(code), ""),
            Err(SendError::UnsendableCloseCode(code)),
            "{code}"
        );
    }
    let long = "x".repeat(124);
    assert_eq!(
        pair.client.close(now, CloseCode::NORMAL, &long),
        Err(SendError::CloseReasonTooLong(124))
    );
    assert_eq!(pair.client.state(), State::Open);
    assert!(drain(&mut pair.client).0.is_empty());
    pair.client
        .close(now, CloseCode::NORMAL, &"x".repeat(123))
        .unwrap();
    assert_eq!(
        pair.client.close(now, CloseCode::NORMAL, ""),
        Err(SendError::NotOpen)
    );
    assert_eq!(pair.client.send_ping(b""), Err(SendError::NotOpen));
}

#[test]
fn a_client_closes_tcp_itself_when_the_server_does_not() {
    let now = Instant::now();
    let mut client = wsproto::Connection::from_upgraded(
        wsproto::Role::Client,
        Default::default(),
        config(),
        now,
    );
    client.close(now, CloseCode::NORMAL, "").unwrap();
    drain(&mut client);
    // The server answers the close but keeps TCP open.
    client.handle_data(now, &common::frame(0x88, &1000u16.to_be_bytes(), None));
    assert!(!drain(&mut client).1);
    assert!(closed(&events(&mut client)).is_none());
    let deadline = client.poll_timeout().unwrap();
    assert_eq!(deadline, now + Duration::from_secs(10));
    client.handle_timeout(deadline);
    assert!(drain(&mut client).1);
    let evs = events(&mut client);
    // Both close frames crossed, so this still counts as clean.
    assert!(closed(&evs).unwrap().is_clean());
}

#[test]
fn closed_is_reported_exactly_once_in_every_ending() {
    type Ending = Box<dyn Fn(&mut Pair)>;
    let endings: Vec<Ending> = vec![
        Box::new(|p| p.client.close(p.now, CloseCode::NORMAL, "").unwrap()),
        Box::new(|p| p.server.close(p.now, CloseCode::NORMAL, "").unwrap()),
        Box::new(|p| {
            p.client.close(p.now, CloseCode::NORMAL, "").unwrap();
            p.server.close(p.now, CloseCode::GOING_AWAY, "").unwrap();
        }),
        Box::new(|p| p.server.handle_eof(p.now)),
        Box::new(|p| p.server.handle_data(p.now, b"\xff\xff\xff")),
        Box::new(|p| p.client.handle_data(p.now, b"\x81\x81abcdx")),
    ];
    for (i, end) in endings.iter().enumerate() {
        let mut pair = Pair::new();
        end(&mut pair);
        pair.drive();
        pair.advance(Duration::from_secs(60));
        for (side, evs) in [
            ("client", &pair.client_events),
            ("server", &pair.server_events),
        ] {
            let n = evs.iter().filter(|e| matches!(e, Event::Closed(_))).count();
            assert_eq!(n, 1, "ending {i}, {side}: {evs:?}");
            assert!(
                matches!(evs.last(), Some(Event::Closed(_))),
                "ending {i}, {side}"
            );
        }
        assert_eq!(
            (pair.client.state(), pair.server.state()),
            (State::Closed, State::Closed),
            "ending {i}"
        );
    }
}

#[test]
fn simultaneous_close_completes_cleanly() {
    let mut pair = Pair::new();
    pair.client.close(pair.now, CloseCode::NORMAL, "c").unwrap();
    pair.server
        .close(pair.now, CloseCode::GOING_AWAY, "s")
        .unwrap();
    pair.drive();
    let c = closed(&pair.client_events).unwrap();
    let s = closed(&pair.server_events).unwrap();
    assert!(c.is_clean() && s.is_clean());
    assert_eq!((c.code, s.code), (CloseCode::GOING_AWAY, CloseCode::NORMAL));
}
