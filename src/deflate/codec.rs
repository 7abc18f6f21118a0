//! The compressor and decompressor of one connection, built on
//! miniz_oxide. Both are allocated on first use and dropped between
//! messages when the context is not taken over.

use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
use miniz_oxide::inflate::stream::{InflateState, MinReset};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// The empty stored block a sync flush ends with; RFC 7692 §7.2.1 strips
/// it from every message and the receiver puts it back.
const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Bytes inflated per step: the most a message can overshoot its budget
/// before the overshoot is noticed is one step.
const INFLATE_STEP: usize = 16 << 10;

/// Compresses outgoing messages.
pub(crate) struct Compressor {
    state: Option<Box<CompressorOxide>>,
    level: u8,
    /// log2 of the window the peer can handle.
    window_bits: u8,
    /// Reset the context after every message.
    no_context_takeover: bool,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor")
            .field("allocated", &self.state.is_some())
            .field("window_bits", &self.window_bits)
            .finish()
    }
}

impl Compressor {
    pub(crate) fn new(level: u8, window_bits: u8, no_context_takeover: bool) -> Self {
        Compressor {
            state: None,
            level,
            window_bits: window_bits.clamp(8, 15),
            no_context_takeover,
        }
    }

    /// Compresses one whole message into `out`, without the sync tail.
    pub(crate) fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let level = self.level;
        let state = self.state.get_or_insert_with(|| {
            // Negative window bits select raw deflate (no zlib header).
            Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(
                i32::from(level),
                -15,
                0,
            )))
        });
        out.reserve(input.len() / 2 + 64);
        if self.window_bits >= 15 {
            // miniz's window is 32 KiB, exactly what 15 bits allows.
            deflate_all(state, input, out, MZFlush::Sync);
        } else {
            // A full flush resets the dictionary, so no match reaches back
            // further than the segment it is in: at most 2^bits - 1 bytes.
            let segment = 1usize << self.window_bits;
            let mut chunks = input.chunks(segment).peekable();
            if chunks.peek().is_none() {
                deflate_all(state, &[], out, MZFlush::Full);
            }
            for chunk in chunks {
                deflate_all(state, chunk, out, MZFlush::Full);
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.no_context_takeover {
            self.state = None;
        }
    }
}

/// Runs the deflate stream until `input` is consumed and the flush is
/// complete, growing `out` as needed.
///
/// The first call gets room for the worst case (stored blocks plus the
/// flush), because miniz does not finish a flush that did not fit and a
/// later call with no input does not reliably complete it.
fn deflate_all(state: &mut CompressorOxide, mut input: &[u8], out: &mut Vec<u8>, flush: MZFlush) {
    let mut room = input.len() + input.len() / 8 + 1024;
    loop {
        let start = out.len();
        out.resize(start + room, 0);
        let result = miniz_oxide::deflate::stream::deflate(
            state,
            input,
            out.get_mut(start..).unwrap_or_default(),
            flush,
        );
        out.truncate(start + result.bytes_written);
        input = input.get(result.bytes_consumed..).unwrap_or_default();
        let finished = input.is_empty() && result.bytes_written < room;
        if finished || result.status.is_err() {
            return;
        }
        room = room.max(1024) * 2;
    }
}

/// Why a compressed message could not be inflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The inflated message would exceed its budget.
    TooLarge,
    /// The compressed data is not valid deflate.
    Corrupt,
}

/// Inflates incoming messages.
pub(crate) struct Decompressor {
    state: Option<Box<InflateState>>,
    /// The peer resets its context after every message.
    no_context_takeover: bool,
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor")
            .field("allocated", &self.state.is_some())
            .finish()
    }
}

impl Decompressor {
    pub(crate) fn new(no_context_takeover: bool) -> Self {
        Decompressor {
            state: None,
            no_context_takeover,
        }
    }

    /// Inflates one frame's payload onto `out`, which may grow to at most
    /// `limit` bytes; `last` marks the message's final frame.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let state = self
            .state
            .get_or_insert_with(|| InflateState::new_boxed(DataFormat::Raw));
        inflate_into(state, input, out, limit)?;
        if last {
            let result = inflate_into(state, &TAIL, out, limit);
            if self.no_context_takeover {
                self.state = None;
            } else if state_ended(self.state.as_deref()) {
                // The peer ended the deflate stream (BFINAL); the next
                // message starts a new one.
                if let Some(state) = self.state.as_deref_mut() {
                    state.reset_as(MinReset);
                }
            }
            result?;
        }
        Ok(())
    }
}

fn state_ended(state: Option<&InflateState>) -> bool {
    state.is_some_and(|s| s.last_status() == miniz_oxide::inflate::TINFLStatus::Done)
}

