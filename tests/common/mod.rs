//! A client and a server driven against each other in memory, on a
//! virtual clock, plus helpers to build raw frames.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::{Duration, Instant};

use wsproto::{Accept, ClientRequest, Config, Connection, EntropySource, Event, Transmit};

/// A deterministic config for tests.
pub fn config() -> Config {
    Config::default().entropy(EntropySource::deterministic(42))
}

/// A valid upgrade request head.
pub const REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Takes everything `conn` wants to write; the flag tells whether it asked
/// for a shutdown.
pub fn drain(conn: &mut Connection) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    let mut shutdown = false;
    while let Some(t) = conn.poll_transmit() {
        match t {
            Transmit::Data(d) => bytes.extend_from_slice(&d),
            Transmit::Shutdown => shutdown = true,
        }
    }
    (bytes, shutdown)
}

/// Every pending event.
pub fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// The `Closed` event among `events`, if any.
pub fn closed(events: &[Event]) -> Option<&wsproto::Closed> {
    events.iter().find_map(|e| match e {
        Event::Closed(c) => Some(c),
        _ => None,
    })
}

/// A server that has accepted [`REQUEST`]; its 101 answer is drained.
pub fn open_server(config: Config, now: Instant) -> Connection {
    let mut server = Connection::server(config, now);
    server.handle_data(now, REQUEST.as_bytes());
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(now, Accept::new()).unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Connected(_))));
    drain(&mut server);
    server
}

/// Splits `bytes` into frames: each header with its unmasked payload.
pub fn frames(mut bytes: &[u8]) -> Vec<(wsproto::frame::FrameHeader, Vec<u8>)> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (header, len) = wsproto::frame::decode_header(bytes)
            .unwrap()
            .expect("complete frame");
        let end = len + header.payload_len as usize;
        let mut payload = bytes[len..end].to_vec();
        if let Some(key) = header.mask {
            wsproto::frame::apply_mask(&mut payload, key, 0);
        }
        out.push((header, payload));
        bytes = &bytes[end..];
    }
    out
}

/// Splits `bytes` into (opcode, fin, unmasked payload) frames.
pub fn parse_frames(bytes: &[u8]) -> Vec<(wsproto::frame::OpCode, bool, Vec<u8>)> {
    frames(bytes)
        .into_iter()
        .map(|(h, p)| (h.opcode, h.fin, p))
        .collect()
}

/// The code of the first close frame among `bytes`.
pub fn sent_close_code(bytes: &[u8]) -> Option<u16> {
    parse_frames(bytes)
        .into_iter()
        .find(|(op, _, _)| *op == wsproto::frame::OpCode::Close)
        .map(|(_, _, p)| u16::from_be_bytes([p[0], p[1]]))
}

/// A raw frame: `first` holds FIN, RSV and opcode bits.
pub fn frame(first: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![first];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A masked client frame (what a server must receive).
pub fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    frame(first, payload, Some([0x37, 0xfa, 0x21, 0x3d]))
}

/// A client and a server wired together in memory on a virtual clock.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub now: Instant,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
    pub client_eof_sent: bool,
    pub server_eof_sent: bool,
}

impl Pair {
    /// Connects a client with `request` to a server that accepts with
    /// `accept`; returns the pair after the handshake.
    pub fn with(
        request: ClientRequest,
        client_config: Config,
        server_config: Config,
        accept: impl Fn(&wsproto::Request) -> Accept,
    ) -> Pair {
        let now = Instant::now();
        let client = Connection::client(request, client_config, now).unwrap();
        let server = Connection::server(server_config, now);
        let mut pair = Pair {
            client,
            server,
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_eof_sent: false,
            server_eof_sent: false,
        };
        pair.drive();
        let request = pair
            .server_events
            .iter()
            .find_map(|e| match e {
                Event::Request(r) => Some(r.clone()),
                _ => None,
            })
            .expect("server saw the request");
        pair.server.accept(pair.now, accept(&request)).unwrap();
        pair.drive();
        assert!(
            pair.client_events
                .iter()
                .any(|e| matches!(e, Event::Connected(_))),
            "{:?}",
            pair.client_events
        );
        pair.client_events.clear();
        pair.server_events.clear();
        pair
    }

    /// A connected pair with default test configs.
    pub fn new() -> Pair {
        Pair::with(
            ClientRequest::new("server.example.com", "/chat"),
            config(),
            config(),
            |_| Accept::new(),
        )
    }

    /// Moves bytes both ways until neither side has anything to say, and
    /// collects events. A shutdown becomes end-of-stream for the other side.
    pub fn drive(&mut self) {
        for _ in 0..10_000 {
            let (to_server, client_shutdown) = drain(&mut self.client);
            let (to_client, server_shutdown) = drain(&mut self.server);
            let idle = to_server.is_empty()
                && to_client.is_empty()
                && !client_shutdown
                && !server_shutdown;
            if !to_server.is_empty() {
                self.server.handle_data(self.now, &to_server);
            }
            if !to_client.is_empty() {
                self.client.handle_data(self.now, &to_client);
            }
            if client_shutdown && !self.client_eof_sent {
                self.client_eof_sent = true;
                self.server.handle_eof(self.now);
            }
            if server_shutdown && !self.server_eof_sent {
                self.server_eof_sent = true;
                self.client.handle_eof(self.now);
            }
            self.client_events.extend(events(&mut self.client));
            self.server_events.extend(events(&mut self.server));
            if idle {
                return;
            }
        }
        panic!("pair did not settle");
    }

    /// Moves the clock forward, fires due timers on both sides, and drives.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.drive();
    }

    pub fn take_client_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.client_events)
    }

    pub fn take_server_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.server_events)
    }
}
