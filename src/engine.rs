//! The streaming engine: the table of open conversations, the watermark, finalization (R38–R40),
//! duplicate and order checks (R3, R4, R41, R42), and the wiring between conversations and the
//! report. It owns no metric logic.

use crate::conversation::{Applied, Conversation, FinalizedBy, Spares};
use crate::encoding::{Reader, Writer, CHECKPOINT};
use crate::event::{Author, Event, EventKind, Visibility};
use crate::intern::{id_hash, FxHashMap, Key, Names};
use crate::live::{AtRisk, SlaEvent, Tracker};
use crate::report::Report;
use crate::sla::Rules;
use crate::summary::Summary;
use crate::table::{self, shrunk_capacity, Open, OpenTable};
use crate::time::Packed;
use crate::{Config, Error, Result, Timestamp};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What [`Engine::ingest`] did with an accepted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ingested {
    /// Applied to a live conversation instance (possibly starting it or a follow-up, R6).
    Applied,
    /// A redelivery of an event `id` already seen in the live instance: counted, not applied (R4).
    /// Ids are compared by 47 bits of a hash (6 bytes kept per id): two different ids of one
    /// live instance agree in them about once in 3·10^12 conversations of ten events.
    Duplicate,
    /// An event for a finalized conversation that does not start a follow-up: counted in
    /// `ignored_after_final`, otherwise ignored (R6).
    IgnoredAfterFinal,
    /// Held in the reorder buffer (`allowed_lateness_s > 0`, R41): applied in time order once
    /// the effective watermark passes it.
    Buffered,
}

/// Finalization timers `(due, hash of the id)`, earliest first (R39): 16 bytes an entry, and no
/// copy of the id. An entry is for the open conversation filed under that hash whose
/// `timer_due` is that due; when none is, it is stale (the conversation ended, or an earlier
/// timer superseded it) and skipped. Two conversations with the same hash and due are both
/// found, one per entry: the first one handled no longer matches. Grows by half, not by
/// doubling, and gives memory back like the tables: with one or two entries per open
/// conversation it is among the largest of them.
#[derive(Debug, Default)]
struct Timers(BinaryHeap<Reverse<(Timestamp, u64)>>);

impl Timers {
    /// Files a timer for `due`; none for [`Timestamp::MAX`], the due that never comes (one
    /// past the year 19 000 reads back from the state as it, see `Packed`), which would
    /// never be popped.
    fn push(&mut self, due: Timestamp, key: u64) {
        if due == Timestamp::MAX {
            return;
        }
        let heap = &mut self.0;
        if heap.len() == heap.capacity() {
            heap.reserve_exact(heap.len() / 2 + 64);
        }
        heap.push(Reverse((due, key)));
    }

    /// Takes the earliest timer if it is due before `t`.
    fn pop_before(&mut self, t: Timestamp) -> Option<(Timestamp, u64)> {
        match self.0.peek() {
            Some(Reverse((due, _))) if *due < t => self.0.pop().map(|Reverse(entry)| entry),
            _ => None,
        }
    }

    /// R40: gives memory back after a spike, under the policy of [`shrunk_capacity`].
    fn right_size(&mut self) {
        if let Some(cap) = shrunk_capacity(self.0.capacity(), self.0.len()) {
            self.0.shrink_to(cap);
        }
    }

    fn bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<(Timestamp, u64)>()
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// Makes sure a finalization timer at or before the conversation's due instant (R39) is
/// pending; a later due needs none, since the earlier timer re-arms itself when it fires.
/// `h` is the conversation id's [`table::hash`].
fn arm_timer(timers: &mut Timers, conv: &mut Conversation, rules: &Rules, h: u64) {
    // Compared as the conversation holds it: unsaturated, a due past the year 19 000 was
    // found earlier than the pending timer on every event.
    let due = conv.held_due(rules);
    if due < conv.timer_due() {
        conv.set_timer_due(due);
        timers.push(due, h);
    }
}

/// Gives a hash table's memory back after a spike (R40), under the policy of
/// [`shrunk_capacity`].
fn right_size<V>(table: &mut FxHashMap<Key, V>) {
    if let Some(cap) = shrunk_capacity(table.capacity(), table.len()) {
        table.shrink_to(cap);
    }
}

/// A conversation id from a checkpoint.
fn read_key(r: &mut Reader<'_>) -> Result<Key> {
    let bytes = r.bytes()?;
    match std::str::from_utf8(bytes) {
        Ok(id) if !id.is_empty() => Ok(Key::new(id)),
        _ => Err(Error::encoding("a conversation id is empty or not UTF-8")),
    }
}

/// The reorder buffer (R41): events within the allowed lateness, applied in time order.
#[derive(Debug, Default)]
struct Reorder {
    lateness: i64,
    /// The caller's watermark; the engine's own is this minus `lateness`.
    watermark: Timestamp,
    /// `(at, arrival number, event)`, earliest first.
    held: BinaryHeap<Reverse<(Timestamp, u64, Held)>>,
    arrivals: u64,
}

impl Reorder {
    /// R41: holds an event within the allowed lateness, to apply it in time order later;
    /// `latest` is the engine's latest event time.
    #[cold]
    #[inline(never)]
    fn hold(&mut self, ev: &Event<'_>, latest: &mut Timestamp) -> Result<Ingested> {
        crate::event::check(ev)?;
        self.arrivals += 1;
        self.held
            .push(Reverse((ev.at, self.arrivals, Held(ev.clone().into_owned()))));
        *latest = (*latest).max(ev.at);
        Ok(Ingested::Buffered)
    }
}

/// An owned event in the reorder buffer (ordered by its place in the heap key only).
#[derive(Debug)]
struct Held(Event<'static>);

impl PartialEq for Held {
    fn eq(&self, _: &Held) -> bool {
        true
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Held) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, _: &Held) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

/// An estimate of an [`Engine`]'s memory, from [`Engine::memory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryUsage {
    /// Live conversation instances.
    pub open_conversations: usize,
    /// Bytes held for them: fixed state, ids, reply samples, SLA instances, duplicate-id hashes.
    pub open_state_bytes: usize,
    /// Finalized ids still remembered for follow-ups (R6).
    pub id_memories: usize,
    /// Spare table capacity, the id memory table, the timer heap and the reply/id lists kept
    /// for reuse, in bytes.
    pub table_bytes: usize,
}

impl MemoryUsage {
    /// `open_state_bytes / open_conversations` (0 when none is open).
    pub fn bytes_per_open_conversation(&self) -> f64 {
        if self.open_conversations == 0 {
            0.0
        } else {
            self.open_state_bytes as f64 / self.open_conversations as f64
        }
    }
}

/// What the engine remembers of a finalized conversation id (R6), until `reopen_window` after
/// its finalization instant: 16 bytes beside the id, so 40 a table entry. The instants are
/// [`Packed`]: the last event's is an accepted instant (R1: years 0000–9999), kept exactly; a
/// finalization instant past the year 19 000 (a far `finish`) reads back as
/// [`Timestamp::MAX`], which every accepted instant is before, as it is before the exact one.
#[derive(Debug, Clone, Copy)]
struct Memory {
    instance: u32,
    last_at: Packed,
    finalized_at: Packed,
}

impl Memory {
    fn new(instance: u32, last_at: Timestamp, finalized_at: Timestamp) -> Memory {
        Memory {
            instance,
            last_at: Packed::at(last_at),
            finalized_at: Packed::at(finalized_at),
        }
    }