fn inflate_into(
    state: &mut InflateState,
    mut input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), InflateError> {
    loop {
        let start = out.len();
        // One byte past the limit tells "exactly full" from "too large".
        let room = INFLATE_STEP.min(limit.saturating_sub(start).saturating_add(1));
        grow_within(out, start + room, limit.saturating_add(1));
        out.resize(start + room, 0);
        let result = miniz_oxide::inflate::stream::inflate(
            state,
            input,
            out.get_mut(start..).unwrap_or_default(),
            MZFlush::None,
        );
        out.truncate(start + result.bytes_written);
        input = input.get(result.bytes_consumed..).unwrap_or_default();
        if out.len() > limit {
            return Err(InflateError::TooLarge);
        }
        match result.status {
            Ok(MZStatus::StreamEnd) => return Ok(()),
            Ok(_) if input.is_empty() && result.bytes_written < room => return Ok(()),
            Ok(_) => {}
            // No progress possible: all input consumed, output not full.
            Err(MZError::Buf) if input.is_empty() => return Ok(()),
            Err(_) => return Err(InflateError::Corrupt),
        }
    }
}

/// Makes room for `needed` bytes, doubling as usual but never past
/// `cap` (unless `needed` itself is larger).
fn grow_within(out: &mut Vec<u8>, needed: usize, cap: usize) {
    if needed > out.capacity() {
        let target = out.capacity().saturating_mul(2).min(cap).max(needed);
        out.reserve_exact(target - out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(window_bits: u8, takeover: bool, messages: &[Vec<u8>]) {
        let mut compressor = Compressor::new(6, window_bits, !takeover);
        let mut decompressor = Decompressor::new(!takeover);
        for message in messages {
            let mut compressed = Vec::new();
            compressor.compress(message, &mut compressed);
            let mut out = Vec::new();
            decompressor
                .inflate(&compressed, true, &mut out, usize::MAX)
                .unwrap();
            assert!(
                out[..] == message[..],
                "window {window_bits}: {} of {} bytes came back",
                out.len(),
                message.len()
            );
        }
    }

    #[test]
    fn every_window_roundtrips_with_and_without_takeover() {
        let text = b"The quick brown fox jumps over the lazy dog. ".repeat(400);
        let messages = vec![
            text.clone(),
            Vec::new(),
            text[..100].to_vec(),
            (0..=255u8).cycle().take(70_000).collect(),
        ];
        for bits in 8..=15 {
            roundtrip(bits, true, &messages);
            roundtrip(bits, false, &messages);
        }
    }

    /// Image-like data: a smooth signal with noise, barely compressible,
    /// so a message's output is about as long as its input.
    fn noisy(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761) | 1;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                ((i / 64) as u8).wrapping_add((x % 48) as u8)
            })
            .collect()
    }

    #[test]
    fn incompressible_messages_come_back_whole() {
        // Output that fills the first output buffer exactly when the input
        // runs out used to lose the end of the sync flush.
        for takeover in [true, false] {
            let messages: Vec<Vec<u8>> =
                (0..60).map(|i| noisy(65_536 - 97 * i, i as u32)).collect();
            roundtrip(15, takeover, &messages);
            roundtrip(12, takeover, &messages[..10]);
        }
    }

    #[test]
    fn rfc7692_hello_examples() {
        // §7.2.3.1: "Hello" compressed.
        let mut d = Decompressor::new(false);
        let mut out = Vec::new();
        d.inflate(
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            true,
            &mut out,
            100,
        )
        .unwrap();
        assert_eq!(&out[..], b"Hello");
        // §7.2.3.2: the same again with shared context.
        let mut out = Vec::new();
        d.inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], true, &mut out, 100)
            .unwrap();
        assert_eq!(&out[..], b"Hello");
        // §7.2.3.3: a stored (uncompressed) block.
        let mut out = Vec::new();
        Decompressor::new(false)
            .inflate(
                &[
                    0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
                ],
                true,
                &mut out,
                100,
            )
            .unwrap();
        assert_eq!(&out[..], b"Hello");
        // §7.2.3.1 fragmented across two frames.
        let mut d = Decompressor::new(false);
        let mut out = Vec::new();
        d.inflate(&[0xf2, 0x48, 0xcd], false, &mut out, 100)
            .unwrap();
        d.inflate(&[0xc9, 0xc9, 0x07, 0x00], true, &mut out, 100)
            .unwrap();
        assert_eq!(&out[..], b"Hello");
        // Our compressor produces the RFC's bytes for the first message.
        let mut c = Compressor::new(6, 15, false);
        let mut first = Vec::new();
        c.compress(b"Hello", &mut first);
        let mut d = Decompressor::new(false);
        let mut out = Vec::new();
        d.inflate(&first, true, &mut out, 100).unwrap();
        assert_eq!(&out[..], b"Hello");
    }

    #[test]
    fn a_bomb_stops_at_the_budget() {
        let mut c = Compressor::new(9, 15, true);
        let mut bomb = Vec::new();
        c.compress(&vec![0u8; 50 << 20], &mut bomb);
        assert!(bomb.len() < 100 << 10, "{}", bomb.len());
        let mut d = Decompressor::new(false);
        let mut out = Vec::new();
        assert_eq!(
            d.inflate(&bomb, true, &mut out, 1 << 20),
            Err(InflateError::TooLarge)
        );
        assert!(
            out.capacity() <= (1 << 20) + INFLATE_STEP + 1,
            "{}",
            out.capacity()
        );
    }

    #[test]
    fn corrupt_input_is_reported() {
        let mut d = Decompressor::new(false);
        let mut out = Vec::new();
        assert_eq!(
            d.inflate(&[0xff, 0xff, 0xff, 0xff], true, &mut out, 100),
            Err(InflateError::Corrupt)
        );
    }
}
