//! Limits, timeouts, keepalive and entropy: everything a connection is
//! configured with. One `Config` can be cloned into many connections.

use std::time::Duration;

use crate::deflate::DeflateConfig;
use crate::entropy::EntropySource;

/// Keepalive: ping after `interval` without any inbound byte, and fail the
/// connection with 1011 if nothing at all arrives within `timeout` after the
/// ping (aiohttp's `heartbeat`, websockets' `ping_interval`/`ping_timeout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// Silence after which a ping is sent.
    pub interval: Duration,
    /// How long to wait for any byte after that ping.
    pub timeout: Duration,
}

impl Keepalive {
    /// Ping after `interval` of silence and give the peer `interval` again to
    /// answer (aiohttp's `heartbeat=` behaviour).
    pub fn new(interval: Duration) -> Self {
        Keepalive {
            interval,
            timeout: interval,
        }
    }

    /// Sets how long to wait for an answer to the ping.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Connection settings. Build with [`Config::default`] and the setters:
///
/// ```
/// use std::time::Duration;
/// use wsproto::{Config, Keepalive};
///
/// let config = Config::default()
///     .max_message_size(1 << 20)
///     .keepalive(Some(Keepalive::new(Duration::from_secs(30))));
/// assert_eq!(config.get_max_message_size(), 1 << 20);
/// ```
///
/// | setting | default | effect |
/// |---|---|---|
/// | `max_frame_size` | 16 MiB | a longer frame fails with 1009 before anything is buffered |
/// | `max_message_size` | 16 MiB | a longer message fails with 1009 before it is buffered |
/// | `max_handshake_size` | 16 KiB | a longer HTTP head: 431 (server) or failure (client) |
/// | `max_headers` | 64 | more headers: 431 (server) or failure (client) |
/// | `max_rejection_body` | 64 KiB | how much of a non-101 answer's body a client keeps |
/// | `max_fragments` | 131072 | more frames in one message fail with 1009 |
/// | `max_outgoing_frame_size` | none | messages longer than this are sent in fragments |
/// | `auto_pong` | on | pings are answered by the engine |
/// | `handshake_timeout` | 10 s | the whole HTTP head must arrive in time |
/// | `close_timeout` | 10 s | the closing handshake must finish in time |
/// | `keepalive` | off | see [`Keepalive`] |
/// | `entropy` | OS-seeded | see [`EntropySource`] |
/// | `deflate` | off | see [`DeflateConfig`] |
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) max_frame_size: usize,
    pub(crate) max_message_size: usize,
    pub(crate) max_handshake_size: usize,
    pub(crate) max_headers: usize,
    pub(crate) max_rejection_body: usize,
    pub(crate) max_fragments: usize,
    pub(crate) max_outgoing_frame_size: Option<usize>,
    pub(crate) auto_pong: bool,
    pub(crate) handshake_timeout: Option<Duration>,
    pub(crate) close_timeout: Option<Duration>,
    pub(crate) keepalive: Option<Keepalive>,
    pub(crate) entropy: EntropySource,
    pub(crate) deflate: Option<DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 16 << 20,
            max_handshake_size: 16 << 10,
            max_headers: 64,
            max_rejection_body: 64 << 10,
            max_fragments: 1 << 17,
            max_outgoing_frame_size: None,
            auto_pong: true,
            handshake_timeout: Some(Duration::from_secs(10)),
            close_timeout: Some(Duration::from_secs(10)),
            keepalive: None,
            entropy: EntropySource::os(),
            deflate: None,
        }
    }
}

macro_rules! setting {
    ($(#[$doc:meta])* $name:ident, $getter:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }

        #[doc = concat!("The current `", stringify!($name), "` setting.")]
        pub fn $getter(&self) -> $ty {
            self.$name.clone()
        }
    };
}

impl Config {
    setting!(
        /// Largest accepted frame payload, in bytes.
        max_frame_size, get_max_frame_size: usize
    );
    setting!(
        /// Largest accepted message, in bytes (after decompression).
        max_message_size, get_max_message_size: usize
    );
    setting!(
        /// Largest accepted HTTP head (request or response), in bytes.
        max_handshake_size, get_max_handshake_size: usize
    );
    setting!(
        /// Most headers accepted in an HTTP head.
        max_headers, get_max_headers: usize
    );
    setting!(
        /// Most bytes of a rejection's body a client keeps.
        max_rejection_body, get_max_rejection_body: usize
    );
    setting!(
        /// Most frames one message may arrive in (a flood of empty
        /// continuation frames is cut off here).
        max_fragments, get_max_fragments: usize
    );
    setting!(
        /// Split outgoing messages into frames of at most this many bytes.
        max_outgoing_frame_size, get_max_outgoing_frame_size: Option<usize>
    );
    setting!(
        /// Answer pings automatically (the ping is still reported).
        auto_pong, get_auto_pong: bool
    );
    setting!(
        /// Deadline for the whole opening handshake head; `None` disables it.
        handshake_timeout, get_handshake_timeout: Option<Duration>
    );
    setting!(
        /// Deadline for the closing handshake; `None` waits forever.
        close_timeout, get_close_timeout: Option<Duration>
    );
    setting!(
        /// Keepalive pings; `None` (the default) disables them.
        keepalive, get_keepalive: Option<Keepalive>
    );
    setting!(
        /// Where handshake keys and mask keys come from.
        entropy, get_entropy: EntropySource
    );
    setting!(
        /// permessage-deflate; `None` (the default) neither offers nor
        /// accepts compression.
        deflate, get_deflate: Option<DeflateConfig>
    );
}
