//! The echo server of `echo_server`, on the tokio adapter: every text and
//! binary message comes back unchanged, with the same type. Same command
//! line, same log line.
//!
//! ```text
//! tokio_echo_server [--listen ADDR] [--protocol NAME]... [--no-deflate]
//!                   [--max-message-size BYTES] [--heartbeat SECS]
//! ```
//!
//! One task per connection, any path. permessage-deflate is accepted
//! unless `--no-deflate`. One log line per connection on stderr.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::ExitCode;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use wsproto::io::Error;
use wsproto::io::tokio::{self as ws, Incoming, WebSocket};
use wsproto::{Accept, Config, SendError};

#[path = "common/echo_cli.rs"]
mod echo_cli;

use echo_cli::EchoOptions;

#[tokio::main]
async fn main() -> ExitCode {
    let options = match EchoOptions::from_args("tokio_echo_server") {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
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
    eprintln!("tokio_echo_server listening on ws://{}", options.listen);
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
        let (config, protocols) = (config.clone(), protocols.clone());
        tokio::spawn(async move {
            let line = serve(stream, config, &protocols).await;
            eprintln!("{peer} {line}");
        });
    }
}

/// Runs one connection; describes how it went.
async fn serve<S>(stream: S, config: Config, protocols: &[String]) -> String
where
    S: AsyncRead + AsyncWrite + Unpin,
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
        }
        // kosoku reports the Server header as the agent name.
        .header("Server", "wsproto-echo"))
    })
    .await;
    let mut extensions = String::from("-");
    let outcome = match accepted {
        Ok(mut ws) => {
            if let Some(negotiated) = ws.negotiated().filter(|n| !n.extensions.is_empty()) {
                let list: Vec<String> = negotiated
                    .extensions
                    .iter()
                    .map(|e| e.to_string())
                    .collect();
                extensions = format!("{:?}", list.join(", "));
            }
            echo(&mut ws).await
        }
        Err(e) => format!("handshake: {e}"),
    };
    format!("path={path} subprotocol={subprotocol} extensions={extensions} {outcome}")
}

/// Echoes until the connection ends; describes how it ended.
async fn echo<S>(ws: &mut WebSocket<S>) -> String
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let end = match ws.recv().await {
            Ok(Incoming::Message(message)) => match ws.send(message).await {
                // The peer's close arrived behind the message: the engine
                // has answered it, and the end comes with the next recv.
                Ok(()) | Err(Error::Send(SendError::NotOpen)) => continue,
                Err(e) => e,
            },
            Ok(_) => continue,
            Err(e) => e,
        };
        return match end {
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
    }
}
