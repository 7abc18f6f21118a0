//! `wss://` for the tokio adapter (feature `rustls`): rustls with the
//! `ring` provider (no C toolchain beyond `cc`, no cmake), the Mozilla
//! root store from `webpki-roots`, and extra roots from PEM — a private CA
//! or a test server's self-signed certificate.
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
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::TcpStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
pub use tokio_rustls::{self, rustls};

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

/// How to make TLS client connections: a rustls client config with the
/// `ring` provider, ALPN `http/1.1`, and a root store. Cheap to clone;
/// build one and share it.
#[derive(Clone, Debug)]
pub struct Connector {
    roots: RootCertStore,
    config: Arc<ClientConfig>,
}

impl Connector {
    /// Trusts the Mozilla root store (`webpki-roots`).
    pub fn new() -> Result<Self, Error> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Connector::with_roots(roots)
    }

    /// Trusts exactly `roots`.
    pub fn with_roots(roots: RootCertStore) -> Result<Self, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Connector {
            roots,
            config: Arc::new(config),
        })
    }

    /// Also trusts every certificate in `pem` (one or more `CERTIFICATE`
    /// blocks: a private CA, a self-signed server certificate).
    pub fn add_roots_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let certs = certificates_from_pem(pem)?;
        for cert in certs {
            self.roots.add(cert).map_err(tls_error)?;
        }
        Connector::with_roots(self.roots)
    }

    /// Uses a client config built elsewhere (client certificates, other
    /// verifiers …) as it is.
    pub fn from_config(config: Arc<ClientConfig>) -> Self {
        Connector {
            roots: RootCertStore::empty(),
            config,
        }
    }

    /// The rustls client config.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Runs the TLS handshake for `host` over a connected stream.
    pub async fn wrap(&self, host: &str, stream: TcpStream) -> io::Result<TlsStream> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        tokio_rustls::TlsConnector::from(self.config.clone())
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

/// A server config with the `ring` provider for a certificate chain and
/// its private key, both PEM (leaf first). ALPN offers `http/1.1`.
pub fn server_config(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, Error> {
    let chain = certificates_from_pem(cert_chain_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(tls_error)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_error)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Every `CERTIFICATE` block in `pem`; none is an error.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(tls_error)?;
    if certs.is_empty() {
        return Err(tls_error("no CERTIFICATE block in the PEM data"));
    }
    Ok(certs)
}

fn tls_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::Io(io::Error::new(io::ErrorKind::InvalidData, e))
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
