//! One conversation instance: the rules R5–R19 and the SLA instance state machine (R20–R26) as
//! methods named after what happens. Pure: it takes an event and the compiled rules and updates
//! its own state; it never touches histograms, other conversations or the wall clock.

use crate::clock::Clock;
use crate::config::SlaMetric;
use crate::event::{Author, EventKind, ExcludeReason, Priority, Status, Visibility};
use crate::intern::{Names, SmallId, NONE};
use crate::sla::{Instance, Instances, Rules, State, NO_POLICY};
use crate::time::Packed;
use crate::Timestamp;

/// One reply sample (R9): the wait it ends and who ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    end: Timestamp,
    wait: i64,
    agent: u32,
}

/// The top two bits of a [`Trail`] sample word: `11` a short sample, `10` either word of a
/// long sample. (An id's first bit is `0`.)
const SAMPLE_TAG: u64 = 1 << 63;
const SHORT_TAG: u64 = 1 << 62;
const TAG_MASK: u64 = SAMPLE_TAG | SHORT_TAG;
/// A short sample, in one word: the reply's offset from the conversation's creation and the
/// wait, 31 bits each (68 years), for a reply by no agent interned (no breakdown by agent).
const SHORT_BITS: u32 = 31;
const SHORT_MAX: i64 = (1 << SHORT_BITS) - 1;
/// A long sample, in two words: the reply instant, shifted by [`END_BIAS`] (R1's years lie
/// within ±2^61 seconds), then the wait (45 bits) and the agent (17 bits: interned ids stay
/// below 65 534, and `NONE` and `OTHER` take the top two values).
const END_BIAS: i64 = 1 << 61;
const AGENT_BITS: u32 = 17;
const AGENT_MASK: u64 = (1 << AGENT_BITS) - 1;
// Every interned agent fits below the two values `NONE` and `OTHER` take.
const _: () = assert!(crate::intern::ATTRIBUTE_CAP < (1 << AGENT_BITS) - 2);
/// Longest wait a sample holds: more than any two instants R1 accepts lie apart.
const MAX_WAIT_S: i64 = (1 << (62 - AGENT_BITS)) - 1;

impl Sample {
    /// `None` if `start` is after `end` or the span does not fit (a corrupt checkpoint only).
    pub(crate) fn new(start: Timestamp, end: Timestamp, agent: u32) -> Option<Sample> {
        let wait = end.secs_since(start);
        let fits = (0..=MAX_WAIT_S).contains(&wait) && (-END_BIAS..END_BIAS).contains(&end.as_unix());
        fits.then_some(Sample { end, wait, agent })
    }

    /// When the wait started.
    #[inline]
    pub(crate) fn start(self) -> Timestamp {
        self.end.add_secs(-self.wait)
    }

    /// The reply that ended it.
    #[inline]
    pub(crate) fn end(self) -> Timestamp {
        self.end
    }

    /// The replying agent, interned when a report breaks down by agent (R35); else `NONE`.
    #[inline]
    pub(crate) fn agent(self) -> u32 {
        self.agent
    }

    /// The sample as one word, or two: short when the agent is `NONE` and both spans fit.
    fn encode(self, created_at: Timestamp) -> ([u64; 2], usize) {
        let offset = self.end.secs_since(created_at);
        if self.agent == NONE && (0..=SHORT_MAX).contains(&offset) && self.wait <= SHORT_MAX {
            let word = SAMPLE_TAG | SHORT_TAG | (offset as u64) << SHORT_BITS | self.wait as u64;
            return ([word, 0], 1);
        }
        // NONE and OTHER (u32::MAX, u32::MAX - 1) keep their low 17 bits, which no interned
        // agent reaches.
        let agent = u64::from(self.agent) & AGENT_MASK;
        let words = [
            SAMPLE_TAG | (self.end.as_unix() + END_BIAS) as u64,
            SAMPLE_TAG | (self.wait as u64) << AGENT_BITS | agent,
        ];
        (words, 2)
    }

    /// The sample at the start of `words` (which starts with a sample word) and how many words
    /// it took.
    fn decode(words: &[u8], created_at: Timestamp) -> (Sample, usize) {
        let w = word_at(words, 0).unwrap_or(0);
        if w & TAG_MASK == TAG_MASK {
            let offset = ((w >> SHORT_BITS) as i64) & SHORT_MAX;
            let sample = Sample {
                end: created_at.add_secs(offset),
                wait: (w as i64) & SHORT_MAX,
                agent: NONE,
            };
            return (sample, 1);
        }
        let second = word_at(words, 1).unwrap_or(SAMPLE_TAG) & !TAG_MASK;
        let agent = (second & AGENT_MASK) as u32;
        let agent = if agent >= (NONE & AGENT_MASK as u32) - 1 {
            agent | !(AGENT_MASK as u32)
        } else {
            agent
        };
        let sample = Sample {
            end: Timestamp::from_unix((w & !TAG_MASK) as i64 - END_BIAS),
            wait: (second >> AGENT_BITS) as i64,
            agent,
        };
        (sample, 2)
    }
}

/// Word `k` of a run of sample words (8 bytes each, big-endian, so a word's tag is in its
/// first byte).
#[inline]
fn word_at(words: &[u8], k: usize) -> Option<u64> {
    let bytes = words.get(8 * k..8 * k + 8)?;
    let mut b = [0; 8];
    b.copy_from_slice(bytes);
    Some(u64::from_be_bytes(b))
}

/// The reply samples of a [`Trail`], in order.
#[derive(Debug, Clone)]
pub(crate) struct Samples<'a> {
    words: &'a [u8],
    created_at: Timestamp,
}

impl Iterator for Samples<'_> {
    type Item = Sample;

    #[inline]
    fn next(&mut self) -> Option<Sample> {
        if self.words.is_empty() {
            return None;
        }
        let (sample, n) = Sample::decode(self.words, self.created_at);
        self.words = &self.words[(8 * n).min(self.words.len())..];
        Some(sample)
    }
}

/// A conversation's reply samples (R9) and the hashes of its event ids (R4) in one heap list,
/// so an event touches one allocation, not two: the samples first, one or two 8-byte words
/// each ([`Sample::encode`]), then the ids, 6 bytes each ([`Trail::ID_BYTES`]). Sample words
/// start with [`SAMPLE_TAG`]'s bit and ids do not, so the list needs no count of its samples;
/// it is a boxed slice with the count of used bytes beside it (24 bytes inline rather than a
/// vector's 24 plus two counts). A reply moves the ids up; a conversation has few of either.
/// Lists come in the sizes of [`LIST_SIZES`] and move through [`Spares`] when they grow or
/// their conversation ends, so most never go back to the allocator.
#[derive(Debug, Default)]
pub(crate) struct Trail {
    bytes: Box<[u8]>,
    /// Bytes in use.
    used: u32,
    /// One bit per remembered id hash (a 32-bit Bloom filter): a new id, most events' case,
    /// is known new without reading the list, whose cache miss was the last one an event
    /// waited on at hundreds of thousands of open conversations.
    id_filter: u32,
}

/// The bits of an id hash a [`Trail`] keeps: 16 to 62. Two ids of one conversation instance
/// whose hashes agree in all 47 are taken for one (R4): with the avalanched hash of
/// `intern::id_hash`, about once in 3·10^12 conversations of ten events.
const ID_MASK: u64 = ((1 << 47) - 1) << 16;

impl Trail {
    /// Bytes an id takes in the list.
    pub(crate) const ID_BYTES: usize = 6;

    #[inline]
    fn list(&self) -> &[u8] {
        &self.bytes[..self.used as usize]
    }

    /// How many bytes the samples take: the leading tagged words.
    #[inline]
    fn sample_bytes(&self) -> usize {
        let list = self.list();
        let mut at = 0;
        while list.get(at).is_some_and(|&b| b & 0x80 != 0) {
            at += 8;
        }
        at.min(list.len())
    }

