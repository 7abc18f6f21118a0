//! Compressed frames with arbitrary deflate data: inflating stays within
//! the message budget and never panics.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use wsproto::handshake::Extension;
use wsproto::{Config, Connection, EntropySource, Event, Message, Negotiated, Role};

#[path = "common.rs"]
mod common;

const LIMIT: usize = 1 << 16;

fuzz_target!(|input: &[u8]| {
    // First byte: bit 0 text or binary, the rest the frame size (0: one
    // frame). Then the compressed message.
    let Some((&flags, stream)) = input.split_first() else {
        return;
    };
    let text = flags & 1 == 1;
    let frame_size = usize::from(flags >> 1);
    let now = Instant::now();
    let negotiated = Negotiated {
        extensions: vec![Extension {
            name: "permessage-deflate".into(),
            params: Vec::new(),
        }],
        ..Negotiated::new()
    };
    let config = Config::default()
        .entropy(EntropySource::deterministic(1))
        .max_message_size(LIMIT);
    let mut conn = Connection::from_upgraded(Role::Client, negotiated, config, now);
    let frames: Vec<&[u8]> = if frame_size == 0 || stream.is_empty() {
        vec![stream]
    } else {
        stream.chunks(frame_size).collect()
    };
    let count = frames.len();
    let mut bytes = Vec::new();
    for (i, payload) in frames.iter().enumerate() {
        let first = i == 0;
        let last = i + 1 == count;
        let opcode = match (first, text) {
            (true, true) => 0x1,
            (true, false) => 0x2,
            _ => 0x0,
        };
        let rsv1 = if first { 0x40 } else { 0 };
        let fin = if last { 0x80 } else { 0 };
        bytes.push(fin | rsv1 | opcode);
        let len = payload.len().min(0xFFFF);
        if len < 126 {
            bytes.push(len as u8);
        } else {
            bytes.push(126);
            bytes.extend_from_slice(&(len as u16).to_be_bytes());
        }
        bytes.extend_from_slice(&payload[..len]);
    }
    conn.handle_data(now, &bytes);
    while let Some(event) = conn.poll_event() {
        if let Event::Message(message) = event {
            assert!(message.as_bytes().len() <= LIMIT);
            if let Message::Text(t) = message {
                assert!(std::str::from_utf8(t.as_bytes()).is_ok());
            }
        }
    }
    let mut closed = false;
    conn.handle_eof(now);
    common::drain_and_check(&mut conn, &mut closed);
});
