//! Deterministic hashing and a tiny PRNG.
//!
//! Every record is a pure function of `(seed, source, slot)`, so the generator never keeps state
//! between records: any record can be regenerated on its own, in any order, at any time. A
//! SplitMix64 finaliser is enough for that (statistical quality only has to look varied), and it
//! is an order of magnitude cheaper than a cryptographic hash, which matters when a benchmark asks
//! for millions of records.

/// SplitMix64 finaliser: a bijective scramble of one 64-bit word.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hash of two words; order matters.
pub(crate) fn hash2(a: u64, b: u64) -> u64 {
    mix64(mix64(a).wrapping_add(b.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
}

/// Hash of three words; order matters.
pub(crate) fn hash3(a: u64, b: u64, c: u64) -> u64 {
    hash2(hash2(a, b), c)
}

/// A SplitMix64 stream seeded from a hash: cheap, deterministic, good enough for picking names.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// Uniform-ish integer in `0..n` (`n == 0` yields 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift keeps the bias negligible without a division.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// `true` with probability `percent / 100`.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice; `None` only for an empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.index(items.len()))
    }

    /// A random (version 4 shaped) UUID, lower-case and hyphenated.
    pub(crate) fn uuid(&mut self) -> String {
        let hi = self.next_u64().to_be_bytes();
        let lo = self.next_u64().to_be_bytes();
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&hi);
        bytes[8..].copy_from_slice(&lo);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }

    /// Upper-case hexadecimal string of `len` digits (PUIDs, correlation fragments).
    pub(crate) fn hex_upper(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            let word = self.next_u64();
            for shift in (0..16).rev() {
                if out.len() == len {
                    break;
                }
                let nibble = ((word >> (shift * 4)) & 0xf) as u32;
                out.push(char::from_digit(nibble, 16).map_or('0', |c| c.to_ascii_uppercase()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible() {
        let mut a = Rng::new(hash2(1, 2));
        let mut b = Rng::new(hash2(1, 2));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(hash2(1, 2), hash2(2, 1));
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::new(7);
        for n in 1..50 {
            assert!(r.below(n) < n);
        }
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn uuids_look_like_uuids() {
        let mut r = Rng::new(3);
        let u = r.uuid();
        assert_eq!(u.len(), 36);
        assert!(uuid::Uuid::parse_str(&u).is_ok());
        assert_eq!(r.hex_upper(16).len(), 16);
    }
}
