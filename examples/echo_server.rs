//! An echo server: every text and binary message comes back unchanged, with
//! the same type. It is the server the Autobahn TestSuite drives
//! (`scripts/autobahn.sh`).
//!
//! ```text
//! echo_server [--listen ADDR] [--protocol NAME]... [--no-deflate]
//!             [--max-message-size BYTES] [--heartbeat SECS]
//! ```
//!
//! One thread per connection, any path. permessage-deflate is accepted
//! unless `--no-deflate`. One log line per connection on stderr.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;

use wsproto::io::Error;
use wsproto::io::blocking::{self, Incoming};
use wsproto::{Accept, Config, SendError};

#[path = "common/echo_cli.rs"]
mod echo_cli;

use echo_cli::EchoOptions;

fn main() -> ExitCode {
    let options = match EchoOptions::from_args("echo_server") {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let config = options.config();
    let listener = match TcpListener::bind(&options.listen) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", options.listen);
            return ExitCode::FAILURE;
        }
    };
    eprintln!("echo_server listening on ws://{}", options.listen);
    let protocols = options.protocols;
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let config = config.clone();
        let protocols = protocols.clone();
        thread::spawn(move || serve(stream, config, &protocols));
    }
    ExitCode::SUCCESS
}

/// Runs one connection and logs how it went.
fn serve(stream: TcpStream, config: Config, protocols: &[String]) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".to_owned(), |a: SocketAddr| a.to_string());
    let _ = stream.set_nodelay(true);
    let mut path = String::from("-");
    let mut subprotocol = String::from("-");
    let accepted = blocking::accept(stream, config, |request| {
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
    });
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
            echo(&mut ws)
        }
        Err(e) => format!("handshake: {e}"),
    };
    eprintln!("{peer} path={path} subprotocol={subprotocol} extensions={extensions} {outcome}");
}

/// Echoes until the connection ends; describes how it ended.
fn echo(ws: &mut blocking::WebSocket<TcpStream>) -> String {
    loop {
        let end = match ws.recv() {
            Ok(Incoming::Message(message)) => match ws.send(message) {
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
