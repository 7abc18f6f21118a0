//! Finding the end of an HTTP head in a buffer that grows a little at a
//! time, without rescanning what was already scanned: parsing a head that
//! trickles in one byte per read stays linear (the quadratic re-parse was
//! tungstenite's CVE-2023-43669).

/// Remembers how far the buffer has been searched.
#[derive(Clone, Debug, Default)]
pub(crate) struct HeadScanner {
    scanned: usize,
    /// Bytes examined since last taken.
    examined: u64,
}

impl HeadScanner {
    /// The length of the head (up to and including the empty line), once
    /// the buffer holds all of it. Accepts CRLF and bare LF line ends.
    pub(crate) fn find_end(&mut self, buf: &[u8]) -> Option<usize> {
        // Step back so a terminator split across calls is still seen.
        let start = self.scanned.saturating_sub(2);
        let window = buf.get(start..).unwrap_or_default();
        self.examined += window.len() as u64;
        let mut found = None;
        let mut from = 0;
        while let Some(i) = next_newline(window, from) {
            let after = window.get(i + 1..).unwrap_or_default();
            if after.first() == Some(&b'\n') {
                found = Some(start + i + 2);
                break;
            }
            if after.starts_with(b"\r\n") {
                found = Some(start + i + 3);
                break;
            }
            from = i + 1;
        }
        self.scanned = buf.len();
        found
    }

    /// Bytes examined since the last call (for [`Stats`](crate::Stats)).
    pub(crate) fn take_examined(&mut self) -> u64 {
        std::mem::take(&mut self.examined)
    }
}

/// The index of the first `\n` in `buf` at or after `from`, looking at
/// eight bytes per step (a header line is tens of bytes long).
fn next_newline(buf: &[u8], from: usize) -> Option<usize> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = LOW * b'\n' as u64;
    let rest = buf.get(from..)?;
    let mut words = rest.chunks_exact(8);
    let mut offset = from;
    for chunk in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let x = u64::from_le_bytes(bytes) ^ NEWLINES;
        // Nonzero exactly when some byte of `x` is zero (a newline).
        if x.wrapping_sub(LOW) & !x & HIGH != 0 {
            return chunk.iter().position(|&b| b == b'\n').map(|i| offset + i);
        }
        offset += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| offset + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_newline_matches_a_plain_search() {
        let text = b"GET / HTTP/1.1\r\nHost: a\r\nX: \xff\x8a\x0b\x09\n\nend\n";
        for from in 0..=text.len() {
            let expected = text[from..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| from + i);
            assert_eq!(next_newline(text, from), expected, "from {from}");
        }
        assert_eq!(next_newline(text, text.len() + 1), None);
    }

    #[test]
    fn finds_end_across_splits() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nxyz";
        for split in 0..head.len() {
            let mut scanner = HeadScanner::default();
            let first = scanner.find_end(&head[..split]);
            let end = first.or_else(|| scanner.find_end(head));
            assert_eq!(end, Some(head.len() - 3), "split {split}");
        }
        let mut scanner = HeadScanner::default();
        assert_eq!(
            scanner.find_end(b"GET / HTTP/1.1\nHost: a\n\nrest"),
            Some(24)
        );
    }
}
