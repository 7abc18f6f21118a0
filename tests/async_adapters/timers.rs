//! Deadlines on tokio's paused clock over in-memory pipes: keepalive
//! while idle in `recv`, the keepalive timeout, the close deadline, and a
//! writer's close while its reader is idle.

use std::time::Duration;

use tokio::time::{Instant, timeout};
use wsproto::io::Error;
use wsproto::io::tokio::Incoming;
use wsproto::{CloseCode, Initiator, Keepalive, Message, ProtocolError};

use super::{config, echo, pipe};

#[tokio::test(start_paused = true)]
async fn keepalive_pings_while_idle_in_recv() {
    let keepalive = config().keepalive(Some(Keepalive::new(Duration::from_secs(30))));
    let (mut client, server) = pipe(1 << 16, config(), keepalive).await;
    let (mut server_reader, _server_writer) = server.split();
    let server_task = tokio::spawn(async move {
        loop {
            match server_reader.recv().await {
                Ok(Incoming::Pong(_)) => {}
                other => return other,
            }
        }
    });
    // The client idles in recv; the server pings after 30 s of silence and
    // the client answers by itself.
    let start = Instant::now();
    let ping = timeout(Duration::from_secs(31), client.recv())
        .await
        .unwrap();
    assert_eq!(ping.unwrap(), Incoming::Ping(bytes::Bytes::new()));
    assert!(start.elapsed() >= Duration::from_secs(30));
    // The server gets its pongs and stays open as long as the client
    // answers: one ping per 30 s of silence, nothing else.
    let mut pings = 1;
    let until = start + Duration::from_secs(200);
    while let Ok(incoming) = tokio::time::timeout_at(until, client.recv()).await {
        assert_eq!(incoming.unwrap(), Incoming::Ping(bytes::Bytes::new()));
        pings += 1;
    }
    assert_eq!(pings, 6, "one ping every 30 s");
    assert!(!server_task.is_finished());
    server_task.abort();
}

#[tokio::test(start_paused = true)]
async fn keepalive_timeout_when_the_peer_is_silent() {
    let keepalive = config().keepalive(Some(Keepalive::new(Duration::from_secs(30))));
    // The client is never driven: it cannot answer the ping.
    let (_client, mut server) = pipe(1 << 16, config(), keepalive).await;
    let start = Instant::now();
    let end = timeout(Duration::from_secs(120), server.recv())
        .await
        .unwrap()
        .unwrap_err();
    let Error::Closed(closed) = end else {
        panic!("{end}")
    };
    assert_eq!(closed.code, CloseCode::from(1011));
    assert_eq!(
        closed.error,
        Some(wsproto::Error::Protocol(ProtocolError::KeepaliveTimeout))
    );
    assert!(start.elapsed() >= Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn close_completes_at_the_deadline_when_the_peer_never_answers() {
    let (mut client, _server) = pipe(1 << 16, config(), config()).await;
    let start = Instant::now();
    let end = timeout(
        Duration::from_secs(60),
        client.close(CloseCode::NORMAL, "bye"),
    )
    .await
    .unwrap()
    .unwrap_err();
    let Error::Closed(closed) = end else {
        panic!("{end}")
    };
    assert_eq!(closed.initiator, Initiator::Local);
    assert_eq!(
        closed.error,
        Some(wsproto::Error::Protocol(ProtocolError::CloseTimeout))
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(10) && took < Duration::from_secs(13),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn writer_close_completes_while_the_reader_is_idle() {
    let (client, mut server) = pipe(1 << 16, config(), config()).await;
    let (mut reader, writer) = client.split();
    // The server sends two messages, then answers the close.
    server.send_text("one").await.unwrap();
    server.send_text("two").await.unwrap();
    let server_task = tokio::spawn(async move { echo(server).await });
    // Nobody polls the reader while the writer closes.
    timeout(Duration::from_secs(5), writer.close(CloseCode::NORMAL, ""))
        .await
        .expect("close waited for the deadline")
        .unwrap();
    // Everything the server sent is still there for the reader, in order.
    for expected in ["one", "two"] {
        let Ok(Incoming::Message(Message::Text(text))) = reader.recv().await else {
            panic!("lost {expected}")
        };
        assert_eq!(text, expected);
    }
    assert!(matches!(reader.recv().await, Ok(Incoming::Close(_))));
    assert!(reader.recv().await.unwrap_err().is_clean_close());
    assert!(server_task.await.unwrap().is_clean_close());
}

#[tokio::test(start_paused = true)]
async fn handshake_timeout_answers_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut peer, b) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(wsproto::io::tokio::accept(b, config(), |_| {
        Ok(wsproto::Accept::new())
    }));
    // Half a request head, then silence.
    peer.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    let end = timeout(Duration::from_secs(60), server)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(end, Err(Error::Handshake(_))), "{end:?}");
    assert!(start.elapsed() >= Duration::from_secs(10));
    let mut answer = Vec::new();
    peer.read_to_end(&mut answer).await.unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
}
