//! A deterministic, seeded synthetic workload: a realistic live stream of helpdesk events for
//! demos, benchmarks and property tests (SPEC §1 event model).
//!
//! Everything is derived from the seed with a private SplitMix64 generator: the arrival process
//! has its own stream and every conversation's script has its own stream (keyed by seed and
//! conversation number). Only basic IEEE-754 arithmetic and square roots are used (the
//! logarithm and exponential are computed here, not by the platform's math library), so the
//! output is identical byte for byte on every platform and run.

use crate::{Author, Event, EventKind, ExcludeReason, Priority, Status, Timestamp, Visibility};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::io;

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
/// SPEC R39's default `reopen_window` (28 days): long-gap follow-ups start after it.
const REOPEN_WINDOW: i64 = 28 * DAY;

/// 2024-04-01T00:00:00Z, a Monday.
const DEFAULT_START: i64 = 1_711_929_600;
const DEFAULT_RATE: f64 = 2_000.0;
const DEFAULT_SPIKE_PROBABILITY: f64 = 0.2;

/// A deterministic synthetic helpdesk workload: `conversations` conversations arriving from
/// `start`, streamed as [`Event`]s in non-decreasing time order.
///
/// Same fields → same events, byte for byte, on every platform. Build one with
/// [`Workload::new`] and adjust the public fields (or use the `with_*` helpers).
///
/// # Arrivals
/// A non-homogeneous Poisson process, piecewise constant per UTC hour, with mean
/// [`rate_per_hour`](Workload::rate_per_hour) (default 2,000/h) over a week without spikes:
/// - daily profile (hour of day in UTC): quiet nights (≈ 0.38× the mean at 03:00), busy
///   afternoons (≈ 1.6× at 15:00);
/// - weekends: Saturday 0.6×, Sunday 0.5× a weekday (weekdays ≈ 1.15×);
/// - promotion spikes: each day, with [`spike_probability`](Workload::spike_probability)
///   (default 0.2), one spike starting between 08:00 and 18:00, lasting 2–4 whole hours at
///   2–3× the volume.
///
/// [`rate_at`](Workload::rate_at) gives the expected arrivals per hour at any instant.
///
/// # Conversations ([`Mix::Realistic`]; [`Mix::Varied`] raises every rare behaviour)
/// Conversation `n` (in arrival order) has id `c<n>` (`c1`, `c2`, …); every event gets a unique
/// `id` `e<k>` in stream order. Events at the same second come in conversation order, and in
/// script order within a conversation (an agent reply and a `pending` may share a second).
///
/// Channels: email 30 %, chat 22 %, whatsapp 18 %, messenger 12 %, instagram 10 %, twitter 8 %
/// (on the first message; an `attributes` event at the same second carries the brand, in half
/// the cases the channel again, and tags in 15 %). Brands: acme 40 %, globex 25 %,
/// initech 15 %, umbrella 12 %, hooli 8 %. Priorities (a `priority` event at triage when not
/// normal, plus 5 % explicit normal): normal 72 %, high 14 %, low 10 %, urgent 4 %; 4 % are
/// escalated one level later. Teams `billing`, `general`, `technical`, `vip`, 10 agents each
/// (`agent-01` … `agent-40`), assigned by an `assign` event at triage (10 s–30 min after the
/// first message, 5 s–2 min after a handoff): agent and team 75 %, agent only 15 %, team only
/// 10 %; 6 % are reassigned later, 8 % of replies come from another agent, 3 % are re-tagged.
///
/// Archetypes: standard 89.1 %; agent-initiated outreach 3 % (the customer answers 60 %, served
/// as usual; else half are solved 3–7 days later, half left); left open and idle 3.5 % (half
/// never get a reply, the others get one and, in 30 %, a customer answer, then nothing); solved
/// without a public reply 2 %; spam 1.5 % (excluded 30 s–1 h after creation); merged 0.6 % and
/// deleted 0.3 % (excluded 10 min–4 h after triage).
///
/// Behaviours of customer-initiated conversations:
/// - bot first touch: 45 % on chat, messenger, whatsapp and instagram, 5 % on email and twitter
///   (bot message 2–10 s after the customer); the bot solves 30 % of them (15 % of those are
///   reopened later, then handed off), the rest get a `handoff` 1–10 min later;
/// - automation auto-acknowledgement (when no bot): email 75 %, other channels 10 %;
/// - internal notes before a reply: 12 % per reply;
/// - reply times: log-normal (σ = 1.2), median 5 min (urgent), 15 min (high), 40 min (normal),
///   2 h (low), next replies 0.6× that; 3 % of replies are forgotten for 22–80 h (24 h breaches);
///   a reply that would land between 22:00 and 07:00 UTC is pushed to 07:00–09:00 in 60 % of
///   cases;
/// - after a reply: pending 22 % (the customer answers 75 %, log-normal median 2× their usual
///   delay, and 30 % of those add an explicit `open`; the others are solved 2–5 days later),
///   on hold 5 % (2 h–3 days, then `open`), another customer turn 40 % (× 0.8 after each, up
///   to 8; customer delay median 3 min on chat-like channels, 3 h on email and twitter; 20 %
///   send two messages in a row), else solved (55 % the same second as the reply, else within
///   15 min); 2 % are closed instead of solved;
/// - after the final solve: "thanks" reopen 6 % (customer message 1–30 min after the solve, then
///   re-solved without a reply in 70 %), real reopen 5 % (1 h–10 days later, served again),
///   at most two reopens; CSAT 20 % (30 min–3 days after; scores 5: 55 %, 4: 20 %, 3: 10 %,
///   2: 6 %, 1: 9 %); closed 30 % (1–4 days after); long-gap follow-up 2 % (a customer message
///   29–50 days after the final solve, so after the 28-day reopen window: a new instance, R6).
///
/// On average a conversation has 9.3 events (9.6 with [`Mix::Varied`]). The stream is lazy:
/// a conversation's script is generated when it arrives and its events wait in per-hour buckets,
/// so memory is proportional to the conversations still open in simulated time (tens of MB at
/// the default rate, whatever `conversations` is).
///
/// # Example
/// ```
/// use sla_metrics::{Mix, Workload};
/// let mut w = Workload::new(7, 50);
/// w.mix = Mix::Varied;
/// let events: Vec<_> = w.events().collect();
/// assert!(events.windows(2).all(|p| p[0].at <= p[1].at));
/// assert_eq!(events.iter().filter(|e| e.id.as_deref().is_some()).count(), events.len());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Workload {
    /// The seed of every random choice.
    pub seed: u64,
    /// How many conversations arrive (follow-up instances reuse an id and are not counted).
    pub conversations: u64,
    /// The first possible arrival (default 2024-04-01T00:00:00Z, a Monday).
    pub start: Timestamp,
    /// Mean arrivals per hour over a week without spikes (default 2,000). A non-positive or
    /// non-finite value means the default.
    pub rate_per_hour: f64,
    /// Probability that a day has a promotion spike (default 0.2; clamped to 0–1).
    pub spike_probability: f64,
    /// The behaviour mix (default [`Mix::Realistic`]).
    pub mix: Mix,
    /// Probability that an event is delivered twice in a row, same `id` (default 0: no
    /// duplicates; clamped to 0–1). Drawn from its own random stream: removing the duplicates
    /// gives the stream generated with 0.
    pub duplicate_rate: f64,
}

