//! The client side of the Autobahn TestSuite: connects to a fuzzing server
//! (`kosoku -m fuzzingserver`, see `scripts/autobahn.sh`), runs every case
//! by echoing each message, then asks the server to write its reports.
//!
//! ```text
//! autobahn_client [--server URL] [--agent NAME]
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use wsproto::deflate::DeflateConfig;
use wsproto::io::Error;
use wsproto::io::blocking::{self, Incoming, WebSocket};
use wsproto::{ClientRequest, CloseCode, Config, Message, SendError};

const USAGE: &str = "usage: autobahn_client [--server URL] [--agent NAME]";

/// Wall time allowed for one case; the 9.* cases move up to 16 MiB
/// messages many times.
const CASE_TIME: Duration = Duration::from_secs(60);
/// Autobahn's 9.* cases send messages of up to 16 MiB.
const MAX_SIZE: usize = 64 << 20;

fn main() -> ExitCode {
    let mut server = "ws://127.0.0.1:9001".to_owned();
    let mut agent = "wsproto".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "--server" => &mut server,
            "--agent" => &mut agent,
            _ => {
                eprintln!("unknown argument {arg:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        };
        let Some(value) = args.next() else {
            eprintln!("{arg} needs a value\n{USAGE}");
            return ExitCode::from(2);
        };
        *slot = value;
    }
    let server = server.trim_end_matches('/');

    let count = match case_count(server) {
        Ok(count) => count,
        Err(e) => {
            eprintln!("error: /getCaseCount: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("running {count} cases against {server} as {agent:?}");
    let start = Instant::now();
    let (mut failed_by_us, mut abnormal) = (0, 0);
    for case in 1..=count {
        let url = format!("{server}/runCase?case={case}&agent={agent}");
        // The report judges each case; this only helps reading the log.
        match run_case(&url) {
            Ok(()) => {}
            // Many cases expect us to fail the connection (1002, 1007, …).
            Err(Error::Closed(closed)) if closed.code != CloseCode::ABNORMAL => {
                failed_by_us += 1;
            }
            Err(e) => {
                abnormal += 1;
                eprintln!("case {case}: {e}");
            }
        }
    }
    eprintln!(
        "{count} cases in {:.1}s: {failed_by_us} failed with a close code, \
         {abnormal} ended abnormally (see the report)",
        start.elapsed().as_secs_f64()
    );

    // The server writes the reports and drops this connection without a
    // close frame: whatever happens to it is fine.
    let url = format!("{server}/updateReports?agent={agent}");
    match connect(&url) {
        Ok(mut ws) => while ws.recv_timeout(CASE_TIME).is_ok_and(|m| m.is_some()) {},
        Err(e) => eprintln!("/updateReports: {e} (ignored)"),
    }
    ExitCode::SUCCESS
}

fn config() -> Config {
    Config::default()
        .max_message_size(MAX_SIZE)
        .max_frame_size(MAX_SIZE)
        // The 12.* and 13.* cases need an offer; the rest ignore it. Like
        // Autobahn's own default offer it says we can do without context
        // takeover, which the 13.2, 13.5 and 13.6 servers ask for.
        .deflate(Some(
            DeflateConfig::default().client_no_context_takeover(true),
        ))
}

fn connect(url: &str) -> Result<WebSocket<TcpStream>, Error> {
    blocking::connect_with(ClientRequest::from_url(url)?, config())
}

fn case_count(server: &str) -> Result<u32, String> {
    let mut ws = connect(&format!("{server}/getCaseCount")).map_err(|e| e.to_string())?;
    loop {
        match ws.recv_timeout(CASE_TIME) {
            Ok(Some(Incoming::Message(Message::Text(text)))) => {
                return text
                    .trim()
                    .parse()
                    .map_err(|_| format!("not a number: {text:?}"));
            }
            Ok(Some(_)) => {}
            Ok(None) => return Err("no answer".to_owned()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Echoes every message of one case until the connection ends, within
/// `CASE_TIME`. `Err` describes an abnormal end.
fn run_case(url: &str) -> Result<(), Error> {
    let deadline = Instant::now() + CASE_TIME;
    let mut ws = connect(url)?;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match ws.recv_timeout(left) {
            Ok(Some(Incoming::Message(message))) => match ws.send(message) {
                // The server's close arrived behind the message.
                Ok(()) | Err(Error::Send(SendError::NotOpen)) => {}
                Err(e) => return Err(e),
            },
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "case took too long; dropping the connection",
                )));
            }
            Err(e) if e.is_clean_close() => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
