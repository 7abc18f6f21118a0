//! One receiver and one sender per library, each driving the library
//! through its ordinary public API over a [`MemStream`].
//!
//! Receivers are servers reading masked client frames and return the
//! payload bytes of the data messages they delivered (control frames are
//! answered or skipped, as each library does by default). Senders are
//! clients encoding and masking one message per call and writing it out.

use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::runtime::Runtime;

use crate::{Kind, MemStream};

/// The receive/send limits every library is given: above the largest
/// message, so none refuses the 16 MiB workload.
pub const LIMIT: usize = 64 << 20;

/// A current-thread tokio runtime for the async libraries (every stream is
/// in memory and always ready, so nothing ever waits).
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// Reads data messages from an in-memory stream.
pub trait Receiver {
    /// Feeds `input` and reads until `messages` data messages have been
    /// delivered; returns their payload bytes.
    fn recv(&mut self, input: &Bytes, messages: usize) -> usize;
}

/// Encodes (and masks) one message per call.
pub trait Sender {
    /// Sends the prepared message `count` times, writing after each;
    /// returns the bytes written.
    fn send(&mut self, count: usize) -> usize;
}

/// The library names, in table order.
pub const LIBS: [&str; 4] = [
    "wsproto",
    "tungstenite",
    "fastwebsockets",
    "tokio-websockets",
];

// ---- wsproto ---------------------------------------------------------------

/// wsproto server fed through `handle_read_with` (reads land in the
/// connection's own buffer).
pub struct WsprotoRecv {
    conn: wsproto::Connection,
    read_with: bool,
}

impl WsprotoRecv {
    /// `read_with`: `handle_read_with`; otherwise `handle_data`.
    pub fn new(read_with: bool) -> Self {
        let config = wsproto::Config::default()
            .max_frame_size(LIMIT)
            .max_message_size(LIMIT);
        WsprotoRecv {
            conn: crate::wsproto_open(wsproto::Role::Server, config),
            read_with,
        }
    }
}

impl Receiver for WsprotoRecv {
    fn recv(&mut self, input: &Bytes, messages: usize) -> usize {
        let now = Instant::now();
        let (n, bytes) = if self.read_with {
            crate::wsproto_recv_read_with(&mut self.conn, input, now)
        } else {
            crate::wsproto_recv_data(&mut self.conn, input, now)
        };
        debug_assert_eq!(n, messages);
        let _ = messages;
        bytes
    }
}

/// wsproto client.
pub struct WsprotoSend {
    conn: wsproto::Connection,
    payload: Bytes,
    /// The payload as text, validated once here, for a text sender.
    text: Option<String>,
}

impl WsprotoSend {
    /// A client that will send `payload` as `kind`.
    pub fn new(kind: Kind, payload: Bytes) -> Self {
        let text =
            (kind == Kind::Text).then(|| String::from_utf8(payload.to_vec()).expect("utf-8"));
        let config = wsproto::Config::default();
        WsprotoSend {
            conn: crate::wsproto_open(wsproto::Role::Client, config),
            payload,
            text,
        }
    }
}

impl Sender for WsprotoSend {
    fn send(&mut self, count: usize) -> usize {
        let mut written = 0;
        // The payload is borrowed, as for fastwebsockets: a client copies
        // it to mask it in any case.
        for _ in 0..count {
            match &self.text {
                Some(text) => self.conn.send_text(text).expect("send"),
                None => self.conn.send_binary_slice(&self.payload).expect("send"),
            }
            written += crate::wsproto_drain(&mut self.conn);
        }
        written
    }
}

// ---- tungstenite -------------------------------------------------------------

fn tungstenite_config() -> tungstenite::protocol::WebSocketConfig {
    tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(LIMIT))
        .max_frame_size(Some(LIMIT))
}

/// tungstenite server over a std `Read + Write` stream.
pub struct TungsteniteRecv {
    stream: MemStream,
    ws: tungstenite::WebSocket<MemStream>,
}

impl TungsteniteRecv {
    /// A server with default settings (limits raised to [`LIMIT`]).
    pub fn new() -> Self {
        let stream = MemStream::default();
        let ws = tungstenite::WebSocket::from_raw_socket(
            stream.clone(),
            tungstenite::protocol::Role::Server,
            Some(tungstenite_config()),
        );
        TungsteniteRecv { stream, ws }
    }
}

