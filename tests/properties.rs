//! Property tests of the engine as a whole, through its public API only:
//!
//! 1. how input is chunked (and when events and output are taken) never
//!    changes what is reported or written, and each protocol violation is
//!    answered with its close code;
//! 2. every message size (around the 7/16/64-bit length boundaries, up to
//!    70000 bytes) and every outgoing fragmentation round-trips both ways;
//!    size limits admit exactly what fits; invalid UTF-8 fails at once;
//! 3. arbitrary exchanges deliver messages and pings in order, and pings
//!    are answered;
//! 4. arbitrary input and commands never panic, never report `Closed`
//!    twice or before other events, and never leave stale deadlines;
//! 5. a closing handshake after arbitrary traffic ends both sides cleanly,
//!    the client only once the server has closed TCP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Pair, REQUEST, config, drain, events, frame, open_server};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use wsproto::frame::{OpCode, decode_header};
use wsproto::{
    Accept, ClientRequest, CloseCode, CloseFrame, Connection, Event, Message, MessageKind,
    Negotiated, Response, Role, SendError, State, Text, Transmit,
};

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        // No regression files: a failure found here is minimised and kept
        // as a plain test.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- payloads --------------------------------------------------------------

/// A payload described by its kind, length and a seed, so a failing case
/// prints in one line even at 70000 bytes.
#[derive(Clone, Copy, Debug)]
struct Body {
    text: bool,
    len: usize,
    seed: u64,
}

impl Body {
    fn bytes(self) -> Vec<u8> {
        let mut rng = self.seed | 1;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        if !self.text {
            return (0..self.len).map(|_| next() as u8).collect();
        }
        // Exactly `len` bytes of UTF-8 mixing 1- to 4-byte code points.
        const CHARS: [char; 6] = ['a', 'é', '€', '😀', ' ', 'z'];
        let mut s = String::with_capacity(self.len);
        while s.len() < self.len {
            let c = CHARS[(next() % CHARS.len() as u64) as usize];
            s.push(if s.len() + c.len_utf8() <= self.len {
                c
            } else {
                'a'
            });
        }
        s.into_bytes()
    }

    fn kind(self) -> MessageKind {
        if self.text {
            MessageKind::Text
        } else {
            MessageKind::Binary
        }
    }

    fn message(self) -> Message {
        let bytes = self.bytes();
        if self.text {
            Message::Text(Text::from(String::from_utf8(bytes).unwrap()))
        } else {
            Message::Binary(Bytes::from(bytes))
        }
    }

    fn event(self) -> Event {
        Event::Message(self.message())
    }
}

/// Sizes that stress the length encodings (7-bit, 16-bit, 64-bit) and the
/// boundaries between them, plus anything up to 70000.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => select(vec![0usize, 1, 125, 126, 127, 65535, 65536, 65537, 70000]),
        2 => 0usize..=300,
        1 => 0usize..=70000,
    ]
}

/// Mostly small sizes, sometimes a length-encoding boundary.
fn small_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => 0usize..=150,
        1 => select(vec![125usize, 126, 127, 65535, 65536]),
    ]
}

fn body(size: impl Strategy<Value = usize>) -> impl Strategy<Value = Body> {
    (any::<bool>(), size, any::<u64>()).prop_map(|(text, len, seed)| Body { text, len, seed })
}

fn control_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..=8),
        1 => prop::collection::vec(any::<u8>(), 125..=125),
    ]
}

/// Positions `0..=len` picked by `cuts`, sorted: the fragment boundaries.
fn cut_points(cuts: &[Index], len: usize) -> Vec<usize> {
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
    points.sort_unstable();
    points
}

/// `data` cut at `points` (sorted): possibly empty pieces, in order.
fn pieces<'a>(data: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for &p in points {
        out.push(&data[start..p]);
        start = p;
    }
    out.push(&data[start..]);
    out
}

// ---- connections and driving ----------------------------------------------

fn new_client(now: Instant) -> Connection {
    let request = ClientRequest::new("server.example.com", "/chat");
    Connection::client(request, config(), now).unwrap()
}

/// What a server answers the request of [`new_client`]: with the
/// deterministic config every such client sends the same key, so this
/// answer is valid for all of them.
fn server_response(now: Instant) -> Vec<u8> {
    let mut client = new_client(now);
    let request = drain(&mut client).0;
    let mut server = Connection::server(config(), now);
    server.handle_data(now, &request);
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(now, Accept::new()).unwrap();
    drain(&mut server).0
}

fn open_client(now: Instant) -> Connection {
    Connection::from_upgraded(Role::Client, Negotiated::new(), config(), now)
}

/// Polls every event into `out`; a server's request is accepted on the spot.
fn collect(conn: &mut Connection, now: Instant, out: &mut Vec<Event>) {
    while let Some(event) = conn.poll_event() {
        let is_request = matches!(event, Event::Request(_));
        out.push(event);
        if is_request {
            conn.accept(now, Accept::new()).unwrap();
        }
    }
}

/// `Closed` appears at most once, and if it does, nothing follows it.
fn assert_closed_once_and_last(events: &[Event]) {
    let closed: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Event::Closed(_)))
        .map(|(i, _)| i)
        .collect();
    match closed.as_slice() {
        [] => {}
        [i] => assert_eq!(*i, events.len() - 1, "Closed is not last: {events:?}"),
        _ => panic!("Closed reported {} times: {events:?}", closed.len()),
    }
}

fn closed_event(events: &[Event]) -> Option<&wsproto::Closed> {
    events.iter().find_map(|e| match e {
        Event::Closed(c) => Some(c),
        _ => None,
    })
}

// ---- 1. chunking ------------------------------------------------------------

#[derive(Clone, Debug)]
enum Control {
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

impl Control {
    fn first_byte(&self) -> u8 {
        match self {
            Control::Ping(_) => 0x89,
            Control::Pong(_) => 0x8A,
        }
    }

    fn payload(&self) -> &[u8] {
        match self {
            Control::Ping(p) | Control::Pong(p) => p,
        }
    }

    fn event(&self) -> Event {
        match self {
            Control::Ping(p) => Event::Ping(Bytes::copy_from_slice(p)),
            Control::Pong(p) => Event::Pong(Bytes::copy_from_slice(p)),
        }
    }
}

fn control() -> impl Strategy<Value = Control> {
    prop_oneof![
        control_payload().prop_map(Control::Ping),
        control_payload().prop_map(Control::Pong),
    ]
}

/// One item of a frame stream.
#[derive(Clone, Debug)]
enum Item {
    Control(Control),
    /// A message cut into fragments at `cuts` (none: one frame), with an
    /// optional control frame after each fragment but the last.
    Message {
        body: Body,
        cuts: Vec<(Index, Option<Control>)>,
    },
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        1 => control().prop_map(Item::Control),
        3 => (
            body(small_size()),
            prop::collection::vec((any::<Index>(), prop::option::of(control())), 0..4)
        )
            .prop_map(|(body, cuts)| Item::Message { body, cuts }),
    ]
}

/// What follows the valid frames.
#[derive(Clone, Debug)]
enum Tail {
    Nothing,
    /// A close frame (with a code and reason, or empty), then a data frame
    /// that must be ignored.
    Close(Option<(u16, String)>),
    /// Arbitrary bytes: anything may happen, but the same for any chunking.
    Garbage(Vec<u8>),
    /// A protocol violation, then a data frame that must be ignored.
    Violation(Violation),
}

