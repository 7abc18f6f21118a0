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
        for (i, _) in window.iter().enumerate().filter(|(_, b)| **b == b'\n') {
            let after = window.get(i + 1..).unwrap_or_default();
            if after.first() == Some(&b'\n') {
                found = Some(start + i + 2);
                break;
            }
            if after.starts_with(b"\r\n") {
                found = Some(start + i + 3);
                break;
            }
        }
        self.scanned = buf.len();
        found
    }

    /// Bytes examined since the last call (for [`Stats`](crate::Stats)).
    pub(crate) fn take_examined(&mut self) -> u64 {
        std::mem::take(&mut self.examined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