impl Default for TungsteniteRecv {
    fn default() -> Self {
        Self::new()
    }
}

impl Receiver for TungsteniteRecv {
    fn recv(&mut self, input: &Bytes, messages: usize) -> usize {
        self.stream.refill(input);
        let mut bytes = 0;
        let mut seen = 0;
        while seen < messages {
            match self.ws.read().expect("tungstenite read") {
                tungstenite::Message::Binary(b) => {
                    bytes += std::hint::black_box(b).len();
                    seen += 1;
                }
                tungstenite::Message::Text(t) => {
                    bytes += std::hint::black_box(t).len();
                    seen += 1;
                }
                _ => {}
            }
        }
        bytes
    }
}

/// tungstenite client.
pub struct TungsteniteSend {
    ws: tungstenite::WebSocket<MemStream>,
    stream: MemStream,
    message: tungstenite::Message,
}

impl TungsteniteSend {
    /// A client that will send `payload` as `kind`.
    pub fn new(kind: Kind, payload: Bytes) -> Self {
        let stream = MemStream::default();
        let ws = tungstenite::WebSocket::from_raw_socket(
            stream.clone(),
            tungstenite::protocol::Role::Client,
            Some(tungstenite_config()),
        );
        let message = match kind {
            Kind::Binary => tungstenite::Message::Binary(payload),
            Kind::Text => tungstenite::Message::Text(payload.try_into().expect("utf-8")),
        };
        TungsteniteSend {
            ws,
            stream,
            message,
        }
    }
}

impl Sender for TungsteniteSend {
    fn send(&mut self, count: usize) -> usize {
        for _ in 0..count {
            self.ws.send(self.message.clone()).expect("send");
        }
        self.stream.take_written()
    }
}

// ---- fastwebsockets ------------------------------------------------------------

/// fastwebsockets server: a `FragmentCollector` (whole messages, text
/// validated) over a tokio `AsyncRead + AsyncWrite` stream.
pub struct FastRecv {
    rt: Runtime,
    stream: MemStream,
    ws: fastwebsockets::FragmentCollector<MemStream>,
}

impl FastRecv {
    /// A server with default settings (limit raised to [`LIMIT`]).
    pub fn new() -> Self {
        let stream = MemStream::default();
        let mut ws = fastwebsockets::WebSocket::after_handshake(
            stream.clone(),
            fastwebsockets::Role::Server,
        );
        ws.set_max_message_size(LIMIT + 1);
        FastRecv {
            rt: runtime(),
            stream,
            ws: fastwebsockets::FragmentCollector::new(ws),
        }
    }
}

impl Default for FastRecv {
    fn default() -> Self {
        Self::new()
    }
}

impl Receiver for FastRecv {
    fn recv(&mut self, input: &Bytes, messages: usize) -> usize {
        self.stream.refill(input);
        let ws = &mut self.ws;
        self.rt.block_on(async {
            let mut bytes = 0;
            let mut seen = 0;
            while seen < messages {
                let frame = ws.read_frame().await.expect("fastwebsockets read");
                if matches!(
                    frame.opcode,
                    fastwebsockets::OpCode::Text | fastwebsockets::OpCode::Binary
                ) {
                    bytes += std::hint::black_box(frame).payload.len();
                    seen += 1;
                }
            }
            bytes
        })
    }
}

/// fastwebsockets client.
pub struct FastSend {
    rt: Runtime,
    stream: MemStream,
    ws: fastwebsockets::WebSocket<MemStream>,
    opcode: fastwebsockets::OpCode,
    payload: Bytes,
}

impl FastSend {
    /// A client that will send `payload` as `kind`.
    pub fn new(kind: Kind, payload: Bytes) -> Self {
        let stream = MemStream::default();
        let ws = fastwebsockets::WebSocket::after_handshake(
            stream.clone(),
            fastwebsockets::Role::Client,
        );
        let opcode = match kind {
            Kind::Binary => fastwebsockets::OpCode::Binary,
            Kind::Text => fastwebsockets::OpCode::Text,
        };
        FastSend {
            rt: runtime(),
            stream,
            ws,
            opcode,
            payload,
        }
    }
}

