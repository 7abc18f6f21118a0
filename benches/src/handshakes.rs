//! Opening handshakes per library, in memory.
//!
//! Server: a browser's upgrade request (with a permessage-deflate offer)
//! in, the 101 response out. Client: the upgrade request out, the 101
//! computed by [`Responder`](crate::Responder) in, connection open.

use std::convert::Infallible;
use std::future::Future;
use std::time::Instant;

use bytes::Bytes;
use tokio::runtime::Runtime;
use wsproto::{Accept, ClientRequest, Config, Connection, Event, Transmit};

use crate::{BROWSER_REQUEST, MemStream, Responder};

/// The URL every client connects to.
pub const URL: &str = "ws://example.com/chat";

/// wsproto server: request in, `Event::Request`, `accept`, 101 out.
/// Returns the response's length.
pub fn wsproto_server(config: &Config, request: &[u8]) -> usize {
    let now = Instant::now();
    let mut conn = Connection::server(config.clone(), now);
    conn.handle_data(now, request);
    let Some(Event::Request(_)) = conn.poll_event() else {
        panic!("no request event")
    };
    conn.accept(now, Accept::new()).expect("accept");
    crate::wsproto_drain(&mut conn)
}

/// wsproto client: request out, 101 in, `Event::Connected`.
pub fn wsproto_client(config: &Config) -> usize {
    let now = Instant::now();
    let request = ClientRequest::from_url(URL).expect("url");
    let mut conn = Connection::client(request, config.clone(), now).expect("client");
    let mut head = Vec::with_capacity(256);
    while let Some(Transmit::Data(bytes)) = conn.poll_transmit() {
        head.extend_from_slice(&bytes);
    }
    let response = crate::respond_101(&head).expect("response");
    conn.handle_data(now, &response);
    match conn.poll_event() {
        Some(Event::Connected(_)) => head.len(),
        other => panic!("not connected: {other:?}"),
    }
}

/// tungstenite server (`tungstenite::accept`).
pub fn tungstenite_server(request: &Bytes) -> usize {
    let stream = MemStream::new(request.clone());
    let ws = tungstenite::accept(stream.clone()).expect("accept");
    std::hint::black_box(ws);
    stream.take_written()
}

/// tungstenite client (`tungstenite::client`).
pub fn tungstenite_client() -> usize {
    let (ws, response) = tungstenite::client(URL, Responder::default()).expect("client");
    std::hint::black_box((ws, response));
    1
}

/// tokio-websockets server (`ServerBuilder::accept`).
pub async fn tokio_ws_server(request: &Bytes) -> usize {
    let stream = MemStream::new(request.clone());
    let accepted = tokio_websockets::ServerBuilder::new()
        .accept(stream.clone())
        .await
        .expect("accept");
    std::hint::black_box(accepted);
    stream.take_written()
}

/// tokio-websockets client (`ClientBuilder::connect_on`).
pub async fn tokio_ws_client() -> usize {
    let connected = tokio_websockets::ClientBuilder::new()
        .uri(URL)
        .expect("uri")
        .connect_on(Responder::default())
        .await
        .expect("connect");
    std::hint::black_box(connected);
    1
}

/// fastwebsockets server: hyper's HTTP/1 server with upgrades and
/// `fastwebsockets::upgrade::upgrade`, as its documentation shows (the
/// library leaves HTTP to hyper).
pub async fn fast_server(request: &Bytes) -> usize {
    let stream = crate::SendStream::new(request.clone());
    let written = stream.written.clone();
    let service = hyper::service::service_fn(
        |mut req: hyper::Request<hyper::body::Incoming>| async move {
            let (response, upgrade) = fastwebsockets::upgrade::upgrade(&mut req).expect("upgrade");
            // As in fastwebsockets' examples: the WebSocket is taken over
            // in a task once hyper hands the connection over.
            tokio::spawn(async move {
                std::hint::black_box(upgrade.await.expect("upgraded"));
            });
            Ok::<_, Infallible>(response)
        },
    );
    let result = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .with_upgrades()
        .await;
    result.expect("hyper connection");
    written.load(std::sync::atomic::Ordering::Relaxed)
}

