//! The engine stays sans-IO; an adapter only moves bytes between a stream
//! and the connection, sleeps until the connection's next deadline, and
//! turns events into return values. All protocol decisions stay in the
//! core.
//!
//! - [`blocking`](crate::io::blocking) (feature `std`, on by default): a
//!   [`WebSocket`](crate::io::blocking::WebSocket) over any
//!   `std::io::Read + Write` stream, one thread per connection.

mod error;

#[cfg(feature = "std")]
pub mod blocking;

pub use error::Error;