/// How often the behaviours of [`Workload`] occur.
///
/// # Example
/// ```
/// use sla_metrics::{Mix, Workload};
/// let w = Workload::new(1, 10);
/// assert_eq!(w.mix, Mix::Realistic);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Mix {
    /// The probabilities documented on [`Workload`]: realistic volumes for reports and
    /// benchmarks.
    #[default]
    Realistic,
    /// Every archetype equally likely (1/7 each: standard, outreach, left open, solved without
    /// reply, spam, merged, deleted) and every rare behaviour frequent: bots 50 % on every
    /// channel (40 % of them bot-solved, half of those reopened), auto-acknowledgements 50 %,
    /// internal notes 30 %, reassignment and escalation 30 %, forgotten replies 15 %, pending 35 %,
    /// on hold 20 %, closed instead of solved 10 %, "thanks" and real reopens 20 % each, CSAT 50 %,
    /// closed after solve 40 %, follow-ups 20 %. Plus boundary timings: 10 % of replies come
    /// exactly 0 s, 1 h, 1 h + 1 s, 24 h or 24 h + 1 s after the customer's wait started (at once
    /// if that instant has passed), and a quarter of follow-ups come exactly at the 28-day reopen
    /// window (still a reopen, R43) or one second after it. Small streams then exercise every
    /// path: `Workload::new(seed, 50).with_mix(Mix::Varied)` has all behaviours, for property
    /// tests.
    Varied,
}

/// The stream of a [`Workload`]: an iterator of owned events in non-decreasing `at` order.
///
/// # Example
/// ```
/// use sla_metrics::Workload;
/// let mut events = Workload::new(3, 5).events();
/// let first = events.next().unwrap();
/// assert_eq!(first.conversation, "c1");
/// assert_eq!(first.id.as_deref(), Some("e1"));
/// ```
#[derive(Debug)]
pub struct Events {
    probs: &'static Probs,
    seed: u64,
    duplicate_rate: f64,
    arrivals: Arrivals,
    /// Scheduled steps by UTC hour, from `hour` on: every future step of every live
    /// conversation (memory is bounded by the open conversations).
    buckets: VecDeque<Vec<Item>>,
    /// The hour of `buckets[0]` and `current`.
    hour: i64,
    /// Steps scheduled in `buckets`.
    scheduled: usize,
    /// The current hour's steps, sorted, and the next one to emit.
    current: Vec<Item>,
    position: usize,
    scratch: Vec<Step>,
    next_event: u64,
    dup_rng: Rng,
    dup: Option<Event<'static>>,
}

impl Default for Workload {
    fn default() -> Workload {
        Workload::new(0, 0)
    }
}

impl Workload {
    /// The six channel names, in the order of their weights (email, chat, whatsapp, messenger,
    /// instagram, twitter).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Workload;
    /// assert!(Workload::CHANNELS.contains(&"whatsapp"));
    /// ```
    pub const CHANNELS: [&'static str; 6] = CHANNELS;

    /// The brand names.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Workload;
    /// assert_eq!(Workload::BRANDS[0], "acme");
    /// ```
    pub const BRANDS: [&'static str; 5] = BRANDS;

    /// A workload of `conversations` conversations from `seed`, with the defaults: start
    /// 2024-04-01T00:00:00Z, 2,000 arrivals per hour, spikes on 20 % of days,
    /// [`Mix::Realistic`], no duplicates.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Timestamp, Workload};
    /// let w = Workload::new(42, 1_000);
    /// assert_eq!(w.start, "2024-04-01T00:00:00Z".parse::<Timestamp>()?);
    /// assert_eq!(w.rate_per_hour, 2_000.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn new(seed: u64, conversations: u64) -> Workload {
        Workload {
            seed,
            conversations,
            start: Timestamp::from_unix(DEFAULT_START),
            rate_per_hour: DEFAULT_RATE,
            spike_probability: DEFAULT_SPIKE_PROBABILITY,
            mix: Mix::Realistic,
            duplicate_rate: 0.0,
        }
    }

    /// Sets the first possible arrival.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Timestamp, Workload};
    /// let start = Timestamp::from_unix(1_700_000_000);
    /// let w = Workload::new(1, 10).with_start(start);
    /// assert!(w.events().all(|e| e.at >= start));
    /// ```
    #[must_use]
    pub fn with_start(mut self, start: Timestamp) -> Workload {
        self.start = start;
        self
    }

    /// Sets the mean arrival rate (conversations per hour).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Workload;
    /// let w = Workload::new(1, 100).with_rate_per_hour(10.0);
    /// let last_start = w.events().map(|e| e.at).max().unwrap();
    /// assert!(last_start.secs_since(w.start) > 3_600); // 100 arrivals take hours at 10/h
    /// ```
    #[must_use]
    pub fn with_rate_per_hour(mut self, rate: f64) -> Workload {
        self.rate_per_hour = rate;
        self
    }

    /// Sets the behaviour mix.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Mix, Workload};
    /// assert_eq!(Workload::new(1, 10).with_mix(Mix::Varied).mix, Mix::Varied);
    /// ```
    #[must_use]
    pub fn with_mix(mut self, mix: Mix) -> Workload {
        self.mix = mix;
        self
    }

    /// The expected arrivals per hour at `at` (daily profile, weekend dip and spikes; the
    /// process is constant within each UTC hour).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Workload;
    /// let w = Workload::new(1, 0);
    /// let night = w.rate_at("2024-04-02T03:30:00Z".parse()?);
    /// let afternoon = w.rate_at("2024-04-02T15:30:00Z".parse()?);
    /// assert!(afternoon > 3.0 * night);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn rate_at(&self, at: Timestamp) -> f64 {
        hourly_rate(
            self.effective_rate(),
            self.seed,
            self.spike_probability.clamp(0.0, 1.0),
            at.as_unix().div_euclid(HOUR),
        )
    }

