//! Incremental UTF-8 validation that fails as soon as a sequence can no
//! longer become valid, while a code point split across chunks (or
//! fragments) is fine.
//!
//! The bulk check is `simdutf8` (SIMD where the CPU has it, selected at
//! run time); only a chunk that fails it is looked at again to tell a
//! split code point from an invalid one.

/// Chunks shorter than this are first checked for plain ASCII.
const SHORT_CHUNK: usize = 256;

/// Validates a text message chunk by chunk.
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    /// The start of a code point that the last chunk ended in (1–3 bytes).
    partial: [u8; 4],
    partial_len: usize,
}

/// The text is not, and cannot become, valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// Checks the next chunk.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            chunk = self.complete_partial(chunk)?;
            if self.partial_len > 0 {
                return Ok(());
            }
        }
        // Short ASCII (most JSON) needs no dispatch to the SIMD check;
        // other text stops the ASCII scan at its first non-ASCII byte.
        if (chunk.len() < SHORT_CHUNK && chunk.is_ascii())
            || simdutf8::basic::from_utf8(chunk).is_ok()
        {
            return Ok(());
        }
        match simdutf8::compat::from_utf8(chunk) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(InvalidUtf8),
            Err(e) => {
                // The chunk ends inside a code point that may still complete.
                let tail = chunk.get(e.valid_up_to()..).unwrap_or_default();
                self.keep_partial(tail);
                Ok(())
            }
        }
    }

    /// Whether the text ends on a code point boundary; call at message end.
    pub fn finish(&self) -> Result<(), InvalidUtf8> {
        if self.partial_len == 0 {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }

    /// Moves bytes from `chunk` into the pending code point until it is
    /// complete; returns the rest of the chunk.
    fn complete_partial<'a>(&mut self, chunk: &'a [u8]) -> Result<&'a [u8], InvalidUtf8> {
        let want = sequence_len(self.partial[0]);
        let take = want.saturating_sub(self.partial_len).min(chunk.len());
        let (head, rest) = chunk.split_at(take);
        for &byte in head {
            self.push_partial(byte);
        }
        let candidate = self.partial.get(..self.partial_len).unwrap_or_default();
        match std::str::from_utf8(candidate) {
            Ok(_) => {
                self.partial_len = 0;
                Ok(rest)
            }
            Err(e) if e.error_len().is_some() => Err(InvalidUtf8),
            Err(_) => Ok(rest),
        }
    }

    fn keep_partial(&mut self, tail: &[u8]) {
        self.partial_len = 0;
        for &byte in tail {
            self.push_partial(byte);
        }
    }

    fn push_partial(&mut self, byte: u8) {
        if let Some(slot) = self.partial.get_mut(self.partial_len) {
            *slot = byte;
            self.partial_len += 1;
        }
    }
}

/// Length of the sequence a lead byte starts (1 for invalid leads, which
/// `from_utf8` then rejects).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate_in_pieces(bytes: &[u8], piece: usize) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::default();
        for chunk in bytes.chunks(piece.max(1)) {
            v.feed(chunk)?;
        }
        v.finish()
    }

    #[test]
    fn agrees_with_std_for_every_split() {
        let samples: &[&[u8]] = &[
            "κόσμε".as_bytes(),
            "Hello-µ@ßöäüàá-UTF-8!!".as_bytes(),
            "𝄞 emoji 😀 中文".as_bytes(),
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"\xf4\x90\x80\x80",
            b"\xc0\xaf",
            b"\xe0\x80\xaf",
            b"abc\xf0\x9f\x98",
            b"\xff",
        ];
        for sample in samples {
            let expected = std::str::from_utf8(sample).is_ok();
            for piece in 1..=sample.len().max(1) {
                assert_eq!(
                    validate_in_pieces(sample, piece).is_ok(),
                    expected,
                    "{sample:?} / {piece}"
                );
            }
        }
    }

    #[test]
    fn fails_fast_inside_a_chunk() {
        let mut v = Utf8Validator::default();
        // 0xED 0xA0 starts a surrogate: invalid before the third byte arrives.
        assert!(v.feed(b"ok\xed").is_ok());
        assert_eq!(v.feed(b"\xa0"), Err(InvalidUtf8));
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(b"\xf4\x90"), Err(InvalidUtf8));
    }
}