    /// The reply samples in order, of a conversation created at `created_at`: the first is the
    /// FRT, the rest NRTs (R9).
    #[inline]
    pub(crate) fn samples(&self, created_at: Timestamp) -> Samples<'_> {
        Samples {
            words: &self.list()[..self.sample_bytes()],
            created_at,
        }
    }

    #[inline]
    fn has_samples(&self) -> bool {
        self.list().first().is_some_and(|&b| b & 0x80 != 0)
    }

    /// Makes room for `extra` more bytes.
    #[inline]
    fn make_room(&mut self, extra: usize, spares: &mut Spares) {
        if self.bytes.len() - (self.used as usize) < extra {
            self.grow(extra, spares);
        }
    }

    /// Moves the list to a larger one, the next of [`LIST_SIZES`] with room for `extra` more
    /// bytes. The larger list comes from `spares` when one of its size is there, and the old
    /// one goes back to it.
    #[inline(never)]
    fn grow(&mut self, extra: usize, spares: &mut Spares) {
        let used = self.used as usize;
        let bytes = spares.take(used + extra);
        let old = std::mem::replace(&mut self.bytes, bytes);
        self.bytes[..used].copy_from_slice(&old[..used]);
        spares.put(old);
    }

    /// Hands the list to `spares`, leaving this trail empty.
    pub(crate) fn release(&mut self, spares: &mut Spares) {
        spares.put(std::mem::take(self).bytes);
    }

    fn push_sample(&mut self, s: Sample, created_at: Timestamp, spares: &mut Spares) {
        let (words, n) = s.encode(created_at);
        let len = 8 * n;
        self.make_room(len, spares);
        let at = self.sample_bytes();
        let used = self.used as usize;
        self.bytes.copy_within(at..used, at + len);
        // Word by word, as a sample has one or two: a loop over `words[..n]` checked each
        // word's bounds in 40 instructions.
        self.bytes[at..at + 8].copy_from_slice(&words[0].to_be_bytes());
        if n == 2 {
            self.bytes[at + 8..at + 16].copy_from_slice(&words[1].to_be_bytes());
        }
        self.used += len as u32;
    }

    /// The ids, as [`Trail::kept`] values, in arrival order.
    fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.list()[self.sample_bytes()..]
            .chunks_exact(Trail::ID_BYTES)
            .map(|c| {
                let mut b = [0; 8];
                b[..Trail::ID_BYTES].copy_from_slice(c);
                u64::from_be_bytes(b)
            })
    }

    /// The bits of an id hash the list keeps ([`ID_MASK`]), in place.
    #[inline]
    pub(crate) fn kept(h: u64) -> u64 {
        h & ID_MASK
    }

    /// An id as the list holds it: bits 63 to 16, big-endian, whose first (63) is not kept.
    #[inline]
    fn id_bytes(h: u64) -> [u8; Trail::ID_BYTES] {
        let b = Trail::kept(h).to_be_bytes();
        [b[0], b[1], b[2], b[3], b[4], b[5]]
    }

    /// The filter bit of an id hash: from its top kept bits (the hash is avalanched, R4).
    #[inline]
    fn filter_bit(h: u64) -> u32 {
        1 << ((h >> 58) & 31)
    }

    #[inline]
    fn has_id(&self, h: u64) -> bool {
        if self.id_filter & Trail::filter_bit(h) == 0 {
            return false;
        }
        let id = Trail::id_bytes(h);
        self.list()[self.sample_bytes()..]
            .chunks_exact(Trail::ID_BYTES)
            .any(|c| c == id)
    }

    #[inline]
    fn push_id(&mut self, h: u64, spares: &mut Spares) {
        self.make_room(Trail::ID_BYTES, spares);
        let used = self.used as usize;
        // The bytes of `id_bytes` as a u32 and a u16: as an array, they were written one at
        // a time.
        let kept = Trail::kept(h);
        let to = &mut self.bytes[used..used + Trail::ID_BYTES];
        to[..4].copy_from_slice(&((kept >> 32) as u32).to_be_bytes());
        to[4..].copy_from_slice(&((kept >> 16) as u16).to_be_bytes());
        self.used += Trail::ID_BYTES as u32;
        self.id_filter |= Trail::filter_bit(h);
    }

    fn heap_bytes(&self) -> usize {
        self.bytes.len()
    }
}

/// The sizes a [`Trail`]'s list comes in: from 12 bytes (two ids), each an eighth larger than
/// the last and two ids more, up to 4 KB; past them a list keeps growing by an eighth and two
/// ids of what it needs, and is not kept in [`Spares`]. Steps this small rather than
/// doubling, because these lists are short and many, so spare capacity is much of their
/// memory (R40): with steps of a quarter the state took 4 B more per open conversation at a
/// million open (the 10 M soak), and with growth by half 8 B more at 252 k open; a list's
/// growth costs little, since it rarely reaches the allocator.
pub(crate) const LIST_SIZES: [usize; 32] = {
    let mut sizes = [0; 32];
    let mut size = 2 * Trail::ID_BYTES;
    let mut k = 0;
    while k < sizes.len() {
        sizes[k] = size;
        size += size / 8 + 2 * Trail::ID_BYTES;
        k += 1;
    }
    sizes
};

/// Lists of [`LIST_SIZES`] given back by trails that grew out of them or whose conversation
/// ended, for the next trail that grows into that size: a list taken from here skips the
/// allocator, and is one that was just in use, so still in the cache. Every list that grows
/// into a size has, on average, one leaving it (growing on or ending), so the spares stay few;
/// and a list is allocated only when none of its size is spare, so there are never more lists
/// of a size than were once in use at the same time. [`Spares::right_size`] gives back what a
/// spike of endings left (R40).
#[derive(Debug, Default)]
pub(crate) struct Spares {
    by_size: [Vec<Box<[u8]>>; LIST_SIZES.len()],
}

impl Spares {
    /// The index in [`LIST_SIZES`] of the smallest size of at least `n` bytes.
    #[inline]
    fn size_index(n: usize) -> Option<usize> {
        LIST_SIZES.iter().position(|&size| size >= n)
    }

    /// A list of at least `n` bytes: of one of [`LIST_SIZES`], or past them an eighth and two
    /// ids more than `n`, so that a long list grows geometrically too. Its bytes are whatever
    /// they were: a trail reads only those it has written.
    fn take(&mut self, n: usize) -> Box<[u8]> {
        match Spares::size_index(n) {
            Some(k) => self.by_size[k]
                .pop()
                .unwrap_or_else(|| Spares::allocate(LIST_SIZES[k])),
            None => Spares::allocate(n + n / 8 + 2 * Trail::ID_BYTES),
        }
    }

    /// A new list of `n` bytes. Allocated and then filled rather than allocated zeroed
    /// (`vec![0; n]`): the system allocator serves a zeroed request without its per-thread
    /// cache, which cost 43 instructions an event at 300 k conversations.
    #[allow(clippy::slow_vector_initialization)] // measured faster here, as said above
    fn allocate(n: usize) -> Box<[u8]> {
        let mut list = Vec::with_capacity(n);
        list.resize(n, 0);
        list.into_boxed_slice()
    }

    /// Keeps `list` for reuse if it has one of [`LIST_SIZES`]; frees it otherwise. In line: as
    /// a call from `grow`, it cost 12 more instructions an event at 300 k conversations.
    #[inline(always)]
    fn put(&mut self, list: Box<[u8]>) {
        if let Some(k) = Spares::size_index(list.len()).filter(|&k| LIST_SIZES[k] == list.len()) {
            self.by_size[k].push(list);
        }
    }

    /// Frees spares beyond what `open` conversations plausibly need soon: at most one list
    /// per 64 open conversations of each size, and 64 of each whatever the number open.
    pub(crate) fn right_size(&mut self, open: usize) {
        let keep = (open / 64).max(64);
        for lists in &mut self.by_size {
            if lists.len() > keep {
                lists.truncate(keep);
                lists.shrink_to_fit();
            }
        }
    }

    /// Bytes held, lists and their index.
    pub(crate) fn bytes(&self) -> usize {
        LIST_SIZES
            .iter()
            .zip(&self.by_size)
            .map(|(size, lists)| lists.len() * size + lists.capacity() * std::mem::size_of::<Box<[u8]>>())
            .sum()
    }
}

/// How many clocks status time can be tracked on: calendar, business, and two named schedules
/// used by `requester_wait` or `agent_work` targets (`Rules::compile` checks the limit).
pub(crate) const TRACKED_CLOCKS: usize = 4;

/// Status-time buckets (R15): `new`+`open`, `pending`, `on_hold`.
const WORK: usize = 0;
const PENDING: usize = 1;
const ON_HOLD: usize = 2;

fn bucket(s: Status) -> Option<usize> {
    match s {
        Status::New | Status::Open => Some(WORK),
        Status::Pending => Some(PENDING),
        Status::OnHold => Some(ON_HOLD),
        Status::Solved | Status::Closed => None,
    }
}

/// Whether a pausing metric's clock runs in a status (R24).
fn runs_in(metric: SlaMetric, s: Status) -> bool {
    match metric {
        SlaMetric::RequesterWait => matches!(s, Status::New | Status::Open | Status::OnHold),
        SlaMetric::AgentWork => matches!(s, Status::New | Status::Open),
        _ => true,
    }
}

/// How a conversation instance was finalized (R39), in tie-break order (R43).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalizedBy {
    /// A `closed` status event.
    Closed,
    /// An `exclude` event (R26).
    Excluded,
    /// Solved and not reopened within `reopen_window`.
    ReopenWindow,
    /// No event for `idle_timeout`.
    Idle,
    /// [`Engine::finish`](crate::Engine::finish).
    Finish,
}

