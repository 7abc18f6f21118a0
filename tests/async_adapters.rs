//! The async adapters: tokio over TCP on 127.0.0.1 (ephemeral ports) and
//! over in-memory duplex pipes on tokio's paused clock, TLS, and the
//! futures-io adapter on async-io. Every wait is bounded by a timeout.
#![cfg(all(feature = "tokio-rustls", feature = "async-io"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use tokio::io::DuplexStream;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};
use wsproto::io::Error;
use wsproto::io::tokio::{self as ws, Incoming, WebSocket};
use wsproto::{Accept, ClientRequest, CloseCode, Config, Message};

pub(crate) const WAIT: Duration = Duration::from_secs(20);

pub(crate) fn config() -> Config {
    Config::default()
        .handshake_timeout(Some(Duration::from_secs(10)))
        .close_timeout(Some(Duration::from_secs(10)))
}

/// Echoes every message until the connection ends; returns how it ended.
pub(crate) async fn echo<S>(mut ws: WebSocket<S>) -> Error
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match ws.recv().await {
            Ok(Incoming::Message(message)) => {
                if let Err(e) = ws.send(message).await {
                    if !matches!(e, Error::Send(_)) {
                        return e;
                    }
                }
            }
            Ok(_) => {}
            Err(e) => return e,
        }
    }
}

/// A TCP echo server for one connection, offering subprotocol "echo".
async fn echo_server() -> (String, JoinHandle<Error>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/echo", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let ws = ws::accept(stream, config(), |request| {
            assert_eq!(request.path(), "/echo");
            let chosen = request.pick_subprotocol(&["echo"]).map(str::to_owned);
            Ok(Accept {
                subprotocol: chosen,
                ..Accept::new()
            })
        })
        .await
        .unwrap();
        echo(ws).await
    });
    (url, handle)
}

async fn recv<S>(ws: &mut WebSocket<S>) -> Incoming
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    timeout(WAIT, ws.recv())
        .await
        .expect("recv timed out")
        .unwrap()
}

#[tokio::test]
async fn echo_and_clean_close() {
    let (url, server) = echo_server().await;
    let request = ClientRequest::from_url(&url).unwrap().subprotocol("echo");
    let mut client = ws::connect_with(request, config()).await.unwrap();
    assert_eq!(
        client.negotiated().unwrap().subprotocol.as_deref(),
        Some("echo")
    );
    client.send_text("hello").await.unwrap();
    client.send_binary(vec![1u8, 2, 3]).await.unwrap();
    let big = vec![7u8; 1 << 20];
    client.send_binary(big.clone()).await.unwrap();
    assert_eq!(
        recv(&mut client).await,
        Incoming::Message(Message::Text(
            wsproto::Text::from_utf8("hello".into()).unwrap()
        ))
    );
    assert_eq!(
        recv(&mut client).await,
        Incoming::Message(Message::Binary(vec![1u8, 2, 3].into()))
    );
    let Incoming::Message(Message::Binary(echoed)) = recv(&mut client).await else {
        panic!("no big echo")
    };
    assert_eq!(echoed, big);
    client.send_ping(b"p").await.unwrap();
    assert_eq!(recv(&mut client).await, Incoming::Pong("p".into()));
    timeout(WAIT, client.close(CloseCode::NORMAL, "done"))
        .await
        .unwrap()
        .unwrap();
    let end = timeout(WAIT, server).await.unwrap().unwrap();
    assert!(end.is_clean_close(), "{end}");
    // The end repeats.
    assert!(client.recv().await.unwrap_err().is_clean_close());
}

#[tokio::test]
async fn rejected_and_bad_requests() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let refused = ws::accept(stream, config(), |_| {
            Err(wsproto::Response::new(403).body("go away"))
        })
        .await;
        assert!(matches!(refused, Err(Error::Handshake(_))), "{refused:?}");
    });
    let url = format!("ws://{addr}/");
    match ws::connect(&url).await {
        Err(Error::Rejected(response)) => {
            assert_eq!(response.status, 403);
            assert_eq!(&response.body[..], b"go away");
        }
        other => panic!("{other:?}"),
    }
    timeout(WAIT, server).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_send_while_receiving() {
    let (url, server) = echo_server().await;
    let client = ws::connect(&url).await.unwrap();
    let (mut reader, writer) = client.split();
    const N: usize = 500;
    // Two writer tasks, each sending its own numbered messages, while this
    // task receives the echoes.
    let mut senders = Vec::new();
    for lane in 0..2 {
        let writer = writer.clone();
        senders.push(tokio::spawn(async move {
            for i in 0..N {
                writer.send_text(&format!("{lane}:{i}")).await.unwrap();
            }
        }));
    }
    let mut next = [0usize; 2];
    while next != [N, N] {
        let Incoming::Message(Message::Text(text)) =
            timeout(WAIT, reader.recv()).await.unwrap().unwrap()
        else {
            panic!("not text")
        };
        let (lane, i) = text.split_once(':').unwrap();
        let lane: usize = lane.parse().unwrap();
        assert_eq!(
            i.parse::<usize>().unwrap(),
            next[lane],
            "lane {lane} out of order"
        );
        next[lane] += 1;
    }
    for sender in senders {
        sender.await.unwrap();
    }
    // The writer closes while the reader still lives: the reader gets the
    // peer's close frame and then the end.
    timeout(WAIT, writer.close(CloseCode::NORMAL, ""))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(reader.recv().await, Ok(Incoming::Close(_))));
    assert!(reader.recv().await.unwrap_err().is_clean_close());
    assert!(
        timeout(WAIT, server)
            .await
            .unwrap()
            .unwrap()
            .is_clean_close()
    );
}

