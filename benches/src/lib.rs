//! Shared pieces of the wsproto benchmarks: the workloads (pre-built wire
//! bytes, text and JSON corpora), in-memory streams that every library
//! reads from and writes to in the same way, and the wsproto drivers (also
//! used by the `profile` binary under callgrind).
//!
//! Every library sees exactly the same input bytes, handed out in reads of
//! at most [`READ_CHUNK`] bytes, and writes into a sink that only counts
//! bytes, so no library pays for another's copy.

use std::cell::RefCell;
use std::io::{self, IoSlice, Read, Write};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use wsproto::{Config, Connection, Event, Negotiated, Role, Transmit};

pub mod ceilings;
pub mod e2e;
pub mod handshakes;
pub mod peers;
pub mod roundtrip;

/// The size of one transport read: what a socket read typically returns.
pub const READ_CHUNK: usize = 16 << 10;

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
///
/// The in-memory benchmarks time themselves with this instead of wall
/// time: on a shared machine, time the benchmark thread spends
/// descheduled by other load is then not counted. Every library runs on
/// the calling thread (the async ones on a current-thread runtime), so
/// its whole cost is counted.
pub fn thread_cpu_time() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `f` `iters` times and returns the thread CPU time it took.
pub fn cpu_timed(iters: u64, mut f: impl FnMut()) -> std::time::Duration {
    let start = thread_cpu_time();
    for _ in 0..iters {
        f();
    }
    thread_cpu_time() - start
}

/// Payload sizes of the per-message benchmarks.
pub const SIZES: [usize; 5] = [16, 125, 1 << 10, 64 << 10, 16 << 20];

/// A short label for a payload size ("16B", "1KiB", "16MiB").
pub fn size_label(size: usize) -> String {
    if size >= 1 << 20 && size.is_multiple_of(1 << 20) {
        format!("{}MiB", size >> 20)
    } else if size >= 1 << 10 && size.is_multiple_of(1 << 10) {
        format!("{}KiB", size >> 10)
    } else {
        format!("{size}B")
    }
}

/// How many messages of `size` bytes one benchmark iteration handles: about
/// 2 MiB of payload, at least one message and at most 16384.
pub fn batch(size: usize) -> usize {
    ((2 << 20) / size.max(1)).clamp(1, 16384)
}

/// Binary or text (text is validated as UTF-8 by every receiver).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Opcode 0x2.
    Binary,
    /// Opcode 0x1, valid UTF-8.
    Text,
}

impl Kind {
    /// "binary" or "text".
    pub fn name(self) -> &'static str {
        match self {
            Kind::Binary => "binary",
            Kind::Text => "text",
        }
    }
}

// ---- workloads ---------------------------------------------------------

/// A small deterministic generator (SplitMix64) for payloads and keys.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let w = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}

/// Random bytes.
pub fn binary_payload(size: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; size];
    Rng(seed).fill(&mut out);
    out
}

/// Realistic chat-like text: mostly ASCII words with some Latin-1, Greek,
/// CJK and emoji code points (about 1 in 12 words is multi-byte), exactly
/// `size` bytes long and valid UTF-8.
pub fn text_payload(size: usize, seed: u64) -> String {
    const WORDS: &[&str] = &[
        "hello",
        "world",
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "lazy",
        "dog",
        "message",
        "server",
        "client",
        "frame",
        "socket",
        "data",
        "stream",
        "event",
        "json",
        "value",
        "café",
        "naïve",
        "κόσμε",
        "中文",
        "😀",
        "Grüße",
        "ok",
        "status",
        "id",
        "user",
    ];
    let mut rng = Rng(seed);
    let mut out = String::with_capacity(size + 8);
    while out.len() < size {
        let word = WORDS[(rng.next_u64() % WORDS.len() as u64) as usize];
        if out.len() + word.len() + 1 > size {
            break;
        }
        out.push_str(word);
        out.push(' ');
    }
    while out.len() < size {
        out.push('.');
    }
    out
}

/// The payload of one message of the given kind and size.
pub fn payload(kind: Kind, size: usize, seed: u64) -> Bytes {
    match kind {
        Kind::Binary => Bytes::from(binary_payload(size, seed)),
        Kind::Text => Bytes::from(text_payload(size, seed).into_bytes()),
    }
}

