//! The extension-list parser and both sides of deflate negotiation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsproto::deflate::{DeflateConfig, negotiate_client, negotiate_server};
use wsproto::handshake::{Headers, parse_extensions};

fuzz_target!(|data: &[u8]| {
    let mut headers = Headers::new();
    headers.push("Sec-WebSocket-Extensions", data);
    let Ok(list) = parse_extensions(&headers) else {
        return;
    };
    // Printing and parsing again gives the same list.
    let printed: Vec<String> = list.iter().map(ToString::to_string).collect();
    let mut again = Headers::new();
    again.push("Sec-WebSocket-Extensions", printed.join(", "));
    assert_eq!(parse_extensions(&again).ok().as_ref(), Some(&list));
    for config in [
        DeflateConfig::default(),
        DeflateConfig::default()
            .server_max_window_bits(Some(9))
            .client_max_window_bits(Some(10)),
    ] {
        if let Some(params) = negotiate_server(&config, &list) {
            for bits in [params.server_max_window_bits, params.client_max_window_bits]
                .into_iter()
                .flatten()
            {
                assert!((8..=15).contains(&bits));
            }
        }
        let _ = negotiate_client(&config, &list);
    }
});
