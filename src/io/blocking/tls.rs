//! `wss://` for the blocking adapter (feature `rustls`): rustls's own
//! blocking stream over a `TcpStream`, with the configuration from
//! [`io::tls`](crate::io::tls). No async runtime is involved.
//!
//! ```no_run
//! use wsproto::io::blocking::tls;
//! use wsproto::io::tls::Connector;
//! use wsproto::{ClientRequest, Config};
//!
//! // Public CAs only:
//! let mut ws = tls::connect("wss://example.com/chat")?;
//! # drop(ws);
//! // Plus a CA of our own, e.g. `tls_echo_server --write-cert ca.pem`:
//! let connector = Connector::new()?.add_roots_pem(&std::fs::read("ca.pem")?)?;
//! let request = ClientRequest::from_url("wss://127.0.0.1:9443/")?;
//! let mut ws = tls::connect_with(request, Config::default(), &connector)?;
//! # Ok::<(), wsproto::io::Error>(())
//! ```
//!
//! A server wraps each accepted `TcpStream` in a
//! `rustls::StreamOwned<ServerConnection, TcpStream>` and passes it to
//! [`accept`](super::accept): [`Transport`] is implemented for rustls
//! streams over any transport, so deadlines and half-close still work.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use rustls::{ClientConnection, ConnectionCommon, SideData, StreamOwned};

use super::{Transport, WebSocket, client, open_tcp};
use crate::io::Error;
use crate::io::tls::Connector;
use crate::{ClientRequest, Config};

/// A TLS client stream over TCP.
pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// What [`connect`] returns a WebSocket over: plain TCP for `ws://`, TLS
/// for `wss://`.
#[derive(Debug)]
pub enum MaybeTlsStream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    Tls(Box<TlsStream>),
}

/// Connects to a `ws://` or `wss://` URL with the default config and the
/// Mozilla root store.
pub fn connect(url: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
    let request = ClientRequest::from_url(url)?;
    connect_with(request, Config::default(), &Connector::new()?)
}

/// Connects with a prepared request and config; `wss://` uses
/// `connector`. The TCP connect and the TLS handshake are each bounded by
/// the handshake timeout.
pub fn connect_with(
    request: ClientRequest,
    config: Config,
    connector: &Connector,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    let tcp = open_tcp(&request, &config)?;
    let stream = if request.is_secure() {
        let tls = wrap(
            connector,
            request.host(),
            tcp,
            config.get_handshake_timeout(),
        )?;
        MaybeTlsStream::Tls(Box::new(tls))
    } else {
        MaybeTlsStream::Plain(tcp)
    };
    client(stream, request, config)
}

/// Runs the TLS handshake for `host` over a connected stream, each read
/// and write bounded by `timeout`, so a silent server cannot hold the
/// caller past it.
pub fn wrap(
    connector: &Connector,
    host: &str,
    mut tcp: TcpStream,
    timeout: Option<Duration>,
) -> io::Result<TlsStream> {
    let name = Connector::server_name(host)?;
    let mut conn = ClientConnection::new(connector.config().clone(), name)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let previous = (tcp.read_timeout()?, tcp.write_timeout()?);
    tcp.set_read_timeout(timeout)?;
    tcp.set_write_timeout(timeout)?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock => {
                io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
            }
            _ => e,
        })?;
    }
    tcp.set_read_timeout(previous.0)?;
    tcp.set_write_timeout(previous.1)?;
    Ok(StreamOwned::new(conn, tcp))
}

/// Deadlines reach the socket under the TLS layer; a half-close sends
/// TLS `close_notify` before the TCP FIN.
impl<C, S, D> Transport for StreamOwned<C, S>
where
    C: Deref<Target = ConnectionCommon<D>> + DerefMut,
    S: Read + Write + Transport,
    D: SideData,
{
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        self.sock.set_read_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.sock)?;
        }
        self.sock.shutdown_write()
    }
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.read(buf),
            MaybeTlsStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.write(buf),
            MaybeTlsStream::Tls(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.write_vectored(bufs),
            MaybeTlsStream::Tls(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => s.flush(),
            MaybeTlsStream::Tls(s) => s.flush(),
        }
    }
}

impl Transport for MaybeTlsStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        match self {
            MaybeTlsStream::Plain(s) => Transport::set_read_timeout(s, timeout),
            MaybeTlsStream::Tls(s) => s.set_read_timeout(timeout),
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => s.shutdown_write(),
            MaybeTlsStream::Tls(s) => s.shutdown_write(),
        }
    }
}