impl Sender for FastSend {
    fn send(&mut self, count: usize) -> usize {
        let (ws, opcode, payload) = (&mut self.ws, self.opcode, &self.payload);
        self.rt.block_on(async {
            for _ in 0..count {
                // A borrowed payload: the client copies it to mask it, as
                // every other client does.
                let frame = fastwebsockets::Frame::new(
                    true,
                    opcode,
                    None,
                    fastwebsockets::Payload::Borrowed(payload),
                );
                ws.write_frame(frame).await.expect("write");
            }
        });
        self.stream.take_written()
    }
}

// ---- tokio-websockets ------------------------------------------------------------

/// tokio-websockets server (`ServerBuilder::serve`, handshake done).
pub struct TokioWsRecv {
    rt: Runtime,
    stream: MemStream,
    ws: tokio_websockets::WebSocketStream<MemStream>,
}

impl TokioWsRecv {
    /// A server with default settings (limit raised to [`LIMIT`]).
    pub fn new() -> Self {
        let stream = MemStream::default();
        let ws = tokio_websockets::ServerBuilder::new()
            .limits(tokio_websockets::Limits::default().max_payload_len(Some(LIMIT)))
            .serve(stream.clone());
        TokioWsRecv {
            rt: runtime(),
            stream,
            ws,
        }
    }
}

impl Default for TokioWsRecv {
    fn default() -> Self {
        Self::new()
    }
}

impl Receiver for TokioWsRecv {
    fn recv(&mut self, input: &Bytes, messages: usize) -> usize {
        self.stream.refill(input);
        let ws = &mut self.ws;
        self.rt.block_on(async {
            let mut bytes = 0;
            let mut seen = 0;
            while seen < messages {
                let message = ws
                    .next()
                    .await
                    .expect("open")
                    .expect("tokio-websockets read");
                if message.is_text() || message.is_binary() {
                    bytes += std::hint::black_box(message).as_payload().len();
                    seen += 1;
                }
            }
            bytes
        })
    }
}

/// tokio-websockets client (`ClientBuilder::take_over`, handshake done).
pub struct TokioWsSend {
    rt: Runtime,
    stream: MemStream,
    ws: tokio_websockets::WebSocketStream<MemStream>,
    message: tokio_websockets::Message,
}

impl TokioWsSend {
    /// A client that will send `payload` as `kind`.
    pub fn new(kind: Kind, payload: Bytes) -> Self {
        let stream = MemStream::default();
        // One frame per message, as the other clients send (its default
        // splits messages into 4 MiB frames).
        let ws = tokio_websockets::ClientBuilder::new()
            .config(tokio_websockets::Config::default().frame_size(LIMIT))
            .take_over(stream.clone());
        let message = match kind {
            Kind::Binary => tokio_websockets::Message::binary(payload),
            Kind::Text => {
                tokio_websockets::Message::text(String::from_utf8(payload.to_vec()).expect("utf-8"))
            }
        };
        TokioWsSend {
            rt: runtime(),
            stream,
            ws,
            message,
        }
    }
}

impl Sender for TokioWsSend {
    fn send(&mut self, count: usize) -> usize {
        let (ws, message) = (&mut self.ws, &self.message);
        self.rt.block_on(async {
            for _ in 0..count {
                ws.send(message.clone()).await.expect("send");
            }
        });
        self.stream.take_written()
    }
}

/// A receiver for library `name` (see [`LIBS`]); `"wsproto-data"` is
/// wsproto fed through `handle_data`.
pub fn receiver(name: &str) -> Box<dyn Receiver> {
    match name {
        "wsproto" => Box::new(WsprotoRecv::new(true)),
        "wsproto-data" => Box::new(WsprotoRecv::new(false)),
        "tungstenite" => Box::new(TungsteniteRecv::new()),
        "fastwebsockets" => Box::new(FastRecv::new()),
        "tokio-websockets" => Box::new(TokioWsRecv::new()),
        other => panic!("unknown library {other}"),
    }
}

/// A sender for library `name` (see [`LIBS`]).
pub fn sender(name: &str, kind: Kind, payload: Bytes) -> Box<dyn Sender> {
    match name {
        "wsproto" => Box::new(WsprotoSend::new(kind, payload)),
        "tungstenite" => Box::new(TungsteniteSend::new(kind, payload)),
        "fastwebsockets" => Box::new(FastSend::new(kind, payload)),
        "tokio-websockets" => Box::new(TokioWsSend::new(kind, payload)),
        other => panic!("unknown library {other}"),
    }
}
