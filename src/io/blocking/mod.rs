//! A blocking adapter: one [`WebSocket`] per stream, driven from the
//! calling thread, no dependency beyond `std`.
//!
//! ```no_run
//! use wsproto::io::blocking::{self, Incoming};
//! use wsproto::{CloseCode, Message};
//!
//! let mut ws = blocking::connect("ws://127.0.0.1:9001/chat")?;
//! ws.send_text("hello")?;
//! if let Incoming::Message(Message::Text(text)) = ws.recv()? {
//!     println!("{text}");
//! }
//! ws.close(CloseCode::NORMAL, "bye")?;
//! # Ok::<(), wsproto::io::Error>(())
//! ```
//!
//! A server accepts each stream with a hook that inspects the request:
//!
//! ```no_run
//! use std::net::TcpListener;
//! use wsproto::io::blocking::{self, Incoming};
//! use wsproto::{Accept, Config, Response};
//!
//! let listener = TcpListener::bind("127.0.0.1:9001")?;
//! for stream in listener.incoming() {
//!     let ws = blocking::accept(stream?, Config::default(), |request| {
//!         if request.path() != "/chat" {
//!             return Err(Response::new(404));
//!         }
//!         let chosen = request.pick_subprotocol(&["chat"]).map(str::to_owned);
//!         Ok(Accept { subprotocol: chosen, ..Accept::new() })
//!     });
//!     let Ok(mut ws) = ws else { continue };
//!     std::thread::spawn(move || {
//!         while let Ok(incoming) = ws.recv() {
//!             if let Incoming::Message(message) = incoming {
//!                 let _ = ws.send(message);
//!             }
//!         }
//!     });
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "rustls")]
pub mod tls;
mod transport;
mod websocket;

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

pub use super::Error;
pub use transport::{NoTimeouts, Transport};
pub use websocket::{Incoming, WebSocket};

use crate::{Accept, ClientRequest, Config, Connection, Event, Request, Response};

/// Connects to a `ws://` URL with the default config: opens the TCP
/// connection and completes the opening handshake.
pub fn connect(url: &str) -> Result<WebSocket<TcpStream>, Error> {
    connect_with(ClientRequest::from_url(url)?, Config::default())
}

/// Connects with a prepared request (subprotocols, headers, origin) and
/// config. The TCP connect is bounded by the handshake timeout. `wss://`
/// needs a TLS stream: `tls::connect_with` (feature `rustls`), or open
/// one yourself and use [`client`].
pub fn connect_with(request: ClientRequest, config: Config) -> Result<WebSocket<TcpStream>, Error> {
    if request.is_secure() {
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::Unsupported,
            "wss:// needs TLS: use wsproto::io::blocking::tls (feature `rustls`) or open a TLS stream and use wsproto::io::blocking::client",
        )));
    }
    let stream = open_tcp(&request, &config)?;
    client(stream, request, config)
}

pub(crate) fn open_tcp(request: &ClientRequest, config: &Config) -> io::Result<TcpStream> {
    let mut last_error = None;
    for addr in (request.host(), request.port_or_default()).to_socket_addrs()? {
        let connected = match config.get_handshake_timeout() {
            Some(timeout) => TcpStream::connect_timeout(&addr, timeout),
            None => TcpStream::connect(addr),
        };
        match connected {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the host has no address")))
}

/// Client: runs the opening handshake for `request` over a stream that is
/// already connected (plain TCP, TLS, a Unix socket …).
///
/// A non-101 answer is [`Error::Rejected`] with the response; anything
/// else that goes wrong before the connection opens is
/// [`Error::Handshake`] (or [`Error::Io`]).
pub fn client<S: Read + Write + Transport>(
    stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<WebSocket<S>, Error> {
    let conn = Connection::client(request, config, Instant::now())?;
    let mut ws = WebSocket::new(stream, conn);
    loop {
        match ws.next_event(None)? {
            Some(Event::Connected(_)) => return Ok(ws),
            Some(Event::Rejected(response)) => return Err(Error::Rejected(response)),
            Some(Event::Closed(closed)) => return Err(Error::from_handshake(closed)),
            _ => {}
        }
    }
}

/// Server: reads the upgrade request from `stream` and lets `decide`
/// answer it — `Ok(Accept)` to open (with a subprotocol the client offered
/// and extra headers) or `Err(Response)` to refuse with any status,
/// headers and body.
///
/// Bad requests are answered by the engine (400, 405, 426, 431, or 408
/// when the head does not arrive within the handshake timeout) without
/// calling `decide`; they and refusals come back as
/// [`Error::Handshake`]. An `Accept` the engine cannot send (a subprotocol
/// the client did not offer, an invalid header) is answered with 500 and
/// returned as [`Error::Send`].
pub fn accept<S, F>(stream: S, config: Config, decide: F) -> Result<WebSocket<S>, Error>
where
    S: Read + Write + Transport,
    F: FnOnce(&Request) -> Result<Accept, Response>,
{
    let mut ws = WebSocket::new(stream, Connection::server(config, Instant::now()));
    let mut decide = Some(decide);
    loop {
        match ws.next_event(None)? {
            Some(Event::Request(request)) => {
                let decision = match decide.take() {
                    Some(decide) => decide(&request),
                    None => Err(Response::new(500)),
                };
                ws.answer(decision)?;
            }
            Some(Event::Connected(_)) => return Ok(ws),
            Some(Event::Closed(closed)) => return Err(Error::from_handshake(closed)),
            _ => {}
        }
    }
}
