//! A command-line WebSocket client: stdin lines go out as messages,
//! received messages come out on stdout.
//!
//! ```text
//! wscat URL [--protocol NAME]... [--header 'Name: value']... [--origin ORIGIN]
//!           [--deflate] [--binary] [--heartbeat SECS] [--ca FILE]
//! ```
//!
//! `--deflate` offers permessage-deflate. `wss://` URLs need the `rustls`
//! feature (`cargo run --features rustls --example wscat -- wss://…`); the
//! server's certificate must chain to a public root (Mozilla's list) or to
//! a certificate in `--ca FILE` (PEM), such as the one
//! `tls_echo_server --write-cert FILE` writes.
//!
//! After the handshake it prints `protocol: NAME` and `extensions: VALUE`
//! (`-` for none) on stderr. Each stdin line is sent as one message (text,
//! or binary with `--binary`); each received text message is printed as a
//! line, binary as a line of lowercase hex. At the end of stdin it closes
//! with 1000 and waits for the answer. `close: CODE REASON` is printed on
//! stderr when the connection closes.
//!
//! Exit status: 0 after a clean closing handshake with 1000, 1001, no code
//! or an application code (3000–4999); 1 with a one-line `error: …` on
//! stderr for a refused handshake (`error: HTTP 403 Forbidden`), a protocol
//! error (either side's, such as a peer closing with 1002 or 1011), or an
//! abnormal closure; 2 for bad arguments.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead, Read, Write};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::Duration;

use wsproto::deflate::DeflateConfig;
use wsproto::io::Error;
use wsproto::io::blocking::{Incoming, Transport, WebSocket};
use wsproto::{ClientRequest, CloseCode, Closed, Config, Keepalive, Message, SendError};

const USAGE: &str = "usage: wscat URL [--protocol NAME]... [--header 'Name: value']... \
                     [--origin ORIGIN] [--deflate] [--binary] [--heartbeat SECS] [--ca FILE]";

/// How long the receive loop waits before looking at stdin again.
const POLL: Duration = Duration::from_millis(20);

struct Options {
    request: ClientRequest,
    binary: bool,
    heartbeat: Option<Duration>,
    deflate: bool,
    ca: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut url = None;
    let mut protocols = Vec::new();
    let mut headers = Vec::new();
    let mut origin = None;
    let mut binary = false;
    let mut heartbeat = None;
    let mut deflate = false;
    let mut ca = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--protocol" => protocols.push(value("--protocol")?),
            "--header" => {
                let v = value("--header")?;
                let (name, val) = v
                    .split_once(':')
                    .ok_or(format!("--header wants 'Name: value', got {v:?}"))?;
                headers.push((name.trim().to_owned(), val.trim().to_owned()));
            }
            "--origin" => origin = Some(value("--origin")?),
            "--deflate" => deflate = true,
            "--binary" => binary = true,
            "--ca" => ca = Some(value("--ca")?),
            "--heartbeat" => {
                let v = value("--heartbeat")?;
                let secs: u64 = v.parse().map_err(|_| format!("bad seconds {v:?}"))?;
                heartbeat = Some(Duration::from_secs(secs));
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other if other.starts_with("--") => {
                return Err(format!("unknown option {other:?}\n{USAGE}"));
            }
            other if url.is_none() => url = Some(other.to_owned()),
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        }
    }
    let url = url.ok_or(USAGE.to_owned())?;
    let mut request = ClientRequest::from_url(&url).map_err(|e| e.to_string())?;
    for protocol in protocols {
        request = request.subprotocol(protocol);
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if let Some(origin) = origin {
        request = request.origin(origin);
    }
    Ok(Options {
        request,
        binary,
        heartbeat,
        deflate,
        ca,
    })
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let mut config = Config::default();
    if options.deflate {
        config = config.deflate(Some(DeflateConfig::default()));
    }
    if let Some(interval) = options.heartbeat {
        config = config.keepalive(Some(Keepalive::new(interval)));
    }
    let mut ws = match connect(options.request, config, options.ca.as_deref()) {
        Ok(ws) => ws,
        Err(e) => return fail(&e),
    };
    if let Some(negotiated) = ws.negotiated() {
        let extensions: Vec<String> = negotiated
            .extensions
            .iter()
            .map(|e| e.to_string())
            .collect();
        eprintln!(
            "protocol: {}",
            negotiated.subprotocol.as_deref().unwrap_or("-")
        );
        eprintln!(
            "extensions: {}",
            if extensions.is_empty() {
                "-".to_owned()
            } else {
                extensions.join(", ")
            }
        );
    }
    let lines = stdin_lines();
    match run(&mut ws, &lines, options.binary) {
        Ok(closed) => finish(&closed),
        Err(e) => fail(&e.to_string()),
    }
}

