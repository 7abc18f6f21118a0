//! Many connections at once against one in-process tokio echo server.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Barrier;
use tokio::time::timeout;
use wsproto::io::tokio::{self as ws, Incoming};
use wsproto::{Accept, CloseCode, Message};

use super::{config, echo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_connections() {
    const CONNECTIONS: usize = 1000;
    const MESSAGES: usize = 3;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let mut ends = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let (stream, _) = listener.accept().await.unwrap();
            ends.push(tokio::spawn(async move {
                let ws = ws::accept(stream, config(), |_| Ok(Accept::new())).await?;
                Ok::<_, wsproto::io::Error>(echo(ws).await)
            }));
        }
        let mut clean = 0;
        for end in ends {
            if end.await.unwrap().unwrap().is_clean_close() {
                clean += 1;
            }
        }
        clean
    });
    // Every client stays open until all of them have exchanged their
    // messages, so all connections are open at once.
    let all_open = Arc::new(Barrier::new(CONNECTIONS));
    // Connects are spread out a little so the listen backlog never drops a
    // SYN (a dropped SYN costs a one-second retransmit).
    let connecting = Arc::new(tokio::sync::Semaphore::new(128));
    let mut clients = Vec::with_capacity(CONNECTIONS);
    for n in 0..CONNECTIONS {
        let (url, all_open, connecting) = (url.clone(), all_open.clone(), connecting.clone());
        clients.push(tokio::spawn(async move {
            let permit = connecting.acquire().await.unwrap();
            let mut ws = ws::connect(&url).await.unwrap();
            drop(permit);
            for i in 0..MESSAGES {
                let text = format!("{n}/{i}");
                ws.send_text(&text).await.unwrap();
                let Incoming::Message(Message::Text(echoed)) = ws.recv().await.unwrap() else {
                    panic!("no echo")
                };
                assert_eq!(echoed, text.as_str());
            }
            all_open.wait().await;
            ws.close(CloseCode::NORMAL, "").await.unwrap();
        }));
    }
    let run = async {
        for client in clients {
            client.await.unwrap();
        }
        server.await.unwrap()
    };
    let clean = timeout(Duration::from_secs(120), run)
        .await
        .expect("took too long");
    assert_eq!(clean, CONNECTIONS);
}