/// Ways for a peer to break RFC 6455 after the handshake, each of which
/// must fail the connection (§7.1.7) with a specific close code (§7.4.1).
#[derive(Clone, Copy, Debug)]
enum Violation {
    /// §8.1: a text message that is not UTF-8.
    InvalidUtf8,
    /// §8.1: a code point cut between fragments and never completed.
    InvalidUtf8AcrossFragments,
    /// §5.2: RSV bits without an extension.
    ReservedBits,
    /// §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved.
    ReservedOpcode,
    /// §5.1: a client must mask, a server must not.
    WrongMasking,
    /// §5.5: control frames carry at most 125 bytes.
    LongControlFrame,
    /// §5.5: control frames are never fragmented.
    FragmentedControlFrame,
    /// §5.4: a continuation with no message in progress.
    UnexpectedContinuation,
    /// §5.4: a new data frame in the middle of a fragmented message.
    NewMessageMidFragments,
    /// §7.4.1: 1005 is never sent.
    CloseCode1005,
    /// §7.4.2: codes below 1000 are not used.
    CloseCode999,
    /// §5.5.1: a close body is empty or starts with a two-byte code.
    OneByteClose,
    /// §5.5.1: the close reason is UTF-8.
    InvalidCloseReason,
    /// §5.2: the most significant bit of a 64-bit length must be 0.
    LengthTopBit,
    /// A frame over `max_frame_size` (16 MiB): 1009 from the header alone.
    HugeFrame,
}

impl Violation {
    const ALL: [Violation; 15] = [
        Violation::InvalidUtf8,
        Violation::InvalidUtf8AcrossFragments,
        Violation::ReservedBits,
        Violation::ReservedOpcode,
        Violation::WrongMasking,
        Violation::LongControlFrame,
        Violation::FragmentedControlFrame,
        Violation::UnexpectedContinuation,
        Violation::NewMessageMidFragments,
        Violation::CloseCode1005,
        Violation::CloseCode999,
        Violation::OneByteClose,
        Violation::InvalidCloseReason,
        Violation::LengthTopBit,
        Violation::HugeFrame,
    ];

    /// The offending bytes, and the close code they must be answered with.
    fn encode(self, mask: Option<[u8; 4]>) -> (Vec<u8>, u16) {
        let long_header = |len: u64| {
            let mut out = vec![0x82, if mask.is_some() { 0xFF } else { 0x7F }];
            out.extend_from_slice(&len.to_be_bytes());
            out.extend(mask.into_iter().flatten());
            out
        };
        let wrong_mask = match mask {
            Some(_) => None,
            None => Some([1, 2, 3, 4]),
        };
        match self {
            Violation::InvalidUtf8 => (frame(0x81, b"ok \xff no", mask), 1007),
            Violation::InvalidUtf8AcrossFragments => {
                let mut out = frame(0x01, b"caf\xc3", mask);
                out.extend(frame(0x80, b"(", mask));
                (out, 1007)
            }
            Violation::ReservedBits => (frame(0xC1, b"rsv", mask), 1002),
            Violation::ReservedOpcode => (frame(0x83, b"op", mask), 1002),
            Violation::WrongMasking => (frame(0x81, b"mask", wrong_mask), 1002),
            Violation::LongControlFrame => (frame(0x89, &[0; 126], mask), 1002),
            Violation::FragmentedControlFrame => (frame(0x09, b"ping", mask), 1002),
            Violation::UnexpectedContinuation => (frame(0x80, b"cont", mask), 1002),
            Violation::NewMessageMidFragments => {
                let mut out = frame(0x02, b"first", mask);
                out.extend(frame(0x82, b"second", mask));
                (out, 1002)
            }
            Violation::CloseCode1005 => (frame(0x88, &1005u16.to_be_bytes(), mask), 1002),
            Violation::CloseCode999 => (frame(0x88, &999u16.to_be_bytes(), mask), 1002),
            Violation::OneByteClose => (frame(0x88, &[0x03], mask), 1002),
            Violation::InvalidCloseReason => (frame(0x88, &[0x03, 0xe8, 0xc3, 0x28], mask), 1007),
            Violation::LengthTopBit => (long_header(1 << 63), 1002),
            Violation::HugeFrame => (long_header(1 << 40), 1009),
        }
    }
}

fn tail() -> impl Strategy<Value = Tail> {
    prop_oneof![
        2 => Just(Tail::Nothing),
        2 => prop::option::weighted(0.8, (sendable_code(), "[a-zé€😀 ]{0,20}"))
            .prop_map(Tail::Close),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Tail::Garbage),
        3 => select(Violation::ALL.to_vec()).prop_map(Tail::Violation),
    ]
}

fn sendable_code() -> impl Strategy<Value = u16> {
    select(vec![
        1000u16, 1001, 1002, 1003, 1007, 1008, 1011, 3000, 4000, 4999,
    ])
}

/// Encodes `items` and `tail` as frames (masked with varying keys towards
/// a server), and the events they must produce before the tail.
fn encode_stream(items: &[Item], tail: &Tail, masked: bool) -> (Vec<u8>, Vec<Event>) {
    let mut counter = 0u8;
    let mut next_mask = || {
        counter = counter.wrapping_add(1);
        masked.then_some([counter, 0x5a ^ counter, 0xa5, counter.wrapping_mul(7)])
    };
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for item in items {
        match item {
            Item::Control(c) => {
                wire.extend(frame(c.first_byte(), c.payload(), next_mask()));
                expected.push(c.event());
            }
            Item::Message { body, cuts } => {
                let data = body.bytes();
                let indexes: Vec<Index> = cuts.iter().map(|(i, _)| *i).collect();
                let points = cut_points(&indexes, data.len());
                // The i-th control frame goes after the i-th fragment.
                let controls: Vec<&Option<Control>> = cuts.iter().map(|(_, c)| c).collect();
                let frags = pieces(&data, &points);
                let last = frags.len() - 1;
                for (i, piece) in frags.iter().enumerate() {
                    let opcode = if i == 0 {
                        if body.text { 0x1 } else { 0x2 }
                    } else {
                        0x0
                    };
                    let fin = if i == last { 0x80 } else { 0 };
                    wire.extend(frame(fin | opcode, piece, next_mask()));
                    if let Some(Some(c)) = controls.get(i) {
                        wire.extend(frame(c.first_byte(), c.payload(), next_mask()));
                        expected.push(c.event());
                    }
                }
                expected.push(body.event());
            }
        }
    }
    match tail {
        Tail::Nothing => {}
        Tail::Close(close) => {
            let payload = match close {
                Some((code, reason)) => [&code.to_be_bytes()[..], reason.as_bytes()].concat(),
                None => Vec::new(),
            };
            wire.extend(frame(0x88, &payload, next_mask()));
            wire.extend(frame(0x81, b"after close", next_mask()));
        }
        Tail::Garbage(bytes) => wire.extend_from_slice(bytes),
        Tail::Violation(violation) => {
            wire.extend(violation.encode(next_mask()).0);
            wire.extend(frame(0x81, b"after the violation", next_mask()));
        }
    }
    (wire, expected)
}