    fn effective_rate(&self) -> f64 {
        if self.rate_per_hour.is_finite() && self.rate_per_hour > 0.0 {
            self.rate_per_hour
        } else {
            DEFAULT_RATE
        }
    }

    /// The event stream: every conversation's events, interleaved in non-decreasing `at`
    /// order (events of one conversation keep their own order; ties are allowed).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Workload;
    /// let w = Workload::new(9, 20);
    /// let a: Vec<String> = w.events().map(|e| e.to_json()).collect();
    /// let b: Vec<String> = w.events().map(|e| e.to_json()).collect();
    /// assert_eq!(a, b); // deterministic
    /// ```
    #[must_use]
    pub fn events(&self) -> Events {
        let spike_probability = self.spike_probability.clamp(0.0, 1.0);
        let duplicate_rate = if self.duplicate_rate.is_nan() {
            0.0
        } else {
            self.duplicate_rate.clamp(0.0, 1.0)
        };
        Events {
            probs: match self.mix {
                Mix::Realistic => &REALISTIC,
                Mix::Varied => &VARIED,
            },
            seed: self.seed,
            duplicate_rate,
            arrivals: Arrivals::new(self, spike_probability),
            buckets: VecDeque::new(),
            hour: self.start.as_unix().div_euclid(HOUR) - 1,
            scheduled: 0,
            current: Vec::new(),
            position: 0,
            scratch: Vec::new(),
            next_event: 1,
            dup_rng: Rng::new(mix64(self.seed ^ 0x6475_706c_6963_6174)),
            dup: None,
        }
    }

    /// Writes the stream as JSON Lines (one [`Event::to_json`] object per line) and returns the
    /// number of lines written. The writer is written in large chunks; no extra buffering is
    /// needed.
    ///
    /// # Errors
    /// Any error of the writer.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Workload;
    /// let mut out = Vec::new();
    /// let lines = Workload::new(5, 10).write_jsonl(&mut out)?;
    /// assert_eq!(lines as usize, String::from_utf8(out)?.lines().count());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_jsonl<W: io::Write>(&self, mut w: W) -> io::Result<u64> {
        const CHUNK: usize = 1 << 16;
        let mut buf = String::with_capacity(CHUNK + 1024);
        let mut lines = 0u64;
        for e in self.events() {
            e.write_json(&mut buf);
            buf.push('\n');
            lines += 1;
            if buf.len() >= CHUNK {
                w.write_all(buf.as_bytes())?;
                buf.clear();
            }
        }
        w.write_all(buf.as_bytes())?;
        w.flush()?;
        Ok(lines)
    }
}

// ---------------------------------------------------------------------------------------------
// Static tables.

const CHANNELS: [&str; 6] = ["email", "chat", "whatsapp", "messenger", "instagram", "twitter"];
const CHANNEL_WEIGHTS: [u32; 6] = [30, 22, 18, 12, 10, 8];
/// Channels where customers expect a live conversation (bots, fast customer replies).
const CHATTY: [bool; 6] = [false, true, true, true, true, false];
const BRANDS: [&str; 5] = ["acme", "globex", "initech", "umbrella", "hooli"];
const BRAND_WEIGHTS: [u32; 5] = [40, 25, 15, 12, 8];
const TEAMS: [&str; 4] = ["billing", "general", "technical", "vip"];
const AGENTS_PER_TEAM: u64 = 10;
const AGENTS: [&str; 40] = [
    "agent-01", "agent-02", "agent-03", "agent-04", "agent-05", "agent-06", "agent-07", "agent-08",
    "agent-09", "agent-10", "agent-11", "agent-12", "agent-13", "agent-14", "agent-15", "agent-16",
    "agent-17", "agent-18", "agent-19", "agent-20", "agent-21", "agent-22", "agent-23", "agent-24",
    "agent-25", "agent-26", "agent-27", "agent-28", "agent-29", "agent-30", "agent-31", "agent-32",
    "agent-33", "agent-34", "agent-35", "agent-36", "agent-37", "agent-38", "agent-39", "agent-40",
];
const TAG_SETS: [&[&str]; 10] = [
    &["billing"],
    &["refund"],
    &["shipping"],
    &["bug"],
    &["vip"],
    &["billing", "refund"],
    &["shipping", "delay"],
    &["account", "password"],
    &["feedback"],
    &["promo"],
];
/// Low, normal, high, urgent.
const PRIORITY_WEIGHTS: [u32; 4] = [10, 72, 14, 4];
const PRIORITIES: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];
/// Scores 1..=5.
const CSAT_WEIGHTS: [u32; 5] = [9, 6, 10, 20, 55];
/// Relative volume per UTC hour of day (normalized to mean 1 in [`daily_factor`]).
const DAILY: [f64; 24] = [
    0.55, 0.45, 0.40, 0.38, 0.40, 0.50, 0.70, 0.95, 1.20, 1.35, 1.42, 1.45, 1.38, 1.45, 1.55, 1.58, 1.52,
    1.35, 1.15, 1.00, 0.90, 0.80, 0.70, 0.62,
];
/// Relative volume per weekday, Monday first (normalized to mean 1 in [`weekly_factor`]).
const WEEKLY: [f64; 7] = [1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 0.5];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Archetype {
    Standard,
    Outreach,
    LeftOpen,
    SolvedWithoutReply,
    Spam,
    Merged,
    Deleted,
}