impl FinalizedBy {
    /// The JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            FinalizedBy::Closed => "closed",
            FinalizedBy::Excluded => "excluded",
            FinalizedBy::ReopenWindow => "reopen_window",
            FinalizedBy::Idle => "idle",
            FinalizedBy::Finish => "finish",
        }
    }
}

/// An optional instant in 5 bytes rather than 16: [`Timestamp::MIN`] stands for none, an
/// instant no accepted event carries (R1: `event::check` keeps `at` within years 0000–9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MaybeAt(Packed);

impl MaybeAt {
    pub(crate) const NONE: MaybeAt = MaybeAt(Packed::at(Timestamp::MIN));

    #[inline]
    pub(crate) fn some(t: Timestamp) -> MaybeAt {
        MaybeAt(Packed::accepted(t))
    }

    #[inline]
    pub(crate) fn get(self) -> Option<Timestamp> {
        // Not NONE, so an accepted instant.
        self.is_some().then(|| self.0.raw_instant())
    }

    #[inline]
    pub(crate) fn is_some(self) -> bool {
        self != MaybeAt::NONE
    }

    #[inline]
    pub(crate) fn is_none(self) -> bool {
        self == MaybeAt::NONE
    }

    #[inline]
    pub(crate) fn take(&mut self) -> Option<Timestamp> {
        std::mem::replace(self, MaybeAt::NONE).get()
    }
}

impl From<Option<Timestamp>> for MaybeAt {
    fn from(t: Option<Timestamp>) -> MaybeAt {
        t.map_or(MaybeAt::NONE, MaybeAt::some)
    }
}

/// Facts a conversation instance learns once and keeps, one bit each, then the last CSAT
/// score (R19) in three bits and the exclusion reason (R26) in two, each `0` for none.
#[derive(Debug, Clone, Copy, Default)]
struct Flags(u8);

const CSAT_SHIFT: u32 = 3;
const CSAT_BITS: u8 = 0b111 << CSAT_SHIFT;
const EXCLUDED_SHIFT: u32 = 6;
const EXCLUDED_BITS: u8 = 0b11 << EXCLUDED_SHIFT;

impl Flags {
    /// The customer has written (R18: only then do replies count).
    const CUSTOMER_SEEN: u8 = 1;
    /// Solved before any qualifying reply (R17).
    const SOLVED_WITHOUT_REPLY: u8 = 1 << 1;
    /// A qualifying reply came after a reopen (R17 `one_touch`).
    const REPLY_AFTER_REOPEN: u8 = 1 << 2;

    #[inline]
    fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }

    #[inline]
    fn set(&mut self, flag: u8) {
        self.0 |= flag;
    }

    /// The last CSAT score, 1–5.
    #[inline]
    fn csat(self) -> Option<u8> {
        let score = (self.0 & CSAT_BITS) >> CSAT_SHIFT;
        (score != 0).then_some(score)
    }

    /// Records a CSAT score (1–5, R19 rejects any other).
    #[inline]
    fn set_csat(&mut self, score: u8) {
        debug_assert!((1..=5).contains(&score));
        self.0 = (self.0 & !CSAT_BITS) | (score << CSAT_SHIFT & CSAT_BITS);
    }

    #[inline]
    fn excluded(self) -> Option<ExcludeReason> {
        let code = (self.0 & EXCLUDED_BITS) >> EXCLUDED_SHIFT;
        ExcludeReason::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    #[inline]
    fn set_excluded(&mut self, reason: ExcludeReason) {
        let code = ExcludeReason::ALL
            .iter()
            .position(|&r| r == reason)
            .map_or(0, |i| i + 1) as u8;
        self.0 = (self.0 & !EXCLUDED_BITS) | (code << EXCLUDED_SHIFT & EXCLUDED_BITS);
    }
}

/// The state of one live conversation instance.
#[derive(Debug)]
pub(crate) struct Conversation {
    created_at: Packed,
    /// Last applied event (R3, R39 idle).
    last_at: Packed,
    status_since: Packed,
    /// Oldest unanswered customer message (R8); `None` when nobody waits.
    waiting_since: MaybeAt,
    pub(crate) first_resolution_at: MaybeAt,
    /// Last move into solved, or a close from another status (R13, R14).
    pub(crate) last_resolution_at: MaybeAt,
    /// Status time (R15) on the calendar clock, per bucket, in whole seconds; see
    /// [`Conversation::status_time`].
    calendar_status_time: [Packed; 3],
    /// What most conversations never need, allocated on first use.
    extras: Option<Box<Extras>>,
    pub(crate) replies: u32,
    pub(crate) reopens: u32,
    pub(crate) channel: SmallId,
    pub(crate) brand: SmallId,
    /// Team and agent of the last `assign` event, interned only for breakdowns (R35).
    pub(crate) team: SmallId,
    pub(crate) agent: SmallId,
    pub(crate) policy: u16,
    pub(crate) status: Status,
    pub(crate) priority: Priority,
    pub(crate) initiated_by: Option<Author>,
    flags: Flags,
    /// The earliest finalization timer pending for this conversation (engine bookkeeping);
    /// see [`Conversation::timer_due`].
    timer_due: Packed,
    /// Reply samples and seen event ids.
    pub(crate) trail: Trail,
    /// SLA instances in activation order (R20).
    pub(crate) sla: Instances,
}

/// The part of a conversation's state that most conversations never need, boxed so that they
/// pay 8 bytes for it (R40).
#[derive(Debug, Default)]
struct Extras {
    /// The instance number (R6) less one: follow-ups only.
    follow_ups: u32,
    /// The tags a policy filter names (R23, `Rules::tag_bit`), one bit each.
    tags: u64,
    /// Status time (R15) on the tracked clocks after the calendar (business hours, named
    /// schedules), per bucket.
    other_status_time: [[i64; 3]; TRACKED_CLOCKS - 1],
}

/// What applying an event did that the engine must act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    Continue,
    /// A `closed` or `exclude` event: finalize now (R39).
    Finalize(FinalizedBy),
}

impl Conversation {
    /// Reads a word from each part of this state and returns their (meaningless) sum:
    /// [`OpenTable::warm`](crate::table::OpenTable::warm) loads a batch's states this way, so
    /// that their cache misses overlap.
    #[inline]
    pub(crate) fn warm(&self) -> u64 {
        let first_deadline = self.sla.first().map_or(0, |i| i.deadline.raw());
        [
            self.last_at.raw() as u64,
            self.timer_due.raw() as u64,
            self.waiting_since.0.raw() as u64,
            self.status_since.raw() as u64,
            u64::from(self.replies),
            first_deadline as u64,
            u64::from(self.trail.used),
        ]
        .into_iter()
        .fold(0, u64::wrapping_add)
    }

    /// Reads both ends of this state's list, after [`warm`](Self::warm) has loaded where it
    /// lies, and returns their (meaningless) sum.
    #[inline]
    pub(crate) fn warm_list(&self) -> u64 {
        let list = self.trail.list();
        let end = |b: Option<&u8>| u64::from(b.copied().unwrap_or(0));
        end(list.first()) + end(list.last())
    }

    /// The instant of the instance's first event (R2).
    #[inline]
    pub(crate) fn created_at(&self) -> Timestamp {
        self.created_at.raw_instant()
    }

    /// The last applied event (R3, R39 idle).
    #[inline]
    pub(crate) fn last_at(&self) -> Timestamp {
        self.last_at.raw_instant()
    }

