//! permessage-deflate (RFC 7692): negotiation in both roles and a
//! compressor/decompressor pair with budgets.
//!
//! Compression is opt-in: set [`Config::deflate`](crate::Config::deflate).
//! Every window size from 8 to 15 bits works in both directions. The
//! decompressor always keeps a 32 KiB window, which is enough for any peer.
//! Our compressor honours a smaller agreed window by resetting its
//! dictionary (a full flush) at least every 2^bits input bytes, so no match
//! can reach further back than the window; with a window below 15 bits this
//! also means it never takes context over from earlier messages, which the
//! RFC allows (context takeover is permission, not obligation).

mod codec;
mod negotiate;

pub(crate) use codec::{Compressor, Decompressor, InflateError};
pub(crate) use negotiate::check_server_choice;
pub use negotiate::{
    DeflateChoice, DeflateParams, client_offers, negotiate_client, negotiate_server,
};

/// The compression state of an open connection.
#[derive(Debug)]
pub(crate) struct DeflateState {
    pub compressor: Compressor,
    pub decompressor: Decompressor,
    /// Messages shorter than this are sent uncompressed.
    pub min_size: usize,
}

impl DeflateState {
    pub(crate) fn new(
        role: crate::Role,
        params: &DeflateParams,
        config: Option<&DeflateConfig>,
    ) -> Self {
        let defaults = DeflateConfig::default();
        let config = config.unwrap_or(&defaults);
        let (own_bits, own_reset, peer_reset) = match role {
            crate::Role::Client => (
                params.client_max_window_bits,
                params.client_no_context_takeover,
                params.server_no_context_takeover,
            ),
            crate::Role::Server => (
                params.server_max_window_bits,
                params.server_no_context_takeover,
                params.client_no_context_takeover,
            ),
        };
        DeflateState {
            compressor: Compressor::new(config.level, own_bits.unwrap_or(15), own_reset),
            decompressor: Decompressor::new(peer_reset),
            min_size: config.min_size,
        }
    }
}

/// The extension token.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// permessage-deflate settings. The same settings serve both roles: a
/// client turns them into its offer; a server uses them to pick among the
/// client's offers.
///
/// ```
/// use wsproto::{Config, deflate::DeflateConfig};
/// let config = Config::default().deflate(Some(DeflateConfig::default().client_max_window_bits(Some(12))));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateConfig {
    pub(crate) level: u8,
    pub(crate) min_size: usize,
    pub(crate) server_no_context_takeover: bool,
    pub(crate) client_no_context_takeover: bool,
    pub(crate) server_max_window_bits: Option<u8>,
    pub(crate) client_max_window_bits: Option<u8>,
    pub(crate) fallback_offer: bool,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            level: 6,
            min_size: 16,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
            fallback_offer: true,
        }
    }
}

impl DeflateConfig {
    /// Compression level, 0 (store) to 10 (best); default 6.
    pub fn level(mut self, level: u8) -> Self {
        self.level = level.min(10);
        self
    }

    /// Messages shorter than this are sent uncompressed (default 16 bytes).
    pub fn min_size(mut self, bytes: usize) -> Self {
        self.min_size = bytes;
        self
    }

    /// Client: ask the server not to take context over between messages.
    /// Server: never take context over (always answered).
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Client: promise not to take context over. Server: ask the client not
    /// to (always answered; it lets both sides free state between messages).
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// The server's compression window, 8–15 bits. Client: ask the server
    /// for at most this. Server: use at most this.
    pub fn server_max_window_bits(mut self, bits: Option<u8>) -> Self {
        self.server_max_window_bits = bits.map(|b| b.clamp(8, 15));
        self
    }

    /// The client's compression window, 8–15 bits. Client: use at most
    /// this (the offer always says the client can limit its window). Server:
    /// ask the client for at most this when its offer allows.
    pub fn client_max_window_bits(mut self, bits: Option<u8>) -> Self {
        self.client_max_window_bits = bits.map(|b| b.clamp(8, 15));
        self
    }

    /// Client: when the first offer asks anything of the server, follow it
    /// with a plain offer the server can fall back to (RFC 7692 §5). On by
    /// default.
    pub fn fallback_offer(mut self, on: bool) -> Self {
        self.fallback_offer = on;
        self
    }
}
