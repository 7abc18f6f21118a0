//! The futures-io adapter on async-io's reactor and timer.

use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use async_io::Async;
use wsproto::io::futures::{self as ws, AsyncIoTimer, Incoming};
use wsproto::{Accept, ClientRequest, CloseCode, Message};

use super::config;

#[test]
fn futures_io_echo() {
    let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
    let addr = listener.get_ref().local_addr().unwrap();
    let server = thread::spawn(move || {
        async_io::block_on(async {
            let (stream, _) = listener.accept().await.unwrap();
            let mut ws = ws::accept(stream, config(), AsyncIoTimer, |_| Ok(Accept::new()))
                .await
                .unwrap();
            loop {
                match ws.recv().await {
                    Ok(Incoming::Message(message)) => ws.send(message).await.unwrap(),
                    Ok(_) => {}
                    Err(end) => return end,
                }
            }
        })
    });
    async_io::block_on(async {
        let stream = Async::<TcpStream>::connect(addr).await.unwrap();
        let request = ClientRequest::from_url(&format!("ws://{addr}/")).unwrap();
        let mut client = ws::client(stream, request, config(), AsyncIoTimer)
            .await
            .unwrap();
        for i in 0..100u32 {
            client.send_binary(i.to_be_bytes().to_vec()).await.unwrap();
            let received = async_io::Timer::after(Duration::from_secs(20));
            let got = futures_lite_race(client.recv(), received).await;
            assert_eq!(
                got.unwrap().unwrap(),
                Incoming::Message(Message::Binary(i.to_be_bytes().to_vec().into()))
            );
        }
        client.close(CloseCode::NORMAL, "").await.unwrap();
    });
    assert!(server.join().unwrap().is_clean_close());
}

/// The first of `work` and `deadline`; `None` if the deadline came first.
async fn futures_lite_race<F: std::future::Future>(
    work: F,
    deadline: async_io::Timer,
) -> Option<F::Output> {
    let mut work = std::pin::pin!(work);
    let mut deadline = std::pin::pin!(deadline);
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(v) = work.as_mut().poll(cx) {
            return std::task::Poll::Ready(Some(v));
        }
        if deadline.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(None);
        }
        std::task::Poll::Pending
    })
    .await
}
