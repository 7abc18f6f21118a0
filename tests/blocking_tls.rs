//! `wss://` with the blocking adapter over loopback: a CA made at start-up
//! signs the server's certificate, the client trusts that CA only, and the
//! server is the blocking adapter over a rustls server stream.
#![cfg(feature = "rustls")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use wsproto::io::Error;
use wsproto::io::blocking::tls::{self, MaybeTlsStream};
use wsproto::io::blocking::{self, Incoming};
use wsproto::io::tls::rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use wsproto::io::tls::{Connector, server_config};
use wsproto::{Accept, ClientRequest, CloseCode, Config, Message};

#[path = "common/certs.rs"]
mod certs;
use certs::certificates;

const WAIT: Duration = Duration::from_secs(5);

fn config() -> Config {
    Config::default()
        .handshake_timeout(Some(WAIT))
        .close_timeout(Some(WAIT))
}

/// One TLS connection accepted and echoed until it ends; returns how.
fn tls_echo_server(tls: Arc<ServerConfig>) -> (String, thread::JoinHandle<Error>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://{}/secure", listener.local_addr().unwrap());
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let stream = StreamOwned::new(ServerConnection::new(tls).unwrap(), tcp);
        let mut ws = match blocking::accept(stream, config(), |r| {
            assert_eq!(r.path(), "/secure");
            Ok(Accept::new())
        }) {
            Ok(ws) => ws,
            Err(e) => return e,
        };
        loop {
            match ws.recv() {
                Ok(Incoming::Message(message)) => ws.send(message).unwrap(),
                Ok(_) => {}
                Err(e) => return e,
            }
        }
    });
    (url, server)
}

#[test]
fn wss_round_trip_with_a_private_ca() {
    let (ca, chain, key) = certificates();
    let (url, server) = tls_echo_server(server_config(chain.as_bytes(), key.as_bytes()).unwrap());
    let connector = Connector::with_roots(RootCertStore::empty())
        .unwrap()
        .add_roots_pem(ca.as_bytes())
        .unwrap();
    let request = ClientRequest::from_url(&url).unwrap();
    let mut client = tls::connect_with(request, config(), &connector).unwrap();
    assert!(matches!(client.get_ref(), MaybeTlsStream::Tls(_)));

    // Larger than one TLS record, so reads span several records.
    let payload = vec![42u8; 100_000];
    client.send_binary(payload.clone()).unwrap();
    let Some(Incoming::Message(Message::Binary(echoed))) = client.recv_timeout(WAIT).unwrap()
    else {
        panic!("no echo")
    };
    assert_eq!(echoed, payload);
    // A read deadline under TLS returns without data and leaves the stream
    // usable.
    assert!(
        client
            .recv_timeout(Duration::from_millis(50))
            .unwrap()
            .is_none()
    );
    client.send_text("after a timeout").unwrap();
    let Some(Incoming::Message(Message::Text(text))) = client.recv_timeout(WAIT).unwrap() else {
        panic!("no echo after the timeout")
    };
    assert_eq!(text, "after a timeout");

    client.close(CloseCode::NORMAL, "bye").unwrap();
    let Error::Closed(closed) = server.join().unwrap() else {
        panic!("the server did not see a clean close")
    };
    assert!(closed.is_clean(), "{closed:?}");
    assert_eq!(closed.reason, "bye");
}

#[test]
fn untrusted_certificate_is_refused() {
    let (_ca, chain, key) = certificates();
    let (url, server) = tls_echo_server(server_config(chain.as_bytes(), key.as_bytes()).unwrap());
    let request = ClientRequest::from_url(&url).unwrap();
    let refused = tls::connect_with(request, config(), &Connector::new().unwrap());
    let Err(Error::Io(e)) = refused else {
        panic!("{refused:?}")
    };
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
    assert!(matches!(
        server.join().unwrap(),
        Error::Handshake(_) | Error::Io(_)
    ));
}

#[test]
fn tls_handshake_is_bounded_by_the_handshake_timeout() {
    // A server that accepts TCP and never speaks TLS.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://{}/", listener.local_addr().unwrap());
    let silent = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        thread::sleep(Duration::from_secs(1));
        drop(tcp);
    });
    let started = std::time::Instant::now();
    let request = ClientRequest::from_url(&url).unwrap();
    let short = config().handshake_timeout(Some(Duration::from_millis(200)));
    let refused = tls::connect_with(request, short, &Connector::new().unwrap());
    let Err(Error::Io(e)) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e}");
    assert!(started.elapsed() < Duration::from_secs(1));
    silent.join().unwrap();
}

#[test]
fn plain_urls_still_work() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut ws = blocking::accept(tcp, config(), |_| Ok(Accept::new())).unwrap();
        let Ok(Incoming::Message(message)) = ws.recv() else {
            panic!("no message")
        };
        ws.send(message).unwrap();
        let _ = ws.recv();
    });
    let request = ClientRequest::from_url(&url).unwrap();
    let mut client = tls::connect_with(request, config(), &Connector::new().unwrap()).unwrap();
    assert!(matches!(client.get_ref(), MaybeTlsStream::Plain(_)));
    client.send_text("plain").unwrap();
    let Some(Incoming::Message(Message::Text(text))) = client.recv_timeout(WAIT).unwrap() else {
        panic!("no echo")
    };
    assert_eq!(text, "plain");
    client.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
}
