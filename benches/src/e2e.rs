//! End-to-end over loopback TCP (127.0.0.1 only) with tokio: one echo
//! server task per library on its own runtime thread, a client on another.
//!
//! wsproto runs twice: through its tokio adapter (`wsproto::io::tokio`,
//! feature `tokio`), and as `wsproto-loop`, driven directly over the
//! `TcpStream` by a minimal loop (read into `handle_read_with`, write
//! `poll_transmit` chunks), which shows what the adapter itself costs.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use wsproto::{Connection, Event, Message, Role, Transmit};

/// The libraries of the end-to-end benchmark; `raw-tcp` echoes the same
/// bytes without any WebSocket processing (the ceiling).
pub const E2E_LIBS: [&str; 6] = [
    "wsproto",
    "wsproto-loop",
    "tokio-tungstenite",
    "fastwebsockets",
    "tokio-websockets",
    "raw-tcp",
];

/// A wsproto connection over a tokio TCP stream: the minimal driver loop.
pub struct WsprotoTcp {
    stream: TcpStream,
    conn: Connection,
}

impl WsprotoTcp {
    /// An open connection (handshake skipped, as for every library here).
    pub fn new(stream: TcpStream, role: Role) -> Self {
        let config = wsproto::Config::default();
        WsprotoTcp {
            stream,
            conn: crate::wsproto_open(role, config),
        }
    }

    /// Writes out everything the connection queued.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        while let Some(transmit) = self.conn.poll_transmit() {
            match transmit {
                Transmit::Data(bytes) => self.stream.write_all(&bytes).await?,
                Transmit::Shutdown => self.stream.shutdown().await?,
            }
        }
        Ok(())
    }

    /// The next data message, or `None` at the end.
    pub async fn next(&mut self) -> std::io::Result<Option<Message>> {
        loop {
            while let Some(event) = self.conn.poll_event() {
                match event {
                    Event::Message(message) => return Ok(Some(message)),
                    Event::Closed(_) => return Ok(None),
                    _ => {}
                }
            }
            self.flush().await?;
            self.stream.readable().await?;
            let stream = &self.stream;
            match self
                .conn
                .handle_read_with(Instant::now(), crate::READ_CHUNK, |buf| {
                    stream.try_read(buf)
                }) {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends a binary message and writes it out.
    pub async fn send(&mut self, data: Bytes) -> std::io::Result<()> {
        self.conn.send_binary(data).map_err(std::io::Error::other)?;
        self.flush().await
    }
}

async fn wsproto_echo(stream: TcpStream) {
    let mut ws = WsprotoTcp::new(stream, Role::Server);
    while let Ok(Some(message)) = ws.next().await {
        if ws.conn.send(message).is_err() || ws.flush().await.is_err() {
            break;
        }
    }
}

type Adapter = wsproto::io::tokio::WebSocket<TcpStream>;

fn adapter(stream: TcpStream, role: Role) -> Adapter {
    wsproto::io::tokio::WebSocket::from_upgraded(
        wsproto::io::tokio::TokioTransport::new(stream),
        role,
        wsproto::Negotiated::new(),
        wsproto::Config::default(),
    )
}

async fn adapter_echo(stream: TcpStream) {
    let mut ws = adapter(stream, Role::Server);
    while let Ok(incoming) = ws.recv().await {
        let wsproto::io::tokio::Incoming::Message(message) = incoming else {
            continue;
        };
        if ws.send(message).await.is_err() || ws.flush().await.is_err() {
            break;
        }
    }
}

async fn tungstenite_echo(stream: TcpStream) {
    let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
        stream,
        tungstenite::protocol::Role::Server,
        None,
    )
    .await;
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_binary() || message.is_text()) && ws.send(message).await.is_err() {
            break;
        }
    }
}

async fn fast_echo(stream: TcpStream) {
    let ws = fastwebsockets::WebSocket::after_handshake(stream, fastwebsockets::Role::Server);
    let mut ws = fastwebsockets::FragmentCollector::new(ws);
    while let Ok(frame) = ws.read_frame().await {
        if frame.opcode == fastwebsockets::OpCode::Close {
            break;
        }
        let data = matches!(
            frame.opcode,
            fastwebsockets::OpCode::Binary | fastwebsockets::OpCode::Text
        );
        if data && ws.write_frame(frame).await.is_err() {
            break;
        }
    }
}

async fn tokio_ws_echo(stream: TcpStream) {
    let mut ws = tokio_websockets::ServerBuilder::new().serve(stream);
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_binary() || message.is_text()) && ws.send(message).await.is_err() {
            break;
        }
    }
}