/// The payload of numbered message `i`: its number, then bytes derived
/// from it, 1 byte to 48 KiB long so many messages span several reads.
fn numbered(i: u32) -> Vec<u8> {
    let len = 4 + (i as usize * 7919) % (48 << 10);
    let mut payload = i.to_be_bytes().to_vec();
    payload.extend((4..len).map(|k| (k as u32 ^ i) as u8));
    payload
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_recv_loses_nothing() {
    const N: u32 = 3000;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = ws::accept(stream, config(), |_| Ok(Accept::new()))
            .await
            .unwrap();
        for i in 0..N {
            ws.send_binary(numbered(i)).await.unwrap();
            if i % 256 == 0 {
                // Pause so the reader catches up and its recv has to wait:
                // under load it may otherwise never be pending, and nothing
                // would be cancelled.
                tokio::time::sleep(Duration::from_millis(2)).await;
            } else if i % 64 == 0 {
                // Let the reader see partial data now and then.
                tokio::task::yield_now().await;
            }
        }
        ws.close(CloseCode::NORMAL, "").await
    });
    let mut client = ws::connect(&url).await.unwrap();
    let (mut next, mut cancelled) = (0u32, 0u32);
    let deadline = Instant::now() + WAIT;
    while next < N {
        assert!(Instant::now() < deadline, "stalled at {next}");
        // Race recv against a yield (cancelled after one poll) or a very
        // short timer, alternately.
        let received = if next % 2 == 0 {
            tokio::select! {
                biased;
                r = client.recv() => Some(r),
                _ = tokio::task::yield_now() => None,
            }
        } else {
            timeout(Duration::from_micros(10), client.recv()).await.ok()
        };
        match received {
            None => cancelled += 1,
            Some(Ok(Incoming::Message(Message::Binary(payload)))) => {
                assert_eq!(
                    &payload[..],
                    &numbered(next)[..],
                    "message {next} corrupted"
                );
                next += 1;
            }
            Some(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(cancelled > 0, "no recv was ever cancelled");
    assert!(matches!(client.recv().await, Ok(Incoming::Close(_))));
    assert!(client.recv().await.unwrap_err().is_clean_close());
    timeout(WAIT, server).await.unwrap().unwrap().unwrap();
}

/// A client and a server over an in-memory pipe of `capacity` bytes.
pub(crate) async fn pipe(
    capacity: usize,
    client_config: Config,
    server_config: Config,
) -> (WebSocket<DuplexStream>, WebSocket<DuplexStream>) {
    let (a, b) = tokio::io::duplex(capacity);
    let server = tokio::spawn(ws::accept(b, server_config, |_| Ok(Accept::new())));
    let request = ClientRequest::new("localhost", "/");
    let client = ws::client(a, request, client_config).await.unwrap();
    (client, server.await.unwrap().unwrap())
}

#[tokio::test(start_paused = true)]
async fn send_waits_at_the_high_water_mark() {
    const LIMIT: usize = 256 << 10;
    const MESSAGE: usize = 16 << 10;
    const PIPE: usize = 64 << 10;
    // The server accepts and then never reads again.
    let (mut client, _server) = pipe(PIPE, config(), config()).await;
    client.set_write_buffer_limit(LIMIT);
    let mut sent = 0usize;
    let blocked = loop {
        assert!(sent < 64 << 20, "send never blocked");
        match timeout(
            Duration::from_secs(1),
            client.send_binary(vec![0u8; MESSAGE]),
        )
        .await
        {
            Ok(result) => {
                result.unwrap();
                sent += MESSAGE;
                assert!(client.buffered_amount() <= LIMIT);
            }
            Err(_) => break true,
        }
    };
    assert!(blocked);
    // What was accepted is bounded by the pipe, the mark and one message.
    let frame = MESSAGE + 14;
    assert!(sent <= PIPE + LIMIT + frame, "sent {sent} bytes");
    assert!(client.buffered_amount() <= LIMIT + 2 * frame);
    // The timed-out send was either queued whole or not at all; either way
    // more sends keep blocking instead of growing the queue.
    let before = client.buffered_amount();
    for _ in 0..10 {
        let r = timeout(
            Duration::from_millis(100),
            client.send_binary(vec![0u8; MESSAGE]),
        )
        .await;
        assert!(r.is_err());
    }
    assert!(client.buffered_amount() <= before + frame);
}

#[path = "async_adapters/futures_io.rs"]
mod futures_io;
#[path = "async_adapters/load.rs"]
mod load;
#[path = "async_adapters/timers.rs"]
mod timers;
#[path = "async_adapters/tls.rs"]
mod tls;