    /// The reply samples in order: the first is the FRT, the rest NRTs (R9).
    #[inline]
    pub(crate) fn samples(&self) -> Samples<'_> {
        self.trail.samples(self.created_at())
    }

    /// The last status change.
    #[inline]
    fn status_since(&self) -> Timestamp {
        self.status_since.raw_instant()
    }

    /// Instance `instance` (1, or more for a follow-up, R6) of a conversation created at
    /// `created_at`.
    pub(crate) fn new(created_at: Timestamp, instance: u32) -> Conversation {
        let follow_ups = instance.saturating_sub(1);
        Conversation {
            created_at: Packed::at(created_at),
            last_at: Packed::at(created_at),
            status_since: Packed::at(created_at),
            waiting_since: MaybeAt::NONE,
            first_resolution_at: MaybeAt::NONE,
            last_resolution_at: MaybeAt::NONE,
            calendar_status_time: [Packed::new(0); 3],
            extras: (follow_ups > 0).then(|| {
                Box::new(Extras {
                    follow_ups,
                    ..Extras::default()
                })
            }),
            replies: 0,
            reopens: 0,
            channel: SmallId::NONE,
            brand: SmallId::NONE,
            team: SmallId::NONE,
            agent: SmallId::NONE,
            policy: NO_POLICY,
            status: Status::New,
            priority: Priority::Normal,
            initiated_by: None,
            flags: Flags::default(),
            timer_due: Packed::at(Timestamp::MAX),
            trail: Trail::default(),
            sla: Instances::default(),
        }
    }

    /// Whether the last event can have moved [`due`](Self::due) earlier: only a solved
    /// conversation's due can be, by the reopen window. Any other event leaves the due at the
    /// idle timeout after it, later than before, so the timer pending for the earlier due
    /// still comes first (R39).
    #[inline]
    pub(crate) fn due_may_be_earlier(&self) -> bool {
        self.status == Status::Solved
    }

    /// [`due`](Self::due) if it lies before `t`, an accepted event's instant (R1). Most events
    /// come before the pending timer, which is never later than the due, and are known to
    /// without computing it (0.9 % fewer instructions an event).
    #[inline]
    pub(crate) fn due_before(&self, t: Timestamp, rules: &Rules) -> Option<(Timestamp, FinalizedBy)> {
        // Compared as packed: an accepted instant is in range, a saturated timer reads as
        // the greatest value.
        if t.as_unix() <= self.timer_due.raw() {
            debug_assert!(t <= self.due(rules).0, "a timer pending after the due");
            return None;
        }
        let (due, by) = self.due(rules);
        (t > due).then_some((due, by))
    }

    /// [`due`](Self::due) as the state holds it, and so as a pending timer for it reads back
    /// ([`timer_due`](Self::timer_due)): past the year 19 000, [`Timestamp::MAX`] (never).
    #[inline]
    pub(crate) fn held_due(&self, rules: &Rules) -> Timestamp {
        Packed::at(self.due(rules).0).instant()
    }

    /// The instant this instance finalizes if no further event comes (R39), without `finish`:
    /// `closed`/`exclude` finalize at once, so only the reopen window and idleness remain.
    pub(crate) fn due(&self, rules: &Rules) -> (Timestamp, FinalizedBy) {
        let idle = self.last_at().add_secs(rules.idle_timeout_s);
        if self.status == Status::Solved {
            if let Some(solved) = self.last_resolution_at.get() {
                let window = solved.add_secs(rules.reopen_window_s);
                if window <= idle {
                    return (window, FinalizedBy::ReopenWindow);
                }
            }
        }
        (idle, FinalizedBy::Idle)
    }

    /// The agent a conversation's own figures (resolution, FCR, CSAT, SLA) are attributed to
    /// in a breakdown by agent (R35): the last assignee, else the last agent who replied.
    pub(crate) fn agent_of_record(&self) -> u32 {
        if self.agent != SmallId::NONE {
            return self.agent.get();
        }
        self.samples()
            .map(|s| s.agent())
            .filter(|&a| a != NONE)
            .last()
            .unwrap_or(NONE)
    }

    pub(crate) fn resolved(&self) -> bool {
        matches!(self.status, Status::Solved | Status::Closed)
    }

    pub(crate) fn one_touch(&self) -> bool {
        self.resolved() && self.replies == 1 && !self.flags.has(Flags::REPLY_AFTER_REOPEN)
    }

    /// Whether the customer has written in this instance (R18).
    #[inline]
    pub(crate) fn customer_seen(&self) -> bool {
        self.flags.has(Flags::CUSTOMER_SEEN)
    }

    /// Whether the conversation was solved before any qualifying reply (R17).
    #[inline]
    pub(crate) fn solved_without_reply(&self) -> bool {
        self.flags.has(Flags::SOLVED_WITHOUT_REPLY)
    }

    /// The last CSAT score (R19).
    #[inline]
    pub(crate) fn csat(&self) -> Option<u8> {
        self.flags.csat()
    }

    /// Why the conversation was excluded (R26), if it was.
    #[inline]
    pub(crate) fn excluded(&self) -> Option<ExcludeReason> {
        self.flags.excluded()
    }

    /// The instance number: 1, or more for a follow-up (R6).
    #[inline]
    pub(crate) fn instance(&self) -> u32 {
        1 + self.extras.as_ref().map_or(0, |e| e.follow_ups)
    }

    /// [`Extras`], allocated on first use.
    fn extras_mut(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Box::default)
    }

    /// R21: every running instance whose deadline lies before `t` is breached.
    #[inline]
    pub(crate) fn advance(&mut self, t: Timestamp) {
        self.sla.breach_before(t);
    }

    /// [`advance`](Self::advance) to an accepted event's instant `t` (R1).
    #[inline]
    pub(crate) fn advance_to_event(&mut self, t: Timestamp) {
        self.sla.breach_before_accepted(t);
    }

    /// The earliest deadline of a running SLA instance ([`Timestamp::MAX`] if none).
    fn next_deadline(&self) -> Timestamp {
        self.sla
            .iter()
            .filter(|i| i.state == State::Running)
            .map(|i| i.deadline())
            .min()
            .unwrap_or(Timestamp::MAX)
    }

    /// Bytes this conversation holds on the heap, besides itself (R40, `Engine::memory`).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.trail.heap_bytes()
            + self.sla.heap_bytes()
            + self.extras.as_ref().map_or(0, |e| std::mem::size_of_val(&**e))
    }

    /// Whether an event id (by hash) was seen in this instance (R4).
    #[inline]
    pub(crate) fn seen_id(&self, h: u64) -> bool {
        self.trail.has_id(h)
    }

    /// Remembers an event id (by hash) for duplicate detection (R4).
    #[inline]
    pub(crate) fn remember_id(&mut self, h: u64, spares: &mut Spares) {
        self.trail.push_id(h, spares);
    }

    /// Applies one accepted event at `t` (R5–R19, R20–R26). The first event of an instance
    /// chooses the policy after its own fields are applied (§6).
    ///
    /// In line in both callers (the engine's event and its start of an instance): as a call,
    /// typed ingest ran 3.4 % more instructions (callgrind, 20 k conversations).
    #[inline(always)]
    pub(crate) fn apply(
        &mut self,
        kind: &EventKind<'_>,
        t: Timestamp,
        first: bool,
        rules: &Rules,
        names: &mut Names,
        spares: &mut Spares,
    ) -> Applied {
        self.last_at = Packed::accepted(t);
        let mut filters_changed = false;
        let mut result = Applied::Continue;
        match kind {
            EventKind::Message {
                author,
                visibility,
                channel,
                agent,
            } => {
                if self.initiated_by.is_none() {
                    self.initiated_by = Some(*author);
                }
                if let (Some(c), SmallId::NONE) = (channel, self.channel) {
                    self.channel = SmallId::new(names.channels.intern(c));
                    filters_changed = true;
                }
                if !first && filters_changed {
                    self.retarget(t, rules);
                }
                let public = *visibility == Visibility::Public;
                let qualifies = public
                    && match author {
                        Author::Agent => true,
                        Author::Bot => rules.count_bot_replies,
                        Author::Automation => rules.count_automation_replies,
                        _ => false,
                    };
                if *author == Author::Customer && public {
                    self.on_customer_message(t, rules);
                } else if qualifies {
                    let agent = match agent {
                        Some(a) if rules.by_agent => names.agents.intern(a),
                        _ => NONE,
                    };
                    self.on_reply(t, agent, rules, spares);
                }
            }
            EventKind::Status(s) => {
                if self.set_status(*s, t, rules) {
                    result = Applied::Finalize(FinalizedBy::Closed);
                }
            }
            EventKind::Priority(p) => {
                filters_changed = *p != self.priority;
                self.priority = *p;
            }
            EventKind::Assign { agent, team } => {
                if let (Some(a), true) = (agent, rules.by_agent) {
                    self.agent = SmallId::new(names.agents.intern(a));
                }
                if let (Some(tm), true) = (team, rules.by_team) {
                    self.team = SmallId::new(names.teams.intern(tm));
                }
            }
            EventKind::Handoff => self.on_handoff(t, rules),
            EventKind::Attributes { channel, brand, tags } => {
                if let Some(c) = channel {
                    self.channel = SmallId::new(names.channels.intern(c));
                    filters_changed = true;
                }
                if let Some(b) = brand {
                    self.brand = SmallId::new(names.brands.intern(b));
                    filters_changed = true;
                }
                if let Some(list) = tags {
                    let bits = list.iter().fold(0, |m, tag| m | rules.tag_bit(tag));
                    if bits != self.tags() {
                        self.extras_mut().tags = bits;
                    }
                    filters_changed = true;
                }
            }
            EventKind::Csat { score } => self.flags.set_csat(*score),
            EventKind::Exclude { reason } => {
                self.on_exclude(*reason, t);
                result = Applied::Finalize(FinalizedBy::Excluded);
            }
        }
        if first {
            self.choose_policy(t, rules);
        } else if filters_changed && !matches!(kind, EventKind::Message { .. }) {
            self.retarget(t, rules);
        }
        result
    }

    /// R5, R8: a customer's public message reopens a pending, on-hold or solved conversation
    /// and starts a wait unless one is running.
    fn on_customer_message(&mut self, t: Timestamp, rules: &Rules) {
        self.flags.set(Flags::CUSTOMER_SEEN);
        if matches!(self.status, Status::Pending | Status::OnHold | Status::Solved) {
            self.set_status(Status::Open, t, rules);
        }
        if self.waiting_since.is_none() {
            self.start_wait(t, rules);
        }
    }

    /// R5, R9, R16: a qualifying reply moves `new` to `open`, counts once the customer has
    /// written, and ends a running wait with a sample.
    fn on_reply(&mut self, t: Timestamp, agent: u32, rules: &Rules, spares: &mut Spares) {
        if self.status == Status::New {
            self.set_status(Status::Open, t, rules);
        }
        if self.customer_seen() {
            self.replies += 1;
            if self.reopens > 0 {
                self.flags.set(Flags::REPLY_AFTER_REOPEN);
            }
        }
        if let Some(start) = self.waiting_since.take() {
            // R3 orders the wait's start before the reply, within the years R1 accepts.
            let sample = Sample::new(start, t, agent);
            debug_assert!(sample.is_some(), "a wait from {start} to {t}");
            if let Some(sample) = sample {
                self.trail.push_sample(sample, self.created_at(), spares);
            }
            for i in self.sla.iter_mut() {
                if i.metric.is_reply() && i.state == State::Running {
                    i.state = State::Met;
                }
            }
        }
    }

    /// R10: before any qualifying reply, a handoff (re)starts the wait and running reply
    /// instances at the handoff instant.
    fn on_handoff(&mut self, t: Timestamp, rules: &Rules) {
        if self.replies > 0 {
            return;
        }
        if self.waiting_since.is_some() {
            self.waiting_since = MaybeAt::some(t);
            for i in self.sla.iter_mut() {
                if i.metric.is_reply() && i.state == State::Running {
                    i.anchor = Packed::accepted(t);
                    i.deadline =
                        Packed::at(rules.clocks[i.clock(rules) as usize].deadline(t, i.threshold_s(rules)));
                }
            }
        } else {
            self.start_wait(t, rules);
        }
    }

    /// R8, R20, R25: a wait starts; the policy's reply targets for it activate. In line: 0.45 %
    /// fewer instructions.
    #[inline(always)]
    fn start_wait(&mut self, t: Timestamp, rules: &Rules) {
        self.waiting_since = MaybeAt::some(t);
        if self.policy == NO_POLICY {
            return;
        }
        let metric = self.wait_metric();
        for k in 0..rules.policies[self.policy as usize].targets.len() {
            if rules.target(self.policy, k as u8).metric == metric {
                self.activate(k as u8, t, rules, false);
            }
        }
    }

    fn wait_metric(&self) -> SlaMetric {
        if !self.trail.has_samples() {
            SlaMetric::FirstResponse
        } else {
            SlaMetric::NextReply
        }
    }

    /// R11: a solve, close or exclusion ends the wait without a sample; its instances are
    /// cancelled (those already past their deadline were breached by `advance`).
    fn cancel_wait(&mut self) {
        if self.waiting_since.take().is_some() {
            for i in self.sla.iter_mut() {
                if i.metric.is_reply() && i.state == State::Running {
                    i.state = State::Cancelled;
                }
            }
        }
    }

    /// R26: exclusion ends the wait and cancels every instance, whatever its outcome.
    fn on_exclude(&mut self, reason: ExcludeReason, t: Timestamp) {
        self.flags.set_excluded(reason);
        self.waiting_since = MaybeAt::NONE;
        for i in self.sla.iter_mut() {
            i.state = State::Cancelled;
        }
        self.last_at = Packed::accepted(t);
    }

    /// Status time (R15) on tracked clock `c`, per bucket (zeros for a clock never accrued).
    /// Exact: a bucket holds at most a conversation's span, which [`Packed`] holds.
    #[inline]
    pub(crate) fn status_time(&self, c: usize) -> [i64; 3] {
        match c {
            0 => self.calendar_status_time.map(Packed::raw),
            _ => self
                .extras
                .as_ref()
                .map_or([0; 3], |e| e.other_status_time[c - 1]),
        }
    }

    #[inline]
    fn add_status_time(&mut self, c: usize, b: usize, secs: i64) {
        match c {
            0 => {
                let slot = &mut self.calendar_status_time[b];
                *slot = Packed::new(slot.raw() + secs);
            }
            _ if secs == 0 => {}
            _ => self.extras_mut().other_status_time[c - 1][b] += secs,
        }
    }

    /// The tags a policy filter names that this conversation carries, one bit each.
    #[inline]
    fn tags(&self) -> u64 {
        self.extras.as_ref().map_or(0, |e| e.tags)
    }

    /// The finalization timer pending for this conversation ([`Timestamp::MAX`] for none). Dues
    /// past the year 19 000 read as none, like deadlines ([`Packed`]).
    #[inline]
    pub(crate) fn timer_due(&self) -> Timestamp {
        self.timer_due.instant()
    }

    /// Records `due` as the pending timer and returns it as [`timer_due`](Self::timer_due)
    /// will read it back: the instant to push on the timer heap.
    #[inline]
    pub(crate) fn set_timer_due(&mut self, due: Timestamp) -> Timestamp {
        self.timer_due = Packed::at(due);
        self.timer_due()
    }

    /// Adds the time since the last status change to its bucket on every tracked clock (R15):
    /// the calendar (clock 0, always tracked) in line, any other out of line.
    #[inline]
    fn accrue(&mut self, t: Timestamp, rules: &Rules) {
        if let Some(b) = bucket(self.status) {
            let since = self.status_since();
            debug_assert!(
                matches!(rules.clocks[0], Clock::Calendar),
                "clock 0 is the calendar"
            );
            self.add_status_time(0, b, Clock::Calendar.between(since, t));
            if rules.tracked > 1 {
                self.accrue_other_clocks(since, t, b, rules);
            }
        }
        self.status_since = Packed::at(t);
    }

    /// [`accrue`](Self::accrue) on the tracked clocks after the calendar.
    #[inline(never)]
    fn accrue_other_clocks(&mut self, since: Timestamp, t: Timestamp, b: usize, rules: &Rules) {
        for c in 1..rules.tracked {
            let add = rules.clocks[c].between(since, t).max(0);
            self.add_status_time(c, b, add);
        }
    }

    /// Status time at finalization (R15): until the final solve, or until `at`.
    pub(crate) fn accrue_until(&mut self, at: Timestamp, rules: &Rules) {
        if self.status_since() < at {
            self.accrue(at, rules);
        }
    }

    /// A status change (R5, R11, R13–R15, R24). Returns true for `closed` (finalize now).
    /// In line, as is `on_status_change` for each instance: 0.9 % fewer instructions.
    #[inline(always)]
    fn set_status(&mut self, new: Status, t: Timestamp, rules: &Rules) -> bool {
        let old = self.status;
        if old == new {
            return false;
        }
        self.accrue(t, rules);
        let resolves = new == Status::Solved || (new == Status::Closed && old != Status::Solved);
        if matches!(new, Status::Solved | Status::Closed) && self.waiting_since.is_some() {
            self.cancel_wait();
            if self.replies == 0 {
                self.flags.set(Flags::SOLVED_WITHOUT_REPLY);
            }
        }
        if old == Status::Solved && new != Status::Closed {
            self.reopens += 1;
        }
        if resolves {
            if self.first_resolution_at.is_none() {
                self.first_resolution_at = MaybeAt::some(t);
            }
            self.last_resolution_at = MaybeAt::some(t);
        }
        self.status = new;
        for i in self.sla.iter_mut() {
            on_status_change(i, old, new, resolves, t, rules);
        }
        new == Status::Closed
    }

    /// §6: the policy is chosen after the first event's own fields are applied; its targets
    /// activate in target order. Those whose clock starts at creation (R20) start before the
    /// first event's own effect: a first event that resolves meets `first_resolution`, one
    /// that excludes cancels every instance (R26).
    fn choose_policy(&mut self, t: Timestamp, rules: &Rules) {
        self.policy = rules.select(self.priority, self.channel.get(), self.brand.get(), self.tags());
        if self.policy == NO_POLICY {
            return;
        }
        let targets = rules.policies[self.policy as usize].targets.len();
        for k in 0..targets {
            self.activate(k as u8, t, rules, true);
        }
        if self.excluded().is_some() {
            for i in self.sla.iter_mut() {
                i.state = State::Cancelled;
            }
        }
    }

    /// Activates target `k` of the current policy if its clock has started (R20): reply
    /// targets on a running wait of their metric, resolution targets from creation
    /// (`at_creation`: by the first event). Also used for unpaired new targets on re-targeting
    /// (R23).
    fn activate(&mut self, k: u8, t: Timestamp, rules: &Rules, at_creation: bool) {
        let target = rules.target(self.policy, k);
        let clock = &rules.clocks[target.clock as usize];
        let metric = target.metric;
        let mut inst = Instance {
            policy: self.policy,
            target: k,
            metric,
            state: State::Running,
            anchor: self.created_at,
            used: Packed::new(0),
            deadline: Packed::at(Timestamp::MAX),
        };
        match metric {
            SlaMetric::FirstResponse | SlaMetric::NextReply => {
                match self.waiting_since.get() {
                    Some(w) if self.wait_metric() == metric => inst.anchor = Packed::accepted(w),
                    _ => return,
                }
                inst.deadline = Packed::at(clock.deadline(inst.anchor(), target.threshold_s));
            }
            SlaMetric::FirstResolution => {
                if self.first_resolution_at.is_some() {
                    if !at_creation {
                        return; // R43: not activated after the first resolution
                    }
                    // The first event resolved: fulfilled at creation, its start.
                    inst.state = State::Met;
                }
                inst.deadline = Packed::at(clock.deadline(inst.anchor(), target.threshold_s));
            }
            SlaMetric::FullResolution => {
                inst.deadline = Packed::at(clock.deadline(inst.anchor(), target.threshold_s));
                if self.resolved() {
                    let at = self.last_resolution_at.get().unwrap_or(t);
                    inst.state = if at <= inst.deadline() {
                        State::Fulfilled
                    } else {
                        State::Breached
                    };
                }
            }
            SlaMetric::RequesterWait | SlaMetric::AgentWork => {
                inst.used = Packed::new(self.used(metric, target.clock, t, rules));
                inst.anchor = Packed::accepted(t);
                self.place_pausing(&mut inst, t, rules);
            }
        }
        if inst.state == State::Running && inst.deadline() < t {
            inst.state = State::Breached;
        }
        self.sla.push(inst);
    }

    /// Sets a pausing instance's state and deadline from the current status, given `used`
    /// clock seconds at `t` (R24).
    fn place_pausing(&self, inst: &mut Instance, t: Timestamp, rules: &Rules) {
        let clock = &rules.clocks[inst.clock(rules) as usize];
        let left = inst.threshold_s(rules) - inst.used();
        if left < 0 {
            inst.state = State::Breached;
            inst.deadline = Packed::at(t);
            return;
        }
        if self.resolved() {
            // Its clock stopped at the solve: the deadline it had then (as a solve sets it).
            let solved_at = self.last_resolution_at.get().unwrap_or(t);
            inst.deadline = Packed::at(clock.deadline(solved_at, left));
            inst.state = State::Fulfilled;
            return;
        }
        inst.deadline = Packed::at(clock.deadline(t, left));
        inst.state = if runs_in(inst.metric, self.status) {
            State::Running
        } else {
            State::Paused
        };
    }

    /// Clock seconds a pausing metric has used from creation to `t` (R24), from the status
    /// time tracked on its clock (every clock a pausing target uses is tracked, see `Rules`).
    fn used(&self, metric: SlaMetric, clock: u8, t: Timestamp, rules: &Rules) -> i64 {
        let c = clock as usize;
        let acc = self.status_time(c);
        let mut used = acc[WORK]
            + if metric == SlaMetric::RequesterWait {
                acc[ON_HOLD]
            } else {
                0
            };
        if runs_in(metric, self.status) && !self.resolved() {
            used += rules.clocks[c].between(self.status_since(), t);
        }
        used
    }

    /// R23: a filter change re-targets running instances from their original start. In line
    /// as far as finding that the policy stays, most filter changes' case.
    #[inline]
    fn retarget(&mut self, t: Timestamp, rules: &Rules) {
        if self.excluded().is_some() {
            return;
        }
        let new_policy = rules.select(self.priority, self.channel.get(), self.brand.get(), self.tags());
        if new_policy != self.policy {
            self.change_policy(new_policy, t, rules);
        }
    }

    /// [`retarget`](Self::retarget) to another policy, `new_policy`.
    #[inline(never)]
    fn change_policy(&mut self, new_policy: u16, t: Timestamp, rules: &Rules) {
        let old_len = self.sla.len();
        let new_targets: &[crate::sla::CompiledTarget] = if new_policy == NO_POLICY {
            &[]
        } else {
            &rules.policies[new_policy as usize].targets
        };
        let mut unpaired_new: Vec<u8> = Vec::new();
        for metric in SlaMetric::ALL {
            let running_now: Vec<usize> = (0..old_len)
                .filter(|&i| self.sla[i].metric == metric && self.sla[i].state.is_running())
                .collect();
            let mut running = running_now.into_iter();
            for (k, target) in new_targets
                .iter()
                .enumerate()
                .filter(|(_, tg)| tg.metric == metric)
            {
                match running.next() {
                    Some(i) => {
                        let used = if metric.pauses() {
                            self.used(metric, target.clock, t, rules)
                        } else {
                            0
                        };
                        let inst = &mut self.sla[i];
                        inst.policy = new_policy;
                        inst.target = k as u8;
                        let clock = &rules.clocks[target.clock as usize];
                        if metric.pauses() {
                            inst.used = Packed::new(used);
                            inst.anchor = Packed::accepted(t);
                            let mut copy = *inst;
                            self.place_pausing(&mut copy, t, rules);
                            self.sla[i] = copy;
                        } else {
                            inst.deadline = Packed::at(clock.deadline(inst.anchor(), target.threshold_s));
                            match inst.state {
                                State::Running if inst.deadline() < t => inst.state = State::Breached,
                                State::Fulfilled
                                    if self.last_resolution_at.get().is_some_and(|r| r > inst.deadline()) =>
                                {
                                    inst.state = State::Breached
                                }
                                _ => {}
                            }
                        }
                    }
                    None => unpaired_new.push(k as u8),
                }
            }
            for i in running {
                self.sla[i].state = State::Cancelled;
            }
        }
        self.policy = new_policy;
        unpaired_new.sort_unstable();
        for k in unpaired_new {
            self.activate(k, t, rules, false);
        }
    }

    /// Finalizes the SLA instances at `at` (R21, R24, R38): running ones past their deadline
    /// are breached, the others stay active; paused ones report the deadline as if they
    /// resumed at `at`; fulfilled ones are met.
    pub(crate) fn finalize_sla(&mut self, at: Timestamp, rules: &Rules) {
        for i in self.sla.iter_mut() {
            match i.state {
                State::Running => {
                    i.state = if i.deadline() < at {
                        State::Breached
                    } else {
                        State::Active
                    };
                }
                State::Paused => {
                    i.deadline = Packed::at(
                        rules.clocks[i.clock(rules) as usize].deadline(at, i.threshold_s(rules) - i.used()),
                    );
                    i.state = State::Active;
                }
                State::Fulfilled => i.state = State::Met,
                _ => {}
            }
        }
    }
}

