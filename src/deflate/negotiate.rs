//! Negotiating permessage-deflate parameters (RFC 7692 §5, §7.1).

use super::{DeflateConfig, EXTENSION_NAME};
use crate::error::HandshakeError;
use crate::handshake::Extension;

/// The parameters in force on a connection, as the server answered them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compression context after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compression context after every message.
    pub client_no_context_takeover: bool,
    /// The server compresses with at most this window (bits); `None`: 15.
    pub server_max_window_bits: Option<u8>,
    /// The client compresses with at most this window (bits); `None`: 15.
    pub client_max_window_bits: Option<u8>,
}

impl DeflateParams {
    /// The response extension that states these parameters.
    pub fn to_extension(&self) -> Extension {
        let mut params = Vec::new();
        if self.server_no_context_takeover {
            params.push(("server_no_context_takeover".to_owned(), None));
        }
        if self.client_no_context_takeover {
            params.push(("client_no_context_takeover".to_owned(), None));
        }
        if let Some(bits) = self.server_max_window_bits {
            params.push(("server_max_window_bits".to_owned(), Some(bits.to_string())));
        }
        if let Some(bits) = self.client_max_window_bits {
            params.push(("client_max_window_bits".to_owned(), Some(bits.to_string())));
        }
        Extension {
            name: EXTENSION_NAME.to_owned(),
            params,
        }
    }

    /// Reads the parameters of a negotiated (response) extension.
    pub fn from_extension(extension: &Extension) -> Result<DeflateParams, String> {
        let parsed = ParsedParams::parse(extension, false)?;
        Ok(DeflateParams {
            server_no_context_takeover: parsed.server_no_context_takeover,
            client_no_context_takeover: parsed.client_no_context_takeover,
            server_max_window_bits: parsed.server_max_window_bits.flatten(),
            client_max_window_bits: parsed.client_max_window_bits.flatten(),
        })
    }
}

/// How a server answers the client's deflate offers in
/// [`Accept`](crate::Accept).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeflateChoice {
    /// Accept the first acceptable offer under the server's
    /// [`DeflateConfig`] (no compression when none is configured).
    #[default]
    Auto,
    /// No compression.
    Decline,
    /// These parameters (must answer one of the client's offers).
    Use(DeflateParams),
}

/// One offer's or response's parameters; `Some(None)` is a window-bits
/// parameter without a value.
#[derive(Default)]
struct ParsedParams {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<Option<u8>>,
    client_max_window_bits: Option<Option<u8>>,
}

impl ParsedParams {
    /// Validates names, duplicates and values. Only an offer may carry
    /// `client_max_window_bits` without a value.
    fn parse(extension: &Extension, is_offer: bool) -> Result<ParsedParams, String> {
        let mut out = ParsedParams::default();
        for (name, value) in &extension.params {
            let name = name.to_ascii_lowercase();
            let duplicate = match name.as_str() {
                "server_no_context_takeover" | "client_no_context_takeover" => {
                    if value.is_some() {
                        return Err(format!("{name} takes no value"));
                    }
                    let flag = if name.starts_with("server") {
                        &mut out.server_no_context_takeover
                    } else {
                        &mut out.client_no_context_takeover
                    };
                    std::mem::replace(flag, true)
                }
                "server_max_window_bits" | "client_max_window_bits" => {
                    let bits = match value {
                        Some(v) => Some(
                            parse_window_bits(v)
                                .ok_or_else(|| format!("{name}={v} is not 8 to 15"))?,
                        ),
                        None if is_offer && name.starts_with("client") => None,
                        None => return Err(format!("{name} needs a value")),
                    };
                    let slot = if name.starts_with("server") {
                        &mut out.server_max_window_bits
                    } else {
                        &mut out.client_max_window_bits
                    };
                    slot.replace(bits).is_some()
                }
                _ => return Err(format!("unknown parameter {name}")),
            };
            if duplicate {
                return Err(format!("duplicate parameter {name}"));
            }
        }
        Ok(out)
    }
}

fn parse_window_bits(value: &str) -> Option<u8> {
    if value.is_empty()
        || value.len() > 2
        || !value.bytes().all(|b| b.is_ascii_digit())
        || value.starts_with('0')
    {
        return None;
    }
    value.parse().ok().filter(|bits| (8..=15).contains(bits))
}

/// The client's offers, in preference order (RFC 7692 §5): everything the
/// config asks for, then, if that asks anything of the server, a plain
/// fallback.
pub fn client_offers(config: &DeflateConfig) -> Vec<Extension> {
    let mut strict = DeflateParams {
        server_no_context_takeover: config.server_no_context_takeover,
        client_no_context_takeover: config.client_no_context_takeover,
        server_max_window_bits: config.server_max_window_bits,
        client_max_window_bits: config.client_max_window_bits,
    }
    .to_extension();
    if config.client_max_window_bits.is_none() {
        // Tell the server we can limit our window if it wants us to.
        strict
            .params
            .push(("client_max_window_bits".to_owned(), None));
    }
    let asks_server = config.server_no_context_takeover || config.server_max_window_bits.is_some();
    if !(asks_server && config.fallback_offer) {
        return vec![strict];
    }
    let fallback = Extension {
        name: EXTENSION_NAME.to_owned(),
        params: strict
            .params
            .iter()
            .filter(|(name, _)| name.starts_with("client_"))
            .cloned()
            .collect(),
    };
    vec![strict, fallback]
}

