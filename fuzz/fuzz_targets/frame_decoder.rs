//! Arbitrary bytes after the handshake, in arbitrary chunks, to both roles.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use wsproto::{Config, Connection, EntropySource, Negotiated, Role};

#[path = "common.rs"]
mod common;

fuzz_target!(|input: &[u8]| {
    // The first byte sets the chunk size (0: all at once); an odd second
    // byte reads through `handle_read_with` instead of `handle_data`.
    let (sizes, data) = input.split_at(input.len().min(1));
    let read_with = data.first().is_some_and(|b| b & 1 == 1);
    let _ = wsproto::frame::decode_header(data);
    for role in [Role::Server, Role::Client] {
        let now = Instant::now();
        let config = Config::default()
            .entropy(EntropySource::deterministic(1))
            .max_frame_size(1 << 16)
            .max_message_size(1 << 17);
        let mut conn = Connection::from_upgraded(role, Negotiated::new(), config, now);
        let mut closed = false;
        for chunk in common::chunks(data, sizes) {
            if read_with {
                // The engine may lend less room than asked (a large frame
                // is read only up to its end): read until the chunk is in.
                let mut rest = chunk;
                while !rest.is_empty() {
                    let n = conn
                        .handle_read_with(now, rest.len(), |buf| {
                            let n = buf.len().min(rest.len());
                            buf[..n].copy_from_slice(&rest[..n]);
                            Ok::<usize, ()>(n)
                        })
                        .unwrap_or(0);
                    assert!(n > 0, "no room lent for a read");
                    rest = &rest[n..];
                }
            } else {
                conn.handle_data(now, chunk);
            }
            common::drain_and_check(&mut conn, &mut closed);
        }
        conn.handle_eof(now);
        common::drain_and_check(&mut conn, &mut closed);
        assert!(closed, "EOF always ends the connection");
    }
});
