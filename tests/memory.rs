//! Peak and resident heap, counted by a global allocator: hostile input
//! stays within its configured limit plus a small constant, and an idle
//! connection holds little.
#![allow(
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::{REQUEST, client_frame, config, drain, events, open_server};
use wsproto::deflate::DeflateConfig;
use wsproto::{Accept, Connection};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn add(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::SeqCst) + n;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// wrapper only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
            add(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns (its result, peak heap above the start, heap still
/// held above the start when it returned).
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let start = CURRENT.load(Ordering::SeqCst);
    PEAK.store(start, Ordering::SeqCst);
    let out = f();
    let peak = PEAK.load(Ordering::SeqCst) - start;
    let held = CURRENT.load(Ordering::SeqCst).saturating_sub(start);
    (out, peak, held)
}

const KIB: usize = 1024;

/// One test function, so no other test allocates while it measures.
#[test]
fn memory_stays_within_the_limits() {
    let now = Instant::now();

    // Idle open connections, with and without compression.
    let (server, _, held) = measure(|| open_server(config(), now));
    println!("idle server after the handshake: {held} bytes");
    assert!(held <= 2 * KIB, "idle connection holds {held} bytes");
    drop(server);

    let request = REQUEST.replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    );
    let deflate = config().deflate(Some(DeflateConfig::default()));
    let (mut server, _, held) = measure(|| {
        let mut s = Connection::server(deflate.clone(), now);
        s.handle_data(now, request.as_bytes());
        events(&mut s);
        s.accept(now, Accept::new()).unwrap();
        events(&mut s);
        drain(&mut s);
        s
    });
    println!("idle server with deflate negotiated: {held} bytes");
    assert!(held <= 2 * KIB, "{held}");
    let (_, _, held) = measure(|| {
        server.handle_data(
            now,
            &client_frame(0xC1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
        );
        server.send_text(&"hello ".repeat(100)).unwrap();
        events(&mut server);
        drain(&mut server);
    });
    println!("deflate server after one message each way: {held} bytes");
    drop(server);

    // A read that finds nothing (WouldBlock) leaves no buffer behind.
    let mut server = open_server(config(), now);
    let (_, _, held) = measure(|| {
        let _ = server.handle_read_with(now, 64 * KIB, |_| Err::<usize, ()>(()));
    });
    assert_eq!(held, 0, "an idle read kept {held} bytes");
    drop(server);

    // A frame declaring 2^63-1 bytes allocates nothing for it.
    let (_, peak, _) = measure(|| {
        let mut s = open_server(config(), now);
        let mut f = vec![0x82, 0xFF];
        f.extend_from_slice(&(u64::MAX >> 1).to_be_bytes());
        f.extend_from_slice(&[1, 2, 3, 4, 0, 0, 0, 0]);
        s.handle_data(now, &f);
        events(&mut s);
        drain(&mut s);
    });
    assert!(peak <= 16 * KIB, "huge declared length: peak {peak}");

    // A frame declaring 16 MiB (allowed) of which 64 KiB arrive, in 16 KiB
    // reads: the buffer reserved ahead stays within eight times what
    // arrived, not the declared length.
    let (_, peak, _) = measure(|| {
        let mut s = open_server(config(), now);
        let mut f = vec![0x82, 0xFF];
        f.extend_from_slice(&(16u64 << 20).to_be_bytes());
        f.extend_from_slice(&[1, 2, 3, 4]);
        f.resize(f.len() + 64 * KIB, 0);
        for piece in f.chunks(16 * KIB) {
            s.handle_data(now, piece);
        }
        events(&mut s);
        drain(&mut s);
    });
    assert!(
        peak <= 9 * 64 * KIB + 32 * KIB,
        "16 MiB declared, 64 KiB sent: peak {peak}"
    );
    println!("16 MiB frame declared, 64 KiB sent: peak {peak} bytes");

    // Twenty 256 KiB messages read in 16 KiB reads, each dropped before
    // the next: they share one block, and an idle read releases it.
    let large: Vec<u8> = (0..20)
        .flat_map(|i| client_frame(0x82, &vec![i as u8; 256 * KIB]))
        .collect();
    let mut s = open_server(config(), now);
    let (_, peak, held) = measure(|| {
        let mut pos = 0;
        while pos < large.len() {
            pos += s
                .handle_read_with(now, 16 * KIB, |buf| {
                    let n = buf.len().min(large.len() - pos);
                    buf[..n].copy_from_slice(&large[pos..pos + n]);
                    Ok::<usize, ()>(n)
                })
                .unwrap();
            events(&mut s);
        }
        let _ = s.handle_read_with(now, 16 * KIB, |_| Err::<usize, ()>(()));
    });
    println!("twenty 256 KiB messages: peak {peak} bytes, held after an idle read {held}");
    // The growth of the first block (old and new alive while it is copied),
    // one read, and the small bookkeeping; not twenty blocks.
    assert!(peak <= 3 * 256 * KIB, "large messages: peak {peak}");
    assert!(held <= KIB, "an idle read kept {held} bytes");
    drop(s);

    // A client sending twenty 256 KiB messages, each written before the
    // next: they are masked into one block, which an idle read releases.
    let payload = vec![7u8; 256 * KIB];
    let mut c = Connection::from_upgraded(
        wsproto::Role::Client,
        wsproto::Negotiated::new(),
        config(),
        now,
    );
    let (_, peak, held) = measure(|| {
        for _ in 0..20 {
            c.send_binary_slice(&payload).unwrap();
            drain(&mut c);
        }
        let _ = c.handle_read_with(now, 16 * KIB, |_| Err::<usize, ()>(()));
    });
    println!(
        "client sending twenty 256 KiB messages: peak {peak} bytes, held after an idle read {held}"
    );
    // The one block, and the copy `drain` makes of what was written.
    assert!(peak <= 2 * 256 * KIB + 4 * KIB, "large sends: peak {peak}");
    assert!(held <= KIB, "an idle read kept {held} bytes");
    drop(c);

    // 100,000 headers: the head limit (16 KiB) plus the read size.
    let mut head = String::from("GET / HTTP/1.1\r\n");
    for i in 0..100_000 {
        head.push_str(&format!("X-{i}: v\r\n"));
    }
    let (_, peak, _) = measure(|| {
        let mut s = Connection::server(config(), now);
        for piece in head.as_bytes().chunks(4 * KIB) {
            s.handle_data(now, piece);
        }
        drain(&mut s);
        events(&mut s);
    });
    assert!(
        peak <= 16 * KIB + 4 * KIB + 16 * KIB,
        "100,000 headers: peak {peak}"
    );

    // A deflate bomb against a 1 MiB message limit.
    let bomb = {
        let negotiated = wsproto::Negotiated {
            extensions: vec![wsproto::handshake::Extension {
                name: "permessage-deflate".into(),
                params: Vec::new(),
            }],
            ..Default::default()
        };
        let mut c = Connection::from_upgraded(
            wsproto::Role::Client,
            negotiated,
            config().deflate(Some(DeflateConfig::default().level(9))),
            now,
        );
        c.send_binary(vec![0u8; 256 << 20]).unwrap();
        drain(&mut c).0
    };
    println!("bomb: {} bytes on the wire inflate to 256 MiB", bomb.len());
    let limit = 1 << 20;
    let (_, peak, _) = measure(|| {
        let mut s = Connection::server(deflate.clone().max_message_size(limit), now);
        s.handle_data(now, request.as_bytes());
        events(&mut s);
        s.accept(now, Accept::new()).unwrap();
        for piece in bomb.chunks(16 * KIB) {
            s.handle_data(now, piece);
        }
        assert_eq!(s.state(), wsproto::State::Closed);
        events(&mut s);
        drain(&mut s);
    });
    // The limit, the decompressor's 32 KiB window and tables, and one read.
    println!("bomb peak: {peak} bytes");
    assert!(peak <= limit + 128 * KIB, "deflate bomb: peak {peak}");

    // A ping flood nobody reads: events and pongs stay bounded.
    let flood: Vec<u8> = (0..100_000u32)
        .flat_map(|i| client_frame(0x89, &i.to_be_bytes()))
        .collect();
    let (_, peak, _) = measure(|| {
        let mut s = open_server(config(), now);
        for piece in flood.chunks(16 * KIB) {
            s.handle_data(now, piece);
        }
        s
    });
    println!("ping flood peak: {peak} bytes");
    assert!(peak <= 128 * KIB, "ping flood: peak {peak}");
}