#[derive(Clone, Debug)]
enum Chunking {
    OneByte,
    At(Vec<Index>),
}

fn chunking() -> impl Strategy<Value = Chunking> {
    prop_oneof![
        1 => Just(Chunking::OneByte),
        3 => prop::collection::vec(any::<Index>(), 0..12).prop_map(Chunking::At),
    ]
}

fn split<'a>(data: &'a [u8], chunking: &Chunking) -> Vec<&'a [u8]> {
    match chunking {
        Chunking::OneByte => data.chunks(1).collect(),
        Chunking::At(cuts) => pieces(data, &cut_points(cuts, data.len())),
    }
}

/// How the chunks are handed over.
#[derive(Clone, Copy, Debug)]
struct Feed {
    /// Take the output after every chunk (otherwise only at the end).
    drain_between: bool,
    /// Use `handle_read_with` offering this many spare bytes beyond the
    /// chunk, instead of `handle_data`.
    read_with: Option<usize>,
    /// When the application takes its events.
    polling: Polling,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Polling {
    /// After every chunk.
    EveryChunk,
    /// Only once all chunks are in (before EOF).
    AtEnd,
    /// Only what the handshake needs while chunks arrive; the rest after
    /// EOF has been handed over too.
    AfterEof,
}

fn feed() -> impl Strategy<Value = Feed> {
    (
        any::<bool>(),
        prop::option::of(0usize..100),
        select(vec![Polling::EveryChunk, Polling::AtEnd, Polling::AfterEof]),
    )
        .prop_map(|(drain_between, read_with, polling)| Feed {
            drain_between,
            read_with,
            polling,
        })
}

/// Polls events only while the handshake is in progress (answering the
/// request), leaving the rest queued.
fn collect_handshake(conn: &mut Connection, now: Instant, out: &mut Vec<Event>) {
    while conn.state() == State::Connecting {
        let Some(event) = conn.poll_event() else {
            return;
        };
        let is_request = matches!(event, Event::Request(_));
        out.push(event);
        if is_request {
            conn.accept(now, Accept::new()).unwrap();
        }
    }
}

/// What a connection reported for one way of feeding it.
#[derive(Debug, PartialEq)]
struct Run {
    before_eof: Vec<Event>,
    after_eof: Vec<Event>,
    output: Vec<u8>,
    shutdown: bool,
}

/// Feeds `chunks`, polling events (and, if asked, output) after each, then
/// ends the stream.
fn run(mut conn: Connection, chunks: &[&[u8]], feed: Feed, now: Instant) -> Run {
    let mut before_eof = Vec::new();
    let mut output = Vec::new();
    let mut shutdown = false;
    let mut take_output = |conn: &mut Connection| {
        let (bytes, down) = drain(conn);
        output.extend(bytes);
        shutdown |= down;
    };
    for chunk in chunks {
        match feed.read_with {
            None => conn.handle_data(now, chunk),
            // A read of zero bytes would mean end of stream.
            Some(_) if chunk.is_empty() => {}
            Some(spare) => {
                // The engine may lend less than asked (a large frame is
                // read only up to its end), so a chunk can take several
                // reads.
                let mut rest: &[u8] = chunk;
                while !rest.is_empty() {
                    let read = conn.handle_read_with(now, rest.len() + spare, |buf| {
                        let n = buf.len().min(rest.len());
                        buf[..n].copy_from_slice(&rest[..n]);
                        Ok::<usize, ()>(n)
                    });
                    let n = read.unwrap();
                    assert!(n > 0, "a read was lent no room");
                    rest = &rest[n..];
                }
            }
        }
        match feed.polling {
            Polling::EveryChunk => collect(&mut conn, now, &mut before_eof),
            Polling::AtEnd => {}
            Polling::AfterEof => collect_handshake(&mut conn, now, &mut before_eof),
        }
        if feed.drain_between {
            take_output(&mut conn);
        }
    }
    if feed.polling != Polling::AfterEof {
        collect(&mut conn, now, &mut before_eof);
    }
    take_output(&mut conn);
    let mut after_eof = Vec::new();
    conn.handle_eof(now);
    collect(&mut conn, now, &mut after_eof);
    take_output(&mut conn);
    Run {
        before_eof,
        after_eof,
        output,
        shutdown,
    }
}

/// The frames in a connection's output (after the 101 head, for a server).
fn sent_frames(output: &[u8], role: Role) -> Vec<(bool, OpCode, Vec<u8>)> {
    let frames = match role {
        Role::Client => output,
        Role::Server => {
            let end = output
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .expect("a 101 head");
            &output[end + 4..]
        }
    };
    parse_frames(frames, role == Role::Client)
}

/// The payload of the last frame sent, which must be a close frame.
fn last_close_payload(output: &[u8], role: Role) -> Vec<u8> {
    let frames = sent_frames(output, role);
    match frames.last() {
        Some((true, OpCode::Close, payload)) => payload.clone(),
        _ => panic!("the last frame sent is not a close: {frames:?}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn check_chunking(
    make: impl Fn() -> Connection,
    prefix: &[u8],
    opening: usize,
    items: &[Item],
    tail: &Tail,
    chunking: &Chunking,
    feed: Feed,
    now: Instant,
) -> Result<(), TestCaseError> {
    let role = make().role();
    let server = role == Role::Server;
    let (frames, expected) = encode_stream(items, tail, server);
    let mut wire = prefix.to_vec();
    wire.extend_from_slice(&frames);

    let whole_feed = Feed {
        drain_between: false,
        read_with: None,
        polling: Polling::EveryChunk,
    };
    let whole = run(make(), &[&wire], whole_feed, now);
    let chunked = run(make(), &split(&wire, chunking), feed, now);

    // Whole: the opening events, then exactly the model's events.
    let all = [whole.before_eof.clone(), whole.after_eof.clone()].concat();
    assert_closed_once_and_last(&all);
    let got = &whole.before_eof;
    prop_assert!(got.len() >= opening, "{:?}", got);
    prop_assert!(matches!(got[opening - 1], Event::Connected(_)), "{:?}", got);
    let got = &got[opening..];
    match tail {
        Tail::Nothing => {
            prop_assert_eq!(got, expected.as_slice());
            let closed = closed_event(&whole.after_eof).expect("EOF closes");
            prop_assert_eq!(closed.code, CloseCode::ABNORMAL);
        }
        Tail::Garbage(_) => prop_assert_eq!(&got[..expected.len().min(got.len())], &expected[..]),
        Tail::Close(close) => {
            let (code, reason, echo) = match close {
                Some((code, reason)) => (
                    CloseCode(*code),
                    reason.clone(),
                    code.to_be_bytes().to_vec(),
                ),
                // An empty close is reported as 1005 and echoed empty.
                None => (CloseCode::NO_STATUS, String::new(), Vec::new()),
            };
            let mut expected = expected.clone();
            expected.push(Event::CloseReceived(CloseFrame::new(code, reason.as_str())));
            // The close is echoed with its code (§5.5.1), and nothing follows.
            prop_assert_eq!(last_close_payload(&whole.output, role), echo);
            prop_assert!(whole.shutdown);
            let closed = if server {
                // A server closes as soon as the close frames have crossed.
                prop_assert_eq!(&got[..got.len() - 1], expected.as_slice());
                closed_event(got).expect("server closed")
            } else {
                // A client waits for the server to close TCP.
                prop_assert_eq!(got, expected.as_slice());
                closed_event(&whole.after_eof).expect("client closed at EOF")
            };
            prop_assert!(closed.is_clean(), "{:?}", closed);
            prop_assert_eq!(closed.code, code);
            prop_assert_eq!(&closed.reason, &reason);
        }
        Tail::Violation(violation) => {
            let code = violation.encode(None).1;
            // The model's events, then nothing until Closed (a server at
            // once, a client when the server closes TCP).
            let closed = if server {
                prop_assert_eq!(&got[..got.len().saturating_sub(1)], expected.as_slice());
                closed_event(got)
            } else {
                prop_assert_eq!(got, expected.as_slice());
                closed_event(&whole.after_eof)
            };
            let closed = closed.expect("the connection is failed");
            prop_assert_eq!(closed.code, CloseCode(code), "{:?}", closed);
            prop_assert!(closed.error.is_some());
            // The peer is told why (§7.1.7), in the last frame sent.
            let sent = last_close_payload(&whole.output, role);
            prop_assert_eq!(&sent[..2], &code.to_be_bytes()[..]);
            prop_assert!(whole.shutdown);
        }
    }

    // Any chunking: the same events, at the same point relative to EOF
    // (unless they were taken only after EOF).
    if feed.polling == Polling::AfterEof {
        let chunked_all = [chunked.before_eof.clone(), chunked.after_eof.clone()].concat();
        prop_assert_eq!(&chunked_all, &all);
    } else {
        prop_assert_eq!(&chunked.before_eof, &whole.before_eof);
        prop_assert_eq!(&chunked.after_eof, &whole.after_eof);
    }
    prop_assert_eq!(chunked.shutdown, whole.shutdown);
    if !feed.drain_between {
        // Without output taken in between, even pong coalescing must come
        // out the same: the bytes written are identical.
        prop_assert_eq!(&chunked.output, &whole.output);
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn server_events_do_not_depend_on_chunking(
        items in prop::collection::vec(item(), 0..6),
        tail in tail(),
        chunking in chunking(),
        feed in feed(),
    ) {
        let now = Instant::now();
        check_chunking(
            || Connection::server(config(), now),
            REQUEST.as_bytes(),
            2, // Request, Connected
            &items,
            &tail,
            &chunking,
            feed,
            now,
        )?;
    }

    #[test]
    fn client_events_do_not_depend_on_chunking(
        items in prop::collection::vec(item(), 0..6),
        tail in tail(),
        chunking in chunking(),
        feed in feed(),
    ) {
        let now = Instant::now();
        let response = server_response(now);
        let make = || {
            let mut client = new_client(now);
            drain(&mut client);
            client
        };
        check_chunking(make, &response, 1, &items, &tail, &chunking, feed, now)?;
    }
}

// ---- 2. round trips ---------------------------------------------------------

fn send_whole(conn: &mut Connection, body: Body, via_send: bool) {
    if via_send {
        conn.send(body.message()).unwrap();
    } else if body.text {
        conn.send_text(&String::from_utf8(body.bytes()).unwrap())
            .unwrap();
    } else {
        conn.send_binary(body.bytes()).unwrap();
    }
}

fn sender_and_receiver(pair: &mut Pair, from_client: bool) -> (&mut Connection, &mut Connection) {
    if from_client {
        (&mut pair.client, &mut pair.server)
    } else {
        (&mut pair.server, &mut pair.client)
    }
}

/// Walks the frames in `wire`; returns (FIN, opcode, unmasked payload) of
/// each, and checks masking against the sender's role.
fn parse_frames(mut wire: &[u8], masked: bool) -> Vec<(bool, OpCode, Vec<u8>)> {
    let mut out = Vec::new();
    while !wire.is_empty() {
        let (header, len) = decode_header(wire).unwrap().expect("whole frames");
        assert_eq!(header.mask.is_some(), masked, "masking follows the role");
        let end = len + header.payload_len as usize;
        let mut payload = wire[len..end].to_vec();
        if let Some(key) = header.mask {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        out.push((header.fin, header.opcode, payload));
        wire = &wire[end..];
    }
    out
}

proptest! {
    #![proptest_config(cases(96))]

    #[test]
    fn every_size_round_trips_both_ways(
        body in body(size()),
        from_client in any::<bool>(),
        via_send in any::<bool>(),
    ) {
        let mut pair = Pair::new();
        let (sender, _) = sender_and_receiver(&mut pair, from_client);
        send_whole(sender, body, via_send);
        pair.drive();
        let (sent, received) = if from_client {
            (pair.take_client_events(), pair.take_server_events())
        } else {
            (pair.take_server_events(), pair.take_client_events())
        };
        prop_assert_eq!(received, vec![body.event()]);
        prop_assert_eq!(sent, vec![]);
    }

    #[test]
    fn fragmented_sends_arrive_as_one_message(
        body in body(size()),
        max in prop_oneof![1usize..=130, select(vec![1usize, 125, 126, 127, 65535, 65536])],
        from_client in any::<bool>(),
    ) {
        let limited = config().max_outgoing_frame_size(Some(max));
        let request = ClientRequest::new("server.example.com", "/chat");
        let mut pair = if from_client {
            Pair::with(request, limited, config(), |_| Accept::new())
        } else {
            Pair::with(request, config(), limited, |_| Accept::new())
        };
        let now = pair.now;
        let (sender, receiver) = sender_and_receiver(&mut pair, from_client);
        send_whole(sender, body, false);
        let wire = drain(sender).0;

        // On the wire: ceil(len / max) frames (one for an empty message),
        // none longer than max, the first with the kind, FIN on the last.
        let frames = parse_frames(&wire, from_client);
        let expected_frames = body.len.div_ceil(max).max(1);
        prop_assert_eq!(frames.len(), expected_frames);
        let kind = if body.text { OpCode::Text } else { OpCode::Binary };
        let mut joined = Vec::new();
        for (i, (fin, opcode, payload)) in frames.iter().enumerate() {
            prop_assert!(payload.len() <= max);
            prop_assert_eq!(*fin, i + 1 == frames.len());
            prop_assert_eq!(*opcode, if i == 0 { kind } else { OpCode::Continuation });
            joined.extend_from_slice(payload);
        }
        prop_assert!(joined == body.bytes(), "payloads concatenate to the message");

        receiver.handle_data(now, &wire);
        prop_assert_eq!(events(receiver), vec![body.event()]);
    }
}

/// Limits the receiver may be configured with, around a message of `len`.
fn limit_near(len: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(len.saturating_sub(1)),
        Just(len),
        Just(len + 1),
        0usize..=len.saturating_mul(2).max(1),
        Just(16 << 20),
    ]
}

proptest! {
    #![proptest_config(cases(128))]

    /// Frame and message limits (checked from the declared lengths) let
    /// through exactly what fits and fail the rest with 1009 (§7.4.1).
    #[test]
    fn size_limits_admit_exactly_what_fits(
        (len, max_frame, max_message) in size()
            .prop_flat_map(|len| (Just(len), limit_near(len), limit_near(len))),
        text in any::<bool>(),
        seed in any::<u64>(),
        fragment in prop::option::of(prop_oneof![1usize..=200, Just(65536)]),
        from_client in any::<bool>(),
    ) {
        let body = Body { text, len, seed };
        let sender_config = config().max_outgoing_frame_size(fragment);
        let receiver_config = config().max_frame_size(max_frame).max_message_size(max_message);
        let request = ClientRequest::new("server.example.com", "/chat");
        let mut pair = if from_client {
            Pair::with(request, sender_config, receiver_config, |_| Accept::new())
        } else {
            Pair::with(request, receiver_config, sender_config, |_| Accept::new())
        };
        let (sender, _) = sender_and_receiver(&mut pair, from_client);
        send_whole(sender, body, false);
        pair.drive();
        let (sent, received) = if from_client {
            (pair.take_client_events(), pair.take_server_events())
        } else {
            (pair.take_server_events(), pair.take_client_events())
        };
        let largest_frame = len.min(fragment.unwrap_or(usize::MAX));
        if largest_frame <= max_frame && len <= max_message {
            prop_assert_eq!(received, vec![body.event()]);
            prop_assert_eq!(sent, vec![]);
        } else {
            prop_assert!(
                !received.iter().any(|e| matches!(e, Event::Message(_))),
                "{:?}", received
            );
            let closed = closed_event(&received).expect("the receiver fails");
            prop_assert_eq!(closed.code, CloseCode::MESSAGE_TOO_BIG, "{:?}", closed);
            prop_assert!(closed.error.is_some());
            // The sender is told why.
            prop_assert!(
                sent.contains(&Event::CloseReceived(CloseFrame::new(
                    CloseCode::MESSAGE_TOO_BIG,
                    closed.reason.as_str(),
                ))),
                "{:?}", sent
            );
            assert_closed_once_and_last(&received);
            assert_closed_once_and_last(&sent);
        }
    }

    /// Invalid UTF-8 fails the connection with 1007 as soon as it arrives
    /// (§8.1), long before the frame or message is complete, even when the
    /// bad sequence starts in one fragment and ends in the next.
    #[test]
    fn invalid_utf8_fails_as_soon_as_it_arrives(
        prefix in "[a-zé€😀]{0,20}",
        bad in select(vec![
            vec![0xFF], vec![0x80], vec![0xC0, 0x80], vec![0xED, 0xA0, 0x80],
            vec![0xF4, 0x90], vec![0xE2, 0x28], vec![0xF0, 0x9F, 0x98, 0x41], vec![0xF8],
        ]),
        split in any::<Index>(),
        fragmented in any::<bool>(),
        server in any::<bool>(),
    ) {
        let now = Instant::now();
        let mask = server.then_some([9, 8, 7, 6]);
        let rest = vec![b'a'; 1000];
        let mut wire;
        if fragmented {
            // The bad sequence starts in the first fragment (maybe only its
            // lead bytes) and ends in a continuation that never completes.
            let k = split.index(bad.len() + 1);
            let first = [prefix.as_bytes(), &bad[..k]].concat();
            wire = frame(0x01, &first, mask);
            let cont = [&bad[k..], &rest[..]].concat();
            let cont_frame = frame(0x80, &cont, mask);
            let header_len = cont_frame.len() - cont.len();
            wire.extend_from_slice(&cont_frame[..header_len + bad.len() - k]);
        } else {
            let payload = [prefix.as_bytes(), &bad[..], &rest[..]].concat();
            let full = frame(0x81, &payload, mask);
            let header_len = full.len() - payload.len();
            wire = full[..header_len + prefix.len() + bad.len()].to_vec();
        }
        let mut conn = if server { open_server(config(), now) } else { open_client(now) };
        conn.handle_data(now, &wire);
        let (output, _) = drain(&mut conn);
        let reported = events(&mut conn);
        prop_assert_ne!(conn.state(), State::Open, "still open after {:?}", reported);
        // The peer is told 1007 in the last frame sent.
        let frames = parse_frames(&output, !server);
        let close = frames.last().filter(|(_, opcode, _)| *opcode == OpCode::Close);
        prop_assert_eq!(
            close.map(|(_, _, payload)| payload[..2].to_vec()),
            Some(1007u16.to_be_bytes().to_vec()),
            "{:?}", frames
        );
        conn.handle_eof(now);
        let reported = [reported, events(&mut conn)].concat();
        prop_assert!(!reported.iter().any(|e| matches!(e, Event::Message(_))));
        let closed = closed_event(&reported).expect("closed");
        prop_assert_eq!(closed.code, CloseCode::INVALID_PAYLOAD);
        assert_closed_once_and_last(&reported);
    }
}

// ---- 3. arbitrary exchanges ------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Message {
        from_client: bool,
        body: Body,
    },
    Ping {
        from_client: bool,
        extra: Vec<u8>,
    },
    /// Starts a fragmented message on that side, cut at `cuts` (continues
    /// the one in progress instead, if any).
    StartFragmented {
        from_client: bool,
        body: Body,
        cuts: Vec<Index>,
    },
    /// Sends the next fragment of that side's message in progress.
    NextFragment {
        from_client: bool,
    },
    Drive,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), body(small_size()))
            .prop_map(|(from_client, body)| Op::Message { from_client, body }),
        2 => (any::<bool>(), prop::collection::vec(any::<u8>(), 0..=20))
            .prop_map(|(from_client, extra)| Op::Ping { from_client, extra }),
        2 => (any::<bool>(), body(0usize..=200), prop::collection::vec(any::<Index>(), 0..5))
            .prop_map(|(from_client, body, cuts)| Op::StartFragmented { from_client, body, cuts }),
        3 => any::<bool>().prop_map(|from_client| Op::NextFragment { from_client }),
        2 => Just(Op::Drive),
    ]
}

