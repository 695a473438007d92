//! The table of open conversations: ids to conversation state, with the id kept beside the
//! state. The states lie in chunks of [`CHUNK`], densely (a removal moves the last one into the
//! hole), and the hash table holds only their 32-bit positions, each beside a 32-bit tag of its
//! id's hash: 8 bytes a slot, against 16 for a pointer and a tag and 33 for an id and a pointer.
//! Its spare capacity then costs little, and at hundreds of thousands of open conversations it
//! is a few megabytes, which the cache can mostly hold. A state costs exactly its size, with no
//! allocator header or rounding per conversation. The id is compared in the state, whose cache
//! lines the event reads anyway.

use crate::conversation::Conversation;
use crate::intern::{same_bytes, FxBuild, Key};
use std::hash::BuildHasher;

/// An open conversation instance and its id. The id comes first, so the cache line a lookup
/// reads to compare it also holds the start of the state.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Open {
    pub(crate) key: Key,
    pub(crate) conv: Conversation,
}

/// The most conversations [`OpenTable::warm`] loads at once. 32 rather than 16: typed
/// ingest at 300 k conversations ran about a tenth faster (15 of 18 alternating runs), on the
/// same instructions; JSON Lines ran the same.
pub(crate) const WARM_BATCH: usize = 32;

/// How many conversations must be open for [`OpenTable::warm`] to be worth it. With fewer, their
/// state stays in the processor's caches, and the extra lookups only cost time (9 % more
/// instructions in the JSON Lines path at 20 k conversations); with 250 k open, most of an
/// event's time was a wait on memory (README, Performance).
/// The library's own tests lower it, so that small streams take both paths.
const WARM_FROM: usize = if cfg!(test) { 4 } else { 1 << 16 };

/// States per chunk (a power of two): 1024 of them, under 200 KB. The library's own tests
/// lower it, so that small tables span several chunks.
const CHUNK_BITS: u32 = if cfg!(test) { 3 } else { 10 };
const CHUNK: usize = 1 << CHUNK_BITS;

/// Open conversations by id.
#[derive(Debug, Default)]
pub(crate) struct OpenTable {
    /// Positions in `chunks`, by the hash of the id at that position.
    positions: Positions,
    /// The states, densely: position `i` is `chunks[i / CHUNK][i % CHUNK]`. Every chunk has a
    /// capacity of `CHUNK`; all but the last in use are full, and at most one empty chunk is
    /// kept after it.
    chunks: Vec<Vec<Open>>,
    len: usize,
}

/// The hash the table files an id under; finalization timers name conversations by it.
#[inline]
pub(crate) fn hash(key: &[u8]) -> u64 {
    FxBuild::default().hash_one(key)
}

/// The 32 bits of a hash a slot keeps: its high half, where the multiply of the hash left the
/// most entropy.
#[inline]
fn tag(h: u64) -> u32 {
    (h >> 32) as u32
}

/// The chunk and the index in it of position `i`.
#[inline]
fn split(i: u32) -> (usize, usize) {
    ((i >> CHUNK_BITS) as usize, i as usize & (CHUNK - 1))
}

/// The state at position `i`.
#[inline]
fn at(chunks: &[Vec<Open>], i: u32) -> &Open {
    let (c, k) = split(i);
    &chunks[c][k]
}

/// Whether the state at position `i` is the one of id `key`.
#[inline(always)]
fn holds(chunks: &[Vec<Open>], i: u32, key: &[u8]) -> bool {
    same_bytes(at(chunks, i).key.as_bytes(), key)
}

#[inline]
fn at_mut(chunks: &mut [Vec<Open>], i: u32) -> &mut Open {
    let (c, k) = split(i);
    &mut chunks[c][k]
}

/// An open-addressing hash table of positions, probed linearly. A slot is 8 bytes: the tag of
/// its id's hash in the high half, the position plus one in the low half (0: empty). A lookup
/// reads one cache line of slots, where a table with separate control bytes reads two, one
/// after the other, before it can read the state; and only a slot whose tag matches sends it
/// to the state. The home slot of a tag is its top bits, so growing and deleting never read an
/// id again.
#[derive(Debug, Default)]
struct Positions {
    slots: Vec<u64>,
    /// 32 less the number of index bits: a tag's home slot is `tag >> shift`.
    shift: u32,
    /// Slots in use.
    used: usize,
}

