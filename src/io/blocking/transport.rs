//! What the blocking adapter needs from a stream beyond `Read + Write`:
//! bounded reads, so deadlines fire while a read blocks, and a half-close.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use bytes::Bytes;

/// A stream the blocking adapter can bound reads on and half-close.
///
/// Both methods have defaults for streams that can do neither: reads then
/// block until data arrives (so deadlines fire only when the peer sends
/// something, and `recv_timeout` cannot return early), and the write side
/// is simply flushed.
///
/// Implemented for [`TcpStream`], `UnixStream`, `&mut T` and `Box<T>`.
/// For a stream from another crate (a TLS stream, say), wrap it in a
/// newtype that forwards to the socket underneath, or in [`NoTimeouts`].
pub trait Transport {
    /// Bounds how long each following read may block (`None`: forever).
    /// Returns `Ok(false)` if the stream cannot bound reads.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        let _ = timeout;
        Ok(false)
    }

    /// Closes the write side after the last written byte (a TCP FIN), so
    /// the peer reads end of stream.
    fn shutdown_write(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        TcpStream::set_read_timeout(self, timeout)?;
        Ok(true)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

#[cfg(unix)]
impl Transport for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)?;
        Ok(true)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        (**self).set_read_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        (**self).set_read_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

/// Any `Read + Write` stream, used without read timeouts or half-close:
/// reads block until data arrives (see [`Transport`]).
#[derive(Debug, Default)]
pub struct NoTimeouts<S>(pub S);

impl<S: Read> Read for NoTimeouts<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<S: Write> Write for NoTimeouts<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<S> Transport for NoTimeouts<S> {}

/// Writes every chunk with vectored writes: a frame header and a payload
/// queued by reference leave in one system call.
pub(super) fn write_all_vectored<W: Write>(stream: &mut W, chunks: &[Bytes]) -> io::Result<()> {
    if chunks.is_empty() {
        return Ok(());
    }
    let mut slices: Vec<IoSlice<'_>> = chunks.iter().map(|b| IoSlice::new(b)).collect();
    let mut rest = slices.as_mut_slice();
    while !rest.is_empty() {
        match stream.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    stream.flush()
}

/// The read was bounded by a timeout, or interrupted: try again.
pub(super) fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// The peer is gone: the connection reports this as its end (1006, or
/// clean if the closing handshake had completed).
pub(super) fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}