/// Appends one frame (header, optional mask key, masked payload).
pub fn encode_frame(out: &mut Vec<u8>, fin: bool, opcode: u8, mask: Option<[u8; 4]>, data: &[u8]) {
    out.push(u8::from(fin) << 7 | opcode);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match data.len() {
        n @ 0..=125 => out.push(mask_bit | n as u8),
        n @ 126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            let start = out.len();
            out.extend_from_slice(data);
            for (i, b) in out[start..].iter_mut().enumerate() {
                *b ^= key[i & 3];
            }
        }
        None => out.extend_from_slice(data),
    }
}

/// `count` masked client frames each carrying `payload` (one message per
/// frame), with a fresh pseudo-random mask key per frame.
pub fn masked_messages(kind: Kind, payload: &[u8], count: usize) -> Bytes {
    let opcode = match kind {
        Kind::Binary => 2,
        Kind::Text => 1,
    };
    let mut out = Vec::with_capacity(count * (payload.len() + 14));
    let mut rng = Rng(0xfeed);
    for _ in 0..count {
        let key = (rng.next_u64() as u32).to_ne_bytes();
        encode_frame(&mut out, true, opcode, Some(key), payload);
    }
    Bytes::from(out)
}

/// The fragmented workload: one 1 MiB text message in 1 KiB fragments
/// (code points split across fragments), with a ping every 64 fragments;
/// masked client frames. Returns the wire bytes and the message.
pub fn fragmented_message() -> (Bytes, Bytes) {
    let text = text_payload(1 << 20, 77).into_bytes();
    let mut out = Vec::with_capacity(text.len() + text.len() / 1024 * 20);
    let mut rng = Rng(0xf4a9);
    let fragments: Vec<&[u8]> = text.chunks(1024).collect();
    let last = fragments.len() - 1;
    for (i, fragment) in fragments.iter().enumerate() {
        let key = (rng.next_u64() as u32).to_ne_bytes();
        let opcode = if i == 0 { 1 } else { 0 };
        encode_frame(&mut out, i == last, opcode, Some(key), fragment);
        if i % 64 == 63 && i != last {
            let key = (rng.next_u64() as u32).to_ne_bytes();
            encode_frame(&mut out, true, 9, Some(key), b"keepalive");
        }
    }
    (Bytes::from(out), Bytes::from(text))
}

/// Realistic JSON messages between 1 and 4 KiB: API responses with nested
/// objects, repeated keys, ids, timestamps and text, the kind of traffic
/// permessage-deflate is used for. Deterministic.
pub fn json_corpus(count: usize) -> Vec<String> {
    let mut rng = Rng(0x15);
    let names = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
    ];
    let words = [
        "update",
        "price",
        "order",
        "filled",
        "cancelled",
        "pending",
        "market",
        "limit",
        "BTC-USD",
        "ETH-USD",
        "portfolio",
        "balance",
        "notification",
        "delivered",
        "read",
    ];
    (0..count)
        .map(|i| {
            let target = 1024 + (rng.next_u64() % 3072) as usize;
            let mut s = format!(
                "{{\"type\":\"{}\",\"seq\":{},\"ts\":\"2025-11-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"items\":[",
                words[i % words.len()],
                100_000 + i,
                1 + i % 28,
                rng.next_u64() % 24,
                rng.next_u64() % 60,
                rng.next_u64() % 60,
                rng.next_u64() % 1000
            );
            let mut first = true;
            while s.len() + 200 < target {
                if !first {
                    s.push(',');
                }
                first = false;
                let r = rng.next_u64();
                s.push_str(&format!(
                    "{{\"id\":\"{:016x}\",\"user\":\"{}\",\"action\":\"{}\",\"qty\":{},\"price\":{}.{:02},\"tags\":[\"{}\",\"{}\"],\"ok\":{}}}",
                    r,
                    names[(r % 8) as usize],
                    words[((r >> 8) % words.len() as u64) as usize],
                    (r >> 16) % 1000,
                    (r >> 24) % 100_000,
                    (r >> 40) % 100,
                    words[((r >> 44) % words.len() as u64) as usize],
                    names[((r >> 52) % 8) as usize],
                    r & 1 == 0
                ));
            }
            s.push_str("],\"more\":false}");
            s
        })
        .collect()
}