/// What one side has sent, and what must come of it.
#[derive(Default)]
struct Side {
    /// What the peer must report, in order: messages and pings.
    peer_expects: Vec<Event>,
    /// Every ping this side sent (each payload is unique).
    pings: Vec<Bytes>,
    /// Indexes into `pings` of the last ping of each delivery batch: each
    /// must be answered (RFC 6455 §5.5.3 allows skipping earlier ones).
    must_answer: Vec<usize>,
    batch_has_ping: bool,
    /// Fragments still to send: (body, remaining pieces).
    fragmenting: Option<(Body, Vec<Vec<u8>>)>,
}

impl Side {
    fn end_batch(&mut self) {
        if std::mem::take(&mut self.batch_has_ping) {
            self.must_answer.push(self.pings.len() - 1);
        }
    }
}

struct Exchange {
    pair: Pair,
    client: Side,
    server: Side,
    ping_counter: u16,
}

impl Exchange {
    fn new(pair: Pair) -> Self {
        Exchange {
            pair,
            client: Side::default(),
            server: Side::default(),
            ping_counter: 0,
        }
    }

    fn parts(&mut self, from_client: bool) -> (&mut Connection, &mut Side) {
        if from_client {
            (&mut self.pair.client, &mut self.client)
        } else {
            (&mut self.pair.server, &mut self.server)
        }
    }

