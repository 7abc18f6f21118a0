//! Shared oracle: drain a connection and check the event stream's shape.

use wsproto::{Connection, Event, Transmit};

#[allow(dead_code)]
/// Takes every output; asserts that `Closed` comes at most once, last, and
/// that a shutdown is only reported once the connection is closed.
pub fn drain_and_check(conn: &mut Connection, closed_seen: &mut bool) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(t) = conn.poll_transmit() {
        match t {
            Transmit::Data(d) => out.extend_from_slice(&d),
            Transmit::Shutdown => assert_eq!(conn.state(), wsproto::State::Closed),
        }
    }
    while let Some(event) = conn.poll_event() {
        assert!(!*closed_seen, "event after Closed: {event:?}");
        if let Event::Closed(_) = event {
            *closed_seen = true;
        }
    }
    out
}

#[allow(dead_code)]
/// Splits `data` into chunks whose sizes come from `sizes` (cycled).
pub fn chunks<'a>(data: &'a [u8], sizes: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    let mut rest = data;
    let mut i = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = match sizes.get(i % sizes.len().max(1)) {
            None | Some(0) => rest.len(),
            Some(s) => usize::from(*s),
        };
        i += 1;
        let (head, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        Some(head)
    })
}
