//! The waker the stream and the timer are polled with: it wakes every task
//! waiting on the connection, so whichever task polled the stream last,
//! none misses a wake-up.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Wake, Waker};

/// The wakers of the tasks waiting on one connection.
#[derive(Debug, Default)]
pub(super) struct Hub {
    waiting: Mutex<Vec<Waker>>,
}

impl Hub {
    /// Adds `waker` (once) to the tasks to wake. Called before the caller
    /// looks at the state, so a change made right after that look still
    /// wakes it.
    pub(super) fn register(&self, waker: &Waker) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if !waiting.iter().any(|w| w.will_wake(waker)) {
            waiting.push(waker.clone());
        }
    }

    /// Wakes every waiting task except `me` (which just made the change
    /// and will look again by itself).
    pub(super) fn wake_others(&self, me: Option<&Waker>) {
        let mut waiting = {
            let mut guard = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::take(&mut *guard)
        };
        if let Some(me) = me {
            if let Some(at) = waiting.iter().position(|w| w.will_wake(me)) {
                let mine = waiting.swap_remove(at);
                self.register(&mine);
            }
        }
        // Woken outside the lock: a waker that polls inline cannot
        // deadlock on it.
        for waker in waiting {
            waker.wake();
        }
    }
}

impl Wake for Hub {
    fn wake(self: Arc<Self>) {
        self.wake_others(None);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_others(None);
    }
}
