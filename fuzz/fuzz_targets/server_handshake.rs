//! Arbitrary request bytes in arbitrary chunks; a valid request is accepted
//! and whatever follows is decoded as frames.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use wsproto::{Accept, Config, Connection, EntropySource, Event};

#[path = "common.rs"]
mod common;

fuzz_target!(|input: &[u8]| {
    // The first byte sets the chunk size (0: all at once).
    let (sizes, data) = input.split_at(input.len().min(1));
    let now = Instant::now();
    let config = Config::default()
        .entropy(EntropySource::deterministic(1))
        .max_handshake_size(4096)
        .max_headers(32)
        .max_frame_size(1 << 16)
        .max_message_size(1 << 17);
    let mut conn = Connection::server(config, now);
    let mut closed = false;
    for chunk in common::chunks(data, sizes) {
        conn.handle_data(now, chunk);
        let _ = conn.poll_transmit();
        while let Some(event) = conn.poll_event() {
            assert!(!closed);
            match event {
                Event::Request(request) => {
                    assert_eq!(request.method(), "GET");
                    let chosen = request.subprotocols().first().cloned();
                    let accept = Accept {
                        subprotocol: chosen,
                        ..Accept::new()
                    };
                    assert!(conn.accept(now, accept).is_ok());
                }
                Event::Closed(_) => closed = true,
                _ => {}
            }
        }
        common::drain_and_check(&mut conn, &mut closed);
    }
    conn.handle_timeout(now + Duration::from_secs(3600));
    conn.handle_eof(now);
    common::drain_and_check(&mut conn, &mut closed);
    assert!(closed);
});
