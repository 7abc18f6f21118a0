//! A client and a server driven against each other with arbitrary
//! operations and arbitrary delivery of the bytes between them. Oracle:
//! nothing panics; each side delivers a prefix of what the other sent, in
//! order, and all of it when both close cleanly; each side ends with
//! exactly one `Closed`, last.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsproto::deflate::DeflateConfig;
use wsproto::{
    Accept, ClientRequest, CloseCode, Config, Connection, EntropySource, Event, Keepalive, Message,
    MessageKind, Transmit,
};

#[derive(Arbitrary, Debug)]
enum Op {
    Send {
        from_client: bool,
        text: bool,
        data: Vec<u8>,
    },
    Fragment {
        from_client: bool,
        text: bool,
        data: Vec<u8>,
        last: bool,
    },
    Ping {
        from_client: bool,
        data: Vec<u8>,
    },
    Close {
        from_client: bool,
        code: u16,
        reason: String,
    },
    Deliver {
        to_server: bool,
        max: u16,
    },
    Tick {
        seconds: u8,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    client_deflate: bool,
    server_deflate: bool,
    keepalive: bool,
    max_outgoing_frame: Option<u8>,
    ops: Vec<Op>,
}

struct Side {
    conn: Connection,
    /// Bytes written and not yet delivered to the peer.
    in_flight: Vec<u8>,
    shutdown: bool,
    eof_delivered: bool,
    /// Messages this side sent successfully.
    sent: Vec<(bool, Vec<u8>)>,
    /// The fragmented message being sent.
    fragments: Option<(bool, Vec<u8>)>,
    /// Messages this side received.
    received: Vec<(bool, Vec<u8>)>,
    closed: Option<wsproto::Closed>,
}

impl Side {
    fn new(conn: Connection) -> Side {
        Side {
            conn,
            in_flight: Vec::new(),
            shutdown: false,
            eof_delivered: false,
            sent: Vec::new(),
            fragments: None,
            received: Vec::new(),
            closed: None,
        }
    }