/// One instance's response to a status change (R24).
#[inline(always)]
fn on_status_change(i: &mut Instance, old: Status, new: Status, resolves: bool, t: Timestamp, rules: &Rules) {
    match i.metric {
        SlaMetric::FirstResponse | SlaMetric::NextReply => {} // never pause on status (R24)
        SlaMetric::FirstResolution => {
            if resolves && i.state == State::Running {
                i.state = State::Met;
            }
        }
        SlaMetric::FullResolution => {
            if matches!(new, Status::Solved | Status::Closed) {
                if i.state == State::Running {
                    i.state = State::Fulfilled;
                }
            } else if old == Status::Solved && i.state == State::Fulfilled {
                // Reopened: keeps its deadline, which may already lie behind (R24).
                i.state = if i.deadline() < t {
                    State::Breached
                } else {
                    State::Running
                };
            }
        }
        SlaMetric::RequesterWait | SlaMetric::AgentWork => {
            // Looked up here, not for every instance: most never pause (R24).
            let clock = &rules.clocks[i.clock(rules) as usize];
            let was = i.state;
            if matches!(new, Status::Solved | Status::Closed) {
                match was {
                    State::Running => {
                        i.used = Packed::new(i.used() + clock.between(i.anchor(), t));
                        i.state = State::Fulfilled;
                    }
                    State::Paused => {
                        i.deadline = Packed::at(clock.deadline(t, i.threshold_s(rules) - i.used()));
                        i.state = State::Fulfilled;
                    }
                    _ => {}
                }
                return;
            }
            let resumed = was == State::Paused || (was == State::Fulfilled && old == Status::Solved);
            let runs = runs_in(i.metric, new);
            if was == State::Running && !runs {
                i.used = Packed::new(i.used() + clock.between(i.anchor(), t));
                i.state = State::Paused;
            } else if resumed {
                if runs {
                    i.anchor = Packed::accepted(t);
                    i.deadline = Packed::at(clock.deadline(t, i.threshold_s(rules) - i.used()));
                    i.state = State::Running;
                } else {
                    i.state = State::Paused;
                }
            }
        }
    }
}

