//! Heap held per idle connection of the tokio adapter, counted by a global
//! allocator: N server connections, each a task parked in `recv` after the
//! handshake, against raw std-socket clients that allocate nothing. One
//! test in this binary, so nothing else allocates while it measures.
//!
//! ```text
//! cargo test --release --all-features --test async_memory -- --nocapture
//! ```
#![cfg(feature = "tokio")]
#![allow(
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use wsproto::io::tokio as ws;
use wsproto::{Accept, Config};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// wrapper only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            CURRENT.fetch_add(layout.size(), Ordering::SeqCst);
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
            CURRENT.fetch_add(new_size, Ordering::SeqCst);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CONNECTIONS: usize = 500;

/// Opens `n` raw client connections through the upgrade and keeps them.
fn raw_clients(addr: std::net::SocketAddr, n: usize, deflate: bool) -> Vec<TcpStream> {
    let extension = if deflate {
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    } else {
        ""
    };
    let request = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extension}\r\n"
    );
    (0..n)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                stream.read_exact(&mut byte).unwrap();
                head.push(byte[0]);
            }
            assert!(head.starts_with(b"HTTP/1.1 101"));
            assert_eq!(
                deflate,
                head.windows(18).any(|w| w == b"permessage-deflate")
            );
            stream
        })
        .collect()
}

/// Heap held per idle server connection (its task parked in `recv`).
fn held_per_connection(runtime: &tokio::runtime::Runtime, deflate: bool) -> usize {
    let open = Arc::new(AtomicUsize::new(0));
    let mut config = Config::default();
    if deflate {
        config = config.deflate(Some(wsproto::deflate::DeflateConfig::default()));
    }
    let (addr, server) = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = open.clone();
        let server = tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (config, open) = (config.clone(), open.clone());
                tokio::spawn(async move {
                    let mut ws = ws::accept(stream, config, |_| Ok(Accept::new()))
                        .await
                        .unwrap();
                    open.fetch_add(1, Ordering::SeqCst);
                    let _ = ws.recv().await;
                });
            }
        });
        (addr, server)
    });
    // Warm up: the runtime's and the allocator's one-time structures.
    let warm = raw_clients(addr, 20, deflate);
    let settle = |count: usize| {
        runtime.block_on(async {
            while open.load(Ordering::SeqCst) < count {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        })
    };
    settle(20);
    let before = CURRENT.load(Ordering::SeqCst);
    let clients = raw_clients(addr, CONNECTIONS, deflate);
    settle(20 + CONNECTIONS);
    let after = CURRENT.load(Ordering::SeqCst);
    drop((clients, warm));
    server.abort();
    after.saturating_sub(before) / CONNECTIONS
}

#[test]
fn idle_connection_heap() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let plain = held_per_connection(&runtime, false);
    println!("tokio adapter, idle server connection: {plain} bytes of heap each");
    let deflate = held_per_connection(&runtime, true);
    println!("tokio adapter, idle server connection with permessage-deflate: {deflate} bytes each");
    assert!(plain <= 12 << 10, "{plain} bytes per idle connection");
    assert!(
        deflate <= 48 << 10,
        "{deflate} bytes per idle deflate connection"
    );
}
