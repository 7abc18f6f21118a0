//! Arbitrary response bytes to a client (its key is fixed by deterministic
//! entropy, so the seed corpus holds a valid answer to mutate).
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use wsproto::deflate::DeflateConfig;
use wsproto::{ClientRequest, Config, Connection, EntropySource};

#[path = "common.rs"]
mod common;

fuzz_target!(|input: &[u8]| {
    // The first byte sets the chunk size (0: all at once).
    let (sizes, data) = input.split_at(input.len().min(1));
    let now = Instant::now();
    let config = Config::default()
        .entropy(EntropySource::deterministic(7))
        .max_handshake_size(4096)
        .max_rejection_body(1024)
        .max_frame_size(1 << 16)
        .max_message_size(1 << 17)
        .deflate(Some(DeflateConfig::default()));
    let request = ClientRequest::new("example.com", "/chat").subprotocol("chat");
    let Ok(mut conn) = Connection::client(request, config, now) else {
        return;
    };
    let mut closed = false;
    common::drain_and_check(&mut conn, &mut closed);
    for chunk in common::chunks(data, sizes) {
        conn.handle_data(now, chunk);
        common::drain_and_check(&mut conn, &mut closed);
    }
    conn.handle_timeout(now + Duration::from_secs(3600));
    conn.handle_eof(now);
    common::drain_and_check(&mut conn, &mut closed);
    assert!(closed);
});
