//! Counters that show what the engine did: for monitoring, and for tests
//! that assert work done rather than time taken.

/// Running totals for one connection, from
/// [`Connection::stats`](crate::Connection::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes given to the connection as input.
    pub bytes_received: u64,
    /// Frames received (data and control).
    pub frames_received: u64,
    /// Complete messages delivered.
    pub messages_received: u64,
    /// Ping and pong events not reported because the application had
    /// fallen behind (the pings were still answered).
    pub control_events_dropped: u64,
    /// Bytes examined while looking for the end of the HTTP head; stays
    /// linear in the head's size however it is split.
    pub head_bytes_scanned: u64,
}
