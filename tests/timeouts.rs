//! Deadlines on the virtual clock: keepalive, close and handshake timeouts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, Instant};

use common::{Pair, client_frame, closed, config, drain, events, open_server};
use wsproto::frame::OpCode;
use wsproto::{
    Accept, ClientRequest, CloseCode, Connection, Error, Event, HandshakeError, Keepalive,
    ProtocolError, State,
};

const SECOND: Duration = Duration::from_secs(1);

fn opcodes(bytes: &[u8]) -> Vec<OpCode> {
    common::parse_frames(bytes)
        .into_iter()
        .map(|(op, _, _)| op)
        .collect()
}

fn keepalive_server(now: Instant) -> Connection {
    open_server(
        config().keepalive(Some(Keepalive::new(10 * SECOND).timeout(5 * SECOND))),
        now,
    )
}

#[test]
fn keepalive_pings_after_silence_and_fails_with_1011_without_an_answer() {
    let t0 = Instant::now();
    let mut server = keepalive_server(t0);
    assert_eq!(server.poll_timeout(), Some(t0 + 10 * SECOND));
    // Early and repeated calls change nothing.
    server.handle_timeout(t0 + 9 * SECOND);
    server.handle_timeout(t0 + 9 * SECOND);
    assert!(drain(&mut server).0.is_empty());

    server.handle_timeout(t0 + 10 * SECOND);
    assert_eq!(opcodes(&drain(&mut server).0), [OpCode::Ping]);
    assert_eq!(server.poll_timeout(), Some(t0 + 15 * SECOND));

    server.handle_timeout(t0 + 15 * SECOND);
    let (bytes, shutdown) = drain(&mut server);
    assert_eq!(opcodes(&bytes), [OpCode::Close]);
    assert_eq!(&bytes[2..4], &1011u16.to_be_bytes());
    assert!(shutdown);
    let evs = events(&mut server);
    let c = closed(&evs).unwrap();
    assert_eq!(c.code, CloseCode::INTERNAL_ERROR);
    assert_eq!(
        c.error,
        Some(Error::Protocol(ProtocolError::KeepaliveTimeout))
    );
    assert_eq!(server.poll_timeout(), None);
}

#[test]
fn a_pong_or_any_inbound_byte_keeps_the_connection_alive() {
    let t0 = Instant::now();
    let mut server = keepalive_server(t0);
    server.handle_timeout(t0 + 10 * SECOND);
    drain(&mut server);
    server.handle_data(t0 + 11 * SECOND, &client_frame(0x8A, b""));
    assert_eq!(server.poll_timeout(), Some(t0 + 21 * SECOND));

    // A large message trickling in, a byte every few seconds, never trips it.
    let big = client_frame(0x82, &[0u8; 40]);
    let mut now = t0 + 11 * SECOND;
    for b in &big {
        now += 4 * SECOND;
        server.handle_timeout(now);
        server.handle_data(now, std::slice::from_ref(b));
    }
    assert!(drain(&mut server).0.is_empty(), "no ping while data flows");
    assert_eq!(server.state(), State::Open);
    assert_eq!(events(&mut server).len(), 2); // the pong and the message
}

#[test]
fn keepalive_works_between_a_pair() {
    let cfg = config().keepalive(Some(Keepalive::new(30 * SECOND)));
    let mut pair = Pair::with(ClientRequest::new("h", "/"), cfg.clone(), cfg, |_| {
        Accept::new()
    });
    for _ in 0..10 {
        pair.advance(30 * SECOND);
    }
    assert_eq!(pair.client.state(), State::Open);
    assert!(
        pair.client_events
            .iter()
            .any(|e| matches!(e, Event::Ping(_)))
    );
    assert!(
        pair.server_events
            .iter()
            .any(|e| matches!(e, Event::Pong(_)) || matches!(e, Event::Ping(_)))
    );
}

#[test]
fn the_close_deadline_fires_on_a_silent_peer() {
    let t0 = Instant::now();
    let mut server = open_server(config().close_timeout(Some(3 * SECOND)), t0);
    server.close(t0, CloseCode::NORMAL, "").unwrap();
    drain(&mut server);
    assert_eq!(server.poll_timeout(), Some(t0 + 3 * SECOND));
    server.handle_timeout(t0 + 2 * SECOND);
    assert_eq!(server.state(), State::Closing);
    server.handle_timeout(t0 + 3 * SECOND);
    assert!(drain(&mut server).1);
    let evs = events(&mut server);
    let c = closed(&evs).unwrap();
    assert_eq!(c.code, CloseCode::ABNORMAL);
    assert_eq!(c.error, Some(Error::Protocol(ProtocolError::CloseTimeout)));
    assert_eq!(server.state(), State::Closed);
}

#[test]
fn the_handshake_deadline_fires_on_a_slow_request() {
    let t0 = Instant::now();
    let mut server = Connection::server(config(), t0);
    assert_eq!(server.poll_timeout(), Some(t0 + 10 * SECOND));
    // The head trickles in; the deadline covers all of it.
    let mut now = t0;
    for b in common::REQUEST.as_bytes().iter().take(50) {
        now += 100 * Duration::from_millis(1);
        server.handle_data(now, std::slice::from_ref(b));
        server.handle_timeout(now);
    }
    assert_eq!(server.poll_timeout(), Some(t0 + 10 * SECOND));
    server.handle_timeout(t0 + 10 * SECOND);
    let (bytes, shutdown) = drain(&mut server);
    assert!(bytes.starts_with(b"HTTP/1.1 408 "));
    assert!(shutdown);
    let evs = events(&mut server);
    assert_eq!(
        closed(&evs).unwrap().error,
        Some(Error::Handshake(HandshakeError::Timeout))
    );
}

#[test]
fn the_client_handshake_deadline_fires_on_a_silent_server() {
    let t0 = Instant::now();
    let mut client = Connection::client(
        ClientRequest::new("h", "/"),
        config().handshake_timeout(Some(2 * SECOND)),
        t0,
    )
    .unwrap();
    drain(&mut client);
    client.handle_timeout(t0 + 2 * SECOND);
    assert!(drain(&mut client).1);
    let evs = events(&mut client);
    assert_eq!(
        closed(&evs).unwrap().error,
        Some(Error::Handshake(HandshakeError::Timeout))
    );
}

#[test]
fn the_handshake_deadline_stops_once_the_request_is_complete() {
    let t0 = Instant::now();
    let mut server = Connection::server(config(), t0);
    server.handle_data(t0, common::REQUEST.as_bytes());
    assert_eq!(server.poll_timeout(), None);
    // The application may take its time deciding.
    server.handle_timeout(t0 + 60 * SECOND);
    assert_eq!(server.state(), State::Connecting);
    server.accept(t0 + 60 * SECOND, Accept::new()).unwrap();
    assert_eq!(server.state(), State::Open);
}

#[test]
fn timeouts_can_be_disabled() {
    let t0 = Instant::now();
    let mut server = open_server(config().close_timeout(None), t0);
    server.close(t0, CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.poll_timeout(), None);
    let server = Connection::server(config().handshake_timeout(None), t0);
    assert_eq!(server.poll_timeout(), None);
}