/// The checkpoint form of a conversation (`Engine::checkpoint`): every field, in declaration
/// order. Decoding checks every enum code and every index into the rules, so a checkpoint made
/// under another configuration cannot index out of range.
pub(crate) mod encode {
    use super::{Conversation, Extras, Flags, MaybeAt, Sample, Trail, TRACKED_CLOCKS};
    use crate::config::SlaMetric;
    use crate::encoding::{Reader, Writer};
    use crate::event::{Author, ExcludeReason, Priority, Status};
    use crate::intern::{Interner, Names, SmallId, NONE, OTHER};
    use crate::sla::{Instance, Instances, Rules, State, NO_POLICY};
    use crate::time::Packed;
    use crate::{Error, Result};

    const STATUS: [Status; 6] = [
        Status::New,
        Status::Open,
        Status::Pending,
        Status::OnHold,
        Status::Solved,
        Status::Closed,
    ];
    const PRIORITY: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];
    const AUTHOR: [Author; 5] = [
        Author::Customer,
        Author::Agent,
        Author::Bot,
        Author::Automation,
        Author::System,
    ];
    const STATE: [State; 7] = [
        State::Running,
        State::Paused,
        State::Fulfilled,
        State::Met,
        State::Breached,
        State::Cancelled,
        State::Active,
    ];

    /// The code of `v` is its index in `all`.
    fn code<T: PartialEq>(all: &[T], v: &T) -> u8 {
        all.iter().position(|x| x == v).unwrap_or(0) as u8
    }

    fn pick<T: Copy>(all: &[T], code: u8, what: &str) -> Result<T> {
        all.get(code as usize)
            .copied()
            .ok_or_else(|| Error::encoding(format!("unknown {what} code {code}")))
    }

    fn opt_code<T: PartialEq>(w: &mut Writer, all: &[T], v: Option<&T>) {
        w.u8(v.map_or(u8::MAX, |v| code(all, v)));
    }

    fn opt_pick<T: Copy>(r: &mut Reader<'_>, all: &[T], what: &str) -> Result<Option<T>> {
        match r.u8()? {
            u8::MAX => Ok(None),
            c => pick(all, c, what).map(Some),
        }
    }

    pub(crate) fn write(c: &Conversation, rules: &Rules, w: &mut Writer) {
        w.ts(c.created_at());
        w.ts(c.last_at());
        w.ts(c.status_since());
        w.opt_ts(c.waiting_since.get());
        w.opt_ts(c.first_resolution_at.get());
        w.opt_ts(c.last_resolution_at.get());
        (0..TRACKED_CLOCKS)
            .flat_map(|k| c.status_time(k))
            .for_each(|s| w.i64(s));
        for v in [
            c.instance(),
            c.replies,
            c.reopens,
            c.channel.get(),
            c.brand.get(),
            c.team.get(),
            c.agent.get(),
        ] {
            w.u32(v);
        }
        w.u64(c.tags());
        w.u16(c.policy);
        w.u8(code(&STATUS, &c.status));
        w.u8(code(&PRIORITY, &c.priority));
        opt_code(w, &AUTHOR, c.initiated_by.as_ref());
        w.u8(c.csat().unwrap_or(0));
        opt_code(w, &ExcludeReason::ALL, c.excluded().as_ref());
        for v in [
            c.customer_seen(),
            c.solved_without_reply(),
            c.flags.has(Flags::REPLY_AFTER_REOPEN),
            false, // formerly whether the next deadline was stale; read and ignored
        ] {
            w.bool(v);
        }
        w.ts(c.timer_due());
        w.ts(c.next_deadline()); // formerly a cached field; read and ignored
        w.u64(0); // formerly a filter over the ids; read and ignored
        w.u64(c.samples().count() as u64);
        for s in c.samples() {
            w.ts(s.start());
            w.ts(s.end());
            w.u32(s.agent());
        }
        w.u64(c.sla.len() as u64);
        for i in c.sla.iter() {
            w.u16(i.policy);
            w.u16(u16::from(i.target));
            w.u8(code(&SlaMetric::ALL, &i.metric));
            w.u8(i.clock(rules));
            w.u8(code(&STATE, &i.state));
            w.i64(i.threshold_s(rules));
            // The format predates `anchor`: the clock's start, then the running period's.
            w.ts(if i.metric.pauses() {
                c.created_at()
            } else {
                i.anchor()
            });
            w.ts(i.anchor());
            w.i64(i.used());
            w.ts(i.deadline());
        }
        // Each id's kept bits, in place (version 2 wrote 63 bits: reading keeps the same).
        w.u64(c.trail.ids().count() as u64);
        c.trail.ids().for_each(|h| w.u64(h));
    }

    /// Reads a conversation back, with the attribute values interned so far; its lists come
    /// from `spares`.
    pub(crate) fn read(
        r: &mut Reader<'_>,
        rules: &Rules,
        names: &Names,
        spares: &mut super::Spares,
    ) -> Result<Conversation> {
        let interned = |id: u32, names: &Interner, what: &str| {
            if id == NONE || id == OTHER || (id as usize) < names.names().len() {
                Ok(id)
            } else {
                Err(Error::encoding(format!("{what} id {id} not interned")))
            }
        };
        let created_at = r.ts()?;
        let last_at = r.ts()?;
        let status_since = r.ts()?;
        let waiting_since = MaybeAt::from(r.opt_ts()?);
        let first_resolution_at = MaybeAt::from(r.opt_ts()?);
        let last_resolution_at = MaybeAt::from(r.opt_ts()?);
        let span = last_at.secs_since(created_at);
        let mut status_time = [[0i64; 3]; TRACKED_CLOCKS];
        for b in status_time.iter_mut().flatten() {
            // 32-bit before checkpoint version 3.
            *b = if r.version() >= 3 {
                r.i64()?
            } else {
                i64::from(r.u32()?)
            };
            if !(0..=span.max(0)).contains(b) {
                return Err(Error::encoding(format!("status time {b} s")));
            }
        }
        let instance = r.u32()?;
        if instance == 0 {
            return Err(Error::encoding("conversation instance 0"));
        }
        let replies = r.u32()?;
        let reopens = r.u32()?;
        let channel = SmallId::new(interned(r.u32()?, &names.channels, "channel")?);
        let brand = SmallId::new(interned(r.u32()?, &names.brands, "brand")?);
        let team = SmallId::new(interned(r.u32()?, &names.teams, "team")?);
        let agent = SmallId::new(interned(r.u32()?, &names.agents, "agent")?);
        let tags = r.u64()?;
        let policy = r.u16()?;
        if policy != NO_POLICY && policy as usize >= rules.policies.len() {
            return Err(Error::encoding(format!("policy index {policy} out of range")));
        }
        let status = pick(&STATUS, r.u8()?, "status")?;
        let priority = pick(&PRIORITY, r.u8()?, "priority")?;
        let initiated_by = opt_pick(r, &AUTHOR, "author")?;
        let mut flags = Flags::default();
        match r.u8()? {
            0 => {}
            s @ 1..=5 => flags.set_csat(s),
            s => return Err(Error::encoding(format!("csat score {s}"))),
        }
        if let Some(reason) = opt_pick(r, &ExcludeReason::ALL, "exclude reason")? {
            flags.set_excluded(reason);
        }
        for flag in [
            Flags::CUSTOMER_SEEN,
            Flags::SOLVED_WITHOUT_REPLY,
            Flags::REPLY_AFTER_REOPEN,
        ] {
            if r.bool()? {
                flags.set(flag);
            }
        }
        r.bool()?; // formerly whether the next deadline was stale
        let timer_due = r.ts()?;
        r.ts()?; // formerly the next deadline, now computed
        r.u64()?; // formerly a filter over the ids
        let n = r.len()?;
        let mut trail = Trail::default();
        for _ in 0..n {
            let (start, end) = (r.ts()?, r.ts()?);
            let agent = interned(r.u32()?, &names.agents, "agent")?;
            let sample = Sample::new(start, end, agent)
                .ok_or_else(|| Error::encoding(format!("a reply sample from {start} to {end}")))?;
            trail.push_sample(sample, created_at, spares);
        }
        let n = r.len()?;
        let mut sla = Instances::default();
        for _ in 0..n {
            let policy = r.u16()?;
            let target = r.u16()?;
            let metric = pick(&SlaMetric::ALL, r.u8()?, "metric")?;
            let clock = r.u8()?;
            let state = pick(&STATE, r.u8()?, "SLA state")?;
            let threshold_s = r.i64()?;
            let compiled = rules
                .policies
                .get(policy as usize)
                .and_then(|p| p.targets.get(target as usize));
            if !compiled.is_some_and(|t| (t.metric, t.clock, t.threshold_s) == (metric, clock, threshold_s)) {
                return Err(Error::encoding(format!(
                    "SLA instance of policy {policy} target {target} does not match the configuration"
                )));
            }
            let (start, since, used, deadline) = (r.ts()?, r.ts()?, r.i64()?, r.ts()?);
            if used < 0 || Packed::new(used).get() != used {
                return Err(Error::encoding(format!("SLA instance used {used} s")));
            }
            sla.push(Instance {
                policy,
                // Below the policy's target count, which is at most 256 (checked above).
                target: target as u8,
                metric,
                state,
                anchor: Packed::at(if metric.pauses() { since } else { start }),
                used: Packed::new(used),
                deadline: Packed::at(deadline),
            });
        }
        let n = r.len()?;
        for _ in 0..n {
            trail.push_id(r.u64()?, spares);
        }
        Ok(Conversation {
            created_at: Packed::at(created_at),
            last_at: Packed::at(last_at),
            status_since: Packed::at(status_since),
            waiting_since,
            first_resolution_at,
            last_resolution_at,
            calendar_status_time: status_time[0].map(Packed::new),
            extras: (instance != 1 || tags != 0 || status_time[1..].iter().any(|k| *k != [0; 3])).then(
                || {
                    Box::new(Extras {
                        follow_ups: instance - 1,
                        tags,
                        other_status_time: std::array::from_fn(|k| status_time[k + 1]),
                    })
                },
            ),
            replies,
            reopens,
            channel,
            brand,
            team,
            agent,
            policy,
            status,
            priority,
            initiated_by,
            flags,
            timer_due: Packed::at(timer_due),
            trail,
            sla,
        })
    }
}