    fn drive(&mut self) {
        self.client.end_batch();
        self.server.end_batch();
        self.pair.drive();
    }

    fn send_next_fragment(&mut self, from_client: bool) {
        let (conn, side) = self.parts(from_client);
        let Some((body, remaining)) = side.fragmenting.as_mut() else {
            return;
        };
        let piece = remaining.remove(0);
        let last = remaining.is_empty();
        let body = *body;
        conn.send_fragment(body.kind(), piece, last).unwrap();
        if last {
            side.fragmenting = None;
            side.peer_expects.push(body.event());
        }
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Message { from_client, body } => {
                let (conn, side) = self.parts(*from_client);
                if let Some((current, _)) = &side.fragmenting {
                    // Mid-message: a whole message, or a fragment of the
                    // other kind, is refused and changes nothing.
                    let other = match current.kind() {
                        MessageKind::Text => MessageKind::Binary,
                        MessageKind::Binary => MessageKind::Text,
                    };
                    let queued = conn.buffered_amount();
                    assert_eq!(
                        conn.send(body.message()),
                        Err(SendError::FragmentedMessageInProgress)
                    );
                    assert_eq!(
                        conn.send_fragment(other, Bytes::new(), true),
                        Err(SendError::FragmentedMessageInProgress)
                    );
                    assert_eq!(conn.buffered_amount(), queued);
                    return;
                }
                send_whole(conn, *body, false);
                side.peer_expects.push(body.event());
            }
            Op::Ping { from_client, extra } => {
                self.ping_counter += 1;
                let mut payload = vec![u8::from(*from_client)];
                payload.extend_from_slice(&self.ping_counter.to_be_bytes());
                payload.extend_from_slice(extra);
                let (conn, side) = self.parts(*from_client);
                conn.send_ping(&payload).unwrap();
                let payload = Bytes::from(payload);
                side.peer_expects.push(Event::Ping(payload.clone()));
                side.pings.push(payload);
                side.batch_has_ping = true;
            }
            Op::StartFragmented {
                from_client,
                body,
                cuts,
            } => {
                let (_, side) = self.parts(*from_client);
                if side.fragmenting.is_none() {
                    let data = body.bytes();
                    let points = cut_points(cuts, data.len());
                    let frags = pieces(&data, &points)
                        .into_iter()
                        .map(<[u8]>::to_vec)
                        .collect();
                    side.fragmenting = Some((*body, frags));
                }
                self.send_next_fragment(*from_client);
            }
            Op::NextFragment { from_client } => self.send_next_fragment(*from_client),
            Op::Drive => self.drive(),
        }
    }

    /// Sends what is left of messages in progress.
    fn finish_fragments(&mut self) {
        for from_client in [true, false] {
            while self.parts(from_client).1.fragmenting.is_some() {
                self.send_next_fragment(from_client);
            }
        }
    }
}