// ---- in-memory streams -------------------------------------------------

/// The bytes a stream hands out, shared so a benchmark can refill it
/// between iterations without rebuilding the library's connection object.
#[derive(Debug, Default)]
pub struct Feed {
    input: Bytes,
    pos: usize,
    /// Bytes the library wrote (counted, not kept).
    pub written: usize,
}

/// A stream over a [`Feed`]: reads return at most [`READ_CHUNK`] bytes
/// (0 at the end), writes are counted and dropped. Implements both the
/// std and the tokio I/O traits.
#[derive(Clone, Debug, Default)]
pub struct MemStream(pub Rc<RefCell<Feed>>);

impl MemStream {
    /// A stream that will hand out `input`.
    pub fn new(input: Bytes) -> Self {
        MemStream(Rc::new(RefCell::new(Feed {
            input,
            pos: 0,
            written: 0,
        })))
    }

    /// Starts handing out `input` again from the beginning.
    pub fn refill(&self, input: &Bytes) {
        let mut feed = self.0.borrow_mut();
        feed.input = input.clone();
        feed.pos = 0;
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        let feed = self.0.borrow();
        feed.input.len() - feed.pos
    }

    /// Bytes written so far; resets the count.
    pub fn take_written(&self) -> usize {
        std::mem::take(&mut self.0.borrow_mut().written)
    }

    fn read_into(&self, buf: &mut [u8]) -> usize {
        let mut feed = self.0.borrow_mut();
        let n = buf.len().min(READ_CHUNK).min(feed.input.len() - feed.pos);
        buf[..n].copy_from_slice(&feed.input[feed.pos..feed.pos + n]);
        feed.pos += n;
        n
    }

    /// Appends at most one read's worth to a tokio `ReadBuf` without
    /// touching the rest of its space (`initialize_unfilled` would zero
    /// all of it: quadratic with a large reserved buffer).
    fn read_buf(&self, buf: &mut tokio::io::ReadBuf<'_>) {
        let mut feed = self.0.borrow_mut();
        let n = buf
            .remaining()
            .min(READ_CHUNK)
            .min(feed.input.len() - feed.pos);
        buf.put_slice(&feed.input[feed.pos..feed.pos + n]);
        feed.pos += n;
    }

    fn count(&self, n: usize) -> usize {
        self.0.borrow_mut().written += n;
        n
    }
}

impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.read_into(buf))
    }
}

impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.count(buf.len()))
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        Ok(self.count(bufs.iter().map(|b| b.len()).sum()))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for MemStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.read_buf(buf);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for MemStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.count(buf.len())))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.count(bufs.iter().map(|b| b.len()).sum())))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// An owned, `Send` stream for APIs that need one (hyper): the same
/// behaviour as [`MemStream`], with the written count shared atomically.
#[derive(Debug, Default)]
pub struct SendStream {
    input: Bytes,
    pos: usize,
    /// Bytes written so far.
    pub written: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl SendStream {
    /// A stream that will hand out `input`.
    pub fn new(input: Bytes) -> Self {
        SendStream {
            input,
            pos: 0,
            written: Default::default(),
        }
    }
}

impl tokio::io::AsyncRead for SendStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = buf
            .remaining()
            .min(READ_CHUNK)
            .min(self.input.len() - self.pos);
        if n == 0 {
            // Like an idle socket: no end of stream, just nothing yet.
            return Poll::Pending;
        }
        let pos = self.pos;
        buf.put_slice(&self.input[pos..pos + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for SendStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written
            .fetch_add(buf.len(), std::sync::atomic::Ordering::Relaxed);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

// ---- handshake fixtures ------------------------------------------------

/// A Chrome upgrade request as a browser sends it, with a
/// permessage-deflate offer, cookies and the usual headers.
pub const BROWSER_REQUEST: &[u8] = b"GET /chat?room=lobby HTTP/1.1\r\n\
Host: example.com\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: https://example.com\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-GB,en-US;q=0.9,en;q=0.8\r\n\
Cookie: session=2b5f0a7c9d3e4f1a8b6c; theme=dark; _ga=GA1.2.1234567890.1700000000\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
\r\n";

/// Computes the 101 answer to a client's upgrade request (the accept key
/// from its `Sec-WebSocket-Key`), as any server would: the same
/// "responder" is used for every client library, and its own cost is
/// measured separately.
pub fn respond_101(request: &[u8]) -> Option<Vec<u8>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    req.parse(request).ok()?;
    let key = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))?
        .value;
    let accept = wsproto::handshake::accept_key(key);
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
    out.extend_from_slice(accept.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    Some(out)
}

/// A stream that plays an upgrading server for client handshakes: once a
/// full request head has been written, reads return the matching 101.
#[derive(Debug, Default)]
pub struct Responder {
    request: Vec<u8>,
    response: Vec<u8>,
    pos: usize,
    waker: Option<Waker>,
}

impl Responder {
    fn take_request(&mut self, buf: &[u8]) -> usize {
        self.request.extend_from_slice(buf);
        if self.response.is_empty() && self.request.windows(4).any(|w| w == b"\r\n\r\n") {
            self.response = respond_101(&self.request).expect("valid request");
            if let Some(waker) = self.waker.take() {
                waker.wake();
            }
        }
        buf.len()
    }