struct SpawnExecutor;

impl<Fut> hyper::rt::Executor<Fut> for SpawnExecutor
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    fn execute(&self, fut: Fut) {
        tokio::task::spawn(fut);
    }
}

/// fastwebsockets client (`fastwebsockets::handshake::client` over hyper).
pub async fn fast_client() -> usize {
    let request = hyper::Request::builder()
        .method("GET")
        .uri(URL)
        .header("Host", "example.com")
        .header(hyper::header::UPGRADE, "websocket")
        .header(hyper::header::CONNECTION, "upgrade")
        .header(
            "Sec-WebSocket-Key",
            fastwebsockets::handshake::generate_key(),
        )
        .header("Sec-WebSocket-Version", "13")
        .body(http_body_util::Empty::<Bytes>::new())
        .expect("request");
    let connected =
        fastwebsockets::handshake::client(&SpawnExecutor, request, Responder::default())
            .await
            .expect("connect");
    std::hint::black_box(connected);
    1
}

/// Library names of the server handshake benchmark: wsproto with
/// permessage-deflate accepted (`wsproto`) and with deflate off, ignoring
/// the offer like the other libraries (`wsproto-nodeflate`).
pub const SERVER_LIBS: [&str; 5] = [
    "wsproto",
    "wsproto-nodeflate",
    "tungstenite",
    "fastwebsockets",
    "tokio-websockets",
];

/// Runs `count` server handshakes of library `name`; returns the bytes
/// written by the last one.
pub fn run_server(name: &str, rt: &Runtime, count: u64) -> usize {
    let request = Bytes::from_static(BROWSER_REQUEST);
    let deflate = Config::default().deflate(Some(wsproto::deflate::DeflateConfig::default()));
    let plain = Config::default();
    let mut last = 0;
    match name {
        "wsproto" => (0..count).for_each(|_| last = wsproto_server(&deflate, BROWSER_REQUEST)),
        "wsproto-nodeflate" => {
            (0..count).for_each(|_| last = wsproto_server(&plain, BROWSER_REQUEST))
        }
        "tungstenite" => (0..count).for_each(|_| last = tungstenite_server(&request)),
        "fastwebsockets" => rt.block_on(async {
            for _ in 0..count {
                last = fast_server(&request).await;
            }
        }),
        "tokio-websockets" => rt.block_on(async {
            for _ in 0..count {
                last = tokio_ws_server(&request).await;
            }
        }),
        other => panic!("unknown library {other}"),
    }
    last
}

/// Library names of the client handshake benchmark, plus `responder`: the
/// cost of computing the 101 that every client is answered with (included
/// in every client's time).
pub const CLIENT_LIBS: [&str; 6] = [
    "wsproto",
    "wsproto-nodeflate",
    "tungstenite",
    "fastwebsockets",
    "tokio-websockets",
    "responder-only",
];

/// Runs `count` client handshakes of library `name`.
pub fn run_client(name: &str, rt: &Runtime, count: u64) {
    let deflate = Config::default().deflate(Some(wsproto::deflate::DeflateConfig::default()));
    let plain = Config::default();
    match name {
        "wsproto" => (0..count).for_each(|_| {
            wsproto_client(&deflate);
        }),
        "wsproto-nodeflate" => (0..count).for_each(|_| {
            wsproto_client(&plain);
        }),
        "tungstenite" => (0..count).for_each(|_| {
            tungstenite_client();
        }),
        "fastwebsockets" => rt.block_on(async {
            for _ in 0..count {
                fast_client().await;
            }
        }),
        "tokio-websockets" => rt.block_on(async {
            for _ in 0..count {
                tokio_ws_client().await;
            }
        }),
        "responder-only" => {
            let request = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
            (0..count).for_each(|_| {
                std::hint::black_box(crate::respond_101(std::hint::black_box(request)));
            })
        }
        other => panic!("unknown library {other}"),
    }
}