impl Positions {
    const MIN_SLOTS: usize = 16;
    /// The most entries: 2^32 slots (a tag's 32 bits index at most that many), three quarters
    /// full.
    const MAX_ENTRIES: u32 = 3 << 30;

    /// The most entries the slots hold: three quarters of them, so that probes stay short.
    #[inline]
    fn capacity(&self) -> usize {
        self.slots.len() / 4 * 3
    }

    /// The number of slots (a power of two) whose [`capacity`](Self::capacity) holds `entries`.
    fn slots_for(entries: usize) -> usize {
        (entries * 4).div_ceil(3).max(Self::MIN_SLOTS).next_power_of_two()
    }

    /// A used slot's tag.
    #[inline]
    fn tag_of(slot: u64) -> u32 {
        (slot >> 32) as u32
    }

    /// A used slot's position.
    #[inline]
    fn position_of(slot: u64) -> u32 {
        slot as u32 - 1
    }

    #[inline]
    fn home(&self, tag: u32) -> usize {
        (tag >> self.shift) as usize
    }

    /// The index of the slot of tag `tag` whose position satisfies `hit`, or of the empty slot
    /// that ends its probe.
    #[inline(always)]
    fn probe(&self, tag: u32, mut hit: impl FnMut(u32) -> bool) -> Result<usize, usize> {
        if self.slots.is_empty() {
            return Err(0);
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(tag);
        loop {
            let s = self.slots[i];
            if s == 0 {
                return Err(i);
            }
            if Self::tag_of(s) == tag && hit(Self::position_of(s)) {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// The slot a probe for `tag` reads first (0 when there are no slots), for
    /// [`OpenTable::warm`].
    #[inline]
    fn home_slot(&self, tag: u32) -> u64 {
        self.slots.get(self.home(tag)).copied().unwrap_or(0)
    }

    #[inline(always)]
    fn find(&self, tag: u32, hit: impl FnMut(u32) -> bool) -> Option<u32> {
        let i = self.probe(tag, hit).ok()?;
        Some(Self::position_of(self.slots[i]))
    }

    fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Files `position` under `tag` at the empty slot `i` that ended its probe.
    fn fill(&mut self, i: usize, tag: u32, position: u32) {
        self.refile(i, tag, position);
        self.used += 1;
    }

    /// Makes the used slot `i`, filed under `tag`, point at `position`.
    fn refile(&mut self, i: usize, tag: u32, position: u32) {
        self.slots[i] = u64::from(tag) << 32 | u64::from(position + 1);
    }

    /// Makes room for `additional` more entries.
    fn reserve(&mut self, additional: usize) {
        let need = self.used + additional;
        if need > self.capacity() {
            self.rebuild(Self::slots_for(need));
        }
    }

    /// Moves every entry into `n` slots (a power of two), by its tag alone.
    fn rebuild(&mut self, n: usize) {
        let old = std::mem::replace(&mut self.slots, vec![0; n]);
        self.shift = 32 - n.trailing_zeros();
        let mask = n - 1;
        for s in old.into_iter().filter(|&s| s != 0) {
            let mut i = self.home(Self::tag_of(s));
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }

    /// Empties slot `i`, moving later entries of its probe run back so that no probe ends
    /// early (backward-shift deletion: no deletion markers).
    fn remove(&mut self, mut hole: usize) {
        let mask = self.slots.len() - 1;
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let s = self.slots[j];
            if s == 0 {
                break;
            }
            let home = self.home(Self::tag_of(s));
            // The entry at `j` may fill the hole if the hole lies on its probe from home.
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.slots[hole] = s;
                hole = j;
            }
        }
        self.slots[hole] = 0;
        self.used -= 1;
    }

    fn clear(&mut self) {
        *self = Positions::default();
    }
}

impl OpenTable {
    /// Bytes one slot of the table takes: a tag and a position.
    pub(crate) const SLOT_BYTES: usize = std::mem::size_of::<u64>();

    #[inline]
    fn find(&self, key: &[u8]) -> Option<u32> {
        self.position(key, hash(key))
    }

    /// The position of the open conversation of `key`, whose [`hash`] is `h`.
    #[inline]
    pub(crate) fn position(&self, key: &[u8], h: u64) -> Option<u32> {
        let chunks = &self.chunks;
        self.positions.find(tag(h), |i| holds(chunks, i, key))
    }

    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Conversation> {
        self.find(key).map(|i| &at(&self.chunks, i).conv)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut Conversation> {
        let i = self.find(key)?;
        Some(&mut at_mut(&mut self.chunks, i).conv)
    }

    /// Loads the state of the open conversations filed under `hashes` (at most
    /// [`WARM_BATCH`]) in four passes, each a batch of loads that do not wait on one another:
    /// the home slots of every hash, then every lookup (reading those slots again, now
    /// cached), then every state, then both ends of every state's list (whose address is in
    /// the state). Then the cache misses of a batch overlap instead of each event waiting for
    /// its own. Changes nothing. A lookup here takes the first state whose tag matches, without
    /// comparing ids (25 fewer instructions an event at 300 k conversations): a wrong one, when
    /// two ids in a probe run share a 32-bit tag, is only a wasted load.
    ///
    /// The first and last passes, loads that had been made inside the lookups and the states
    /// before, cost 7 instructions an event and made typed `ingest_many` at 300 k
    /// conversations about 5 % faster (30 of 36 alternating runs; README, Performance).
    pub(crate) fn warm(&self, hashes: impl Iterator<Item = u64>) {
        let mut batch = [0u64; WARM_BATCH];
        let mut n = 0;
        for (b, h) in batch.iter_mut().zip(hashes) {
            *b = h;
            n += 1;
        }
        let batch = &batch[..n];
        let homes = batch
            .iter()
            .fold(0u64, |s, &h| s.wrapping_add(self.positions.home_slot(tag(h))));
        std::hint::black_box(homes);
        let mut found: [Option<&Open>; WARM_BATCH] = [None; WARM_BATCH];
        for (slot, &h) in found.iter_mut().zip(batch) {
            *slot = self.positions.find(tag(h), |_| true).map(|i| at(&self.chunks, i));
        }
        warm_states(found.iter().flatten().copied());
    }

    /// Whether [`warm`](Self::warm) pays: enough conversations are open that their state has
    /// left the processor's caches.
    #[inline]
    pub(crate) fn worth_warming(&self) -> bool {
        self.len() >= WARM_FROM
    }

    pub(crate) fn contains(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Adds a conversation under `key`, whose [`hash`] is `h`; `false` (and no change) if the
    /// id is already open.
    pub(crate) fn insert(&mut self, key: Key, h: u64, conv: Conversation) -> bool {
        // 3·2^30 open conversations (2^32 slots at three quarters full) would take more than
        // half a terabyte of state first.
        let position = u32::try_from(self.len)
            .ok()
            .filter(|&p| p < Positions::MAX_ENTRIES)
            .expect("fewer than 3·2^30 open conversations");
        self.positions.reserve(1);
        let t = tag(h);
        let chunks = &self.chunks;
        let Err(empty) = self.positions.probe(t, |i| holds(chunks, i, key.as_bytes())) else {
            return false;
        };
        self.positions.fill(empty, t, position);
        let chunk = split(position).0;
        if chunk == self.chunks.len() {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks[chunk].push(Open { key, conv });
        self.len += 1;
        true
    }

    /// The position of an open conversation filed under hash `h` for which `matches` holds.
    pub(crate) fn position_by_hash(&self, h: u64, matches: impl Fn(&Conversation) -> bool) -> Option<u32> {
        let chunks = &self.chunks;
        self.positions.find(tag(h), |i| {
            let open = at(chunks, i);
            matches(&open.conv) && hash(open.key.as_bytes()) == h
        })
    }

    /// The conversation at a position from [`position_by_hash`](Self::position_by_hash).
    #[inline]
    pub(crate) fn at_mut(&mut self, i: u32) -> &mut Conversation {
        &mut at_mut(&mut self.chunks, i).conv
    }

    /// Takes the conversation of `key` out of the table; the last state moves into its place.
    #[cfg(test)]
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Open> {
        let i = self.find(key)?;
        Some(self.remove_at(hash(key), i))
    }

    /// Takes the conversation at position `i`, filed under hash `h`, out of the table; the last
    /// state moves into its place.
    pub(crate) fn remove_at(&mut self, h: u64, i: u32) -> Open {
        if let Ok(slot) = self.positions.probe(tag(h), |j| j == i) {
            self.positions.remove(slot);
        }
        self.len -= 1;
        let last = self.len as u32;
        if i != last {
            let moved = tag(hash(at(&self.chunks, last).key.as_bytes()));
            if let Ok(slot) = self.positions.probe(moved, |j| j == last) {
                self.positions.refile(slot, moved, i);
            }
        }
        let tail = self.chunks[split(last).0]
            .pop()
            .expect("the last position is in use");
        let open = if i == last {
            tail
        } else {
            std::mem::replace(at_mut(&mut self.chunks, i), tail)
        };
        // R40: an emptied chunk goes back, but one, so a table at a chunk's edge does not
        // allocate and free a chunk at every conversation.
        while self.chunks.len() > self.len.div_ceil(CHUNK) + 1 {
            self.chunks.pop();
        }
        open
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes held besides the open conversations' own: spare table slots, and spare chunk room.
    pub(crate) fn spare_bytes(&self) -> usize {
        (self.positions.slot_count() - self.len) * OpenTable::SLOT_BYTES
            + (self.chunks.len() * CHUNK - self.len) * std::mem::size_of::<Open>()
    }

    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.positions.capacity()
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.positions.reserve(additional);
    }

    /// Gives memory back after a spike (R40), under the policy of [`shrunk_capacity`].
    pub(crate) fn right_size(&mut self) {
        if let Some(cap) = shrunk_capacity(self.positions.capacity(), self.len) {
            let n = Positions::slots_for(cap);
            if n < self.positions.slot_count() {
                self.positions.rebuild(n);
            }
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Open> {
        self.chunks.iter().flatten()
    }

    /// Empties the table, handing every open conversation to `each` in the order of `rank`,
    /// ties by id. The sort moves positions, each beside its rank, and the states stay where
    /// they lie: copying them out first (a quarter of a kilobyte each) took a tenth of a whole
    /// `sla_report` run at 250 k open, most of it the kernel clearing the pages of the copy.
    /// In that order the states are scattered: each batch of them is loaded together first
    /// (`finish` at 250 k open took 129–143 ms instead of 142–167, five alternating runs).
    pub(crate) fn drain_ranked<R: Ord + Copy>(
        &mut self,
        rank: impl Fn(&Conversation) -> R,
        mut each: impl FnMut(Key, &mut Conversation),
    ) {
        let mut chunks = std::mem::take(&mut self.chunks);
        self.positions.clear();
        let len = std::mem::take(&mut self.len) as u32;
        let mut order: Vec<(R, u32)> = (0..len).map(|i| (rank(&at(&chunks, i).conv), i)).collect();
        order.sort_unstable_by(|a, b| {
            (a.0.cmp(&b.0)).then_with(|| at(&chunks, a.1).key.cmp(&at(&chunks, b.1).key))
        });
        for batch in order.chunks(WARM_BATCH) {
            warm_states(batch.iter().map(|&(_, i)| at(&chunks, i)));
            for &(_, i) in batch {
                let Open { key, conv } = at_mut(&mut chunks, i);
                each(std::mem::replace(key, Key::new("")), conv);
            }
        }
    }
}

/// Loads `states` in two passes, every state and then both ends of every state's list (whose
/// address is in the state), so that their cache misses overlap. `states` is walked twice, so
/// it should be cheap: a few lookups in cached data.
fn warm_states<'a>(states: impl Iterator<Item = &'a Open> + Clone) {
    // The id too: an event compares it first, and `finish` hands it out.
    let sum = states.clone().fold(0, |s: u64, o| {
        let id = o.key.as_bytes().first().copied().unwrap_or(0);
        s.wrapping_add(o.conv.warm()).wrapping_add(u64::from(id))
    });
    std::hint::black_box(sum);
    let sum = states.fold(0, |s: u64, o| s.wrapping_add(o.conv.warm_list()));
    std::hint::black_box(sum);
}

/// The capacity to shrink a hash table to once it holds less than 40 % of its capacity (R40):
/// after a spike, and after the table doubled only to clear deletion markers, which a table
/// under steady churn does now and then. Rebuilds at 125 % of the entries, so a rebuild is
/// followed by many insertions before the next: amortized O(1) per entry.
pub(crate) fn shrunk_capacity(capacity: usize, len: usize) -> Option<usize> {
    (capacity > (len.max(1024) * 5) / 2).then_some(len * 5 / 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;

    fn conv(t: i64) -> Conversation {
        Conversation::new(Timestamp::from_unix(t), 1)
    }

    /// Backward-shift deletion keeps every entry reachable: tags crowd onto a few home slots
    /// (one of them the last, so probe runs wrap around), and entries come and go at random.
    #[test]
    fn r40_slots_find_every_entry_through_crowded_and_wrapping_probes() {
        let mut slots = Positions::default();
        let mut live: Vec<(u32, u32)> = Vec::new(); // (tag, position)
        let mut x = 7u64;
        for step in 0..20_000u32 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let r = (x >> 32) as u32;
            if live.len() < 300 && (live.is_empty() || r % 5 < 3) {
                let tag = [0, 0x4000_0000, 0xffff_0000][r as usize % 3] | (r >> 16);
                slots.reserve(1);
                let empty = slots.probe(tag, |_| false).expect_err("no entry matches");
                slots.fill(empty, tag, step);
                live.push((tag, step));
            } else {
                let (tag, position) = live.swap_remove(r as usize % live.len());
                let i = slots.probe(tag, |p| p == position).expect("filed");
                slots.remove(i);
                assert_eq!(slots.find(tag, |p| p == position), None);
            }
            assert_eq!(slots.used, live.len());
            if step % 61 == 0 {
                for &(tag, position) in &live {
                    assert_eq!(slots.find(tag, |p| p == position), Some(position));
                }
            }
        }
    }

    #[test]
    fn r40_keys_find_their_own_conversation_and_leave_no_trace() {
        let mut table = OpenTable::default();
        let ids: Vec<String> = (0..5000)
            .map(|i| format!("conversation-{i}-{}", "x".repeat(i % 30)))
            .collect();
        for (i, id) in ids.iter().enumerate() {
            assert!(table.insert(Key::new(id), hash(id.as_bytes()), conv(i as i64)));
        }
        assert!(
            !table.insert(Key::new(&ids[7]), hash(ids[7].as_bytes()), conv(-1)),
            "an open id is not added twice"
        );
        assert_eq!(table.len(), ids.len());
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(
                table.get(id.as_bytes()).map(|c| c.created_at().as_unix()),
                Some(i as i64)
            );
        }
        for id in ids.iter().step_by(2) {
            let open = table.remove(id.as_bytes()).expect("open");
            assert_eq!(open.key.as_bytes(), id.as_bytes());
            assert!(!table.contains(id.as_bytes()));
        }
        // The states that moved into the holes are still found (and with their own state).
        for (i, id) in ids.iter().enumerate().skip(1).step_by(2) {
            assert_eq!(
                table.get(id.as_bytes()).map(|c| c.created_at().as_unix()),
                Some(i as i64)
            );
        }
        table.right_size();
        assert_eq!(table.len(), ids.len() / 2);
        assert!(table.capacity() < 2 * ids.len());
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(table.contains(id.as_bytes()), i % 2 == 1, "{id}");
        }
        let mut drained = Vec::new();
        table.drain_ranked(|c| c.created_at(), |key, _| drained.push(key.to_text()));
        let expected: Vec<String> = ids.iter().skip(1).step_by(2).cloned().collect();
        assert_eq!(drained, expected, "every one left, in creation order");
        assert_eq!(table.len(), 0);
        assert!(!table.contains(ids[1].as_bytes()));
    }

    /// R38: draining hands out states of one rank in the order of their ids' bytes, whatever
    /// the order they came in, with their own state.
    #[test]
    fn drain_ranked_breaks_ties_by_id() {
        let mut table = OpenTable::default();
        let ids = [
            "d",
            "conversation-2",
            "b",
            "a2",
            "c",
            "conversation-10",
            "a10",
            "a",
        ];
        for (k, id) in ids.iter().enumerate() {
            let created = if *id == "c" { 5 } else { 9 };
            let mut state = conv(created);
            state.replies = k as u32;
            table.insert(Key::new(id), hash(id.as_bytes()), state);
        }
        let mut drained = Vec::new();
        table.drain_ranked(
            |c| c.created_at(),
            |key, c| drained.push((key.to_text(), c.replies)),
        );
        let expected = [
            ("c", 4),
            ("a", 7),
            ("a10", 6),
            ("a2", 3),
            ("b", 2),
            ("conversation-10", 5),
            ("conversation-2", 1),
            ("d", 0),
        ];
        assert_eq!(drained, expected.map(|(id, r)| (id.to_string(), r)));
    }
}