/// `received` holds, in order, what `sender` made the peer expect; and the
/// pongs in `sender_events` answer pings of `sender` in order, including
/// the last of every batch.
fn check_delivery(
    sender: &Side,
    received: &[Event],
    sender_events: &[Event],
    check_pongs: bool,
) -> Result<(), TestCaseError> {
    let got: Vec<&Event> = received
        .iter()
        .filter(|e| matches!(e, Event::Message(_) | Event::Ping(_)))
        .collect();
    let want: Vec<&Event> = sender.peer_expects.iter().collect();
    prop_assert_eq!(got, want);
    if check_pongs {
        let answered: Vec<usize> = sender_events
            .iter()
            .filter_map(|e| match e {
                Event::Pong(p) => Some(
                    sender
                        .pings
                        .iter()
                        .position(|ping| ping == p)
                        .expect("a pong answers a ping that was sent"),
                ),
                _ => None,
            })
            .collect();
        prop_assert!(
            answered.windows(2).all(|w| w[0] < w[1]),
            "pongs out of order: {:?}",
            answered
        );
        for index in &sender.must_answer {
            prop_assert!(
                answered.contains(index),
                "ping {} unanswered; answered {:?}",
                index,
                answered
            );
        }
    }
    Ok(())
}

fn exchange_pair(client_max: Option<usize>, server_max: Option<usize>) -> Pair {
    Pair::with(
        ClientRequest::new("server.example.com", "/chat"),
        config().max_outgoing_frame_size(client_max),
        config().max_outgoing_frame_size(server_max),
        |_| Accept::new(),
    )
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn exchanges_deliver_in_order_and_pings_are_answered(
        ops in prop::collection::vec(op(), 0..24),
        client_max in prop::option::of(1usize..=64),
        server_max in prop::option::of(1usize..=64),
    ) {
        let mut x = Exchange::new(exchange_pair(client_max, server_max));
        for op in &ops {
            x.apply(op);
        }
        x.finish_fragments();
        x.drive();
        let client_events = x.pair.take_client_events();
        let server_events = x.pair.take_server_events();
        for e in client_events.iter().chain(&server_events) {
            prop_assert!(
                matches!(e, Event::Message(_) | Event::Ping(_) | Event::Pong(_)),
                "unexpected {:?}",
                e
            );
        }
        check_delivery(&x.client, &server_events, &client_events, true)?;
        check_delivery(&x.server, &client_events, &server_events, true)?;
        prop_assert_eq!(x.pair.client.state(), State::Open);
        prop_assert_eq!(x.pair.server.state(), State::Open);
    }
}

// ---- 4. arbitrary input ----------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Target {
    FreshServer,
    /// A fresh server fed a valid request first.
    ServerAfterRequest,
    /// A fresh server fed a valid request without its final empty line:
    /// the input continues the head.
    ServerInsideRequest,
    OpenServer,
    FreshClient,
    /// A fresh client fed a valid 101 first.
    ClientAfterResponse,
    /// A fresh client fed the head of a 403 with a 20-byte body.
    ClientInsideRejection,
    /// A fresh client fed the head of a 403 with a chunked body.
    ClientInsideChunkedRejection,
    OpenClient,
}

/// Something fed to the connection, or done to it.
#[derive(Clone, Debug)]
enum Action {
    Bytes(Vec<u8>),
    /// A frame with arbitrary first byte; masked as the role needs unless
    /// `wrong_mask`.
    Frame {
        first: u8,
        wrong_mask: bool,
        key: [u8; 4],
        payload: Vec<u8>,
    },
    Eof,
    Timeout(u64),
    Command(Command),
    /// Take every event (when the application is lazy and does not take
    /// them after every step).
    Poll,
}

#[derive(Clone, Debug)]
enum Command {
    Text(String),
    Binary(Vec<u8>),
    Fragment(bool, Vec<u8>, bool),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, String),
    Accept,
    Reject(u16),
}

fn frame_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        "[a-zé€😀]{0,12}".prop_map(String::into_bytes),
        "[a-zé€😀]{0,12}".prop_map(String::into_bytes),
        Just(vec![0xff, 0xfe]),
        prop::collection::vec(any::<u8>(), 126..=130),
    ]
}