    /// The instant of the last event applied or ignored (R3 after finalization).
    fn last_at(&self) -> Timestamp {
        self.last_at.instant()
    }

    fn set_last_at(&mut self, t: Timestamp) {
        self.last_at = Packed::accepted(t);
    }

    fn finalized_at(&self) -> Timestamp {
        self.finalized_at.instant()
    }
}

/// The streaming SLA engine.
///
/// Feed it events with [`ingest`](Engine::ingest) (per conversation in time order, R3), advance
/// the watermark with [`advance_to`](Engine::advance_to) so breaches and finalizations become
/// known (R38), and call [`finish`](Engine::finish) at the end. Finalized conversations go into
/// the [`Report`] and, if asked for, into [`Summary`] records; their state is freed (R40).
/// The engine never reads the wall clock.
///
/// # Example
/// ```
/// use sla_metrics::{Author, Config, Engine, Event, EventKind, Status};
/// let mut engine = Engine::new(Config::default())?;
/// let t0: sla_metrics::Timestamp = "2024-04-02T10:00:00Z".parse()?;
/// engine.ingest(&Event::message("c1", t0, Author::Customer))?;
/// engine.ingest(&Event::message("c1", t0.add_secs(5), Author::Automation))?; // not a reply (R7)
/// engine.ingest(&Event::message("c1", t0.add_secs(7200), Author::Agent))?;
/// engine.ingest(&Event::new("c1", t0.add_secs(7300), EventKind::Status(Status::Solved)))?;
/// let report = engine.finish();
/// let sla = &report.sla()[0]; // default policy: first response within 1 h
/// assert_eq!((sla.met, sla.breached), (0, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Engine {
    rules: Rules,
    /// Interned channels, brands, teams and agents.
    names: Names,
    /// Open conversation instances.
    live: OpenTable,
    /// Finalized ids still remembered for follow-ups (R6).
    finalized: FxHashMap<Key, Memory>,
    /// Finalization timers (R39).
    timers: Timers,
    /// Reply and id lists for reuse by open conversations' trails.
    spares: Spares,
    watermark: Timestamp,
    latest: Timestamp,
    sweep_at: usize,
    report: Report,
    summaries: Option<Vec<Summary>>,
    /// Live SLA tracking (R21, R27), when turned on.
    tracker: Option<Box<Tracker>>,
    /// The reorder buffer, with `allowed_lateness_s > 0` (R41).
    reorder: Option<Box<Reorder>>,
}