async fn raw_echo(mut stream: TcpStream) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// Starts library `name`'s echo server for one connection on `rt`;
/// returns its address.
pub fn start_server(rt: &Runtime, name: &'static str) -> SocketAddr {
    let listener = rt
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("addr");
    rt.spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        match name {
            "wsproto" => adapter_echo(stream).await,
            "wsproto-loop" => wsproto_echo(stream).await,
            "tokio-tungstenite" => tungstenite_echo(stream).await,
            "fastwebsockets" => fast_echo(stream).await,
            "tokio-websockets" => tokio_ws_echo(stream).await,
            "raw-tcp" => raw_echo(stream).await,
            other => panic!("unknown library {other}"),
        }
    });
    addr
}

/// A client of library `name`: sends binary messages and reads echoes.
#[allow(clippy::large_enum_variant)] // one per benchmark, never moved in a loop
pub enum Client {
    /// wsproto's tokio adapter.
    Adapter(Box<Adapter>),
    /// wsproto over the minimal loop.
    Wsproto(WsprotoTcp),
    /// tokio-tungstenite.
    Tungstenite(tokio_tungstenite::WebSocketStream<TcpStream>),
    /// fastwebsockets.
    Fast(fastwebsockets::FragmentCollector<TcpStream>),
    /// tokio-websockets.
    TokioWs(tokio_websockets::WebSocketStream<TcpStream>),
    /// Raw TCP: writes the masked client frame bytes themselves and reads
    /// the same number of bytes back.
    Raw(TcpStream, Vec<u8>),
}

impl Client {
    /// Connects to `addr`.
    pub async fn connect(name: &str, addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        match name {
            "wsproto" => Client::Adapter(Box::new(adapter(stream, Role::Client))),
            "wsproto-loop" => Client::Wsproto(WsprotoTcp::new(stream, Role::Client)),
            "tokio-tungstenite" => Client::Tungstenite(
                tokio_tungstenite::WebSocketStream::from_raw_socket(
                    stream,
                    tungstenite::protocol::Role::Client,
                    None,
                )
                .await,
            ),
            "fastwebsockets" => Client::Fast(fastwebsockets::FragmentCollector::new(
                fastwebsockets::WebSocket::after_handshake(stream, fastwebsockets::Role::Client),
            )),
            "tokio-websockets" => {
                Client::TokioWs(tokio_websockets::ClientBuilder::new().take_over(stream))
            }
            "raw-tcp" => Client::Raw(stream, vec![0u8; 64 << 10]),
            other => panic!("unknown library {other}"),
        }
    }

    /// Sends `count` messages of `data` back to back, then reads the
    /// `count` echoes; returns the payload bytes received. `wire` is the
    /// masked frame (used by raw TCP only).
    pub async fn burst(&mut self, data: &Bytes, wire: &[u8], count: usize) -> usize {
        let mut got = 0;
        match self {
            Client::Adapter(ws) => {
                for _ in 0..count {
                    ws.send_binary(data.clone()).await.expect("send");
                }
                ws.flush().await.expect("flush");
                let mut seen = 0;
                while seen < count {
                    if let wsproto::io::tokio::Incoming::Message(m) = ws.recv().await.expect("read")
                    {
                        got += m.as_bytes().len();
                        seen += 1;
                    }
                }
            }
            Client::Wsproto(ws) => {
                for _ in 0..count {
                    ws.conn.send_binary(data.clone()).expect("send");
                }
                ws.flush().await.expect("write");
                for _ in 0..count {
                    got += ws
                        .next()
                        .await
                        .expect("read")
                        .expect("open")
                        .as_bytes()
                        .len();
                }
            }
            Client::Tungstenite(ws) => {
                for _ in 0..count {
                    ws.feed(tungstenite::Message::Binary(data.clone()))
                        .await
                        .expect("send");
                }
                ws.flush().await.expect("flush");
                for _ in 0..count {
                    got += ws.next().await.expect("open").expect("read").len();
                }
            }
            Client::Fast(ws) => {
                for _ in 0..count {
                    let frame =
                        fastwebsockets::Frame::binary(fastwebsockets::Payload::Borrowed(data));
                    ws.write_frame(frame).await.expect("send");
                }
                for _ in 0..count {
                    got += ws.read_frame().await.expect("read").payload.len();
                }
            }
            Client::TokioWs(ws) => {
                for _ in 0..count {
                    ws.feed(tokio_websockets::Message::binary(data.clone()))
                        .await
                        .expect("send");
                }
                ws.flush().await.expect("flush");
                for _ in 0..count {
                    got += ws
                        .next()
                        .await
                        .expect("open")
                        .expect("read")
                        .as_payload()
                        .len();
                }
            }
            Client::Raw(stream, buf) => {
                for _ in 0..count {
                    stream.write_all(wire).await.expect("write");
                }
                let mut left = wire.len() * count;
                while left > 0 {
                    let n = stream
                        .read(&mut buf[..left.min(64 << 10)])
                        .await
                        .expect("read");
                    assert!(n > 0, "raw echo ended");
                    left -= n;
                }
                got = data.len() * count;
            }
        }
        got
    }
}