/// Mostly valid close payloads, sometimes each way of being invalid.
fn close_payload() -> impl Strategy<Value = Vec<u8>> {
    let with_code = |code: u16, reason: &[u8]| {
        let mut p = code.to_be_bytes().to_vec();
        p.extend_from_slice(reason);
        p
    };
    prop_oneof![
        6 => (sendable_code(), "[a-zé€😀 ]{0,20}")
            .prop_map(move |(code, reason)| with_code(code, reason.as_bytes())),
        1 => Just(Vec::new()),
        1 => any::<u16>().prop_map(move |code| with_code(code, b"")),
        1 => any::<u8>().prop_map(|b| vec![b]),
        1 => sendable_code().prop_map(move |code| with_code(code, &[0xc3, 0x28])),
        1 => prop::collection::vec(any::<u8>(), 124..=126),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        "[a-z😀]{0,8}".prop_map(Command::Text),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(Command::Binary),
        (
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..8),
            any::<bool>()
        )
            .prop_map(|(t, d, l)| Command::Fragment(t, d, l)),
        prop::collection::vec(any::<u8>(), 0..=130).prop_map(Command::Ping),
        prop::collection::vec(any::<u8>(), 0..=8).prop_map(Command::Pong),
        (prop_oneof![sendable_code(), any::<u16>()], "[a-z]{0,8}")
            .prop_map(|(c, r)| Command::Close(c, r)),
        Just(Command::Accept),
        prop_oneof![Just(403u16), Just(101), any::<u16>()].prop_map(Command::Reject),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    // Mostly valid first bytes (so that input gets past the first frame),
    // sometimes anything (RSV bits, reserved opcodes).
    let first = prop_oneof![
        6 => select(vec![0x81u8, 0x82]),
        3 => select(vec![0x89u8, 0x8A]),
        1 => Just(0x88u8),
        2 => select(vec![0x01u8, 0x02]),
        2 => select(vec![0x00u8, 0x80]),
        1 => any::<u8>(),
    ];
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..48).prop_map(Action::Bytes),
        16 => (
            first,
            prop::bool::weighted(0.03),
            any::<[u8; 4]>(),
            frame_payload(),
            close_payload(),
        )
            .prop_map(|(first, wrong_mask, key, payload, close)| Action::Frame {
                first,
                wrong_mask,
                key,
                payload: if first & 0x0F == 0x8 { close } else { payload },
            }),
        1 => Just(Action::Eof),
        1 => (0u64..30).prop_map(Action::Timeout),
        5 => command().prop_map(Action::Command),
        2 => Just(Action::Poll),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    select(vec![
        Target::FreshServer,
        Target::ServerAfterRequest,
        Target::ServerInsideRequest,
        Target::OpenServer,
        Target::FreshClient,
        Target::ClientAfterResponse,
        Target::ClientInsideRejection,
        Target::ClientInsideChunkedRejection,
        Target::OpenClient,
    ])
}

/// Everything a connection put out, checked as it comes.
struct Observer {
    events: Vec<Event>,
    shutdown: bool,
}

impl Observer {
    /// Takes the output only (an application that is slow to take events).
    fn poll_transmit(&mut self, conn: &mut Connection) {
        while let Some(transmit) = conn.poll_transmit() {
            assert!(!self.shutdown, "{transmit:?} after Shutdown");
            self.shutdown |= transmit == Transmit::Shutdown;
        }
        if self.shutdown {
            assert_eq!(conn.state(), State::Closed, "Shutdown before Closed");
        }
    }

    /// Takes every event and the output, and checks how they fit together.
    fn poll(&mut self, conn: &mut Connection) {
        while let Some(event) = conn.poll_event() {
            assert!(
                closed_event(&self.events).is_none(),
                "{event:?} after Closed: {:?}",
                self.events
            );
            self.events.push(event);
        }
        self.poll_transmit(conn);
        let closed = closed_event(&self.events).is_some();
        assert_eq!(conn.state() == State::Closed, closed, "{:?}", self.events);
        assert_eq!(self.shutdown, closed, "Shutdown goes with Closed");
        assert_closed_once_and_last(&self.events);
        match conn.state() {
            State::Closed => assert_eq!(conn.poll_timeout(), None, "timer left after Closed"),
            // The close deadline guarantees a closing connection ends.
            State::Closing => assert!(conn.poll_timeout().is_some(), "Closing without deadline"),
            State::Connecting | State::Open => {}
        }
    }
}

fn run_command(conn: &mut Connection, now: Instant, command: &Command) {
    let queued = conn.buffered_amount();
    let state = conn.state();
    let result = match command {
        Command::Text(s) => conn.send_text(s),
        Command::Binary(b) => conn.send_binary(b.clone()),
        Command::Fragment(text, data, last) => {
            let kind = if *text {
                MessageKind::Text
            } else {
                MessageKind::Binary
            };
            conn.send_fragment(kind, data.clone(), *last)
        }
        Command::Ping(p) => conn.send_ping(p),
        Command::Pong(p) => conn.send_pong(p),
        Command::Close(code, reason) => conn.close(now, CloseCode(*code), reason),
        Command::Accept => conn.accept(now, Accept::new()),
        Command::Reject(status) => conn.reject(Response::new(*status)),
    };
    if result.is_err() {
        // An `Err` means the call was wrong and changed nothing.
        assert_eq!(conn.buffered_amount(), queued, "{command:?}: {result:?}");
        assert_eq!(conn.state(), state, "{command:?}: {result:?}");
    }
}

