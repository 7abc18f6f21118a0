//! A `wss://` round trip: a CA made at start-up signs the server's
//! certificate, and the client trusts that CA only.

use tokio::net::TcpListener;
use tokio::time::timeout;
use wsproto::io::tokio::tls::tokio_rustls::TlsAcceptor;
use wsproto::io::tokio::tls::{self, Connector, rustls::RootCertStore};
use wsproto::io::tokio::{self as ws, Incoming};
use wsproto::{Accept, ClientRequest, CloseCode, Message};

#[path = "../common/certs.rs"]
mod certs;
use certs::certificates;

use super::{WAIT, config, echo};

#[tokio::test]
async fn wss_round_trip() {
    let (ca, chain, key) = certificates();
    let acceptor = TlsAcceptor::from(tls::server_config(chain.as_bytes(), key.as_bytes()).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("wss://{}/secure", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let stream = acceptor.accept(stream).await.unwrap();
        let ws = ws::accept(stream, config(), |r| {
            assert_eq!(r.path(), "/secure");
            Ok(Accept::new())
        })
        .await
        .unwrap();
        echo(ws).await
    });
    let connector = Connector::with_roots(RootCertStore::empty())
        .unwrap()
        .add_roots_pem(ca.as_bytes())
        .unwrap();
    let request = ClientRequest::from_url(&url).unwrap();
    let mut client = tls::connect_with(request, config(), &connector)
        .await
        .unwrap();
    assert!(matches!(
        client.with_connection(|c| c.role()),
        wsproto::Role::Client
    ));
    let payload = vec![42u8; 100_000];
    client.send_binary(payload.clone()).await.unwrap();
    let Ok(Ok(Incoming::Message(Message::Binary(echoed)))) = timeout(WAIT, client.recv()).await
    else {
        panic!("no echo")
    };
    assert_eq!(echoed, payload);
    timeout(WAIT, client.close(CloseCode::NORMAL, ""))
        .await
        .unwrap()
        .unwrap();
    assert!(
        timeout(WAIT, server)
            .await
            .unwrap()
            .unwrap()
            .is_clean_close()
    );

    // A client that does not trust the CA fails the TLS handshake.
}

#[tokio::test]
async fn untrusted_certificate_is_refused() {
    let (_ca, chain, key) = certificates();
    let acceptor = TlsAcceptor::from(tls::server_config(chain.as_bytes(), key.as_bytes()).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("wss://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let _ = acceptor.accept(stream).await;
    });
    let connector = Connector::new().unwrap();
    let request = ClientRequest::from_url(&url).unwrap();
    let refused = tls::connect_with(request, config(), &connector).await;
    assert!(
        matches!(refused, Err(wsproto::io::Error::Io(_))),
        "{refused:?}"
    );
}
