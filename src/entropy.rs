//! Where handshake keys and mask keys come from.
//!
//! RFC 6455 §5.3 and §10.3 require mask keys that an attacker cannot predict
//! (otherwise a hostile page could steer the bytes an intermediary sees). The
//! engine never calls a random number generator of its own: it asks the
//! [`EntropySource`] in its [`Config`](crate::Config) for one [`Entropy`]
//! generator per connection.
//!
//! The default, [`EntropySource::os`], keys SipHash with the 128-bit secret
//! that the standard library draws from the operating system for
//! `RandomState`, and hashes a counter: a keyed pseudo-random function, so
//! outputs are unpredictable without the key, and no extra dependency is
//! needed. Tests inject [`EntropySource::deterministic`] to get the same
//! bytes on every run.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

/// A generator of random bytes owned by one connection.
pub trait Entropy: Send {
    /// Fills `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

type Factory = dyn Fn() -> Box<dyn Entropy> + Send + Sync;

/// Makes one [`Entropy`] generator per connection. Cheap to clone.
#[derive(Clone)]
pub struct EntropySource(Arc<Factory>);

impl EntropySource {
    /// Unpredictable bytes seeded from the operating system (the default).
    pub fn os() -> Self {
        EntropySource(Arc::new(|| Box::new(OsSeeded::new())))
    }

    /// The same bytes every time, from `seed`: for tests and fuzzing only.
    /// Every connection made with this source starts from the same seed.
    pub fn deterministic(seed: u64) -> Self {
        EntropySource(Arc::new(move || Box::new(SplitMix64(seed))))
    }

    /// A source of your own, e.g. a CSPRNG your application already uses.
    pub fn from_fn<F>(factory: F) -> Self
    where
        F: Fn() -> Box<dyn Entropy> + Send + Sync + 'static,
    {
        EntropySource(Arc::new(factory))
    }

    pub(crate) fn generator(&self) -> Box<dyn Entropy> {
        (self.0)()
    }
}

impl Default for EntropySource {
    fn default() -> Self {
        EntropySource::os()
    }
}

impl fmt::Debug for EntropySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EntropySource")
    }
}

/// Mask keys drawn from a connection's [`Entropy`] 32 bytes at a time, so
/// a client sending small frames makes one generator call per 8 keys. The
/// generator is made on first use: a server never masks, and so never
/// allocates one.
pub(crate) struct MaskKeys {
    source: EntropySource,
    entropy: Option<Box<dyn Entropy>>,
    buf: [u8; 32],
    used: usize,
}

impl MaskKeys {
    pub(crate) fn new(source: EntropySource) -> Self {
        MaskKeys {
            source,
            entropy: None,
            buf: [0; 32],
            used: 32,
        }
    }

    /// The next unused 4 random bytes.
    pub(crate) fn next_key(&mut self) -> [u8; 4] {
        if self.used + 4 > self.buf.len() {
            let source = &self.source;
            self.entropy
                .get_or_insert_with(|| source.generator())
                .fill(&mut self.buf);
            self.used = 0;
        }
        let mut key = [0u8; 4];
        key.copy_from_slice(self.buf.get(self.used..self.used + 4).unwrap_or(&[0; 4]));
        self.used += 4;
        key
    }

    /// The generator itself, for handshake nonces.
    pub(crate) fn entropy(&mut self) -> &mut dyn Entropy {
        let source = &self.source;
        self.entropy
            .get_or_insert_with(|| source.generator())
            .as_mut()
    }
}

impl fmt::Debug for MaskKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MaskKeys")
    }
}

/// SipHash keyed from the OS (through `RandomState`) over a counter.
struct OsSeeded {
    keys: RandomState,
    counter: u64,
}

impl OsSeeded {
    fn new() -> Self {
        OsSeeded {
            keys: RandomState::new(),
            counter: 0,
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.counter = self.counter.wrapping_add(1);
        let mut hasher = self.keys.build_hasher();
        hasher.write_u64(self.counter);
        hasher.finish()
    }
}

impl Entropy for OsSeeded {
    fn fill(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.iter_mut().zip(word).for_each(|(d, s)| *d = s);
        }
    }
}

/// SplitMix64: tiny, fast, deterministic. Not for production masks.
struct SplitMix64(u64);

impl Entropy for SplitMix64 {
    fn fill(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk
                .iter_mut()
                .zip(z.to_le_bytes())
                .for_each(|(d, s)| *d = s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_repeats_and_os_differs() {
        let mut a = [0u8; 20];
        let mut b = [0u8; 20];
        EntropySource::deterministic(7).generator().fill(&mut a);
        EntropySource::deterministic(7).generator().fill(&mut b);
        assert_eq!(a, b);

        let mut c = [0u8; 16];
        let mut d = [0u8; 16];
        let source = EntropySource::os();
        source.generator().fill(&mut c);
        source.generator().fill(&mut d);
        assert_ne!(c, d);
        assert_ne!(c, [0u8; 16]);
    }
}