const ARCHETYPES: [Archetype; 7] = [
    Archetype::Standard,
    Archetype::Outreach,
    Archetype::LeftOpen,
    Archetype::SolvedWithoutReply,
    Archetype::Spam,
    Archetype::Merged,
    Archetype::Deleted,
];

/// The probabilities of one [`Mix`].
#[derive(Debug)]
struct Probs {
    /// Per mille, in [`ARCHETYPES`] order.
    archetypes: [u32; 7],
    bot_chatty: f64,
    bot_other: f64,
    bot_solves: f64,
    bot_solved_reopen: f64,
    auto_ack_email: f64,
    auto_ack_other: f64,
    tags: f64,
    retag: f64,
    explicit_normal: f64,
    internal_note: f64,
    reassign: f64,
    escalate: f64,
    forgotten: f64,
    night_push: f64,
    edge: f64,
    pending: f64,
    pending_answered: f64,
    explicit_open: f64,
    on_hold: f64,
    another_turn: f64,
    double_message: f64,
    close_unsolved: f64,
    thanks_reopen: f64,
    thanks_silent: f64,
    real_reopen: f64,
    csat: f64,
    closed: f64,
    follow_up: f64,
    outreach_answered: f64,
}

static REALISTIC: Probs = Probs {
    archetypes: [891, 30, 35, 20, 15, 6, 3],
    bot_chatty: 0.45,
    bot_other: 0.05,
    bot_solves: 0.30,
    bot_solved_reopen: 0.15,
    auto_ack_email: 0.75,
    auto_ack_other: 0.10,
    tags: 0.15,
    retag: 0.03,
    explicit_normal: 0.05,
    internal_note: 0.12,
    reassign: 0.06,
    escalate: 0.04,
    forgotten: 0.03,
    night_push: 0.6,
    edge: 0.0,
    pending: 0.22,
    pending_answered: 0.75,
    explicit_open: 0.30,
    on_hold: 0.05,
    another_turn: 0.40,
    double_message: 0.20,
    close_unsolved: 0.02,
    thanks_reopen: 0.06,
    thanks_silent: 0.70,
    real_reopen: 0.05,
    csat: 0.20,
    closed: 0.30,
    follow_up: 0.02,
    outreach_answered: 0.60,
};

static VARIED: Probs = Probs {
    archetypes: [1, 1, 1, 1, 1, 1, 1],
    bot_chatty: 0.5,
    bot_other: 0.5,
    bot_solves: 0.4,
    bot_solved_reopen: 0.5,
    auto_ack_email: 0.5,
    auto_ack_other: 0.5,
    tags: 0.5,
    retag: 0.2,
    explicit_normal: 0.3,
    internal_note: 0.3,
    reassign: 0.3,
    escalate: 0.3,
    forgotten: 0.15,
    night_push: 0.5,
    edge: 0.10,
    pending: 0.35,
    pending_answered: 0.6,
    explicit_open: 0.5,
    on_hold: 0.2,
    another_turn: 0.5,
    double_message: 0.4,
    close_unsolved: 0.1,
    thanks_reopen: 0.2,
    thanks_silent: 0.5,
    real_reopen: 0.2,
    csat: 0.5,
    closed: 0.4,
    follow_up: 0.2,
    outreach_answered: 0.6,
};

// ---------------------------------------------------------------------------------------------
// Randomness.

/// SplitMix64's finalizer: a strong 64-bit mixer.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Natural logarithm of `x > 0`, from basic IEEE-754 operations only (no platform libm, so the
/// stream is identical on every platform); relative error below 1e-13.
fn ln(x: f64) -> f64 {
    debug_assert!(x > 0.0 && x.is_finite());
    let mut x = x;
    let mut e = 0i64;
    if x < f64::MIN_POSITIVE {
        x *= (1u64 << 54) as f64;
        e -= 54;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000); // [1, 2)
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln(m) = 2 atanh(s), |s| <= 0.172.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = s;
    for k in [3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0, 17.0] {
        term *= s2;
        sum += term / k;
    }
    e as f64 * std::f64::consts::LN_2 + 2.0 * sum
}

/// `e^x` for `x` in ±700 (clamped), from basic IEEE-754 operations only (see [`ln`]).
fn exp(x: f64) -> f64 {
    let x = x.clamp(-700.0, 700.0);
    let k = (x / std::f64::consts::LN_2).round();
    let r = x - k * std::f64::consts::LN_2; // |r| <= 0.35
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 1..=13 {
        term *= r / n as f64;
        sum += term;
    }
    sum * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, passes BigCrush.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// Uniform in [0, 1).
    #[inline]
    fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    #[inline]
    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Uniform in `0..n` (n > 0).
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    #[inline]
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// An index drawn with the given integer weights.
    fn pick(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total as u64) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// A standard normal deviate (Marsaglia's polar method, one of the pair).
    fn normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.f64() - 1.0;
            let v = 2.0 * self.f64() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * ln(s) / s).sqrt();
            }
        }
    }

    /// Log-normal seconds with the given median and σ, clamped to `lo..=hi`.
    fn lognormal(&mut self, median: f64, sigma: f64, lo: i64, hi: i64) -> i64 {
        let x = median * exp(sigma * self.normal());
        (x as i64).clamp(lo, hi)
    }

    /// Log-uniform seconds in `lo..=hi` (lo > 0).
    fn log_uniform(&mut self, lo: i64, hi: i64) -> i64 {
        let (a, b) = (ln(lo as f64), ln(hi as f64));
        (exp(a + (b - a) * self.f64()) as i64).clamp(lo, hi)
    }
}

// ---------------------------------------------------------------------------------------------
// Arrivals.