/// Client: checks the server's answer against our offers. `Ok(None)` when
/// the server declined compression.
pub fn negotiate_client(
    config: &DeflateConfig,
    response: &[Extension],
) -> Result<Option<DeflateParams>, HandshakeError> {
    let mut chosen = response
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(EXTENSION_NAME));
    let Some(extension) = chosen.next() else {
        return Ok(None);
    };
    let invalid = |why: String| HandshakeError::InvalidExtension(why);
    if chosen.next().is_some() {
        return Err(invalid("permessage-deflate answered twice".into()));
    }
    let parsed = ParsedParams::parse(extension, false).map_err(invalid)?;
    let offers = client_offers(config);
    // The answer must fit at least one offer.
    let fits = offers.iter().any(|offer| {
        let Ok(offered) = ParsedParams::parse(offer, true) else {
            return false;
        };
        let server_bits_ok = match (
            offered.server_max_window_bits.flatten(),
            parsed.server_max_window_bits.flatten(),
        ) {
            (Some(asked), Some(got)) => got <= asked,
            (Some(_), None) => false,
            (None, _) => true,
        };
        let client_bits_ok = match (
            offered.client_max_window_bits,
            parsed.client_max_window_bits.flatten(),
        ) {
            (None, Some(_)) => false,
            (Some(Some(offered)), Some(got)) => got <= offered,
            _ => true,
        };
        let takeover_ok = !offered.server_no_context_takeover || parsed.server_no_context_takeover;
        server_bits_ok && client_bits_ok && takeover_ok
    });
    if !fits {
        return Err(invalid(format!(
            "answer {extension} does not fit any offer"
        )));
    }
    Ok(Some(DeflateParams {
        server_no_context_takeover: parsed.server_no_context_takeover,
        client_no_context_takeover: parsed.client_no_context_takeover
            || config.client_no_context_takeover,
        server_max_window_bits: parsed.server_max_window_bits.flatten(),
        client_max_window_bits: parsed
            .client_max_window_bits
            .flatten()
            .or(config.client_max_window_bits),
    }))
}

/// Server: the first acceptable offer under `config`, as the parameters to
/// answer with. Offers with unknown or malformed parameters are declined
/// (skipped), never an error.
pub fn negotiate_server(config: &DeflateConfig, offers: &[Extension]) -> Option<DeflateParams> {
    offers
        .iter()
        .filter(|offer| offer.name.eq_ignore_ascii_case(EXTENSION_NAME))
        .find_map(|offer| {
            let offered = ParsedParams::parse(offer, true).ok()?;
            let own_limit = config.server_max_window_bits.unwrap_or(15);
            let server_max_window_bits = match offered.server_max_window_bits.flatten() {
                Some(asked) => Some(asked.min(own_limit)),
                None => config.server_max_window_bits.filter(|bits| *bits < 15),
            };
            let client_max_window_bits = match (
                offered.client_max_window_bits,
                config.client_max_window_bits,
            ) {
                (Some(offered), Some(wanted)) => Some(offered.unwrap_or(15).min(wanted)),
                _ => None,
            };
            Some(DeflateParams {
                server_no_context_takeover: offered.server_no_context_takeover
                    || config.server_no_context_takeover,
                client_no_context_takeover: offered.client_no_context_takeover
                    || config.client_no_context_takeover,
                server_max_window_bits,
                client_max_window_bits,
            })
        })
}

/// Server: checks parameters the application chose against the offers.
pub(crate) fn check_server_choice(params: &DeflateParams, offers: &[Extension]) -> bool {
    let in_range = |bits: Option<u8>| bits.is_none_or(|b| (8..=15).contains(&b));
    if !in_range(params.server_max_window_bits) || !in_range(params.client_max_window_bits) {
        return false;
    }
    offers
        .iter()
        .filter(|o| o.name.eq_ignore_ascii_case(EXTENSION_NAME))
        .any(|offer| {
            let Ok(offered) = ParsedParams::parse(offer, true) else {
                return false;
            };
            let server_ok = match offered.server_max_window_bits.flatten() {
                Some(asked) => params.server_max_window_bits.is_some_and(|b| b <= asked),
                None => true,
            };
            let client_ok = match (
                offered.client_max_window_bits,
                params.client_max_window_bits,
            ) {
                (None, Some(_)) => false,
                (Some(Some(offered)), Some(b)) => b <= offered,
                _ => true,
            };
            let takeover_ok =
                !offered.server_no_context_takeover || params.server_no_context_takeover;
            server_ok && client_ok && takeover_ok
        })
}
