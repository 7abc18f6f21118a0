//! permessage-deflate round trips: the client sends a JSON message, the
//! server receives it and echoes it, the client receives the echo. With
//! context takeover both ways (the default), so later messages compress
//! against earlier ones. The baseline does the same compressions and
//! inflations with raw miniz_oxide streams and no WebSocket at all.

use std::time::Instant;

use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
use miniz_oxide::inflate::stream::InflateState;
use miniz_oxide::{DataFormat, MZFlush};
use wsproto::{Accept, ClientRequest, Config, Connection, Event, Message, Text, Transmit};

/// A connected wsproto client and server, in memory.
pub struct WsprotoPair {
    client: Connection,
    server: Connection,
    now: Instant,
    /// Bytes that crossed the wire (both directions).
    pub wire: usize,
}

fn pump(from: &mut Connection, to: &mut Connection, now: Instant) -> usize {
    let mut n = 0;
    while let Some(transmit) = from.poll_transmit() {
        match transmit {
            Transmit::Data(bytes) => {
                n += bytes.len();
                to.handle_data(now, &bytes);
            }
            Transmit::Shutdown => to.handle_eof(now),
        }
    }
    n
}

impl WsprotoPair {
    /// A pair with permessage-deflate (default settings: level 6, 15-bit
    /// windows, context takeover) or without.
    pub fn new(deflate: bool) -> Self {
        let now = Instant::now();
        let mut config = Config::default();
        if deflate {
            config = config.deflate(Some(wsproto::deflate::DeflateConfig::default()));
        }
        let request = ClientRequest::from_url("ws://example.com/feed").expect("url");
        let mut client = Connection::client(request, config.clone(), now).expect("client");
        let mut server = Connection::server(config, now);
        pump(&mut client, &mut server, now);
        let Some(Event::Request(_)) = server.poll_event() else {
            panic!("no request")
        };
        server.accept(now, Accept::new()).expect("accept");
        pump(&mut server, &mut client, now);
        let Some(Event::Connected(negotiated)) = client.poll_event() else {
            panic!("not connected")
        };
        assert_eq!(negotiated.extensions.is_empty(), !deflate);
        assert!(matches!(server.poll_event(), Some(Event::Connected(_))));
        WsprotoPair {
            client,
            server,
            now,
            wire: 0,
        }
    }

    /// One round trip; returns the echoed message's length.
    pub fn round_trip(&mut self, text: &Text) -> usize {
        let now = self.now;
        self.client.send(Message::Text(text.clone())).expect("send");
        self.wire += pump(&mut self.client, &mut self.server, now);
        let Some(Event::Message(message)) = self.server.poll_event() else {
            panic!("server got no message")
        };
        self.server.send(message).expect("echo");
        self.wire += pump(&mut self.server, &mut self.client, now);
        match self.client.poll_event() {
            Some(Event::Message(message)) => message.as_bytes().len(),
            other => panic!("client got {other:?}"),
        }
    }
}

/// One direction's raw deflate stream pair.
struct RawLink {
    deflate: Box<CompressorOxide>,
    inflate: Box<InflateState>,
    compressed: Vec<u8>,
    inflated: Vec<u8>,
}

const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

impl RawLink {
    fn new(level: u8) -> Self {
        RawLink {
            deflate: Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(
                i32::from(level),
                -15,
                0,
            ))),
            inflate: InflateState::new_boxed(DataFormat::Raw),
            compressed: Vec::with_capacity(8 << 10),
            inflated: Vec::with_capacity(8 << 10),
        }
    }

    /// Compresses with a sync flush, strips the tail (RFC 7692), puts it
    /// back and inflates: what the two ends of a link do at the least.
    fn carry(&mut self, input: &[u8]) -> usize {
        self.compressed.clear();
        let mut input_left = input;
        loop {
            let start = self.compressed.len();
            self.compressed
                .resize(start + input_left.len() / 2 + 256, 0);
            let r = miniz_oxide::deflate::stream::deflate(
                &mut self.deflate,
                input_left,
                &mut self.compressed[start..],
                MZFlush::Sync,
            );
            let room = self.compressed.len() - start;
            self.compressed.truncate(start + r.bytes_written);
            input_left = &input_left[r.bytes_consumed..];
            if input_left.is_empty() && r.bytes_written < room {
                break;
            }
        }
        if self.compressed.ends_with(&TAIL) {
            self.compressed.truncate(self.compressed.len() - 4);
        }
        let wire = self.compressed.len();
        self.compressed.extend_from_slice(&TAIL);
        self.inflated.clear();
        let mut left = &self.compressed[..];
        loop {
            let start = self.inflated.len();
            self.inflated.resize(start + (16 << 10), 0);
            let r = miniz_oxide::inflate::stream::inflate(
                &mut self.inflate,
                left,
                &mut self.inflated[start..],
                MZFlush::None,
            );
            self.inflated.truncate(start + r.bytes_written);
            left = &left[r.bytes_consumed..];
            if left.is_empty() || r.status.is_err() {
                break;
            }
        }
        assert_eq!(self.inflated.len(), input.len());
        wire
    }
}

/// Raw miniz_oxide: client-to-server and server-to-client links.
pub struct RawMiniz {
    up: RawLink,
    down: RawLink,
    /// Compressed bytes produced (both directions).
    pub wire: usize,
}

impl RawMiniz {
    /// Level 6, 32 KiB window, context kept across messages.
    pub fn new() -> Self {
        RawMiniz {
            up: RawLink::new(6),
            down: RawLink::new(6),
            wire: 0,
        }
    }

    /// One round trip: compress, inflate, compress the result, inflate.
    pub fn round_trip(&mut self, text: &[u8]) -> usize {
        self.wire += self.up.carry(text);
        let RawMiniz { up, down, .. } = self;
        self.wire += down.carry(&up.inflated);
        down.inflated.len()
    }
}

impl Default for RawMiniz {
    fn default() -> Self {
        Self::new()
    }
}
