//! The blocking adapter over real TCP sockets on 127.0.0.1 (ephemeral
//! ports). Every wait is bounded: handshake and close timeouts are short,
//! receives use `recv_timeout`, raw peers set socket timeouts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use wsproto::io::Error;
use wsproto::io::blocking::{self, Incoming, NoTimeouts, WebSocket};
use wsproto::{
    Accept, ClientRequest, CloseCode, Config, HandshakeError, Initiator, Keepalive, Message,
    Request, Response,
};

const WAIT: Duration = Duration::from_secs(5);

fn config() -> Config {
    Config::default()
        .handshake_timeout(Some(WAIT))
        .close_timeout(Some(WAIT))
}

fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

/// Accepts one connection with `decide` and echoes messages until the
/// connection ends; returns how it ended.
fn echo_server<F>(decide: F) -> (String, JoinHandle<Result<Error, Error>>)
where
    F: FnOnce(&Request) -> Result<Accept, Response> + Send + 'static,
{
    let (listener, addr) = listener();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = blocking::accept(stream, config(), decide)?;
        loop {
            match ws.recv_timeout(WAIT) {
                Ok(Some(Incoming::Message(message))) => ws.send(message)?,
                Ok(Some(_)) => {}
                Ok(None) => panic!("server: nothing received in time"),
                Err(end) => return Ok(end),
            }
        }
    });
    (addr, handle)
}

fn recv(ws: &mut WebSocket<TcpStream>) -> Incoming {
    ws.recv_timeout(WAIT)
        .unwrap()
        .expect("nothing received in time")
}

fn text(incoming: Incoming) -> String {
    match incoming {
        Incoming::Message(Message::Text(text)) => text.to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

#[test]
fn echo_round_trip() {
    let (addr, server) = echo_server(|_| Ok(Accept::new()));
    let mut ws = blocking::connect(&format!("ws://{addr}/echo")).unwrap();
    ws.send_text("hello").unwrap();
    assert_eq!(text(recv(&mut ws)), "hello");
    ws.send_binary(vec![0u8, 1, 2, 255]).unwrap();
    assert_eq!(
        recv(&mut ws),
        Incoming::Message(Message::Binary(vec![0u8, 1, 2, 255].into()))
    );
    // Large enough to be queued by reference and written vectored.
    let big = "x".repeat(300_000);
    ws.send(Message::Text(big.as_str().into())).unwrap();
    assert_eq!(text(recv(&mut ws)), big);
    ws.send_ping(b"are you there").unwrap();
    assert_eq!(recv(&mut ws), Incoming::Pong("are you there".into()));
    ws.close(CloseCode::NORMAL, "done").unwrap();

    let end = server.join().unwrap().unwrap();
    assert!(end.is_clean_close(), "{end}");
    assert_eq!(end.close_code(), Some(CloseCode::NORMAL));
}

#[test]
fn subprotocol_selection_and_accept_headers() {
    let (addr, server) = echo_server(|request| {
        assert_eq!(request.path(), "/chat");
        assert_eq!(request.query(), Some("room=1"));
        assert_eq!(request.origin(), Some("http://example.test"));
        let chosen = request
            .pick_subprotocol(&["chat", "superchat"])
            .map(str::to_owned);
        Ok(Accept {
            subprotocol: chosen,
            ..Accept::new()
        }
        .header("Server", "adapter-test"))
    });
    let request = ClientRequest::from_url(&format!("ws://{addr}/chat?room=1"))
        .unwrap()
        .subprotocol("v2.other")
        .subprotocol("chat")
        .origin("http://example.test");
    let mut ws = blocking::connect_with(request, config()).unwrap();
    let negotiated = ws.negotiated().unwrap();
    assert_eq!(negotiated.subprotocol.as_deref(), Some("chat"));
    assert_eq!(negotiated.headers.get_str("server"), Some("adapter-test"));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(server.join().unwrap().unwrap().is_clean_close());
}

#[test]
fn reject_with_403() {
    let (addr, server) =
        echo_server(|_| Err(Response::new(403).header("X-Why", "nope").body("go away")));
    let err = blocking::connect(&format!("ws://{addr}/")).unwrap_err();
    let Error::Rejected(response) = err else {
        panic!("expected a rejection, got {err:?}");
    };
    assert_eq!(response.status, 403);
    assert_eq!(response.headers.get_str("x-why"), Some("nope"));
    assert_eq!(&response.body[..], b"go away");
    assert_eq!(Error::Rejected(response).to_string(), "HTTP 403 Forbidden");

    let server_err = server.join().unwrap().unwrap_err();
    assert!(
        matches!(
            server_err,
            Error::Handshake(HandshakeError::RejectedByApplication(403))
        ),
        "{server_err:?}"
    );
}

#[test]
fn recv_timeout_returns_none_and_keeps_the_connection() {
    let (addr, server) = echo_server(|_| Ok(Accept::new()));
    let mut ws = blocking::connect(&format!("ws://{addr}/")).unwrap();
    let start = Instant::now();
    assert_eq!(ws.recv_timeout(Duration::from_millis(150)).unwrap(), None);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    ws.send_text("still here").unwrap();
    assert_eq!(text(recv(&mut ws)), "still here");
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(server.join().unwrap().unwrap().is_clean_close());
}

/// A raw peer that answers the handshake, then reads everything and never
/// sends a byte. Returns what it read after the handshake.
fn silent_server() -> (String, JoinHandle<Vec<u8>>) {
    let (listener, addr) = listener();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        let accept = wsproto::handshake::accept_key(key.trim().as_bytes());
        write!(
            stream,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .unwrap();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).unwrap();
        rest
    });
    (addr, handle)
}

