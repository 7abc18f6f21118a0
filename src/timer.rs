//! The connection's deadlines: a small table indexed by timer kind, so the
//! next deadline is a minimum over four slots and nothing allocates.

use std::time::Instant;

/// The deadlines a connection can arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The opening handshake head must be complete by then.
    Handshake,
    /// The closing handshake (or the server's TCP close) must be done.
    Close,
    /// Keepalive: send a ping, or fail if the last ping went unanswered.
    Keepalive,
}

const COUNT: usize = 3;

impl Timer {
    const ALL: [Timer; COUNT] = [Timer::Handshake, Timer::Close, Timer::Keepalive];

    fn index(self) -> usize {
        self as usize
    }
}

/// Armed deadlines, one slot per [`Timer`].
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    slots: [Option<Instant>; COUNT],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        if let Some(slot) = self.slots.get_mut(timer.index()) {
            *slot = Some(at);
        }
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        if let Some(slot) = self.slots.get_mut(timer.index()) {
            *slot = None;
        }
    }

    pub(crate) fn stop_all(&mut self) {
        self.slots = [None; COUNT];
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.slots.get(timer.index()).copied().flatten()
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Disarms and returns the first timer due at `now`, if any.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let due = Timer::ALL
            .into_iter()
            .find(|t| self.get(*t).is_some_and(|at| at <= now))?;
        self.stop(due);
        Some(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_and_expiry() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        assert_eq!(table.next(), None);
        table.set(Timer::Close, t0 + Duration::from_secs(5));
        table.set(Timer::Keepalive, t0 + Duration::from_secs(2));
        assert_eq!(table.next(), Some(t0 + Duration::from_secs(2)));
        assert_eq!(table.take_expired(t0 + Duration::from_secs(1)), None);
        assert_eq!(
            table.take_expired(t0 + Duration::from_secs(3)),
            Some(Timer::Keepalive)
        );
        assert_eq!(table.take_expired(t0 + Duration::from_secs(3)), None);
        assert_eq!(table.next(), Some(t0 + Duration::from_secs(5)));
    }
}
