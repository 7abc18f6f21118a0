//! `wss://` for the tokio adapter (feature `tokio-rustls`), with the
//! configuration from [`io::tls`](crate::io::tls): rustls with the `ring`
//! provider, the Mozilla root store, and extra roots from PEM.
//!
//! ```no_run
//! use wsproto::io::tokio::tls::{self, Connector};
//! use wsproto::{ClientRequest, Config};
//!
//! # async fn run() -> Result<(), wsproto::io::Error> {
//! // Public CAs only:
//! let mut ws = tls::connect("wss://example.com/chat").await?;
//! # drop(ws);
//! // Plus a CA of our own, e.g. `tls_echo_server --write-cert ca.pem`:
//! let connector = Connector::new()?.add_roots_pem(&std::fs::read("ca.pem")?)?;
//! let request = ClientRequest::from_url("wss://127.0.0.1:9443/")?;
//! let mut ws = tls::connect_with(request, Config::default(), &connector).await?;
//! # Ok(()) }
//! ```

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::TcpStream;
pub use tokio_rustls;

pub use crate::io::tls::{Connector, certificates_from_pem, rustls, server_config};

use super::{WebSocket, client, open_tcp};
use crate::io::Error;
use crate::{ClientRequest, Config};

/// A TLS client stream over TCP.
pub type TlsStream = tokio_rustls::client::TlsStream<TcpStream>;

/// What [`connect`] returns a WebSocket over: plain TCP for `ws://`, TLS
/// for `wss://`.
#[derive(Debug)]
pub enum MaybeTlsStream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    Tls(Box<TlsStream>),
}

impl Connector {
    /// Runs the TLS handshake for `host` over a connected stream.
    pub async fn wrap(&self, host: &str, stream: TcpStream) -> io::Result<TlsStream> {
        let name = Connector::server_name(host)?;
        tokio_rustls::TlsConnector::from(self.config().clone())
            .connect(name, stream)
            .await
    }
}

/// Connects to a `ws://` or `wss://` URL with the default config and the
/// Mozilla root store.
pub async fn connect(url: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
    let request = ClientRequest::from_url(url)?;
    connect_with(request, Config::default(), &Connector::new()?).await
}

/// Connects with a prepared request and config; `wss://` uses
/// `connector`. The TCP connect and the TLS handshake are each bounded
/// by the handshake timeout.
pub async fn connect_with(
    request: ClientRequest,
    config: Config,
    connector: &Connector,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    let tcp = open_tcp(&request, &config).await?;
    let stream = if request.is_secure() {
        let handshake = connector.wrap(request.host(), tcp);
        let tls = match config.get_handshake_timeout() {
            Some(limit) => ::tokio::time::timeout(limit, handshake)
                .await
                .map_err(|_| {
                    io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
                })??,
            None => handshake.await?,
        };
        MaybeTlsStream::Tls(Box::new(tls))
    } else {
        MaybeTlsStream::Plain(tcp)
    };
    client(stream, request, config).await
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(s) => s.is_write_vectored(),
            MaybeTlsStream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
