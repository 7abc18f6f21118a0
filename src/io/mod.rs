//! The engine stays sans-IO; an adapter only moves bytes between a stream
//! and the connection, sleeps until the connection's next deadline, and
//! turns events into return values. All protocol decisions stay in the
//! core.
//!
//! - [`blocking`](crate::io::blocking) (feature `std`, on by default): a
//!   [`WebSocket`](crate::io::blocking::WebSocket) over any
//!   `std::io::Read + Write` stream, one thread per connection; `wss://`
//!   with feature `rustls`.
//! - [`tokio`](crate::io::tokio) (feature `tokio`): an async WebSocket over
//!   any tokio `AsyncRead + AsyncWrite` stream; `wss://` with feature
//!   `tokio-rustls`.
//! - [`futures`](crate::io::futures) (feature `futures-io`): the same over
//!   `futures_io` streams (async-std, smol), with a pluggable timer.
//! - [`tls`](crate::io::tls) (feature `rustls`): the TLS configuration both
//!   share.
//! - [`nonblocking`](crate::io::nonblocking): what the two async adapters
//!   share, and how they work.

mod error;

#[cfg(feature = "std")]
pub mod blocking;

#[cfg(feature = "futures-io")]
pub mod futures;
#[cfg(any(feature = "tokio", feature = "futures-io"))]
pub mod nonblocking;
#[cfg(feature = "rustls")]
pub mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use error::Error;
