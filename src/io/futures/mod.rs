//! The futures-io adapter (feature `futures-io`): a [`WebSocket`] over any
//! `futures_io::AsyncRead + AsyncWrite + Unpin` stream, for async-std,
//! smol and other runtimes built on the `futures` traits.
//!
//! Those traits have no timer, so the application supplies one as a
//! [`Timer`]; [`AsyncIoTimer`] (feature `async-io`) is ready for smol and
//! async-std, which both run on `async-io`. Everything else — how `recv`
//! stays cancel-safe, backpressure, closing — is as described in
//! [`nonblocking`].
//!
//! The adapter ends a connection with `poll_close`, which should close the
//! write side (a TCP FIN) so the peer sees the end: async-std's and
//! async-net's (smol's) `TcpStream` do, but `async_io::Async<TcpStream>`
//! only flushes — wrap it so `poll_close` calls
//! `get_ref().shutdown(Shutdown::Write)`, or the peer notices the end only
//! when the stream is dropped.
//!
//! ```no_run
//! # #[cfg(feature = "async-io")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use async_io::Async;
//! use std::net::TcpStream;
//! use wsproto::io::futures::{self as ws, AsyncIoTimer, Incoming};
//! use wsproto::{ClientRequest, CloseCode, Config};
//!
//! async_io::block_on(async {
//!     let stream = Async::<TcpStream>::connect(([127, 0, 0, 1], 9001)).await?;
//!     let request = ClientRequest::from_url("ws://127.0.0.1:9001/")?;
//!     let mut ws = ws::client(stream, request, Config::default(), AsyncIoTimer).await?;
//!     ws.send_text("hello").await?;
//!     if let Incoming::Message(message) = ws.recv().await? {
//!         println!("{message:?}");
//!     }
//!     ws.close(CloseCode::NORMAL, "").await?;
//!     Ok(())
//! })
//! # }
//! # #[cfg(not(feature = "async-io"))]
//! # fn main() {}
//! ```

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};

pub use super::Error;
pub use super::nonblocking::Incoming;
use super::nonblocking::{self, Transport};
use crate::{Accept, ClientRequest, Config, Request, Response};

/// A WebSocket over the futures-io stream `S`.
pub type WebSocket<S> = nonblocking::WebSocket<FuturesTransport<S>>;
/// The receiving half of a split [`WebSocket`].
pub type Reader<S> = nonblocking::Reader<FuturesTransport<S>>;
/// A sending half of a split [`WebSocket`] (cloneable).
pub type Writer<S> = nonblocking::Writer<FuturesTransport<S>>;

/// A future that completes at a deadline, as a [`Timer`] makes it.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The runtime's timer: the adapter sleeps on it until the connection's
/// next deadline (keepalive, close timeout, handshake timeout).
pub trait Timer: Send + Sync {
    /// A future that completes at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> Sleep;

    /// The current time on the timer's clock.
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// [`Timer`] on `async_io::Timer`: the timer of smol and async-std.
#[cfg(feature = "async-io")]
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncIoTimer;

#[cfg(feature = "async-io")]
impl Timer for AsyncIoTimer {
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(async move {
            async_io::Timer::at(deadline).await;
        })
    }
}

/// A futures-io stream with a [`Timer`]: the transport of this adapter.
/// Build one with [`FuturesTransport::new`] for
/// [`WebSocket::from_upgraded`](nonblocking::WebSocket::from_upgraded).
pub struct FuturesTransport<S> {
    stream: S,
    timer: Arc<dyn Timer>,
    /// The armed sleep; `None` when no deadline is armed.
    sleep: Option<Sleep>,
}

impl<S> std::fmt::Debug for FuturesTransport<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FuturesTransport").finish_non_exhaustive()
    }
}

impl<S> FuturesTransport<S> {
    /// Wraps a stream and the timer to sleep on.
    pub fn new(stream: S, timer: impl Timer + 'static) -> Self {
        FuturesTransport {
            stream,
            timer: Arc::new(timer),
            sleep: None,
        }
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, giving up the transport.
    pub fn into_inner(self) -> S {
        self.stream
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Transport for FuturesTransport<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_close(cx)
    }

    fn now(&self) -> Instant {
        self.timer.now()
    }

    fn arm_timer(&mut self, deadline: Instant) {
        self.sleep = Some(self.timer.sleep_until(deadline));
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }

    fn disarm_timer(&mut self) {
        self.sleep = None;
    }
}

/// Client: runs the opening handshake for `request` over a connected
/// stream, with deadlines on `timer`. Errors as in
/// [`blocking::client`](crate::io::blocking::client).
pub async fn client<S>(
    stream: S,
    request: ClientRequest,
    config: Config,
    timer: impl Timer + 'static,
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    nonblocking::client(FuturesTransport::new(stream, timer), request, config).await
}

/// Server: reads the upgrade request and lets `decide` answer it, with
/// deadlines on `timer`. Same contract as
/// [`blocking::accept`](crate::io::blocking::accept).
pub async fn accept<S, F>(
    stream: S,
    config: Config,
    timer: impl Timer + 'static,
    decide: F,
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<Accept, Response>,
{
    nonblocking::accept(FuturesTransport::new(stream, timer), config, decide).await
}
