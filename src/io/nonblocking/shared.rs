//! [`Shared`]: what every handle of one connection points to, and the
//! operations the handles are made of. Each async operation is a `poll_fn`
//! over the shared state; nothing is kept in a future across an `.await`
//! except the caller's arguments.

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use std::time::Instant;

use super::hub::Hub;
use super::inner::{Inner, Pull};
use super::{Incoming, Transport};
use crate::io::Error;
use crate::{CloseCode, Connection, Event, SendError, State};

/// What every handle of one connection points to.
pub(super) struct Shared<T> {
    inner: Mutex<Inner<T>>,
    hub: Arc<Hub>,
}

impl<T: Transport> Shared<T> {
    pub(super) fn new(io: T, conn: Connection) -> Arc<Self> {
        let hub = Arc::new(Hub::default());
        let io_waker = Waker::from(hub.clone());
        Arc::new(Shared {
            inner: Mutex::new(Inner::new(io, conn, io_waker)),
            hub,
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // A panic under the lock can only come from the stream; the state
        // itself is consistent between steps.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs one poll step for the task of `cx`: registers it to be woken,
    /// then looks at the state (in that order, so no change is missed),
    /// and wakes the other waiting tasks if the step changed something.
    fn poll<R>(&self, cx: &Context<'_>, step: impl FnOnce(&mut Inner<T>) -> Poll<R>) -> Poll<R> {
        self.hub.register(cx.waker());
        self.run(Some(cx.waker()), step)
    }

    /// Runs a step without waiting (a command), waking whoever waits.
    pub(super) fn run<R>(&self, me: Option<&Waker>, step: impl FnOnce(&mut Inner<T>) -> R) -> R {
        let mut inner = self.lock();
        let result = step(&mut inner);
        let changed = std::mem::take(&mut inner.changed);
        drop(inner);
        if changed {
            self.hub.wake_others(me);
        }
        result
    }

    pub(super) fn poll_event(&self, cx: &Context<'_>) -> Poll<Result<Event, Error>> {
        self.poll(cx, |inner| inner.next_event())
    }

    pub(super) fn poll_recv(&self, cx: &Context<'_>) -> Poll<Result<Incoming, Error>> {
        self.poll(cx, |inner| {
            loop {
                let incoming = match std::task::ready!(inner.next_event()) {
                    Ok(Event::Message(message)) => Incoming::Message(message),
                    Ok(Event::Ping(payload)) => Incoming::Ping(payload),
                    Ok(Event::Pong(payload)) => Incoming::Pong(payload),
                    Ok(Event::CloseReceived(frame)) => Incoming::Close(frame),
                    Ok(Event::Rejected(response)) => {
                        return Poll::Ready(Err(Error::Rejected(response)));
                    }
                    Ok(Event::Closed(closed)) => return Poll::Ready(Err(Error::Closed(closed))),
                    Ok(Event::Request(_) | Event::Connected(_)) => continue,
                    Err(e) => return Poll::Ready(Err(e)),
                };
                return Poll::Ready(Ok(incoming));
            }
        })
    }

    /// Queues with `command` once at most the high-water mark is unwritten,
    /// then waits until that holds again.
    pub(super) async fn send(
        &self,
        command: impl FnOnce(&mut Connection, Instant) -> Result<(), SendError>,
    ) -> Result<(), Error> {
        poll_fn(|cx| self.poll(cx, |inner| inner.poll_drained(inner.write_limit))).await?;
        self.command(command)?;
        poll_fn(|cx| self.poll(cx, |inner| inner.poll_drained(inner.write_limit))).await
    }

    /// Queues with `command` and writes what the stream takes now.
    pub(super) fn command(
        &self,
        command: impl FnOnce(&mut Connection, Instant) -> Result<(), SendError>,
    ) -> Result<(), Error> {
        self.run(None, |inner| {
            let now = inner.io.now();
            command(&mut inner.conn, now)?;
            inner.changed = true;
            inner.flush_lenient()
        })
    }

    pub(super) async fn flush(&self) -> Result<(), Error> {
        poll_fn(|cx| self.poll(cx, |inner| inner.poll_drained(0))).await
    }

    /// Starts the closing handshake if the connection is open (a close
    /// the peer started is simply waited for).
    pub(super) fn start_close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.command(|conn, now| match conn.state() {
            State::Open => conn.close(now, code, reason),
            _ => Ok(()),
        })
    }

    /// Closes and waits for the end; `stash` keeps events for a live
    /// reader instead of dropping them.
    pub(super) async fn close(
        &self,
        code: CloseCode,
        reason: &str,
        stash: bool,
    ) -> Result<(), Error> {
        self.start_close(code, reason)?;
        poll_fn(|cx| {
            self.poll(cx, |inner| {
                let pull = if stash && inner.reader_alive {
                    Pull::Stash
                } else {
                    Pull::Discard
                };
                inner.poll_closed(pull)
            })
        })
        .await
    }
}