/// Opens `ws://` over TCP and `wss://` over rustls, trusting the public
/// roots plus the certificates in `ca`.
#[cfg(feature = "rustls")]
fn connect(
    request: ClientRequest,
    config: Config,
    ca: Option<&str>,
) -> Result<WebSocket<impl Read + Write + Transport>, String> {
    use wsproto::io::blocking::tls;
    use wsproto::io::tls::Connector;
    let mut connector = Connector::new().map_err(|e| e.to_string())?;
    if let Some(path) = ca {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        connector = connector
            .add_roots_pem(&pem)
            .map_err(|e| format!("{path}: {e}"))?;
    }
    tls::connect_with(request, config, &connector).map_err(|e| e.to_string())
}

/// Opens `ws://` over TCP; `wss://` needs the `rustls` feature.
#[cfg(not(feature = "rustls"))]
fn connect(
    request: ClientRequest,
    config: Config,
    ca: Option<&str>,
) -> Result<WebSocket<impl Read + Write + Transport>, String> {
    if request.is_secure() || ca.is_some() {
        return Err("wss:// and --ca need wscat built with the rustls feature".to_owned());
    }
    wsproto::io::blocking::connect_with(request, config).map_err(|e| e.to_string())
}

/// Reads stdin on its own thread; the channel disconnects at end of input.
fn stdin_lines() -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Sends stdin lines and prints messages until the connection ends.
fn run<S: Read + Write + Transport>(
    ws: &mut WebSocket<S>,
    lines: &Receiver<String>,
    binary: bool,
) -> Result<Closed, Error> {
    let mut stdin_open = true;
    loop {
        while stdin_open {
            let sent = match lines.try_recv() {
                Ok(line) if binary => ws.send_binary(line.into_bytes()),
                Ok(line) => ws.send_text(&line),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    stdin_open = false;
                    ws.start_close(CloseCode::NORMAL, "")
                }
            };
            match sent {
                // Closing already (the peer's close came first): the end of
                // the connection is reported by recv below.
                Ok(()) | Err(Error::Send(SendError::NotOpen)) => {}
                Err(e) => return Err(e),
            }
        }
        let incoming = match ws.recv_timeout(POLL) {
            Ok(incoming) => incoming,
            Err(Error::Closed(closed)) => return Ok(closed),
            Err(e) => return Err(e),
        };
        let mut out = std::io::stdout().lock();
        let printed = match incoming {
            Some(Incoming::Message(Message::Text(text))) => writeln!(out, "{text}"),
            Some(Incoming::Message(Message::Binary(bytes))) => writeln!(out, "{}", hex(&bytes)),
            _ => Ok(()),
        };
        printed.and_then(|()| out.flush()).map_err(Error::Io)?;
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reports how the connection closed; the exit status says whether that
/// was a normal end.
fn finish(closed: &Closed) -> ExitCode {
    eprintln!("close: {} {}", closed.code, closed.reason);
    match &closed.error {
        Some(error) => fail(&format!("{error} (close code {})", closed.code)),
        None if matches!(closed.code.0, 1000 | 1001 | 1005 | 3000..=4999) => ExitCode::SUCCESS,
        None => fail(&format!("the peer closed with code {}", closed.code)),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
