#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod close;
mod config;
mod connection;
mod copy;
pub mod deflate;
pub mod entropy;
pub mod error;
mod event;
pub mod frame;
pub mod handshake;
/// Adapters that drive a connection over real transports (blocking `std`).
pub mod io;
mod timer;
mod transmit;
mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use config::{Config, Keepalive};
pub use connection::{Connection, MessageKind, Role, State, Stats};
pub use entropy::{Entropy, EntropySource};
pub use error::{Error, HandshakeError, ProtocolError, SendError};
pub use event::{Closed, Event, Initiator, Message, Text};
pub use handshake::{Accept, ClientRequest, Negotiated, Request, Response};
pub use transmit::Transmit;
