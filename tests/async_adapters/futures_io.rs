//! The futures-io adapter on async-io's reactor and timer.

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

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
            let mut ws = ws::accept(HalfClose(stream), config(), AsyncIoTimer, |_| {
                Ok(Accept::new())
            })
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
        let stream = HalfClose(Async::<TcpStream>::connect(addr).await.unwrap());
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
        let start = Instant::now();
        client.close(CloseCode::NORMAL, "").await.unwrap();
        // Both sides half-close, so nobody waits for a linger or deadline.
        assert!(start.elapsed() < Duration::from_secs(1));
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

/// `Async<TcpStream>` whose `poll_close` sends a FIN (async-io's own only
/// flushes).
struct HalfClose(Async<TcpStream>);

impl futures_io::AsyncRead for HalfClose {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl futures_io::AsyncWrite for HalfClose {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.get_ref().shutdown(Shutdown::Write))
    }
}
