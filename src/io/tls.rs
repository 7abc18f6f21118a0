//! TLS configuration shared by the adapters (feature `rustls`): rustls
//! with the `ring` provider (no C toolchain beyond `cc`, no cmake), the
//! Mozilla root store from `webpki-roots`, and extra roots from PEM — a
//! private CA or a test server's self-signed certificate.
//!
//! The connections themselves are in [`blocking::tls`](crate::io::blocking::tls)
//! and, with feature `tokio-rustls`, `io::tokio::tls`.

use std::io;
use std::sync::Arc;

pub use rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::io::Error;

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

    /// The name to verify the server's certificate against.
    pub(crate) fn server_name(host: &str) -> io::Result<ServerName<'static>> {
        ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }
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