/// Runs `actions` against `target`, taking events after every step unless
/// `lazy` (then only on `Action::Poll` and at the end), and checks the
/// rules every time events are taken.
fn fuzz(target: Target, actions: &[Action], accept: bool, lazy: bool) {
    let mut now = Instant::now();
    let (mut conn, prefix) = match target {
        Target::FreshServer => (Connection::server(config(), now), Vec::new()),
        Target::ServerAfterRequest => (
            Connection::server(config(), now),
            REQUEST.as_bytes().to_vec(),
        ),
        Target::ServerInsideRequest => (
            Connection::server(config(), now),
            REQUEST.trim_end().as_bytes().to_vec(),
        ),
        Target::OpenServer => (open_server(config(), now), Vec::new()),
        Target::FreshClient
        | Target::ClientAfterResponse
        | Target::ClientInsideRejection
        | Target::ClientInsideChunkedRejection => {
            let mut client = new_client(now);
            drain(&mut client);
            let prefix = match target {
                Target::ClientAfterResponse => server_response(now),
                Target::ClientInsideRejection => {
                    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 20\r\n\r\n".to_vec()
                }
                Target::ClientInsideChunkedRejection => {
                    b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n"
                        .to_vec()
                }
                _ => Vec::new(),
            };
            (client, prefix)
        }
        Target::OpenClient => (open_client(now), Vec::new()),
    };
    let server = conn.role() == Role::Server;
    let mut seen = Observer {
        events: Vec::new(),
        shutdown: false,
    };
    let react_fully = |conn: &mut Connection, seen: &mut Observer, now: Instant| {
        let before = seen.events.len();
        seen.poll(conn);
        // Answer a request unless a command already did (or EOF ended it).
        let request = seen.events[before..]
            .iter()
            .any(|e| matches!(e, Event::Request(_)));
        if request && conn.state() == State::Connecting {
            if accept {
                conn.accept(now, Accept::new()).unwrap();
            } else {
                conn.reject(Response::new(403)).unwrap();
            }
            seen.poll(conn);
        }
    };
    let react = |conn: &mut Connection, seen: &mut Observer, now: Instant| {
        if lazy {
            seen.poll_transmit(conn);
        } else {
            react_fully(conn, seen, now);
        }
    };
    if !prefix.is_empty() {
        conn.handle_data(now, &prefix);
        react(&mut conn, &mut seen, now);
    }
    for action in actions {
        match action {
            Action::Bytes(bytes) => conn.handle_data(now, bytes),
            Action::Frame {
                first,
                wrong_mask,
                key,
                payload,
            } => {
                let masked = server != *wrong_mask;
                conn.handle_data(now, &frame(*first, payload, masked.then_some(*key)));
            }
            Action::Eof => {
                conn.handle_eof(now);
                if !lazy {
                    react(&mut conn, &mut seen, now);
                    assert_eq!(conn.state(), State::Closed, "EOF always ends it");
                }
            }
            Action::Timeout(secs) => {
                now += Duration::from_secs(*secs);
                conn.handle_timeout(now);
                // Every deadline that passed has been dealt with.
                let next = conn.poll_timeout();
                assert!(next.is_none_or(|t| t > now), "stale deadline {next:?}");
            }
            Action::Command(command) => run_command(&mut conn, now, command),
            Action::Poll => react_fully(&mut conn, &mut seen, now),
        }
        react(&mut conn, &mut seen, now);
    }
    react_fully(&mut conn, &mut seen, now);
    // A closing connection ends by its deadline at the latest.
    if conn.state() == State::Closing {
        now += Duration::from_secs(3600);
        conn.handle_timeout(now);
        react_fully(&mut conn, &mut seen, now);
        assert_eq!(conn.state(), State::Closed, "the close deadline ends it");
    }
    // However it got here, the end of the stream ends it.
    conn.handle_eof(now);
    react_fully(&mut conn, &mut seen, now);
    assert_eq!(conn.state(), State::Closed);
    assert!(closed_event(&seen.events).is_some());
    // Nothing more comes out of a closed connection.
    conn.handle_data(now, REQUEST.as_bytes());
    conn.handle_timeout(now + Duration::from_secs(3600));
    react_fully(&mut conn, &mut seen, now);
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(
        target in target(),
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..6),
        accept in any::<bool>(),
    ) {
        let actions: Vec<Action> = chunks.into_iter().map(Action::Bytes).collect();
        fuzz(target, &actions, accept, false);
    }

    #[test]
    fn arbitrary_frames_and_commands_never_break_the_rules(
        target in target(),
        actions in prop::collection::vec(action(), 0..24),
        accept in any::<bool>(),
        lazy in any::<bool>(),
    ) {
        fuzz(target, &actions, accept, lazy);
    }
}

// ---- 5. closing ------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Closer {
    Client,
    Server,
    Both,
}

/// Like `Pair::drive`, but checks that the client reports `Closed` only
/// once the server has closed TCP (RFC 6455 §7.1.1: the server closes the
/// TCP connection first) rather than on its own.
fn settle(pair: &mut Pair) {
    for _ in 0..10_000 {
        let (to_server, client_shutdown) = drain(&mut pair.client);
        let (to_client, server_shutdown) = drain(&mut pair.server);
        let idle =
            to_server.is_empty() && to_client.is_empty() && !client_shutdown && !server_shutdown;
        if !to_server.is_empty() {
            pair.server.handle_data(pair.now, &to_server);
        }
        if !to_client.is_empty() {
            pair.client.handle_data(pair.now, &to_client);
        }
        let before_eof = events(&mut pair.client);
        assert!(
            pair.server_eof_sent || closed_event(&before_eof).is_none(),
            "client closed before the server closed TCP: {before_eof:?}"
        );
        pair.client_events.extend(before_eof);
        if client_shutdown && !pair.client_eof_sent {
            pair.client_eof_sent = true;
            pair.server.handle_eof(pair.now);
        }
        if server_shutdown && !pair.server_eof_sent {
            pair.server_eof_sent = true;
            pair.client.handle_eof(pair.now);
        }
        pair.client_events.extend(events(&mut pair.client));
        pair.server_events.extend(events(&mut pair.server));
        if idle {
            return;
        }
    }
    panic!("pair did not settle");
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn closing_after_traffic_ends_both_sides_cleanly(
        ops in prop::collection::vec(op(), 0..16),
        closer in select(vec![Closer::Client, Closer::Server, Closer::Both]),
        codes in (sendable_code(), sendable_code()),
        reason in "[a-zé€😀 ]{0,30}",
    ) {
        let mut x = Exchange::new(exchange_pair(None, None));
        for op in &ops {
            x.apply(op);
        }
        x.finish_fragments();
        // Whatever is still in flight stays in flight while the close starts.
        let (client_code, server_code) = (CloseCode(codes.0), CloseCode(codes.1));
        let now = x.pair.now;
        if matches!(closer, Closer::Client | Closer::Both) {
            x.pair.client.close(now, client_code, &reason).unwrap();
        }
        if matches!(closer, Closer::Server | Closer::Both) {
            x.pair.server.close(now, server_code, &reason).unwrap();
        }
        settle(&mut x.pair);
        let client_events = x.pair.take_client_events();
        let server_events = x.pair.take_server_events();

        // Everything sent before the close arrives, in order (messages the
        // peer sent before it saw our close included).
        check_delivery(&x.client, &server_events, &client_events, false)?;
        check_delivery(&x.server, &client_events, &server_events, false)?;

        for (name, events) in [("client", &client_events), ("server", &server_events)] {
            assert_closed_once_and_last(events);
            let closes = events.iter().filter(|e| matches!(e, Event::CloseReceived(_))).count();
            prop_assert_eq!(closes, 1, "{} CloseReceived: {:?}", name, events);
            let closed = closed_event(events);
            prop_assert!(closed.is_some(), "{} never closed: {:?}", name, events);
            let closed = closed.unwrap();
            prop_assert!(closed.is_clean(), "{} not clean: {:?}", name, closed);
        }
        let client_closed = closed_event(&client_events).unwrap();
        let server_closed = closed_event(&server_events).unwrap();
        // Each side reports the code the other side sent (the echo repeats
        // the code, RFC 6455 §5.5.1).
        let (client_sees, server_sees) = match closer {
            Closer::Client => (client_code, client_code),
            Closer::Server => (server_code, server_code),
            Closer::Both => (server_code, client_code),
        };
        prop_assert_eq!(client_closed.code, client_sees);
        prop_assert_eq!(server_closed.code, server_sees);
        match closer {
            Closer::Client => {
                prop_assert_eq!(&server_closed.reason, &reason);
                prop_assert_eq!(client_closed.initiator, wsproto::Initiator::Local);
                prop_assert_eq!(server_closed.initiator, wsproto::Initiator::Remote);
            }
            Closer::Server => {
                prop_assert_eq!(&client_closed.reason, &reason);
                prop_assert_eq!(server_closed.initiator, wsproto::Initiator::Local);
                prop_assert_eq!(client_closed.initiator, wsproto::Initiator::Remote);
            }
            Closer::Both => {}
        }
        prop_assert_eq!(x.pair.client.state(), State::Closed);
        prop_assert_eq!(x.pair.server.state(), State::Closed);
        prop_assert!(x.pair.server_eof_sent && x.pair.client_eof_sent);
        prop_assert_eq!(x.pair.client.poll_timeout(), None);
        prop_assert_eq!(x.pair.server.poll_timeout(), None);
    }
}
