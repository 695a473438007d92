//! The table of open conversations: ids to boxed conversation state, with the id kept inside
//! the box. The table itself holds one pointer per slot (9 bytes with its control byte, against
//! 33 for an id and a pointer), so its spare capacity costs little and at hundreds of thousands
//! of open conversations it is a few megabytes, which the cache can mostly hold. The id is
//! compared in the box, whose cache lines the event reads anyway.

use crate::conversation::Conversation;
use crate::intern::{FxBuild, Key};
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// An open conversation instance and its id. The id comes first, so the cache line a lookup
/// reads to compare it also holds the start of the state.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Open {
    pub(crate) key: Key,
    pub(crate) conv: Conversation,
}

/// The most conversations [`OpenTable::warm`] loads at once.
pub(crate) const WARM_BATCH: usize = 16;

/// How many conversations must be open for [`OpenTable::warm`] to be worth it. With fewer, their
/// state stays in the processor's caches, and the extra lookups only cost time (9 % more
/// instructions in the JSON Lines path at 20 k conversations); with 250 k open, most of an
/// event's time was a wait on memory (README, Performance).
/// The library's own tests lower it, so that small streams take both paths.
const WARM_FROM: usize = if cfg!(test) { 4 } else { 1 << 16 };

/// Open conversations by id.
#[derive(Debug, Default)]
pub(crate) struct OpenTable {
    table: HashTable<Box<Open>>,
}

#[inline]
fn hash(key: &[u8]) -> u64 {
    FxBuild::default().hash_one(key)
}

#[allow(clippy::borrowed_box)]
fn rehash(open: &Box<Open>) -> u64 {
    hash(open.key.as_bytes())
}

impl OpenTable {
    /// Bytes one slot of the table takes: a pointer and a control byte.
    pub(crate) const SLOT_BYTES: usize = std::mem::size_of::<Box<Open>>() + 1;

    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Conversation> {
        self.table
            .find(hash(key), |o| o.key.as_bytes() == key)
            .map(|o| &o.conv)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut Conversation> {
        self.table
            .find_mut(hash(key), |o| o.key.as_bytes() == key)
            .map(|o| &mut o.conv)
    }

    /// Loads the state of the open conversations among `keys` (at most [`WARM_BATCH`]): first
    /// every lookup, then every state, so that the cache misses of a batch overlap instead of
    /// each event waiting for its own. Changes nothing.
    pub(crate) fn warm<'k>(&self, keys: impl Iterator<Item = &'k [u8]>) {
        let mut found: [Option<&Conversation>; WARM_BATCH] = [None; WARM_BATCH];
        for (slot, key) in found.iter_mut().zip(keys) {
            *slot = self.get(key);
        }
        let sum = found
            .iter()
            .flatten()
            .fold(0, |s: u64, c| s.wrapping_add(c.warm()));
        std::hint::black_box(sum);
    }

    /// Whether [`warm`](Self::warm) pays: enough conversations are open that their state has
    /// left the processor's caches.
    #[inline]
    pub(crate) fn worth_warming(&self) -> bool {
        self.len() >= WARM_FROM
    }

    pub(crate) fn contains(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Adds a conversation under `key`; `false` (and no change) if the id is already open.
    pub(crate) fn insert(&mut self, key: Key, conv: Conversation) -> bool {
        let h = hash(key.as_bytes());
        match self.table.entry(h, |o| o.key == key, rehash) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(Box::new(Open { key, conv }));
                true
            }
        }
    }

    /// Takes the conversation of `key` out of the table.
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Box<Open>> {
        match self.table.find_entry(hash(key), |o| o.key.as_bytes() == key) {
            Ok(entry) => Some(entry.remove().0),
            Err(_) => None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.table.capacity()
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.table.reserve(additional, rehash);
    }

    /// Gives memory back after a spike (R40), under the policy of [`shrunk_capacity`].
    pub(crate) fn right_size(&mut self) {
        if let Some(cap) = shrunk_capacity(self.table.capacity(), self.table.len()) {
            self.table.shrink_to(cap, rehash);
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Open> {
        self.table.iter().map(|o| &**o)
    }

    /// Empties the table, handing out every open conversation (in no particular order).
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Box<Open>> + '_ {
        self.table.drain()
    }
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

    #[test]
    fn r40_keys_find_their_own_conversation_and_leave_no_trace() {
        let mut table = OpenTable::default();
        let ids: Vec<String> = (0..5000)
            .map(|i| format!("conversation-{i}-{}", "x".repeat(i % 30)))
            .collect();
        for (i, id) in ids.iter().enumerate() {
            assert!(table.insert(Key::new(id), conv(i as i64)));
        }
        assert!(
            !table.insert(Key::new(&ids[7]), conv(-1)),
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
        table.right_size();
        assert_eq!(table.len(), ids.len() / 2);
        assert!(table.capacity() < 2 * ids.len());
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(table.contains(id.as_bytes()), i % 2 == 1, "{id}");
        }
        assert_eq!(table.drain().count(), ids.len() / 2);
        assert_eq!(table.len(), 0);
    }
}
