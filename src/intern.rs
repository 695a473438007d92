//! A fast string hasher for conversation ids and a capped string interner for attribute values.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The id of an absent value.
pub(crate) const NONE: u32 = u32::MAX;
/// The id every value past the interner's cap maps to.
pub(crate) const OTHER: u32 = u32::MAX - 1;

/// An interned attribute value in 16 bits, as a conversation keeps its channel, brand, team and
/// agent: ids as they are (every interner stays below [`ATTRIBUTE_CAP`]), [`OTHER`] and
/// [`NONE`] as the top two values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SmallId(u16);

impl SmallId {
    pub(crate) const NONE: SmallId = SmallId(u16::MAX);
    const OTHER: SmallId = SmallId(u16::MAX - 1);

    #[inline]
    pub(crate) fn new(id: u32) -> SmallId {
        match id {
            NONE => SmallId::NONE,
            // No interner reaches OTHER's 16-bit value (ATTRIBUTE_CAP), so only OTHER gets it.
            _ => u16::try_from(id).map_or(SmallId::OTHER, |x| SmallId(x.min(u16::MAX - 1))),
        }
    }

    #[inline]
    pub(crate) fn get(self) -> u32 {
        match self {
            SmallId::NONE => NONE,
            SmallId::OTHER => OTHER,
            SmallId(x) => u32::from(x),
        }
    }
}

/// FxHash (as in rustc): a few cycles per 8 bytes. Conversation ids come from the embedding
/// product, not from an adversary on the open internet; callers who fear hash flooding can
/// pre-hash ids.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.add(tail_word(rest));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves the entropy in the high bits; hash tables index by the low ones.
        self.hash ^ (self.hash >> 32)
    }
}

/// The last 1–7 bytes of a key as a little-endian word, zero-padded: the same value as copying
/// them into a zeroed `[u8; 8]`, without the copy. (Through memory, the copy cost a call and a
/// stalled load on every lookup: about a fifth of the lookup.) Two overlapping loads cover any
/// length; the bytes they share are the same, so OR-ing them is exact.
#[inline]
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    debug_assert!((1..8).contains(&n));
    if n >= 4 {
        let lo = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as u64;
        let hi = u32::from_le_bytes([rest[n - 4], rest[n - 3], rest[n - 2], rest[n - 1]]) as u64;
        lo | hi << (8 * (n - 4))
    } else {
        rest[0] as u64 | (rest[n / 2] as u64) << (8 * (n / 2)) | (rest[n - 1] as u64) << (8 * (n - 1))
    }
}

/// Whether two ids (or attribute values) are the same bytes. Those of 4 to 16 bytes, most of
/// them, are compared as two overlapping words each, in line, where a slice comparison calls
/// the C library's `memcmp`: 16 fewer instructions an event at 300 k conversations with ids
/// of 7 bytes.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| s.get(at..at + 8).and_then(|w| <[u8; 8]>::try_from(w).ok());
    let half = |s: &[u8], at: usize| s.get(at..at + 4).and_then(|w| <[u8; 4]>::try_from(w).ok());
    match n {
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;
pub(crate) type FxHashMap<K, V> = HashMap<K, V, FxBuild>;

/// A 64-bit hash of an event `id` for duplicate detection (R4). Two different ids of one live
/// conversation collide with probability about 2⁻⁶⁴ per pair.
#[inline]
pub(crate) fn id_hash(id: &str) -> u64 {
    // Two FxHash passes with different seeds mixed, then a final avalanche (splitmix64).
    let mut h = FxHasher {
        hash: id.len() as u64,
    };
    h.write(id.as_bytes());
    let mut z = h.finish() ^ 0x9e37_79b9_7f4a_7c15;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Interns attribute values (channel, brand) to small ids. At most `cap` distinct values get
/// their own id; later new values share [`OTHER`], so memory stays bounded whatever the input.
/// Values named by the config are pinned first and always keep their own id.
#[derive(Debug, Clone)]
pub(crate) struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
    cap: usize,
}

impl Interner {
    /// Up to this many values a lookup scans them rather than hashing.
    const SCANNED: usize = 8;

    pub(crate) fn new(cap: usize) -> Interner {
        Interner {
            ids: FxHashMap::default(),
            names: Vec::new(),
            cap,
        }
    }

    /// The id of a config value: never [`OTHER`].
    pub(crate) fn intern_pinned(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    /// The interned values, in id order.
    pub(crate) fn names(&self) -> &[Box<str>] {
        &self.names
    }

    /// Restores values after the ones interned already (checkpoint): ids come out as they
    /// were, provided `names` starts with this interner's own values.
    pub(crate) fn restore(&mut self, names: Vec<String>) -> crate::Result<()> {
        let ours = self.names.len();
        let same_prefix =
            names.len() >= ours && names.iter().zip(&self.names).all(|(a, b)| a.as_str() == &**b);
        if names.len() > self.cap.max(ours) || !same_prefix {
            return Err(crate::Error::encoding(
                "interned values do not match the configuration",
            ));
        }
        for n in &names[ours..] {
            if self.ids.contains_key(n.as_str()) {
                return Err(crate::Error::encoding(format!("value `{n}` interned twice")));
            }
            self.intern_pinned(n);
        }
        Ok(())
    }

    /// The id of a value, or [`OTHER`] once the cap is reached. While there are at most
    /// [`Interner::SCANNED`] values (channels, brands: most products have a handful) they are
    /// compared in turn, length first: a tenth of the instructions of hashing and probing.
    #[inline]
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if self.names.len() <= Interner::SCANNED {
            let found = self
                .names
                .iter()
                .position(|n| same_bytes(n.as_bytes(), s.as_bytes()));
            if let Some(i) = found {
                return i as u32;
            }
        } else if let Some(&id) = self.ids.get(s) {
            return id;
        }
        if self.names.len() >= self.cap {
            return OTHER;
        }
        self.intern_pinned(s)
    }
}

/// Distinct values per attribute before new ones share the id [`OTHER`]: ids stay below the
/// two values [`SmallId`] keeps for `OTHER` and `NONE`.
pub(crate) const ATTRIBUTE_CAP: usize = u16::MAX as usize - 1;

/// The engine's interned attribute values. Teams and agents are interned only when a report
/// breaks down by them (R35); otherwise conversations keep [`NONE`] and cost nothing.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    pub(crate) channels: Interner,
    pub(crate) brands: Interner,
    pub(crate) teams: Interner,
    pub(crate) agents: Interner,
}

