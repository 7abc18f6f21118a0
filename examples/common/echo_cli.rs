//! The command line the echo servers share (`echo_server`,
//! `tokio_echo_server`, and `tls_echo_server` with options of its own),
//! and the config it asks for.

use std::time::Duration;

use wsproto::deflate::DeflateConfig;
use wsproto::{Config, Keepalive};

/// Parsed `[--listen ADDR] [--protocol NAME]... [--no-deflate]
/// [--max-message-size BYTES] [--heartbeat SECS]`.
pub struct EchoOptions {
    pub listen: String,
    pub protocols: Vec<String>,
    pub max_message_size: usize,
    pub heartbeat: Option<Duration>,
    pub deflate: bool,
}

impl EchoOptions {
    /// Parses the process arguments; `Err` holds the message to print
    /// (usage for `--help` and for mistakes).
    #[allow(dead_code)] // tls_echo_server uses `from_args_with` only
    pub fn from_args(program: &str) -> Result<EchoOptions, String> {
        EchoOptions::from_args_with(program, "127.0.0.1:9001", "", |_, _| Ok(false))
    }

    /// The same, for a server with options of its own: `extra(name,
    /// next_value)` handles an argument the shared ones do not and says
    /// whether it did; `extra_usage` is appended to the usage line.
    pub fn from_args_with(
        program: &str,
        default_listen: &str,
        extra_usage: &str,
        mut extra: impl FnMut(&str, &mut dyn FnMut() -> Option<String>) -> Result<bool, String>,
    ) -> Result<EchoOptions, String> {
        let usage = format!(
            "usage: {program} [--listen ADDR] [--protocol NAME]... [--no-deflate] \
             [--max-message-size BYTES] [--heartbeat SECS]{extra_usage}"
        );
        let mut options = EchoOptions {
            listen: default_listen.to_owned(),
            protocols: Vec::new(),
            max_message_size: 64 << 20,
            heartbeat: None,
            deflate: true,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                "--listen" => options.listen = value("--listen")?,
                "--protocol" => options.protocols.push(value("--protocol")?),
                "--no-deflate" => options.deflate = false,
                "--max-message-size" => {
                    let v = value("--max-message-size")?;
                    options.max_message_size = v.parse().map_err(|_| format!("bad size {v:?}"))?;
                }
                "--heartbeat" => {
                    let v = value("--heartbeat")?;
                    let secs: u64 = v.parse().map_err(|_| format!("bad seconds {v:?}"))?;
                    options.heartbeat = Some(Duration::from_secs(secs));
                }
                "-h" | "--help" => return Err(usage),
                other => {
                    let mut next = || args.next();
                    if !extra(other, &mut next)? {
                        return Err(format!("unknown argument {other:?}\n{usage}"));
                    }
                }
            }
        }
        Ok(options)
    }

    /// The connection config these options ask for: the message limit
    /// (also the frame limit), deflate unless turned off, keepalive.
    pub fn config(&self) -> Config {
        let mut config = Config::default()
            .max_message_size(self.max_message_size)
            .max_frame_size(self.max_message_size);
        if self.deflate {
            // Accept the first permessage-deflate offer we can honour.
            config = config.deflate(Some(DeflateConfig::default()));
        }
        if let Some(interval) = self.heartbeat {
            config = config.keepalive(Some(Keepalive::new(interval)));
        }
        config
    }
}