/// Unmasks the payload of the client frame at the start of `bytes`
/// (payload shorter than 126 bytes); returns (first byte, payload, rest).
fn client_frame(bytes: &[u8]) -> (u8, Vec<u8>, &[u8]) {
    assert_eq!(bytes[1] & 0x80, 0x80, "client frames are masked");
    let len = usize::from(bytes[1] & 0x7f);
    let key = &bytes[2..6];
    let payload = bytes[6..6 + len]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect();
    (bytes[0], payload, &bytes[6 + len..])
}

#[test]
fn keepalive_fires_while_blocked_in_recv() {
    let (addr, peer) = silent_server();
    let interval = Duration::from_millis(200);
    let config = config().keepalive(Some(Keepalive::new(interval)));
    let request = ClientRequest::from_url(&format!("ws://{addr}/")).unwrap();
    let mut ws = blocking::connect_with(request, config).unwrap();
    let start = Instant::now();
    // Nothing ever arrives: only the deadlines can end this recv.
    let end = ws.recv().unwrap_err();
    let waited = start.elapsed();
    assert!(waited >= 2 * interval, "{waited:?}");
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    let Error::Closed(closed) = &end else {
        panic!("expected the connection to fail, got {end:?}");
    };
    assert_eq!(closed.code, CloseCode::INTERNAL_ERROR);
    assert!(!closed.is_clean());
    assert_eq!(closed.initiator, Initiator::Local);
    // recv keeps reporting the end.
    assert_eq!(ws.recv().unwrap_err().close_code(), Some(CloseCode(1011)));

    // The peer saw a ping, then a close with 1011, then end of stream.
    let wire = peer.join().unwrap();
    let (first, payload, rest) = client_frame(&wire);
    assert_eq!((first, payload.len()), (0x89, 0));
    let (first, payload, rest) = client_frame(rest);
    assert_eq!(first, 0x88);
    assert_eq!(payload[..2], 1011u16.to_be_bytes());
    assert!(rest.is_empty());
}