fn daily_factor(hour_of_day: usize) -> f64 {
    let sum: f64 = DAILY.iter().sum();
    DAILY[hour_of_day] * 24.0 / sum
}

fn weekly_factor(weekday: usize) -> f64 {
    let sum: f64 = WEEKLY.iter().sum();
    WEEKLY[weekday] * 7.0 / sum
}

/// The spike multiplier of an absolute UTC hour (1 outside spikes).
fn spike_factor(seed: u64, probability: f64, hour: i64) -> f64 {
    let day = hour.div_euclid(24);
    let h = mix64(seed ^ mix64((day as u64) ^ 0x7370_696b_6573_0000));
    let u = (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    if u >= probability {
        return 1.0;
    }
    let start = 8 + (h % 11) as i64; // 08..=18
    let len = 2 + ((h >> 8) % 3) as i64; // 2..=4 hours
    let hod = hour.rem_euclid(24);
    if hod >= start && hod < start + len {
        2.0 + ((h >> 16) % 1001) as f64 / 1000.0
    } else {
        1.0
    }
}

/// Expected arrivals during an absolute UTC hour.
fn hourly_rate(rate: f64, seed: u64, spike_probability: f64, hour: i64) -> f64 {
    let day = hour.div_euclid(24);
    let weekday = (day + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
    rate * daily_factor(hour.rem_euclid(24) as usize)
        * weekly_factor(weekday)
        * spike_factor(seed, spike_probability, hour)
}

/// The arrival process: exponential gaps at the current hour's rate; crossing an hour boundary
/// restarts at the boundary with the next hour's rate (exact for a piecewise-constant rate).
#[derive(Debug)]
struct Arrivals {
    rng: Rng,
    rate: f64,
    seed: u64,
    spike_probability: f64,
    remaining: u64,
    started: u64,
    /// Current position, seconds since the epoch.
    t: f64,
    hour: i64,
    /// Arrivals per second during `hour`.
    per_sec: f64,
    /// The next arrival (already drawn), if any.
    next: Option<i64>,
}

impl Arrivals {
    fn new(w: &Workload, spike_probability: f64) -> Arrivals {
        let start = w.start.as_unix();
        let hour = start.div_euclid(HOUR);
        let rate = w.effective_rate();
        let mut a = Arrivals {
            rng: Rng::new(mix64(w.seed ^ 0x6172_7269_7661_6c73)),
            rate,
            seed: w.seed,
            spike_probability,
            remaining: w.conversations,
            started: 0,
            t: start as f64,
            hour,
            per_sec: hourly_rate(rate, w.seed, spike_probability, hour) / HOUR as f64,
            next: None,
        };
        a.advance();
        a
    }

    fn advance(&mut self) {
        if self.remaining == 0 {
            self.next = None;
            return;
        }
        self.remaining -= 1;
        loop {
            let gap = -ln(1.0 - self.rng.f64()) / self.per_sec;
            let end = ((self.hour + 1) * HOUR) as f64;
            if self.t + gap < end {
                self.t += gap;
                self.next = Some(self.t.floor() as i64);
                return;
            }
            self.hour += 1;
            self.t = end;
            self.per_sec = hourly_rate(self.rate, self.seed, self.spike_probability, self.hour) / HOUR as f64;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conversation scripts.

/// One scripted event, compact: strings are indexes into the static tables.
#[derive(Debug, Clone, Copy)]
enum Op {
    Customer {
        channel: Option<u8>,
    },
    Agent {
        agent: u8,
        internal: bool,
        channel: Option<u8>,
    },
    Bot,
    Automation,
    Status(Status),
    Priority(Priority),
    Assign {
        agent: Option<u8>,
        team: Option<u8>,
    },
    Handoff,
    Attributes {
        channel: Option<u8>,
        brand: Option<u8>,
        tags: Option<u8>,
    },
    Csat(u8),
    Exclude(ExcludeReason),
}

#[derive(Debug, Clone, Copy)]
struct Step {
    at: i64,
    op: Op,
}

/// A scheduled step of a conversation.
#[derive(Debug, Clone, Copy)]
struct Item {
    at: i64,
    conversation: u64,
    op: Op,
}

/// Writes the script of one conversation: a cursor `t` that only moves forward.
struct Builder<'s> {
    rng: Rng,
    p: &'static Probs,
    steps: &'s mut Vec<Step>,
    t: i64,
    channel: u8,
    chatty: bool,
    priority: Priority,
    team: u8,
    agent: u8,
    triaged: bool,
    /// When the customer's current wait started (for boundary timings).
    wait_from: i64,
}

enum Outcome {
    Solved,
    Ended,
}

impl Builder<'_> {
    #[inline]
    fn push(&mut self, op: Op) {
        self.steps.push(Step { at: self.t, op });
    }

    #[inline]
    fn wait(&mut self, secs: i64) {
        self.t += secs.max(0);
    }

    fn wait_range(&mut self, lo: i64, hi: i64) {
        let d = self.rng.range(lo, hi);
        self.wait(d);
    }

    fn customer(&mut self, channel: bool) {
        self.wait_from = self.t;
        let channel = channel.then_some(self.channel);
        self.push(Op::Customer { channel });
    }

    fn agent_reply(&mut self) {
        let agent = if self.rng.chance(0.92) {
            self.agent
        } else {
            self.rng.below(AGENTS.len() as u64) as u8
        };
        self.push(Op::Agent {
            agent,
            internal: false,
            channel: None,
        });
    }

    fn internal_note(&mut self) {
        self.push(Op::Agent {
            agent: self.agent,
            internal: true,
            channel: None,
        });
    }

    fn customer_delay(&mut self) -> i64 {
        let median = if self.chatty {
            3.0 * MINUTE as f64
        } else {
            3.0 * HOUR as f64
        };
        self.rng.lognormal(median, 1.3, 5, 5 * DAY)
    }

    /// Seconds from now until the next agent reply.
    fn reply_delay(&mut self, first: bool) -> i64 {
        if self.p.edge > 0.0 && self.rng.chance(self.p.edge) {
            let target = self.wait_from + [0, HOUR, HOUR + 1, DAY, DAY + 1][self.rng.below(5) as usize];
            return target - self.t;
        }
        if self.rng.chance(self.p.forgotten) {
            return self.rng.range(22 * HOUR, 80 * HOUR);
        }
        let median = match self.priority {
            Priority::Urgent => 5.0 * 60.0,
            Priority::High => 15.0 * 60.0,
            Priority::Normal => 40.0 * 60.0,
            Priority::Low => 2.0 * 3_600.0,
        } * if first { 1.0 } else { 0.6 };
        let d = self.rng.lognormal(median, 1.2, 15, 7 * DAY);
        let hod = (self.t + d).rem_euclid(DAY) / HOUR;
        if !(7..22).contains(&hod) && self.rng.chance(self.p.night_push) {
            let at = self.t + d;
            let mut morning = at - at.rem_euclid(DAY) + 7 * HOUR;
            if morning < at {
                morning += DAY;
            }
            return morning + self.rng.range(0, 2 * HOUR) - self.t;
        }
        d
    }

    fn run(&mut self, archetype: Archetype) {
        let p = self.p;
        let brand = self.rng.pick(&BRAND_WEIGHTS) as u8;
        let tags = self
            .rng
            .chance(p.tags)
            .then(|| self.rng.below(TAG_SETS.len() as u64) as u8);
        let attrs = |rng: &mut Rng, channel: u8| Op::Attributes {
            channel: rng.chance(0.5).then_some(channel),
            brand: Some(brand),
            tags,
        };

        if archetype == Archetype::Outreach {
            self.push(Op::Agent {
                agent: self.agent,
                internal: false,
                channel: Some(self.channel),
            });
            let a = attrs(&mut self.rng, self.channel);
            self.push(a);
            self.push(Op::Assign {
                agent: Some(self.agent),
                team: Some(self.team),
            });
            self.triaged = true;
            if self.rng.chance(p.outreach_answered) {
                let d = self.rng.lognormal(3.0 * HOUR as f64, 1.2, MINUTE, 6 * DAY);
                self.wait(d);
                self.customer(false);
                if let Outcome::Solved = self.serve(false, false) {
                    self.after_solve(0, false);
                }
            } else if self.rng.chance(0.5) {
                self.wait_range(3 * DAY, 7 * DAY);
                self.push(Op::Status(Status::Solved));
                self.after_solve(2, false);
            }
            return;
        }

        self.customer(true);
        let a = attrs(&mut self.rng, self.channel);
        self.push(a);
        let auto_ack = if self.channel == 0 {
            p.auto_ack_email
        } else {
            p.auto_ack_other
        };

        if archetype == Archetype::Spam {
            if self.rng.chance(auto_ack) {
                self.wait_range(0, 3);
                self.push(Op::Automation);
            }
            self.wait_range(30, HOUR);
            self.push(Op::Exclude(ExcludeReason::Spam));
            return;
        }

        let bot = self
            .rng
            .chance(if self.chatty { p.bot_chatty } else { p.bot_other });
        if bot {
            self.wait_range(2, 10);
            self.push(Op::Bot);
            if archetype == Archetype::Standard && self.rng.chance(p.bot_solves) {
                self.wait_range(MINUTE, 10 * MINUTE);
                self.push(Op::Status(Status::Solved));
                self.after_solve(0, true);
                return;
            }
            if self.rng.chance(p.double_message) {
                self.wait_range(10, 120);
                self.customer_again();
            }
            self.wait_range(MINUTE, 10 * MINUTE);
            self.push(Op::Handoff);
            self.wait_from = self.t;
        } else if self.rng.chance(auto_ack) {
            self.wait_range(0, 5);
            self.push(Op::Automation);
        }
        self.triage(bot);

        match archetype {
            Archetype::Merged | Archetype::Deleted => {
                if self.rng.chance(0.5) {
                    self.wait_range(MINUTE, HOUR);
                    self.internal_note();
                }
                self.wait_range(10 * MINUTE, 4 * HOUR);
                let reason = if archetype == Archetype::Merged {
                    ExcludeReason::Merged
                } else {
                    ExcludeReason::Deleted
                };
                self.push(Op::Exclude(reason));
            }
            Archetype::LeftOpen => {
                self.serve(true, false);
            }
            Archetype::SolvedWithoutReply => {
                if let Outcome::Solved = self.serve(false, true) {
                    self.after_solve(0, false);
                }
            }
            _ => {
                if let Outcome::Solved = self.serve(false, false) {
                    self.after_solve(0, false);
                }
            }
        }
    }

    /// A customer message while the customer may already be waiting (does not move the wait).
    fn customer_again(&mut self) {
        self.push(Op::Customer { channel: None });
    }

    fn triage(&mut self, after_bot: bool) {
        let p = self.p;
        if after_bot {
            self.wait_range(5, 2 * MINUTE);
        } else {
            self.wait_range(10, 30 * MINUTE);
        }
        if self.priority != Priority::Normal || self.rng.chance(p.explicit_normal) {
            self.push(Op::Priority(self.priority));
        }
        if self.rng.chance(p.retag) {
            let tags = Some(self.rng.below(TAG_SETS.len() as u64) as u8);
            self.push(Op::Attributes {
                channel: None,
                brand: None,
                tags,
            });
        }
        let op = match self.rng.below(20) {
            0..=14 => Op::Assign {
                agent: Some(self.agent),
                team: Some(self.team),
            },
            15..=17 => Op::Assign {
                agent: Some(self.agent),
                team: None,
            },
            _ => Op::Assign {
                agent: None,
                team: Some(self.team),
            },
        };
        self.push(op);
        self.triaged = true;
    }

    /// Agent replies and customer turns until the conversation is solved (or closed, or left).
    fn serve(&mut self, leave_open: bool, solve_without_reply: bool) -> Outcome {
        let p = self.p;
        let mut turn = 0u32;
        let mut another = p.another_turn;
        loop {
            if self.rng.chance(p.internal_note) {
                self.wait_range(30, 20 * MINUTE);
                self.internal_note();
            }
            if turn == 0 && self.rng.chance(p.reassign) {
                self.wait_range(MINUTE, HOUR);
                let team = self.team as u64;
                self.agent = (team * AGENTS_PER_TEAM + self.rng.below(AGENTS_PER_TEAM)) as u8;
                self.push(Op::Assign {
                    agent: Some(self.agent),
                    team: None,
                });
            }
            if turn == 0 && self.priority < Priority::Urgent && self.rng.chance(p.escalate) {
                self.wait_range(MINUTE, 2 * HOUR);
                self.priority = PRIORITIES[self.priority as usize + 1];
                self.push(Op::Priority(self.priority));
            }
            let d = self.reply_delay(turn == 0);
            if solve_without_reply {
                self.wait(d);
                self.push(Op::Status(Status::Solved));
                return Outcome::Solved;
            }
            if leave_open && self.rng.chance(0.5) {
                return Outcome::Ended; // never answered
            }
            self.wait(d);
            self.agent_reply();
            if leave_open {
                if self.rng.chance(0.3) {
                    let d = self.customer_delay();
                    self.wait(d);
                    self.customer(false);
                }
                return Outcome::Ended; // answered, then forgotten
            }

            if self.rng.chance(p.pending) {
                self.push(Op::Status(Status::Pending));
                if self.rng.chance(p.pending_answered) {
                    let d = self.customer_delay() * 2;
                    self.wait(d);
                    self.customer(false);
                    if self.rng.chance(p.explicit_open) {
                        self.push(Op::Status(Status::Open));
                    }
                    turn += 1;
                    continue;
                }
                self.wait_range(2 * DAY, 5 * DAY);
                self.push(Op::Status(Status::Solved));
                return Outcome::Solved;
            }
            if self.rng.chance(p.on_hold) {
                self.push(Op::Status(Status::OnHold));
                if self.rng.chance(0.5) {
                    self.wait_range(MINUTE, 10 * MINUTE);
                    self.internal_note();
                }
                self.wait_range(2 * HOUR, 3 * DAY);
                self.push(Op::Status(Status::Open));
                self.wait_from = self.t;
                turn += 1;
                continue;
            }
            if turn < 8 && self.rng.chance(another) {
                let d = self.customer_delay();
                self.wait(d);
                self.customer(false);
                if self.rng.chance(p.double_message) {
                    self.wait_range(10, 3 * MINUTE);
                    self.customer_again();
                }
                turn += 1;
                another *= 0.8;
                continue;
            }
            if !self.rng.chance(0.55) {
                self.wait_range(1, 15 * MINUTE);
            }
            if self.rng.chance(p.close_unsolved) {
                self.push(Op::Status(Status::Closed));
                return Outcome::Ended;
            }
            self.push(Op::Status(Status::Solved));
            return Outcome::Solved;
        }
    }

    /// What happens after a solve: reopens (up to depth 2), then CSAT, close and follow-up.
    fn after_solve(&mut self, depth: u32, bot_solved: bool) {
        let p = self.p;
        if depth < 2 {
            if !bot_solved && self.rng.chance(p.thanks_reopen) {
                self.wait_range(MINUTE, 30 * MINUTE);
                self.customer(false); // "thanks!"
                if self.rng.chance(p.thanks_silent) {
                    self.wait_range(30, 2 * HOUR);
                } else {
                    let d = self.rng.lognormal(10.0 * MINUTE as f64, 1.0, 15, DAY);
                    self.wait(d);
                    self.agent_reply();
                }
                self.push(Op::Status(Status::Solved));
                return self.after_solve(depth + 1, false);
            }
            let reopen = if bot_solved {
                p.bot_solved_reopen
            } else {
                p.real_reopen
            };
            if self.rng.chance(reopen) {
                let d = self.rng.log_uniform(HOUR, 10 * DAY);
                self.wait(d);
                self.customer(false);
                if bot_solved {
                    self.wait_range(2, 10);
                    self.push(Op::Bot);
                    self.wait_range(30, 5 * MINUTE);
                    self.push(Op::Handoff);
                    self.wait_from = self.t;
                }
                if !self.triaged {
                    self.triage(bot_solved);
                }
                if let Outcome::Solved = self.serve(false, false) {
                    self.after_solve(depth + 1, false);
                }
                return;
            }
        }
        let solved_at = self.t;
        if self.rng.chance(p.csat) {
            let d = self.rng.lognormal(2.0 * HOUR as f64, 1.3, 30 * MINUTE, 3 * DAY);
            self.wait(d);
            let score = self.rng.pick(&CSAT_WEIGHTS) as u8 + 1;
            self.push(Op::Csat(score));
        }
        if self.rng.chance(p.closed) {
            self.wait_range(DAY, 4 * DAY);
            self.push(Op::Status(Status::Closed));
        }
        if self.rng.chance(p.follow_up) {
            let gap = if self.p.edge > 0.0 && self.rng.chance(0.25) {
                REOPEN_WINDOW + self.rng.range(0, 1)
            } else {
                self.rng.range(29 * DAY, 50 * DAY)
            };
            self.t = self.t.max(solved_at + gap);
            self.customer(true);
            self.triaged = false;
            self.triage(false);
            if let Outcome::Solved = self.serve(false, false) {
                self.after_solve(2, false);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The stream.

/// `prefix` followed by the decimal digits of `n`, in one allocation.
fn numbered(prefix: char, n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut s = String::with_capacity(1 + digits.len() - i);
    s.push(prefix);
    s.push_str(std::str::from_utf8(&digits[i..]).unwrap_or_default());
    s
}

#[inline]
fn name(table: &'static [&'static str], i: u8) -> Cow<'static, str> {
    Cow::Borrowed(table[i as usize])
}

impl Events {
    /// Generates conversation `n`'s script into `steps`, arriving at `at`.
    fn script(&self, n: u64, at: i64, steps: &mut Vec<Step>) {
        let mut rng = Rng::new(mix64(self.seed ^ mix64(n ^ 0x636f_6e76_0000_0000)));
        let archetype = ARCHETYPES[rng.pick(&self.probs.archetypes)];
        let channel = rng.pick(&CHANNEL_WEIGHTS) as u8;
        let priority = PRIORITIES[rng.pick(&PRIORITY_WEIGHTS)];
        let team = rng.below(TEAMS.len() as u64);
        let agent = (team * AGENTS_PER_TEAM + rng.below(AGENTS_PER_TEAM)) as u8;
        let mut b = Builder {
            rng,
            p: self.probs,
            steps,
            t: at,
            channel,
            chatty: CHATTY[channel as usize],
            priority,
            team: team as u8,
            agent,
            triaged: false,
            wait_from: at,
        };
        b.run(archetype);
    }

    /// Generates the next conversation (numbered from 1), arriving at `at`, and schedules its
    /// steps.
    fn start_conversation(&mut self, at: i64) {
        self.arrivals.started += 1;
        let n = self.arrivals.started;
        let mut steps = std::mem::take(&mut self.scratch);
        steps.clear();
        self.script(n, at, &mut steps);
        for step in &steps {
            let i = (step.at.div_euclid(HOUR) - self.hour) as usize;
            while self.buckets.len() <= i {
                self.buckets.push_back(Vec::new());
            }
            self.buckets[i].push(Item {
                at: step.at,
                conversation: n,
                op: step.op,
            });
        }
        self.scheduled += steps.len();
        self.scratch = steps;
    }

    /// Moves to the next hour with scheduled steps: admits the conversations arriving in it
    /// and sorts its steps by time. Conversations are scheduled in arrival order and their steps
    /// in script order, so the stable sort orders by (`at`, conversation, script order).
    /// Returns false at the end of the stream.
    fn next_hour(&mut self) -> bool {
        self.current.clear();
        // The emptied bucket is dropped, not reused: a far-future bucket should grow only to its
        // own size (memory stays proportional to the scheduled steps).
        self.buckets.pop_front();
        self.hour += 1;
        if self.scheduled == 0 {
            self.buckets.clear(); // all empty: realign on the next arrival
            match self.arrivals.next {
                Some(a) => self.hour = self.hour.max(a.div_euclid(HOUR)),
                None => return false,
            }
        }
        let end = (self.hour + 1) * HOUR;
        while let Some(a) = self.arrivals.next.filter(|&a| a < end) {
            self.start_conversation(a);
            self.arrivals.advance();
        }
        if let Some(bucket) = self.buckets.front_mut() {
            std::mem::swap(&mut self.current, bucket);
            self.current.sort_by_key(|item| item.at);
            self.scheduled -= self.current.len();
        }
        self.position = 0;
        true
    }

    fn event(&mut self, item: Item) -> Event<'static> {
        let kind = match item.op {
            Op::Customer { channel } => EventKind::Message {
                author: Author::Customer,
                visibility: Visibility::Public,
                agent: None,
                channel: channel.map(|c| name(&CHANNELS, c)),
            },
            Op::Agent {
                agent,
                internal,
                channel,
            } => EventKind::Message {
                author: Author::Agent,
                visibility: if internal {
                    Visibility::Internal
                } else {
                    Visibility::Public
                },
                agent: Some(name(&AGENTS, agent)),
                channel: channel.map(|c| name(&CHANNELS, c)),
            },
            Op::Bot | Op::Automation => EventKind::Message {
                author: if let Op::Bot = item.op {
                    Author::Bot
                } else {
                    Author::Automation
                },
                visibility: Visibility::Public,
                agent: None,
                channel: None,
            },
            Op::Status(s) => EventKind::Status(s),
            Op::Priority(p) => EventKind::Priority(p),
            Op::Assign { agent, team } => EventKind::Assign {
                agent: agent.map(|a| name(&AGENTS, a)),
                team: team.map(|t| name(&TEAMS, t)),
            },
            Op::Handoff => EventKind::Handoff,
            Op::Attributes { channel, brand, tags } => EventKind::Attributes {
                channel: channel.map(|c| name(&CHANNELS, c)),
                brand: brand.map(|b| name(&BRANDS, b)),
                tags: tags.map(|t| TAG_SETS[t as usize].iter().map(|&s| Cow::Borrowed(s)).collect()),
            },
            Op::Csat(score) => EventKind::Csat { score },
            Op::Exclude(reason) => EventKind::Exclude { reason },
        };
        let id = self.next_event;
        self.next_event += 1;
        Event {
            conversation: Cow::Owned(numbered('c', item.conversation)),
            at: Timestamp::from_unix(item.at),
            id: Some(Cow::Owned(numbered('e', id))),
            kind,
        }
    }
}

impl Iterator for Events {
    type Item = Event<'static>;

    fn next(&mut self) -> Option<Event<'static>> {
        if let Some(e) = self.dup.take() {
            return Some(e);
        }
        while self.position == self.current.len() {
            if !self.next_hour() {
                return None;
            }
        }
        let item = self.current[self.position];
        self.position += 1;
        let e = self.event(item);
        if self.duplicate_rate > 0.0 && self.dup_rng.chance(self.duplicate_rate) {
            self.dup = Some(e.clone());
        }
        Some(e)
    }
}

impl std::iter::FusedIterator for Events {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_ln_and_exp_match_std() {
        let mut rng = Rng::new(1);
        for _ in 0..100_000 {
            let x = exp(rng.f64() * 1_400.0 - 700.0);
            let want = x.ln();
            assert!((ln(x) - want).abs() <= 1e-12 * want.abs().max(1.0), "ln({x})");
            let y = rng.f64() * 100.0 - 50.0;
            assert!((exp(y) - y.exp()).abs() <= 1e-13 * y.exp(), "exp({y})");
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert!((ln(f64::MIN_POSITIVE / 8.0) - (f64::MIN_POSITIVE / 8.0).ln()).abs() < 1e-9);
    }

    #[test]
    fn normal_deviates_look_normal() {
        let mut rng = Rng::new(2);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.02, "{mean} {var}");
        let within = xs.iter().filter(|x| x.abs() < 1.0).count() as f64 / n as f64;
        assert!((within - 0.6827).abs() < 0.01, "{within}");
    }
}