impl Names {
    pub(crate) fn new() -> Names {
        Names {
            channels: Interner::new(ATTRIBUTE_CAP),
            brands: Interner::new(ATTRIBUTE_CAP),
            teams: Interner::new(ATTRIBUTE_CAP),
            agents: Interner::new(ATTRIBUTE_CAP),
        }
    }

    /// Every interner, in a fixed order (checkpoints).
    pub(crate) fn all(&self) -> [&Interner; 4] {
        [&self.channels, &self.brands, &self.teams, &self.agents]
    }

    pub(crate) fn all_mut(&mut self) -> [&mut Interner; 4] {
        [
            &mut self.channels,
            &mut self.brands,
            &mut self.teams,
            &mut self.agents,
        ]
    }
}

/// A conversation id as the engine stores it: up to 22 bytes inline (no allocation, no pointer
/// to chase on lookup), longer ids on the heap. Looked up by `&[u8]`.
#[derive(Clone, Eq)]
pub(crate) enum Key {
    Inline(u8, [u8; 22]),
    Heap(Box<[u8]>),
}

impl Key {
    pub(crate) fn new(s: &str) -> Key {
        let b = s.as_bytes();
        if b.len() <= 22 {
            let mut buf = [0u8; 22];
            buf[..b.len()].copy_from_slice(b);
            Key::Inline(b.len() as u8, buf)
        } else {
            Key::Heap(b.into())
        }
    }

    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline(n, b) => &b[..*n as usize],
            Key::Heap(b) => b,
        }
    }

    /// The id as text (it was built from a `&str`).
    pub(crate) fn to_text(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }

    /// Heap bytes beyond the key itself.
    pub(crate) fn heap_len(&self) -> usize {
        match self {
            Key::Inline(..) => 0,
            Key::Heap(b) => b.len(),
        }
    }
}

impl Default for Key {
    fn default() -> Key {
        Key::Inline(0, [0; 22])
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Key) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl std::hash::Hash for Key {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_bytes().hash(h)
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::borrow::Borrow<[u8]> for Key {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R2: ids are one conversation exactly when their bytes are equal: the word-wise
    /// comparison agrees with the plain one at every length, with a difference at any byte,
    /// and between lengths.
    #[test]
    fn r2_same_bytes_agrees_with_a_plain_comparison() {
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..=base.len() {
            let a = &base[..n];
            assert!(same_bytes(a, a), "length {n}");
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same_bytes(a, &b), "length {n}, byte {at}");
            }
            for m in 0..=base.len() {
                assert_eq!(same_bytes(a, &base[..m]), n == m, "lengths {n} and {m}");
            }
        }
    }

    /// R35, §6: every id an interner hands out, and `OTHER` and `NONE`, survive 16 bits.
    #[test]
    fn small_ids_keep_every_interned_id() {
        let last = ATTRIBUTE_CAP as u32 - 1;
        for id in [0, 1, 4242, last, OTHER, NONE] {
            assert_eq!(SmallId::new(id).get(), id);
        }
        let mut values = Interner::new(ATTRIBUTE_CAP);
        for i in 0..ATTRIBUTE_CAP {
            assert_eq!(values.intern(&format!("v{i}")), i as u32);
        }
        assert_eq!(values.intern("one too many"), OTHER);
    }

    /// R35: a value keeps its id whether the interner scans its few values or, past
    /// `Interner::SCANNED` of them, hashes; values of one length and prefixes are told apart.
    #[test]
    fn r35_interned_ids_are_the_same_scanned_or_hashed() {
        let mut values = Interner::new(12);
        assert_eq!(values.intern_pinned("chat"), 0);
        let names = [
            "chat",
            "chatx",
            "email",
            "x",
            "",
            "whatsapp",
            "twitter",
            "tw",
            "instagram",
            "a",
            "b",
            "c",
        ];
        let mut ids = Vec::new();
        for round in 0..3 {
            for (k, n) in names.iter().enumerate() {
                let id = values.intern(n);
                if round == 0 {
                    ids.push(id);
                } else {
                    assert_eq!(id, ids[k], "`{n}` in round {round}");
                }
            }
        }
        assert_eq!(ids, (0..12).collect::<Vec<u32>>());
        assert_eq!(values.intern("one too many"), OTHER);
        assert_eq!(values.intern("chatx"), 1);
    }

    #[test]
    fn tail_word_equals_the_zero_padded_copy() {
        let bytes: Vec<u8> = (1..=7u8).map(|b| b.wrapping_mul(37) ^ 0xa5).collect();
        for n in 1..8 {
            let mut buf = [0u8; 8];
            buf[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(tail_word(&bytes[..n]), u64::from_le_bytes(buf), "length {n}");
        }
    }
}