#[test]
fn close_handshake_both_directions() {
    // Client starts.
    let (addr, server) = echo_server(|_| Ok(Accept::new()));
    let mut ws = blocking::connect(&format!("ws://{addr}/")).unwrap();
    ws.close(CloseCode::NORMAL, "bye").unwrap();
    let end = ws.recv().unwrap_err();
    assert!(end.is_clean_close());
    let Error::Closed(closed) = server.join().unwrap().unwrap() else {
        panic!("server did not see a close");
    };
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (CloseCode::NORMAL, "bye")
    );
    assert_eq!(closed.initiator, Initiator::Remote);
    assert!(closed.is_clean());

    // Server starts; the client sees the close frame, then the end.
    let (listener, addr) = listener();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = blocking::accept(stream, config(), |_| Ok(Accept::new())).unwrap();
        ws.close(CloseCode::GOING_AWAY, "shutting down")
    });
    let mut ws = blocking::connect(&format!("ws://{addr}/")).unwrap();
    assert_eq!(
        recv(&mut ws),
        Incoming::Close(wsproto::CloseFrame::new(
            CloseCode::GOING_AWAY,
            "shutting down"
        ))
    );
    let end = ws.recv_timeout(WAIT).unwrap_err();
    assert!(end.is_clean_close(), "{end}");
    server.join().unwrap().unwrap();
}

#[test]
fn handshake_timeout_fires_while_blocked_in_accept() {
    let (listener, addr) = listener();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let config = config().handshake_timeout(Some(Duration::from_millis(200)));
        let start = Instant::now();
        let result = blocking::accept(stream, config, |_| Ok(Accept::new()));
        (result.map(|_| ()), start.elapsed())
    });
    let mut raw = TcpStream::connect(&addr).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\n").unwrap(); // and nothing more
    let mut answer = String::new();
    raw.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    drop(raw); // ends the server's lingering read at once
    let (result, waited) = server.join().unwrap();
    assert!(
        matches!(result, Err(Error::Handshake(HandshakeError::Timeout))),
        "{result:?}"
    );
    assert!(waited < Duration::from_secs(3), "{waited:?}");
}

#[test]
fn streams_without_timeouts_work() {
    let (addr, server) = echo_server(|_| Ok(Accept::new()));
    let stream = NoTimeouts(TcpStream::connect(&addr).unwrap());
    let request = ClientRequest::from_url(&format!("ws://{addr}/")).unwrap();
    let mut ws = blocking::client(stream, request, config()).unwrap();
    ws.send_text("plain").unwrap();
    match ws.recv().unwrap() {
        Incoming::Message(Message::Text(t)) => assert_eq!(t, "plain"),
        other => panic!("{other:?}"),
    }
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(server.join().unwrap().unwrap().is_clean_close());
}

#[test]
fn send_errors_leave_the_connection_usable() {
    let (addr, server) = echo_server(|_| Ok(Accept::new()));
    let mut ws = blocking::connect(&format!("ws://{addr}/")).unwrap();
    let err = ws.send_ping(&[0u8; 126]).unwrap_err();
    assert!(matches!(err, Error::Send(_)), "{err:?}");
    ws.send_text("after").unwrap();
    assert_eq!(text(recv(&mut ws)), "after");
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.send_text("late"), Err(Error::Send(_))));
    assert!(server.join().unwrap().unwrap().is_clean_close());
}

#[test]
fn messages_sent_right_before_close_are_all_echoed() {
    let (addr, server) = echo_server(|_| Ok(Accept::new()));
    let mut ws = blocking::connect(&format!("ws://{addr}/")).unwrap();
    // Likely to reach the server in one read, close frame included.
    for i in 0..20 {
        ws.send_text(&format!("m{i}")).unwrap();
    }
    ws.start_close(CloseCode::NORMAL, "done").unwrap();
    for i in 0..20 {
        assert_eq!(text(recv(&mut ws)), format!("m{i}"));
    }
    // The engine echoes the code (without the reason).
    assert_eq!(
        recv(&mut ws),
        Incoming::Close(wsproto::CloseFrame::new(CloseCode::NORMAL, ""))
    );
    assert!(ws.recv_timeout(WAIT).unwrap_err().is_clean_close());
    assert!(server.join().unwrap().unwrap().is_clean_close());
}