#[cfg(test)]
mod tests {
    /// R40: an open conversation with its id and its first two SLA instances takes at most
    /// 168 bytes in the table's chunks (no allocator header: `table`). Samples and ids come on
    /// top.
    #[test]
    fn r40_conversation_state_takes_at_most_168_bytes() {
        assert!(std::mem::size_of::<crate::table::Open>() <= 168);
        assert_eq!(std::mem::size_of::<crate::sla::Instances>(), 40);
        assert_eq!(std::mem::size_of::<crate::sla::Instance>(), 20);
    }

    /// R17–R19, R26: the flags, the CSAT score and the exclusion reason share a byte without
    /// touching each other, whatever order they are set in.
    #[test]
    fn r19_r26_flags_csat_and_exclusion_share_a_byte() {
        use super::Flags;
        use crate::event::ExcludeReason;
        let all = [
            Flags::CUSTOMER_SEEN,
            Flags::SOLVED_WITHOUT_REPLY,
            Flags::REPLY_AFTER_REOPEN,
        ];
        for bits in 0..8usize {
            for score in 0..=5u8 {
                for reason in [None].into_iter().chain(ExcludeReason::ALL.map(Some)) {
                    let mut f = Flags::default();
                    if let Some(r) = reason {
                        f.set_excluded(r);
                    }
                    f.set_csat(5);
                    for (k, &flag) in all.iter().enumerate() {
                        if bits & 1 << k != 0 {
                            f.set(flag);
                        }
                    }
                    if score > 0 {
                        f.set_csat(score);
                    }
                    let expected = if score > 0 { score } else { 5 };
                    assert_eq!(f.csat(), Some(expected));
                    assert_eq!(f.excluded(), reason);
                    for (k, &flag) in all.iter().enumerate() {
                        assert_eq!(f.has(flag), bits & 1 << k != 0);
                    }
                }
            }
        }
        assert_eq!(Flags::default().csat(), None);
    }