impl Engine {
    /// An engine for this configuration.
    ///
    /// With `allowed_lateness_s > 0` the engine holds events in a reorder buffer and applies
    /// them in time order once the watermark minus the lateness passes them (R41); that
    /// effective watermark is the one that decides breaches and finalizations (R43).
    ///
    /// # Errors
    /// The configuration is invalid ([`Config::validate`]).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Config, Engine};
    /// let engine = Engine::new(Config::default())?;
    /// assert_eq!(engine.open_conversations(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(config: Config) -> Result<Engine> {
        let mut names = Names::new();
        let rules = Rules::compile(&config, &mut names)?;
        let reorder = (rules.allowed_lateness_s > 0).then(|| {
            Box::new(Reorder {
                lateness: rules.allowed_lateness_s,
                watermark: Timestamp::MIN,
                ..Reorder::default()
            })
        });
        let report = Report::new(&rules);
        Ok(Engine {
            rules,
            names,
            live: OpenTable::default(),
            finalized: FxHashMap::default(),
            timers: Timers::default(),
            spares: Spares::default(),
            watermark: Timestamp::MIN,
            latest: Timestamp::MIN,
            sweep_at: 1024,
            report,
            summaries: None,
            tracker: None,
            reorder,
        })
    }

    /// Turns live SLA tracking on or off (R21, R27): breaches known as soon as the watermark
    /// passes a deadline, the SLA event log ([`drain_sla_events`](Engine::drain_sla_events)) and
    /// the at-risk list ([`at_risk`](Engine::at_risk)). Off by default; turn it on before the
    /// first event. Outcomes never depend on it: only when they become visible.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Config, Engine, Event, SlaEventKind};
    /// let mut engine = Engine::new(Config::default())?;
    /// engine.track_sla(true);
    /// let t0: sla_metrics::Timestamp = "2024-04-02T10:00:00Z".parse()?;
    /// engine.ingest(&Event::message("c1", t0, Author::Customer))?;
    /// assert_eq!(engine.at_risk(3600, 10).len(), 1); // the 1 h target is due within the hour
    /// engine.advance_to(t0.add_secs(3601)); // the watermark passes the 1 h deadline
    /// let kinds: Vec<_> = engine.drain_sla_events().map(|e| e.kind).collect();
    /// assert_eq!(kinds, [SlaEventKind::Activate, SlaEventKind::Activate, SlaEventKind::Breach]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn track_sla(&mut self, on: bool) {
        self.tracker = on.then(Box::default);
    }

    /// Takes the SLA events logged so far (R27), in the order they became known.
    pub fn drain_sla_events(&mut self) -> impl Iterator<Item = SlaEvent> + '_ {
        self.tracker.iter_mut().flat_map(|t| t.log.drain(..))
    }

    /// Running SLA instances due within `horizon_s` seconds of now, soonest first, at most
    /// `limit` (R27); now is the watermark, or the latest event when that is later. Empty
    /// unless [`track_sla`](Engine::track_sla) is on. Costs O(limit · log n).
    pub fn at_risk(&self, horizon_s: i64, limit: usize) -> Vec<AtRisk> {
        let Some(tr) = &self.tracker else {
            return Vec::new();
        };
        let now = self.watermark.max(self.latest);
        let until = now.add_secs(horizon_s);
        tr.running
            .iter()
            .take_while(|(d, _, _)| *d <= until)
            .take(limit)
            .filter_map(|(deadline, key, index)| {
                let conv = self.live.get(key.as_bytes())?;
                let i = conv.sla.get(*index as usize)?;
                Some(AtRisk {
                    conversation: key.to_text(),
                    index: *index,
                    policy: self.rules.policies[i.policy as usize].name.clone(),
                    metric: i.metric,
                    threshold_s: i.threshold_s(&self.rules),
                    clock: self.rules.clock_names[i.clock(&self.rules) as usize].clone(),
                    deadline: *deadline,
                    time_left_s: deadline.secs_since(now),
                })
            })
            .collect()
    }

    /// Keep a [`Summary`] of every conversation finalized from now on, to be taken with
    /// [`drain_summaries`](Engine::drain_summaries). Off by default: building summaries costs
    /// allocations the report alone does not need.
    pub fn collect_summaries(&mut self, on: bool) {
        if on {
            self.summaries.get_or_insert_with(Vec::new);
        } else {
            self.summaries = None;
        }
    }

    /// Takes the summaries collected so far, in finalization order.
    pub fn drain_summaries(&mut self) -> impl Iterator<Item = Summary> + '_ {
        self.summaries.iter_mut().flat_map(|v| v.drain(..))
    }

    /// The report over the conversations finalized so far (R37).
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The effective watermark (R38, R43): the caller's minus `allowed_lateness_s`;
    /// [`Timestamp::MIN`] before the first advance.
    pub fn watermark(&self) -> Timestamp {
        self.watermark
    }

    /// Conversations open now (live instances).
    pub fn open_conversations(&self) -> usize {
        self.live.len()
    }

    /// Applies one event (R3–R19, R20–R26).
    ///
    /// # Errors
    /// A rejected event changes no state and is counted in the report's `rejected` (R42):
    /// `invalid` (a CSAT score outside 1–5, an empty conversation id, an `at` outside the years
    /// 0000–9999 of RFC 3339, R1), `late` (older than the watermark, R41), `out_of_order`
    /// (older than its conversation's last event, R3). Checks run in the order invalid →
    /// duplicate → late → out of order (R42).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Config, Engine, Event, Ingested};
    /// let mut engine = Engine::new(Config::default())?;
    /// let e = Event::message("c1", "2024-04-02T10:00:00Z".parse()?, Author::Customer).with_id("m1");
    /// assert_eq!(engine.ingest(&e)?, Ingested::Applied);
    /// assert_eq!(engine.ingest(&e)?, Ingested::Duplicate); // R4
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest(&mut self, event: &Event<'_>) -> Result<Ingested> {
        self.ingest_unrecorded(event).map_err(|e| self.reject(e))
    }

    /// [`Engine::ingest`] on each of `events` in order, with the same outcomes, each handed to
    /// `each` with the event's index. Faster than a loop over `ingest` when many conversations
    /// are open: the state of 32 events' conversations is loaded together, so that their
    /// cache misses overlap instead of each event waiting for its own.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Config, Engine, Event, Ingested};
    /// let mut engine = Engine::new(Config::default())?;
    /// let at = "2024-04-02T10:00:00Z".parse()?;
    /// let e = Event::message("c1", at, Author::Customer).with_id("m1");
    /// let mut outcomes = Vec::new();
    /// engine.ingest_many(&[e.clone(), e, Event::message("", at, Author::Agent)], |i, r| {
    ///     outcomes.push((i, r.map_err(|e| e.code())))
    /// });
    /// assert_eq!(
    ///     outcomes,
    ///     [(0, Ok(Ingested::Applied)), (1, Ok(Ingested::Duplicate)), (2, Err("invalid"))]
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest_many(&mut self, events: &[Event<'_>], mut each: impl FnMut(usize, Result<Ingested>)) {
        for (g, group) in events.chunks(crate::jsonl::BATCH).enumerate() {
            let mut hashes = [0; crate::jsonl::BATCH];
            for (h, e) in hashes.iter_mut().zip(group) {
                *h = table::hash(e.conversation.as_bytes());
            }
            let hashes = &hashes[..group.len()];
            if self.worth_warming() {
                self.warm(hashes.iter().copied());
            }
            for (i, (e, &h)) in group.iter().zip(hashes).enumerate() {
                let result = self.ingest_hashed(e, h).map_err(|e| self.reject(e));
                each(g * crate::jsonl::BATCH + i, result);
            }
        }
    }

    /// Counts a rejection in the report and hands the error back (R42).
    pub(crate) fn reject(&mut self, err: Error) -> Error {
        self.report.count_rejection(&err);
        err
    }

    pub(crate) fn ingest_unrecorded(&mut self, ev: &Event<'_>) -> Result<Ingested> {
        self.ingest_hashed(ev, table::hash(ev.conversation.as_bytes()))
    }

    /// [`ingest_unrecorded`](Engine::ingest_unrecorded) of an event whose conversation id has
    /// the [`table::hash`] `h`.
    ///
    /// In line, with the reorder buffer's work in a call of its own: every event passes here,
    /// and as one function with that work it spent 25 instructions an event saving registers.
    #[inline]
    pub(crate) fn ingest_hashed(&mut self, ev: &Event<'_>, h: u64) -> Result<Ingested> {
        if let Some(r) = &mut self.reorder {
            if ev.at >= self.watermark {
                return r.hold(ev, &mut self.latest);
            }
        }
        self.apply_event(ev, h)
    }

    /// Applies held events older than `before`, in time order (then arrival order).
    fn release(&mut self, before: Option<Timestamp>) {
        let Some(r) = self.reorder.as_mut() else { return };
        let mut ready = Vec::new();
        while let Some(Reverse((at, _, _))) = r.held.peek() {
            if before.is_some_and(|b| *at >= b) {
                break;
            }
            if let Some(Reverse((_, _, Held(e)))) = r.held.pop() {
                ready.push(e);
            }
        }
        for e in ready {
            // Held events were checked on arrival and come in time order: only duplicates and
            // events after finalization remain possible, and those are outcomes, not errors.
            if let Err(err) = self.apply_event(&e, table::hash(e.conversation.as_bytes())) {
                self.report.count_rejection(&err);
            }
        }
    }

    /// Loads the state of the open conversations filed under `hashes` ([`OpenTable::warm`]).
    pub(crate) fn warm(&self, hashes: impl Iterator<Item = u64>) {
        self.live.warm(hashes);
    }

    /// Whether enough conversations are open for [`Engine::warm`] to pay.
    #[inline]
    pub(crate) fn worth_warming(&self) -> bool {
        self.live.worth_warming()
    }

    /// Applies an event whose conversation id has the [`table::hash`] `h`: one hash of the id
    /// serves the lookup, the timer and the removal or insertion.
    ///
    /// In line in each of its few callers (`ingest_many`, `ingest`, the JSON Lines batches,
    /// the reorder buffer's release), so that a loop over events saves and restores registers
    /// once, not per event: 1.5 % fewer instructions in typed ingest, for 14 KB more code.
    #[inline(always)]
    fn apply_event(&mut self, ev: &Event<'_>, h: u64) -> Result<Ingested> {
        crate::event::check(ev)?;
        let t = ev.at;
        let key = ev.conversation.as_bytes();
        if let Some(i) = self.live.position(key, h) {
            let conv = self.live.at_mut(i);
            if let Some((due, by)) = conv.due_before(t, &self.rules) {
                // The instance ended before this event (R39): finalize it first, then judge
                // the event as one after finalization, whatever the watermark says (R21).
                let memory = self.finalize(h, i, due, by);
                return self.after_final(ev, h, memory);
            }
            let id = ev.id.as_deref().map(id_hash);
            if let Some(id) = id {
                if conv.seen_id(id) {
                    self.report.count_duplicate();
                    return Ok(Ingested::Duplicate);
                }
            }
            if t < self.watermark {
                return Err(Error::late(&ev.conversation, ev.id.as_deref(), t, self.watermark));
            }
            if t < conv.last_at() {
                return Err(Error::out_of_order(
                    &ev.conversation,
                    ev.id.as_deref(),
                    t,
                    conv.last_at(),
                ));
            }
            if let Some(tr) = &mut self.tracker {
                // Breaches proven by this event are logged before what the event itself does
                // (an exclusion then cancels them, R26).
                tr.snapshot(&conv.sla);
                conv.advance_to_event(t);
                tr.record(&Key::new(&ev.conversation), conv, t, &self.rules);
                tr.snapshot(&conv.sla);
            } else {
                conv.advance_to_event(t);
            }
            if let Some(id) = id {
                conv.remember_id(id, &mut self.spares);
            }
            let applied = conv.apply(&ev.kind, t, false, &self.rules, &mut self.names, &mut self.spares);
            self.latest = self.latest.max(t);
            if let Some(tr) = &mut self.tracker {
                tr.record(&Key::new(&ev.conversation), conv, t, &self.rules);
            }
            match applied {
                Applied::Finalize(by) => {
                    self.finalize(h, i, t, by);
                }
                // Most events only move the due later: the pending timer stays the first
                // (2.5 % fewer instructions an event than checking it after every event).
                Applied::Continue if conv.due_may_be_earlier() => {
                    arm_timer(&mut self.timers, conv, &self.rules, h);
                }
                Applied::Continue => debug_assert!(
                    conv.timer_due() <= conv.held_due(&self.rules),
                    "no timer pending before the due"
                ),
            }
            return Ok(Ingested::Applied);
        }
        match self.finalized.get(key).copied() {
            Some(memory) => self.after_final(ev, h, memory),
            None => {
                if t < self.watermark {
                    return Err(Error::late(&ev.conversation, ev.id.as_deref(), t, self.watermark));
                }
                self.start_instance(ev, h, 1);
                Ok(Ingested::Applied)
            }
        }
    }

    /// R6: an event for a finalized id. A customer's public message starts a follow-up; any
    /// other event is counted and ignored; past the id memory, the id is new.
    /// `h` is the id's [`table::hash`].
    fn after_final(&mut self, ev: &Event<'_>, h: u64, memory: Memory) -> Result<Ingested> {
        let t = ev.at;
        let key: &str = &ev.conversation;
        if t < self.watermark {
            return Err(Error::late(key, ev.id.as_deref(), t, self.watermark));
        }
        let remembered = t <= memory.finalized_at().add_secs(self.rules.reopen_window_s);
        if remembered && t < memory.last_at() {
            return Err(Error::out_of_order(key, ev.id.as_deref(), t, memory.last_at()));
        }
        let customer_public = matches!(
            ev.kind,
            EventKind::Message {
                author: Author::Customer,
                visibility: Visibility::Public,
                ..
            }
        );
        if !remembered || customer_public {
            self.finalized.remove(key.as_bytes());
            self.start_instance(ev, h, if remembered { memory.instance + 1 } else { 1 });
            Ok(Ingested::Applied)
        } else {
            self.report.count_ignored();
            self.latest = self.latest.max(t);
            if let Some(m) = self.finalized.get_mut(key.as_bytes()) {
                m.set_last_at(t);
            }
            Ok(Ingested::IgnoredAfterFinal)
        }
    }

    /// R2: the first event of an id (or of a follow-up) creates an instance; `h` is the id's
    /// [`table::hash`].
    fn start_instance(&mut self, ev: &Event<'_>, h: u64, instance: u32) {
        let t = ev.at;
        let mut conv = Conversation::new(t, instance);
        if let Some(id) = ev.id.as_deref() {
            conv.remember_id(id_hash(id), &mut self.spares);
        }
        let applied = conv.apply(&ev.kind, t, true, &self.rules, &mut self.names, &mut self.spares);
        self.latest = self.latest.max(t);
        let key = Key::new(&ev.conversation);
        if let Some(tr) = &mut self.tracker {
            tr.snapshot(&[]);
            tr.record(&key, &conv, t, &self.rules);
        }
        match applied {
            Applied::Finalize(by) => {
                self.finalize_conversation(key, &mut conv, t, by);
            }
            Applied::Continue => {
                arm_timer(&mut self.timers, &mut conv, &self.rules, h);
                self.live.insert(key, h, conv);
            }
        }
    }

    /// Finalizes the live instance at position `i`, filed under hash `h`, at `at` (R39). In
    /// line: as a call, `apply_event` around it ran 7 more instructions an event.
    #[inline(always)]
    fn finalize(&mut self, h: u64, i: u32, at: Timestamp, by: FinalizedBy) -> Memory {
        let Open { key, mut conv } = self.live.remove_at(h, i);
        self.finalize_conversation(key, &mut conv, at, by)
    }

    /// Status time and SLA outcomes as of `at`, the report and summary, then frees the state,
    /// keeping only the id memory of R6 (R40).
    fn finalize_conversation(
        &mut self,
        key: Key,
        conv: &mut Conversation,
        at: Timestamp,
        by: FinalizedBy,
    ) -> Memory {
        let memory = self.conclude(&key, conv, at, by);
        conv.trail.release(&mut self.spares);
        self.finalized.insert(key, memory);
        memory
    }

    /// [`finalize_conversation`](Engine::finalize_conversation) without the id memory: for
    /// an engine that takes no further event.
    fn conclude(&mut self, key: &Key, conv: &mut Conversation, at: Timestamp, by: FinalizedBy) -> Memory {
        if let Some(tr) = &mut self.tracker {
            tr.snapshot(&conv.sla);
        }
        conv.accrue_until(at, &self.rules);
        conv.finalize_sla(at, &self.rules);
        if let Some(tr) = &mut self.tracker {
            tr.record(key, conv, at, &self.rules);
        }
        self.report.add(conv, &self.rules, &self.names);
        if let Some(out) = &mut self.summaries {
            out.push(Summary::build(
                key.to_text(),
                conv,
                at,
                by,
                &self.rules,
                &self.names,
            ));
        }
        Memory::new(conv.instance(), conv.last_at(), at)
    }

    /// Advances the watermark (R38): the caller promises no event older than `t` will come.
    /// Conversations whose finalization instant lies before `t` are finalized. An older
    /// watermark is a no-op. Costs O((finalized + 1) · log n).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Config, Engine, Event};
    /// let mut engine = Engine::new(Config::default())?;
    /// let t0: sla_metrics::Timestamp = "2024-04-02T10:00:00Z".parse()?;
    /// engine.ingest(&Event::message("c1", t0, Author::Customer))?;
    /// engine.advance_to(t0.add_secs(31 * 86_400)); // past the 30-day idle timeout (R39)
    /// assert_eq!(engine.open_conversations(), 0);
    /// assert_eq!(engine.report().conversations().total, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn advance_to(&mut self, t: Timestamp) {
        let t = match self.reorder.as_mut() {
            Some(r) => {
                if t <= r.watermark {
                    return;
                }
                r.watermark = t;
                let effective = t.add_secs(-r.lateness);
                self.release(Some(effective));
                effective
            }
            None => t,
        };
        if t <= self.watermark {
            return;
        }
        self.watermark = t;
        while let Some((due, h)) = self.timers.pop_before(t) {
            let Some(i) = self.live.position_by_hash(h, |c| c.timer_due() == due) else {
                continue; // stale
            };
            let conv = self.live.at_mut(i);
            let (now_due, by) = conv.due(&self.rules);
            if now_due < t {
                let Open { key, mut conv } = self.live.remove_at(h, i);
                self.finalize_conversation(key, &mut conv, now_due, by);
            } else {
                let now_due = conv.set_timer_due(now_due);
                self.timers.push(now_due, h);
            }
        }
        self.breach_due(t);
        if self.finalized.len() > self.sweep_at {
            self.sweep_memories();
        }
        // R40: give memory back after a spike.
        self.live.right_size();
        self.timers.right_size();
        self.spares.right_size(self.live.len());
    }

    /// R21 live: every running instance whose deadline the watermark `t` has passed is breached
    /// now, from the front of the deadline index. Runs after finalization, so a conversation
    /// that ended before a deadline keeps its instance active (R38).
    fn breach_due(&mut self, t: Timestamp) {
        let Some(tr) = self.tracker.as_deref_mut() else {
            return;
        };
        while let Some((deadline, key, _)) = tr.running.first().cloned() {
            if deadline >= t {
                break;
            }
            let Some(conv) = self.live.get_mut(key.as_bytes()) else {
                tr.running.pop_first(); // cannot happen: finalization removes its entries
                continue;
            };
            tr.snapshot(&conv.sla);
            conv.advance(t);
            tr.record(&key, conv, t, &self.rules);
        }
    }

    /// Frees id memories whose reopen window has passed (R6, R40). The next sweep comes once
    /// the table has grown by a quarter: amortized five entry checks per id, and a table that
    /// grows by at most a quarter between sweeps, so memory stays flat on a long stream.
    fn sweep_memories(&mut self) {
        let horizon = self.watermark;
        let window = self.rules.reopen_window_s;
        self.finalized
            .retain(|_, m| m.finalized_at().add_secs(window) >= horizon);
        self.sweep_at = (self.finalized.len() * 5 / 4).max(1024);
        right_size(&mut self.finalized);
    }

    /// Finalizes everything at the finish instant, the later of the watermark and the latest
    /// event seen (R38), and returns the report.
    pub fn finish(&mut self) -> Report {
        self.release(None);
        let at = self.watermark.max(self.latest);
        self.finish_at(at)
    }

    /// Finalizes everything at `at` (never earlier than this engine's watermark and latest
    /// event): a sharded runner passes the whole stream's finish instant to every shard so the
    /// merged report equals the single-engine one (R36, R38). Instances whose deadline lies
    /// before their finalization instant are breached, the others stay active.
    pub fn finish_at(&mut self, at: Timestamp) -> Report {
        self.finish_open(at, true)
    }

    /// [`finish_at`](Engine::finish_at) for an engine that takes no further event (the JSON
    /// Lines runners): the same report and summaries, without storing the id memory of R6
    /// for every conversation it finalizes.
    pub(crate) fn finish_at_and_forget(&mut self, at: Timestamp) -> Report {
        self.finish_open(at, false)
    }

    fn finish_open(&mut self, at: Timestamp, remember: bool) -> Report {
        self.release(None);
        let fin = at.max(self.watermark).max(self.latest);
        // A deterministic order for the summaries, whatever the table's layout: by creation,
        // then by id.
        let mut live = std::mem::take(&mut self.live);
        if remember {
            self.finalized.reserve(live.len());
        }
        live.drain_ranked(Conversation::created_at, |key, conv| {
            let (due, by) = conv.due(&self.rules);
            let (at, by) = if due <= fin {
                (due, by)
            } else {
                (fin, FinalizedBy::Finish)
            };
            if remember {
                self.finalize_conversation(key, conv, at, by);
            } else {
                self.conclude(&key, conv, at, by);
            }
        });
        self.timers.clear();
        // R40: no conversation is open; what the ended ones gave back is not kept.
        self.spares.right_size(0);
        self.watermark = fin;
        self.report.clone()
    }

    /// An estimate of the engine's memory (R40), for capacity planning and the ≤ 256 bytes per
    /// open conversation budget. Walks the open conversations: O(open).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Config, Engine, Event};
    /// let mut engine = Engine::new(Config::default())?;
    /// engine.ingest(&Event::message("c1", "2024-04-02T10:00:00Z".parse()?, Author::Customer))?;
    /// let m = engine.memory();
    /// assert_eq!(m.open_conversations, 1);
    /// assert!(m.bytes_per_open_conversation() > 0.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn memory(&self) -> MemoryUsage {
        use std::mem::size_of;
        let entry = OpenTable::SLOT_BYTES;
        let open_state_bytes = self
            .live
            .iter()
            .map(|o| entry + size_of::<Open>() + o.key.heap_len() + o.conv.heap_bytes())
            .sum();
        let open = self.live.len();
        MemoryUsage {
            open_conversations: open,
            open_state_bytes,
            id_memories: self.finalized.len(),
            table_bytes: self.live.spare_bytes()
                + self.finalized.capacity() * (size_of::<(Key, Memory)>() + 1)
                + self.timers.bytes()
                + self.spares.bytes(),
        }
    }

    /// The engine's whole state, in a compact, versioned binary form with a checksum: open
    /// conversations and their SLA instances, remembered ids (R6), the reorder buffer, the
    /// watermark and the report so far (R36). [`Engine::restore`] with the same configuration
    /// continues exactly where this engine stands: the same summaries and report as a run that
    /// was never interrupted. The same state always gives the same bytes. Costs O(n log n) in
    /// the open conversations (they are written in id order).
    ///
    /// # Errors
    /// [`ErrorKind::Encoding`](crate::ErrorKind::Encoding) when summaries or SLA events are
    /// waiting to be drained: take them first, so none is lost or delivered twice.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Config, Engine, Event};
    /// let t0: sla_metrics::Timestamp = "2024-04-02T10:00:00Z".parse()?;
    /// let mut engine = Engine::new(Config::default())?;
    /// engine.ingest(&Event::message("c1", t0, Author::Customer))?;
    /// let saved = engine.checkpoint()?;
    ///
    /// let mut resumed = Engine::restore(Config::default(), &saved)?;
    /// resumed.ingest(&Event::message("c1", t0.add_secs(600), Author::Agent))?;
    /// let report = resumed.finish();
    /// assert_eq!(report.sla()[0].met, 1); // replied within 1 h, across the restart
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn checkpoint(&self) -> Result<Vec<u8>> {
        let pending_summaries = self.summaries.as_ref().map_or(0, Vec::len);
        let pending_events = self.tracker.as_ref().map_or(0, |t| t.log.len());
        if pending_summaries + pending_events > 0 {
            return Err(Error::encoding(format!(
                "cannot checkpoint with {pending_summaries} summaries and {pending_events} SLA events \
                 not yet drained"
            )));
        }
        let mut w = Writer::new(&CHECKPOINT);
        w.u64(self.rules.fingerprint());
        w.bool(self.summaries.is_some());
        w.bool(self.tracker.is_some());
        w.ts(self.watermark);
        w.ts(self.latest);
        w.u64(self.sweep_at as u64);
        for interner in self.names.all() {
            w.u64(interner.names().len() as u64);
            interner.names().iter().for_each(|n| w.str(n));
        }
        w.bytes(&self.report.to_bytes());
        let mut live: Vec<&Open> = self.live.iter().collect();
        live.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        w.u64(live.len() as u64);
        for open in live {
            w.bytes(open.key.as_bytes());
            crate::conversation::encode::write(&open.conv, &self.rules, &mut w);
        }
        let mut finalized: Vec<_> = self.finalized.iter().collect();
        finalized.sort_unstable_by(|a, b| a.0.cmp(b.0));
        w.u64(finalized.len() as u64);
        for (key, m) in finalized {
            w.bytes(key.as_bytes());
            w.u32(m.instance);
            w.ts(m.last_at());
            w.ts(m.finalized_at());
        }
        w.bool(self.reorder.is_some());
        if let Some(r) = &self.reorder {
            w.ts(r.watermark);
            w.u64(r.arrivals);
            let mut held: Vec<_> = r.held.iter().map(|Reverse(h)| h).collect();
            held.sort_unstable_by_key(|(at, arrival, _)| (*at, *arrival));
            w.u64(held.len() as u64);
            for (at, arrival, Held(event)) in held {
                w.ts(*at);
                w.u64(*arrival);
                w.str(&event.to_json());
            }
        }
        Ok(w.seal())
    }

    /// An engine resumed from [`Engine::checkpoint`] bytes, under the configuration the
    /// checkpoint was made with.
    ///
    /// # Errors
    /// [`ErrorKind::Encoding`](crate::ErrorKind::Encoding): the bytes are not a checkpoint,
    /// are truncated or corrupt (checksum), come from another format version, or were made
    /// under another configuration; [`ErrorKind::Config`](crate::ErrorKind::Config): the
    /// configuration is invalid.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Config, Engine, ErrorKind};
    /// let saved = Engine::new(Config::default())?.checkpoint()?;
    /// assert!(Engine::restore(Config::default(), &saved).is_ok());
    /// let mut corrupt = saved.clone();
    /// corrupt[20] ^= 1;
    /// let err = Engine::restore(Config::default(), &corrupt).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Encoding { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn restore(config: Config, checkpoint: &[u8]) -> Result<Engine> {
        let mut e = Engine::new(config)?;
        let mut r = Reader::sealed(checkpoint, &CHECKPOINT)?;
        if r.u64()? != e.rules.fingerprint() {
            return Err(Error::encoding(
                "the checkpoint was made under another configuration (policies, schedules or options differ)",
            ));
        }
        e.collect_summaries(r.bool()?);
        e.track_sla(r.bool()?);
        e.watermark = r.ts()?;
        e.latest = r.ts()?;
        e.sweep_at = usize::try_from(r.u64()?).unwrap_or(usize::MAX);
        for interner in e.names.all_mut() {
            let n = r.len()?;
            let names = (0..n).map(|_| r.str()).collect::<Result<Vec<_>>>()?;
            interner.restore(names)?;
        }
        e.report.merge(&Report::from_bytes(r.bytes()?)?)?;
        let n = r.len()?;
        e.live.reserve(n);
        for _ in 0..n {
            let key = read_key(&mut r)?;
            let conv = crate::conversation::encode::read(&mut r, &e.rules, &e.names, &mut e.spares)?;
            let h = table::hash(key.as_bytes());
            e.timers.push(conv.timer_due(), h);
            if let Some(tr) = &mut e.tracker {
                for (index, i) in conv.sla.iter().enumerate() {
                    if i.state == crate::sla::State::Running {
                        tr.running.insert((i.deadline(), key.clone(), index as u32));
                    }
                }
            }
            if !e.live.insert(key, h, conv) {
                return Err(Error::encoding("a conversation appears twice"));
            }
        }
        let n = r.len()?;
        e.finalized.reserve(n);
        for _ in 0..n {
            let key = read_key(&mut r)?;
            let memory = Memory::new(r.u32()?, r.ts()?, r.ts()?);
            if e.live.contains(key.as_bytes()) || e.finalized.insert(key, memory).is_some() {
                return Err(Error::encoding("a finalized conversation appears twice"));
            }
        }
        if r.bool()? != e.reorder.is_some() {
            return Err(Error::encoding("reorder buffer does not match the configuration"));
        }
        if let Some(reorder) = &mut e.reorder {
            reorder.watermark = r.ts()?;
            reorder.arrivals = r.u64()?;
            let n = r.len()?;
            for _ in 0..n {
                let at = r.ts()?;
                let arrival = r.u64()?;
                let line = r.str()?;
                let event = match crate::jsonl::parse_line(line.as_bytes())? {
                    Some(crate::jsonl::Record::Event(ev)) if ev.at == at => ev.into_owned(),
                    _ => return Err(Error::encoding("a held event does not decode")),
                };
                reorder.held.push(Reverse((at, arrival, Held(event))));
            }
        }
        r.finish()?;
        Ok(e)
    }

    /// The latest accepted event instant; [`Timestamp::MIN`] before any.
    pub fn latest_event(&self) -> Timestamp {
        self.latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Author, Event};

    /// R6, R40: a remembered id costs its 24-byte id and 16 bytes of memory in the table, as
    /// `Engine::memory` counts it (and a control byte).
    #[test]
    fn r40_an_id_memory_entry_takes_40_bytes() {
        assert_eq!(std::mem::size_of::<(Key, Memory)>(), 40);
    }

    /// R6: the memory keeps the last event's instant exactly over R1's range; a finalization
    /// instant beyond what it keeps exactly (a far `finish`) reads back as the end of time,
    /// which, like the exact instant, every accepted event precedes.
    #[test]
    fn r6_a_far_finalization_instant_is_remembered_as_the_end_of_time() {
        let first_accepted: Timestamp = "0000-01-01T00:00:00Z".parse().unwrap();
        let last_accepted: Timestamp = "9999-12-31T23:59:59Z".parse().unwrap();
        let far = Timestamp::from_unix(1 << 45);
        for last in [first_accepted, last_accepted] {
            let m = Memory::new(1, last, far);
            assert_eq!(m.last_at(), last);
            assert_eq!(m.finalized_at(), Timestamp::MAX);
            assert!(last_accepted <= m.finalized_at());
        }
    }

    /// Two different 16-byte ASCII ids the table files under the same hash. FxHash of a
    /// 16-byte id is `add(16)`, `add(w1)`, `add(w2)`: for any first words, a second word of the
    /// other id cancels the difference; the search tries first words until that second word is
    /// printable ASCII too.
    fn colliding_ids() -> (String, String) {
        // FxHash's state after the length and the first word (its seed, as in `intern`).
        const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let add = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(SEED);
        let rotated = |w1: u64| add(add(0, 16), w1).rotate_left(5);
        let printable = |w: u64| w.to_le_bytes().iter().all(|b| (0x21..0x7f).contains(b));
        let w1 = u64::from_le_bytes(*b"conversa");
        let w2 = u64::from_le_bytes(*b"tion-one");
        for k in 0u64.. {
            // The low bytes vary: a product's low bits depend on its factors' low bits only.
            let mut first = *b"000000ot";
            for (d, digit) in first[..6].iter_mut().enumerate() {
                *digit = b'0' + (k / 10u64.pow(d as u32) % 10) as u8;
            }
            let w1b = u64::from_le_bytes(first);
            let w2b = w2 ^ rotated(w1) ^ rotated(w1b);
            if printable(w2b) {
                let id = |a: u64, b: u64| {
                    let bytes: Vec<u8> = a.to_le_bytes().into_iter().chain(b.to_le_bytes()).collect();
                    String::from_utf8(bytes).expect("ascii")
                };
                return (id(w1, w2), id(w1b, w2b));
            }
            assert!(
                k < 1_000_000,
                "no printable collision among a million first words"
            );
        }
        unreachable!()
    }

    /// R39: finalization timers name conversations by the hash of their id. Two open
    /// conversations with the same hash and the same due are both finalized, each once, and
    /// one that was re-armed by a later event is not finalized early.
    #[test]
    fn r39_conversations_sharing_a_hash_keep_their_own_timers() {
        let (a, b) = colliding_ids();
        assert_ne!(a, b);
        assert_eq!(table::hash(a.as_bytes()), table::hash(b.as_bytes()));
        let t0: Timestamp = "2024-04-02T10:00:00Z".parse().unwrap();
        let idle = Config::default().idle_timeout_s;
        for later in [false, true] {
            let mut e = Engine::new(Config::default()).unwrap();
            e.collect_summaries(true);
            e.ingest(&Event::message(&a, t0, Author::Customer)).unwrap();
            e.ingest(&Event::message(&b, t0, Author::Customer)).unwrap();
            if later {
                e.ingest(&Event::message(&b, t0.add_secs(3600), Author::Agent))
                    .unwrap();
            }
            e.advance_to(t0.add_secs(idle + 1));
            let done: Vec<_> = e.drain_summaries().map(|s| s.conversation).collect();
            let mut done = done;
            done.sort();
            let mut expected = if later {
                vec![a.clone()]
            } else {
                vec![a.clone(), b.clone()]
            };
            expected.sort();
            assert_eq!(done, expected, "later = {later}");
            assert_eq!(e.open_conversations(), usize::from(later));
            e.advance_to(t0.add_secs(3600 + idle + 1));
            assert_eq!(e.drain_summaries().count(), usize::from(later));
            assert_eq!(e.open_conversations(), 0);
        }
    }
}
