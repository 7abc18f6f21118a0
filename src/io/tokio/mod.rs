//! The tokio adapter (feature `tokio`): a [`WebSocket`] over any
//! `tokio::io::AsyncRead + AsyncWrite + Unpin` stream — a `TcpStream`, a
//! tokio-rustls stream, a `tokio::io::duplex` pipe — with deadlines on
//! tokio's timer. `wss://` clients are in `tls` (feature `tokio-rustls`).
//!
//! How it works, why `recv` is cancel-safe, how `send` applies
//! backpressure and how `close` ends a connection is described in
//! [`nonblocking`], which this module and the
//! futures-io one share.
//!
//! ```no_run
//! use wsproto::io::tokio::{self as ws, Incoming};
//! use wsproto::{CloseCode, Message};
//!
//! # async fn run() -> Result<(), wsproto::io::Error> {
//! let mut ws = ws::connect("ws://127.0.0.1:9001/chat").await?;
//! ws.send_text("hello").await?;
//! if let Incoming::Message(Message::Text(text)) = ws.recv().await? {
//!     println!("{text}");
//! }
//! ws.close(CloseCode::NORMAL, "bye").await?;
//! # Ok(()) }
//! ```
//!
//! A server accepts each stream with the same hook as the blocking
//! adapter, and can split a connection to send from another task:
//!
//! ```no_run
//! use tokio::net::TcpListener;
//! use wsproto::io::tokio::{self as ws, Incoming};
//! use wsproto::{Accept, Config, Message};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let Ok(ws) = ws::accept(stream, Config::default(), |_| Ok(Accept::new())).await else {
//!             return;
//!         };
//!         let (mut reader, writer) = ws.split();
//!         let ticker = writer.clone();
//!         tokio::spawn(async move {
//!             while ticker.send_text("tick").await.is_ok() {
//!                 tokio::time::sleep(std::time::Duration::from_secs(1)).await;
//!             }
//!         });
//!         while let Ok(incoming) = reader.recv().await {
//!             if let Incoming::Message(message) = incoming {
//!                 let _ = writer.send(message).await;
//!             }
//!         }
//!     });
//! }
//! # }
//! ```

#[cfg(feature = "tokio-rustls")]
pub mod tls;

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::TcpStream;
use ::tokio::time::Sleep;

pub use super::Error;
pub use super::nonblocking::Incoming;
use super::nonblocking::{self, Transport};
use crate::{Accept, ClientRequest, Config, Request, Response};

/// A WebSocket over the tokio stream `S`.
pub type WebSocket<S> = nonblocking::WebSocket<TokioTransport<S>>;
/// The receiving half of a split [`WebSocket`].
pub type Reader<S> = nonblocking::Reader<TokioTransport<S>>;
/// A sending half of a split [`WebSocket`] (cloneable).
pub type Writer<S> = nonblocking::Writer<TokioTransport<S>>;

/// A tokio stream with a tokio timer: the [`Transport`] of this adapter.
/// Build one with [`TokioTransport::new`] for
/// [`WebSocket::from_upgraded`](nonblocking::WebSocket::from_upgraded).
///
/// Time is tokio's clock, so `tokio::time::pause` and
/// `#[tokio::test(start_paused = true)]` drive keepalive and close
/// deadlines in tests.
#[derive(Debug)]
pub struct TokioTransport<S> {
    stream: S,
    /// Allocated while a deadline is armed, freed when none is.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<S> TokioTransport<S> {
    /// Wraps a stream.
    pub fn new(stream: S) -> Self {
        TokioTransport {
            stream,
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

impl<S: AsyncRead + AsyncWrite + Unpin> Transport for TokioTransport<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        std::task::ready!(Pin::new(&mut self.stream).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
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
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn now(&self) -> Instant {
        ::tokio::time::Instant::now().into_std()
    }

    fn arm_timer(&mut self, deadline: Instant) {
        let deadline = ::tokio::time::Instant::from_std(deadline);
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().reset(deadline),
            None => self.sleep = Some(Box::pin(::tokio::time::sleep_until(deadline))),
        }
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

/// Connects to a `ws://` URL with the default config: opens the TCP
/// connection and completes the opening handshake. For `wss://`, see
/// `tls::connect` (feature `tokio-rustls`).
pub async fn connect(url: &str) -> Result<WebSocket<TcpStream>, Error> {
    connect_with(ClientRequest::from_url(url)?, Config::default()).await
}

/// Connects with a prepared request (subprotocols, headers, origin) and
/// config. The TCP connect is bounded by the handshake timeout.
pub async fn connect_with(
    request: ClientRequest,
    config: Config,
) -> Result<WebSocket<TcpStream>, Error> {
    if request.is_secure() {
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::Unsupported,
            "wss:// needs TLS: use wsproto::io::tokio::tls (feature `tokio-rustls`) or open a TLS \
             stream and use wsproto::io::tokio::client",
        )));
    }
    let stream = open_tcp(&request, &config).await?;
    client(stream, request, config).await
}

/// Opens the TCP connection for `request`, bounded by the handshake
/// timeout, with Nagle off.
pub(crate) async fn open_tcp(request: &ClientRequest, config: &Config) -> io::Result<TcpStream> {
    let connect = TcpStream::connect((request.host(), request.port_or_default()));
    let stream = match config.get_handshake_timeout() {
        Some(limit) => ::tokio::time::timeout(limit, connect)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TCP connect timed out"))??,
        None => connect.await?,
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Client: runs the opening handshake for `request` over a stream that is
/// already connected (plain TCP, TLS, a Unix socket …).
///
/// A non-101 answer is [`Error::Rejected`] with the response; anything
/// else that goes wrong before the connection opens is
/// [`Error::Handshake`] (or [`Error::Io`]).
pub async fn client<S>(
    stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    nonblocking::client(TokioTransport::new(stream), request, config).await
}

/// Server: reads the upgrade request from `stream` and lets `decide`
/// answer it — `Ok(Accept)` to open, `Err(Response)` to refuse with any
/// status, headers and body. Same contract as
/// [`blocking::accept`](crate::io::blocking::accept): bad requests are
/// answered by the engine (400, 405, 426, 431, or 408 after the handshake
/// timeout) and come back as [`Error::Handshake`], like refusals.
pub async fn accept<S, F>(stream: S, config: Config, decide: F) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<Accept, Response>,
{
    nonblocking::accept(TokioTransport::new(stream), config, decide).await
}