    /// R4, R9: a trail keeps replies and ids apart, in order, whatever their bits: instants at
    /// both ends of R1's years, short samples and long ones (an agent, a reply before creation
    /// or too long after it, a wait too long), id hashes with their top bits set or not, any
    /// interleaving.
    #[test]
    fn r4_r9_trail_keeps_samples_and_ids_apart() {
        use super::{Sample, Spares, Trail, LIST_SIZES, SHORT_MAX};
        use crate::intern::{NONE, OTHER};
        use crate::Timestamp;
        let first = Timestamp::from_unix(-62_167_219_200); // 0000-01-01T00:00:00Z
        let last = Timestamp::from_unix(253_402_300_799); // 9999-12-31T23:59:59Z
        let created = Timestamp::from_unix(1_712_052_000); // 2024-04-02T10:00:00Z
        let short = |offset: i64, wait: i64| {
            let end = created.add_secs(offset);
            Sample::new(end.add_secs(-wait), end, NONE)
        };
        let samples = [
            short(0, 0),
            short(59, 3600),
            short(SHORT_MAX, SHORT_MAX),
            short(SHORT_MAX + 1, 5),
            short(5, SHORT_MAX + 1),
            short(-1, 0),
            Sample::new(created, created.add_secs(60), 7),
            Sample::new(first, first, 0),
            Sample::new(first, last, 65_533),
            Sample::new(last.add_secs(-1), last, OTHER),
            short(10, 10),
        ]
        .map(|s| s.expect("fits"));
        // Distinct in the kept bits (16 to 62), whatever the others.
        let ids = [
            0,
            1 << 16,
            u64::MAX,
            1 << 63 | 5 << 16,
            1 << 62,
            3 << 61,
            (1 << 63) - 1 - (1 << 16),
            0x0123_4567_89ab_cdef,
        ];
        // Lists come back from the spares as they were left: here first with every byte
        // carrying the sample tag's bit, then as the first round left them.
        let mut spares = Spares::default();
        for size in LIST_SIZES {
            let mut list = Spares::allocate(size);
            list.fill(0xff);
            spares.put(list);
        }
        for _round in 0..2 {
            let mut trail = Trail::default();
            assert!(!trail.has_samples() && !trail.has_id(0));
            for k in 0..ids.len().max(samples.len()) {
                if let Some(&h) = ids.get(k) {
                    trail.push_id(h, &mut spares);
                }
                if let Some(&s) = samples.get(k) {
                    trail.push_sample(s, created, &mut spares);
                }
                let got: Vec<_> = trail.samples(created).collect();
                assert_eq!(got, samples[..=k.min(samples.len() - 1)]);
                let seen = &ids[..=k.min(ids.len() - 1)];
                assert!(trail.ids().eq(seen.iter().map(|&h| Trail::kept(h))));
                assert!(seen.iter().all(|&h| trail.has_id(h)));
                assert!(trail.has_samples());
            }
            assert!(!trail.has_id(2 << 16) && !trail.has_id(42 << 16));
            // Hashes that differ only outside the kept bits are one id.
            assert!(trail.has_id(0xffff) && trail.has_id(1 << 63 | 1 << 16));
            // Four short samples take a word each, the seven others two; ids 6 bytes each.
            assert_eq!(trail.list().len(), 8 * (4 + 2 * 7) + Trail::ID_BYTES * ids.len());
            trail.release(&mut spares);
            assert_eq!(trail.heap_bytes(), 0);
        }
    }

    /// R40: lists come in the sizes of `LIST_SIZES` (up to 4 KB) and are reused from the
    /// spares, largest last in, first out; other sizes are not kept; `right_size` gives back
    /// what exceeds its bound.
    #[test]
    fn r40_spares_reuse_lists_by_size_and_give_back_the_excess() {
        use super::{Spares, LIST_SIZES};
        assert_eq!(LIST_SIZES[..6], [12, 25, 40, 57, 76, 97]);
        assert!(LIST_SIZES.windows(2).all(|w| w[0] < w[1]));
        assert!((3_500..=4_096).contains(&LIST_SIZES[LIST_SIZES.len() - 1]));
        let mut spares = Spares::default();
        for n in [0, 1, 12, 13, 25, 26, 3_500] {
            let list = spares.take(n);
            let k = LIST_SIZES.iter().position(|&s| s >= n).expect("a size");
            assert_eq!(list.len(), LIST_SIZES[k]);
        }
        assert_eq!(
            spares.take(5_000).len(),
            5_637,
            "past the sizes, an eighth and two ids more"
        );
        let mut marked = Spares::allocate(25);
        marked[0] = 42;
        spares.put(marked);
        assert_eq!(spares.take(20)[0], 42, "the list given back is the one reused");
        spares.put(Spares::allocate(26));
        spares.put(Spares::allocate(5_000));
        let kept = |spares: &Spares| spares.by_size.iter().map(Vec::len).sum::<usize>();
        assert_eq!(kept(&spares), 0, "lists of other sizes are not kept");
        for _ in 0..100 {
            spares.put(Spares::allocate(12));
        }
        spares.right_size(0);
        assert_eq!(spares.by_size[0].len(), 64);
        spares.right_size(64 * 1_000);
        assert_eq!(spares.by_size[0].len(), 64, "never grows");
        // A long list grows geometrically, past the sizes too: a few dozen moves for 20 000
        // ids (120 KB), not one per id.
        let mut trail = super::Trail::default();
        let mut moves = 0;
        for h in 0..20_000u64 {
            let before = trail.heap_bytes();
            trail.push_id(h << 16, &mut spares);
            moves += usize::from(trail.heap_bytes() != before);
        }
        assert!(moves < 80, "{moves} moves");
        assert!(trail.has_id(0) && trail.has_id(19_999 << 16));
    }
}
