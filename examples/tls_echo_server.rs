//! The tokio echo server over TLS (`wss://`), for testing clients against
//! a secure endpoint without a real certificate authority.
//!
//! ```text
//! tls_echo_server [--listen ADDR] [--cert FILE --key FILE] [--write-cert FILE]
//!                 [--protocol NAME]... [--no-deflate]
//!                 [--max-message-size BYTES] [--heartbeat SECS]
//! ```
//!
//! Without `--cert`/`--key` (PEM: the chain, leaf first, and its private
//! key) it makes a throw-away CA at start-up and a certificate signed by
//! it for `localhost`, `127.0.0.1` and the `--listen` host;
//! `--write-cert FILE` writes that CA's certificate (PEM) for a client to
//! trust, e.g. `wscat --ca FILE` or Python's `ssl.create_default_context(
//! cafile=FILE)`. Defaults to `127.0.0.1:9443`; everything else is as in
//! `tokio_echo_server`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[path = "common/echo_cli.rs"]
mod echo_cli;

use echo_cli::EchoOptions;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::net::TcpListener;
use wsproto::io::Error;
use wsproto::io::tokio::tls::{self, tokio_rustls::TlsAcceptor};
use wsproto::io::tokio::{self as ws, Incoming};
use wsproto::{Accept, Config, SendError};

/// Where the certificate comes from: `--cert`/`--key`, or made at
/// start-up (and written with `--write-cert`).
#[derive(Default)]
struct TlsOptions {
    cert: Option<String>,
    key: Option<String>,
    write_cert: Option<String>,
}

fn parse_args() -> Result<(EchoOptions, TlsOptions), String> {
    let mut tls = TlsOptions::default();
    let options = EchoOptions::from_args_with(
        "tls_echo_server",
        "127.0.0.1:9443",
        " [--cert FILE --key FILE] [--write-cert FILE]",
        |name, next| {
            let slot = match name {
                "--cert" => &mut tls.cert,
                "--key" => &mut tls.key,
                "--write-cert" => &mut tls.write_cert,
                _ => return Ok(false),
            };
            *slot = Some(next().ok_or(format!("{name} needs a value"))?);
            Ok(true)
        },
    )?;
    if tls.cert.is_some() != tls.key.is_some() {
        return Err("--cert and --key go together (see --help)".to_owned());
    }
    Ok((options, tls))
}

/// A throw-away CA and a certificate it signed for `hosts`: (CA PEM,
/// chain PEM, key PEM).
fn generate(hosts: Vec<String>) -> Result<(String, String, String), rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "wsproto tls_echo_server test CA");
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(hosts)?.signed_by(&key, &issuer)?;
    Ok((ca_cert.pem(), cert.pem(), key.serialize_pem()))
}

/// The server's chain and key, read or made (and the CA written out).
fn identity(listen: &str, tls: &TlsOptions) -> Result<(Vec<u8>, Vec<u8>), String> {
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        let read = |path: &str| std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"));
        return Ok((read(cert)?, read(key)?));
    }
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    if let Some((host, _)) = listen.rsplit_once(':') {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if !hosts.iter().any(|h| h == host) {
            hosts.push(host.to_owned());
        }
    }
    let (ca, chain, key) =
        generate(hosts).map_err(|e| format!("cannot make a certificate: {e}"))?;
    if let Some(path) = &tls.write_cert {
        std::fs::write(path, &ca).map_err(|e| format!("cannot write {path}: {e}"))?;
        eprintln!("wrote the CA certificate to {path}");
    }
    Ok((chain.into_bytes(), key.into_bytes()))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (options, tls_options) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let acceptor = match identity(&options.listen, &tls_options)
        .and_then(|(chain, key)| tls::server_config(&chain, &key).map_err(|e| e.to_string()))
    {
        Ok(config) => TlsAcceptor::from(config),
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let config = options.config();
    let listener = match TcpListener::bind(&options.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", options.listen);
            return ExitCode::FAILURE;
        }
    };
    eprintln!("tls_echo_server listening on wss://{}", options.listen);
    let protocols: Arc<[String]> = options.protocols.into();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (acceptor, config, protocols) = (acceptor.clone(), config.clone(), protocols.clone());
        tokio::spawn(async move {
            let tls = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
            let line = match tls {
                Ok(Ok(stream)) => serve(stream, config, &protocols).await,
                Ok(Err(e)) => format!("tls: {e}"),
                Err(_) => "tls: handshake timed out".to_owned(),
            };
            eprintln!("{peer} {line}");
        });
    }
}

/// Runs one connection; describes how it went.
async fn serve<S>(stream: S, config: Config, protocols: &[String]) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut path = String::from("-");
    let mut subprotocol = String::from("-");
    let accepted = ws::accept(stream, config, |request| {
        path = request.target().to_owned();
        let chosen = request.pick_subprotocol(protocols).map(str::to_owned);
        if let Some(name) = &chosen {
            subprotocol = name.clone();
        }
        Ok(Accept {
            subprotocol: chosen,
            ..Accept::new()
        })
    })
    .await;
    let mut ws = match accepted {
        Ok(ws) => ws,
        Err(e) => return format!("path={path} subprotocol={subprotocol} handshake: {e}"),
    };
    let extensions = match ws.negotiated().filter(|n| !n.extensions.is_empty()) {
        Some(n) => format!(
            "{:?}",
            n.extensions
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "-".to_owned(),
    };
    let end = loop {
        match ws.recv().await {
            Ok(Incoming::Message(message)) => match ws.send(message).await {
                Ok(()) | Err(Error::Send(SendError::NotOpen)) => {}
                Err(e) => break e,
            },
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    let outcome = match end {
        Error::Closed(closed) if closed.is_clean() => {
            format!("close={} reason={:?}", closed.code, closed.reason)
        }
        Error::Closed(closed) => format!(
            "close={} reason={:?} error={}",
            closed.code,
            closed.reason,
            closed.error.map_or_else(String::new, |e| e.to_string())
        ),
        other => format!("error={other}"),
    };
    format!("path={path} subprotocol={subprotocol} extensions={extensions} {outcome}")
}