    fn pump(&mut self) {
        while let Some(t) = self.conn.poll_transmit() {
            match t {
                Transmit::Data(d) => {
                    assert!(!self.shutdown, "data after shutdown");
                    self.in_flight.extend_from_slice(&d);
                }
                Transmit::Shutdown => self.shutdown = true,
            }
        }
        while let Some(event) = self.conn.poll_event() {
            assert!(self.closed.is_none(), "event after Closed: {event:?}");
            match event {
                Event::Message(Message::Text(t)) => {
                    self.received.push((true, t.as_bytes().to_vec()))
                }
                Event::Message(Message::Binary(b)) => self.received.push((false, b.to_vec())),
                Event::Closed(c) => self.closed = Some(c),
                _ => {}
            }
        }
    }
}

fn config(deflate: bool, keepalive: bool, max_frame: Option<u8>) -> Config {
    Config::default()
        .entropy(EntropySource::deterministic(3))
        .handshake_timeout(None)
        .close_timeout(None)
        .keepalive(keepalive.then(|| Keepalive::new(Duration::from_secs(30))))
        .max_outgoing_frame_size(max_frame.map(|m| usize::from(m).max(1)))
        .deflate(deflate.then(|| DeflateConfig::default().min_size(0)))
}

/// Moves up to `max` bytes from `from` to `to`, and the shutdown as EOF
/// once everything is across.
fn deliver(from: &mut Side, to: &mut Side, max: usize, now: Instant) {
    let n = max.min(from.in_flight.len());
    if n > 0 {
        let bytes: Vec<u8> = from.in_flight.drain(..n).collect();
        to.conn.handle_data(now, &bytes);
    }
    if from.in_flight.is_empty() && from.shutdown && !from.eof_delivered {
        from.eof_delivered = true;
        to.conn.handle_eof(now);
    }
    to.pump();
    from.pump();
}

fn settle(client: &mut Side, server: &mut Side, now: Instant) {
    for _ in 0..64 {
        client.pump();
        server.pump();
        deliver(client, server, usize::MAX, now);
        deliver(server, client, usize::MAX, now);
        let idle = client.in_flight.is_empty() && server.in_flight.is_empty();
        if idle
            && client.shutdown == client.eof_delivered
            && server.shutdown == server.eof_delivered
        {
            return;
        }
    }
}

fn apply(side: &mut Side, op: &Op, now: Instant) {
    match op {
        Op::Send { text, data, .. } => {
            let result = if *text {
                match std::str::from_utf8(data) {
                    Ok(s) => side.conn.send_text(s),
                    Err(_) => return,
                }
            } else {
                side.conn.send_binary(data.clone())
            };
            if result.is_ok() {
                side.sent.push((*text, data.clone()));
            }
        }
        Op::Fragment {
            text, data, last, ..
        } => {
            let kind = if *text {
                MessageKind::Text
            } else {
                MessageKind::Binary
            };
            if side.conn.send_fragment(kind, data.clone(), *last).is_ok() {
                let entry = side.fragments.get_or_insert_with(|| (*text, Vec::new()));
                entry.1.extend_from_slice(data);
                if *last {
                    if let Some(done) = side.fragments.take() {
                        side.sent.push(done);
                    }
                }
            }
        }
        Op::Ping { data, .. } => {
            let _ = side.conn.send_ping(data);
        }
        Op::Close { code, reason, .. } => {
            let _ = side.conn.close(now, CloseCode(*code), reason);
        }
        Op::Deliver { .. } | Op::Tick { .. } => {}
    }
    side.pump();
}

fuzz_target!(|input: Input| {
    let mut now = Instant::now();
    let client_config = config(
        input.client_deflate,
        input.keepalive,
        input.max_outgoing_frame,
    );
    let server_config = config(
        input.server_deflate,
        input.keepalive,
        input.max_outgoing_frame,
    );
    let Ok(client) = Connection::client(ClientRequest::new("h", "/"), client_config, now) else {
        return;
    };
    let mut client = Side::new(client);
    let mut server = Side::new(Connection::server(server_config, now));
    client.pump();
    deliver(&mut client, &mut server, usize::MAX, now);
    assert!(server.conn.accept(now, Accept::new()).is_ok());
    server.pump();
    deliver(&mut server, &mut client, usize::MAX, now);
    assert_eq!(client.conn.state(), wsproto::State::Open);

    for op in input.ops.iter().take(200) {
        match op {
            Op::Deliver {
                to_server: true,
                max,
            } => deliver(&mut client, &mut server, usize::from(*max), now),
            Op::Deliver {
                to_server: false,
                max,
            } => deliver(&mut server, &mut client, usize::from(*max), now),
            Op::Tick { seconds } => {
                now += Duration::from_secs(u64::from(*seconds));
                client.conn.handle_timeout(now);
                server.conn.handle_timeout(now);
                client.pump();
                server.pump();
            }
            Op::Send { from_client, .. }
            | Op::Fragment { from_client, .. }
            | Op::Ping { from_client, .. }
            | Op::Close { from_client, .. } => {
                let side = if *from_client {
                    &mut client
                } else {
                    &mut server
                };
                apply(side, op, now);
            }
        }
    }
    // Everything still in flight arrives; then both close.
    settle(&mut client, &mut server, now);
    let _ = client.conn.close(now, CloseCode::NORMAL, "");
    let _ = server.conn.close(now, CloseCode::NORMAL, "");
    settle(&mut client, &mut server, now);
    now += Duration::from_secs(3600);
    client.conn.handle_timeout(now);
    server.conn.handle_timeout(now);
    settle(&mut client, &mut server, now);

    let (Some(c), Some(s)) = (&client.closed, &server.closed) else {
        panic!(
            "both sides must end: client {:?}, server {:?}",
            client.closed, server.closed
        );
    };
    for (receiver, sender) in [(&server, &client), (&client, &server)] {
        assert!(receiver.received.len() <= sender.sent.len());
        assert_eq!(
            receiver.received[..],
            sender.sent[..receiver.received.len()],
            "delivered out of order"
        );
    }
    if c.is_clean() && s.is_clean() {
        assert_eq!(server.received, client.sent, "a clean close loses nothing");
        assert_eq!(client.received, server.sent, "a clean close loses nothing");
    }
});
