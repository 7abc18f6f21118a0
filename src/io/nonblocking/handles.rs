//! The handles: [`WebSocket`], and the [`Reader`] and [`Writer`] it
//! splits into; the opening handshakes that produce them.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use super::shared::Shared;
use super::{Incoming, Transport};
use crate::io::Error;
use crate::{
    Accept, ClientRequest, CloseCode, Config, Connection, Event, Message, Negotiated, Request,
    Response, Role, State,
};

/// A WebSocket over an async [`Transport`]. See the
/// [module docs](super) for how it drives the stream, and the runtime
/// modules ([`tokio`](crate::io::tokio), [`futures`](crate::io::futures))
/// for how to get one.
///
/// `recv` is cancel-safe. To send from one task while another receives,
/// [`split`](Self::split) it.
pub struct WebSocket<T> {
    shared: Arc<Shared<T>>,
}

impl<T> std::fmt::Debug for WebSocket<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket").finish_non_exhaustive()
    }
}

impl<T: Transport> WebSocket<T> {
    fn new(io: T, conn: Connection) -> Self {
        WebSocket {
            shared: Shared::new(io, conn),
        }
    }

    /// A WebSocket on a transport whose opening handshake was done
    /// elsewhere (see [`Connection::from_upgraded`]). Bytes the HTTP stack
    /// read past the head can be fed first with
    /// [`with_connection`](Self::with_connection) and `handle_data`.
    pub fn from_upgraded(io: T, role: Role, negotiated: Negotiated, config: Config) -> Self {
        let now = io.now();
        WebSocket::new(io, Connection::from_upgraded(role, negotiated, config, now))
    }

    /// Waits for the next message, ping, pong or close frame.
    ///
    /// `Err` means the connection is over: [`Error::Closed`] says how it
    /// ended, clean or not, and repeats on every later call.
    ///
    /// **Cancel-safe**: if the future is dropped before it completes, no
    /// event is lost; the next `recv` returns it.
    pub async fn recv(&mut self) -> Result<Incoming, Error> {
        poll_fn(|cx| self.shared.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv) as a poll function, e.g. for a `Stream`
    /// implementation.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Incoming, Error>> {
        self.shared.poll_recv(cx)
    }

    /// Sends a message; waits while more than the write buffer limit is
    /// unwritten (see [`set_write_buffer_limit`](Self::set_write_buffer_limit)).
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        self.shared.send(|conn, _| conn.send(message)).await
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.shared.send(|conn, _| conn.send_text(text)).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.shared.send(|conn, _| conn.send_binary(data)).await
    }

    /// Sends a ping (at most 125 bytes); its pong comes through `recv`.
    pub async fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.shared.send(|conn, _| conn.send_ping(payload)).await
    }

    /// Sends an unsolicited pong (at most 125 bytes).
    pub async fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.shared.send(|conn, _| conn.send_pong(payload)).await
    }

    /// Waits until every queued byte is written.
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.shared.flush().await
    }

    /// Closes with `code` and `reason` (at most 123 bytes) and waits for
    /// the closing handshake to finish, up to the config's close timeout.
    /// Messages that arrive meanwhile are dropped; to read them, call
    /// [`start_close`](Self::start_close) and keep calling `recv`.
    ///
    /// `Ok` after a clean closing handshake (also when the peer had
    /// started it); otherwise the error says what happened.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.shared.close(code, reason, false).await
    }

    /// Queues a close frame without waiting; `recv` keeps delivering what
    /// the peer sent before it saw the close, then the end.
    pub fn start_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.shared.start_close(code, reason)
    }

    /// Splits into a [`Reader`] and a cloneable [`Writer`], to receive in
    /// one task and send from others.
    pub fn split(self) -> (Reader<T>, Writer<T>) {
        self.shared.run(None, |inner| inner.reader_alive = true);
        let writer = Writer {
            shared: self.shared.clone(),
        };
        (
            Reader {
                shared: self.shared,
            },
            writer,
        )
    }

    /// Sets the high-water mark: `send` waits while more than `bytes` are
    /// queued and unwritten. The default, 0, makes `send` wait until the
    /// transport has taken the whole message.
    pub fn set_write_buffer_limit(&mut self, bytes: usize) {
        self.shared.run(None, |inner| inner.write_limit = bytes);
    }

    /// Bytes queued and not yet taken by the transport.
    pub fn buffered_amount(&self) -> usize {
        self.shared.run(None, |inner| inner.unwritten())
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.shared.run(None, |inner| inner.conn.state())
    }

    /// What the handshake negotiated (subprotocol, extensions, the
    /// peer's headers).
    pub fn negotiated(&self) -> Option<Negotiated> {
        self.shared
            .run(None, |inner| inner.conn.negotiated().cloned())
    }

    /// Runs `f` on the transport (e.g. to get the socket's peer address:
    /// `ws.with_transport(|t| t.get_ref().peer_addr())`), under the lock.
    pub fn with_transport<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.shared.run(None, |inner| f(&inner.io))
    }

    /// Runs `f` on the engine underneath (statistics, config …), under
    /// the lock: keep it short.
    pub fn with_connection<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        self.shared.run(None, |inner| {
            inner.changed = true;
            f(&mut inner.conn)
        })
    }
}

