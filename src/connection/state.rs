//! Connection phases and how they change.
//!
//! | phase | input that moves it | next phase |
//! |---|---|---|
//! | `AwaitingRequest` (server) | a complete, valid request head | `AwaitingDecision` (`Event::Request`) |
//! | `AwaitingRequest` (server) | a bad head, EOF, handshake deadline | `Closed` (automatic 4xx answer where one is due) |
//! | `AwaitingDecision` (server) | `accept` | `Open` (`Event::Connected`) |
//! | `AwaitingDecision` (server) | `reject`, EOF | `Closed` |
//! | `AwaitingResponse` (client) | a valid 101 | `Open` (`Event::Connected`) |
//! | `AwaitingResponse` (client) | another status, a bad answer, EOF, deadline | `Closed` (`Event::Rejected` for another status) |
//! | `Open` | `close`, or the peer's close, or a peer fault | `Closing` (close frame queued) |
//! | `Open` | keepalive deadline with the ping unanswered | `Closed` (1011 sent) |
//! | `Open`, `Closing` | EOF | `Closed` (1006 unless the peer's close arrived) |
//! | `Closing` | the peer's close (server), EOF (client), close deadline | `Closed` |
//!
//! Entering `Closed` reports `Event::Closed` once and queues
//! `Transmit::Shutdown` behind the last bytes. A server enters `Closed` as
//! soon as both close frames have crossed (it closes TCP first); a client
//! waits in `Closing` for the server to close TCP, up to the close deadline.

use std::sync::Arc;

use crate::close::CloseFrame;
use crate::error::Error;
use crate::event::Initiator;
use crate::handshake::{ClientRequest, HeadScanner, Request, ResponseParser};

/// Where the connection is in its life, as the application sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// The opening handshake is in progress.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// A close frame was sent or received; no more messages can be sent.
    Closing,
    /// Over: `Event::Closed` has been reported.
    Closed,
}

/// Which end of the connection this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The end that sent the upgrade request; it masks its frames.
    Client,
    /// The end that answered it.
    Server,
}

/// The phase with the data only that phase needs.
#[derive(Debug)]
pub(crate) enum Phase {
    AwaitingRequest(HeadScanner),
    AwaitingDecision(Arc<Request>),
    AwaitingResponse(Box<ClientHandshake>),
    Open,
    Closing,
    Closed,
}

#[derive(Debug)]
pub(crate) struct ClientHandshake {
    pub request: ClientRequest,
    pub key: String,
    pub parser: ResponseParser,
}

impl Phase {
    pub(crate) fn state(&self) -> State {
        match self {
            Phase::AwaitingRequest(_) | Phase::AwaitingDecision(_) | Phase::AwaitingResponse(_) => {
                State::Connecting
            }
            Phase::Open => State::Open,
            Phase::Closing => State::Closing,
            Phase::Closed => State::Closed,
        }
    }
}

/// What has happened in the closing handshake so far.
#[derive(Debug)]
pub(crate) struct CloseProgress {
    /// The close frame we queued.
    pub sent: Option<CloseFrame>,
    /// The close frame the peer sent.
    pub received: Option<CloseFrame>,
    /// Why the connection is failing, if it is.
    pub error: Option<Error>,
    /// Who started closing.
    pub initiator: Option<Initiator>,
    /// Whether input is still processed (false after the peer's close or a
    /// failure: the rest is discarded).
    pub reading: bool,
}

impl Default for CloseProgress {
    fn default() -> Self {
        CloseProgress {
            sent: None,
            received: None,
            error: None,
            initiator: None,
            reading: true,
        }
    }
}