    fn give(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.response.is_empty() {
            return None;
        }
        let n = buf.len().min(self.response.len() - self.pos);
        buf[..n].copy_from_slice(&self.response[self.pos..self.pos + n]);
        self.pos += n;
        Some(n)
    }
}

impl Read for Responder {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.give(buf)
            .ok_or_else(|| io::ErrorKind::WouldBlock.into())
    }
}

impl Write for Responder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.take_request(buf))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Responder {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.response.is_empty() {
            self.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.remaining().min(self.response.len() - self.pos);
        let pos = self.pos;
        buf.put_slice(&self.response[pos..pos + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Responder {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.take_request(buf)))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

// ---- wsproto drivers -----------------------------------------------------

/// An open wsproto connection with the handshake done elsewhere.
pub fn wsproto_open(role: Role, config: Config) -> Connection {
    Connection::from_upgraded(role, Negotiated::new(), config, Instant::now())
}

/// Writes out everything queued; returns the byte count.
pub fn wsproto_drain(conn: &mut Connection) -> usize {
    // The lending API: bytes are borrowed from the connection's queue, as
    // an adapter writing them to a socket would.
    let mut n = 0;
    loop {
        let pending = std::hint::black_box(conn.peek_transmit()).len();
        if pending == 0 {
            break;
        }
        conn.consume_transmit(pending);
        n += pending;
    }
    while let Some(t) = conn.poll_transmit() {
        if let Transmit::Data(bytes) = t {
            n += bytes.len();
        }
    }
    n
}

/// Server receive: reads `input` in [`READ_CHUNK`] reads straight into
/// the connection's buffer (`handle_read_with`), takes every event and
/// writes out any answers. Returns (messages, payload bytes).
pub fn wsproto_recv_read_with(conn: &mut Connection, input: &[u8], now: Instant) -> (usize, usize) {
    let mut pos = 0;
    let (mut messages, mut bytes) = (0, 0);
    while pos < input.len() {
        let _ = conn.handle_read_with(now, READ_CHUNK, |buf: &mut [u8]| {
            let n = buf.len().min(input.len() - pos);
            buf[..n].copy_from_slice(&input[pos..pos + n]);
            pos += n;
            Ok::<usize, ()>(n)
        });
        take_events(conn, &mut messages, &mut bytes);
        wsproto_drain(conn);
    }
    (messages, bytes)
}

/// Server receive through `handle_data`, each read's bytes handed over as
/// a slice (the engine copies them into its buffer).
pub fn wsproto_recv_data(conn: &mut Connection, input: &[u8], now: Instant) -> (usize, usize) {
    let (mut messages, mut bytes) = (0, 0);
    for chunk in input.chunks(READ_CHUNK) {
        conn.handle_data(now, chunk);
        take_events(conn, &mut messages, &mut bytes);
        wsproto_drain(conn);
    }
    (messages, bytes)
}

#[inline]
fn take_events(conn: &mut Connection, messages: &mut usize, bytes: &mut usize) {
    while let Some(event) = conn.poll_event() {
        if let Event::Message(message) = event {
            *messages += 1;
            *bytes += std::hint::black_box(message).as_bytes().len();
        }
    }
}