/// The receiving half of a split [`WebSocket`]. Dropping it lets a
/// [`Writer::close`] discard what arrives instead of keeping it.
pub struct Reader<T: Transport> {
    shared: Arc<Shared<T>>,
}

impl<T: Transport> std::fmt::Debug for Reader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").finish_non_exhaustive()
    }
}

impl<T: Transport> Reader<T> {
    /// Waits for the next message, ping, pong or close frame; see
    /// [`WebSocket::recv`]. **Cancel-safe.** It also writes what the
    /// writers queued, fires keepalive and close deadlines, and answers
    /// pings, so keep a `recv` running for as long as the connection
    /// lives.
    pub async fn recv(&mut self) -> Result<Incoming, Error> {
        poll_fn(|cx| self.shared.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv) as a poll function.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Incoming, Error>> {
        self.shared.poll_recv(cx)
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.shared.run(None, |inner| inner.conn.state())
    }
}

impl<T: Transport> Drop for Reader<T> {
    fn drop(&mut self) {
        self.shared.run(None, |inner| {
            inner.reader_alive = false;
            inner.drop_stash();
            inner.changed = true;
        });
    }
}

/// The sending half of a split [`WebSocket`]; clone it for every task
/// that sends. Messages from different writers never interleave on the
/// wire: each is queued whole.
pub struct Writer<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Writer<T> {
    fn clone(&self) -> Self {
        Writer {
            shared: self.shared.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Writer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl<T: Transport> Writer<T> {
    /// Sends a message; see [`WebSocket::send`]. If the future is dropped
    /// while it waits, the message was either queued whole (and will be
    /// sent) or not at all.
    pub async fn send(&self, message: Message) -> Result<(), Error> {
        self.shared.send(|conn, _| conn.send(message)).await
    }

    /// Sends a text message.
    pub async fn send_text(&self, text: &str) -> Result<(), Error> {
        self.shared.send(|conn, _| conn.send_text(text)).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.shared.send(|conn, _| conn.send_binary(data)).await
    }

    /// Sends a ping (at most 125 bytes); its pong comes to the reader.
    pub async fn send_ping(&self, payload: &[u8]) -> Result<(), Error> {
        self.shared.send(|conn, _| conn.send_ping(payload)).await
    }

    /// Waits until every queued byte is written.
    pub async fn flush(&self) -> Result<(), Error> {
        self.shared.flush().await
    }

    /// Closes and waits for the closing handshake to finish (or the close
    /// deadline), also when the reader is not being polled. While the
    /// [`Reader`] lives, what arrives meanwhile is kept for it (up to
    /// 1 MiB; past that the close waits for the reader or the deadline);
    /// once it is dropped, it is discarded.
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.shared.close(code, reason, true).await
    }

    /// Queues a close frame without waiting; the reader sees the rest.
    pub fn start_close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.shared.start_close(code, reason)
    }

    /// Sets the high-water mark; see [`WebSocket::set_write_buffer_limit`].
    pub fn set_write_buffer_limit(&self, bytes: usize) {
        self.shared.run(None, |inner| inner.write_limit = bytes);
    }

    /// Bytes queued and not yet taken by the transport.
    pub fn buffered_amount(&self) -> usize {
        self.shared.run(None, |inner| inner.unwritten())
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.shared.run(None, |inner| inner.conn.state())
    }
}

/// Client: runs the opening handshake for `request` over a connected
/// transport.
pub(crate) async fn client<T: Transport>(
    io: T,
    request: ClientRequest,
    config: Config,
) -> Result<WebSocket<T>, Error> {
    let now = io.now();
    let ws = WebSocket::new(io, Connection::client(request, config, now)?);
    loop {
        match poll_fn(|cx| ws.shared.poll_event(cx)).await? {
            Event::Connected(_) => return Ok(ws),
            Event::Rejected(response) => return Err(Error::Rejected(response)),
            _ => {}
        }
    }
}

/// Server: reads the upgrade request and lets `decide` answer it.
pub(crate) async fn accept<T, F>(io: T, config: Config, decide: F) -> Result<WebSocket<T>, Error>
where
    T: Transport,
    F: FnOnce(&Request) -> Result<Accept, Response>,
{
    let now = io.now();
    let ws = WebSocket::new(io, Connection::server(config, now));
    let mut decide = Some(decide);
    loop {
        match poll_fn(|cx| ws.shared.poll_event(cx)).await? {
            Event::Request(request) => {
                let decision = match decide.take() {
                    Some(decide) => decide(&request),
                    None => Err(Response::new(500)),
                };
                let answered = ws.shared.command(|conn, now| match decision {
                    Ok(accept) => conn.accept(now, accept),
                    Err(response) => conn.reject(response),
                });
                if let Err(Error::Send(e)) = answered {
                    // An answer the engine cannot send becomes a 500.
                    ws.shared
                        .command(|conn, _| conn.reject(Response::new(500)))
                        .ok();
                    while poll_fn(|cx| ws.shared.poll_event(cx)).await.is_ok() {}
                    return Err(Error::Send(e));
                }
                answered?;
            }
            Event::Connected(_) => return Ok(ws),
            _ => {}
        }
    }
}
