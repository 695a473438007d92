//! Segments and cohorts (R35): a report broken down by channel, priority, team, agent, brand,
//! policy, or by the day, week or month of `created_at` in a reporting time zone.
//!
//! Each breakdown keeps one [`Report`] per segment value, with lighter histograms (2 significant
//! digits, allocated at the first sample) and exact counters. Cardinality is capped: the
//! `max_segments` smallest values (by name; the earliest cohort periods) get their own segment
//! and every other value goes to `(other)`, so memory is bounded whatever the input and the
//! result does not depend on arrival order or sharding (R36). Every conversation lands in
//! exactly one segment of each breakdown (with `agent`, each reply sample lands in the
//! replying agent's segment), so the segments of a breakdown merged together equal the overall
//! report's conversation counts, distributions, FCR, response rate, CSAT and SLA counts.

use crate::conversation::Conversation;
use crate::encoding::{Reader, Writer};
use crate::intern::{FxHashMap, Names, NONE, OTHER};
use crate::report::Report;
use crate::sla::{Rules, NO_POLICY};
use crate::{Error, Result, Timestamp};
use chrono::{Datelike, TimeZone};
use chrono_tz::Tz;

/// The name of the segment for conversations without a value (no channel, no policy ...).
pub const NO_VALUE: &str = "(none)";
/// The name of the segment collecting values beyond `max_segments`.
pub const OVERFLOW: &str = "(other)";

/// What a report can be broken down by (R35).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Dimension {
    /// The conversation's channel.
    Channel,
    /// Its priority at finalization.
    Priority,
    /// The team of its last `assign` event.
    Team,
    /// Reply samples by the agent who replied; everything else by the agent of the last
    /// `assign` event, or else the last agent who replied.
    Agent,
    /// Its brand.
    Brand,
    /// The SLA policy it was under at finalization.
    Policy,
    /// The local day of `created_at` (`2024-04-02`).
    Day,
    /// The ISO week of `created_at` (`2024-W14`).
    Week,
    /// The month of `created_at` (`2024-04`).
    Month,
}

impl Dimension {
    /// Every dimension, in SPEC order.
    pub const ALL: [Dimension; 9] = [
        Dimension::Channel,
        Dimension::Priority,
        Dimension::Team,
        Dimension::Agent,
        Dimension::Brand,
        Dimension::Policy,
        Dimension::Day,
        Dimension::Week,
        Dimension::Month,
    ];

    /// The config and JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Dimension::Channel => "channel",
            Dimension::Priority => "priority",
            Dimension::Team => "team",
            Dimension::Agent => "agent",
            Dimension::Brand => "brand",
            Dimension::Policy => "policy",
            Dimension::Day => "day",
            Dimension::Week => "week",
            Dimension::Month => "month",
        }
    }

    /// The dimension of a config name.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Dimension;
    /// assert_eq!(Dimension::from_name("week"), Some(Dimension::Week));
    /// assert_eq!(Dimension::from_name("colour"), None);
    /// ```
    pub fn from_name(s: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// A cohort period of `created_at` (day, week, month) rather than an attribute.
    pub const fn is_cohort(self) -> bool {
        matches!(self, Dimension::Day | Dimension::Week | Dimension::Month)
    }
}

/// Which breakdowns reports keep (config key `segments`): `{"by": ["brand", "week"], "tz":
/// "Europe/Paris", "max_segments": 100}`. None by default.
///
/// # Example
/// ```
/// use sla_metrics::{Config, Dimension};
/// let c = Config::from_json(r#"{"segments": {"by": ["brand", "week"], "tz": "Europe/Paris"}}"#)?;
/// assert_eq!(c.segments.by, [Dimension::Brand, Dimension::Week]);
/// assert_eq!(c.segments.max_segments, 100);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segments {
    /// The breakdowns, each a [`Dimension`] at most once.
    pub by: Vec<Dimension>,
    /// The reporting time zone of the cohort periods; default UTC.
    pub tz: Tz,
    /// Segments per breakdown before new values go to `(other)`; default 100.
    pub max_segments: usize,
}

impl Default for Segments {
    fn default() -> Segments {
        Segments {
            by: Vec::new(),
            tz: Tz::UTC,
            max_segments: 100,
        }
    }
}

impl Segments {
    pub(crate) fn from_value(v: &serde_json::Value) -> Result<Segments> {
        let o = v
            .as_object()
            .ok_or_else(|| Error::config("segments: expected an object with `by`"))?;
        let mut s = Segments::default();
        for (k, val) in o {
            match k.as_str() {
                "by" => {
                    let names: Option<Vec<&str>> = match val {
                        serde_json::Value::String(x) => Some(vec![x.as_str()]),
                        serde_json::Value::Array(a) => a.iter().map(|x| x.as_str()).collect(),
                        _ => None,
                    };
                    let names = names
                        .ok_or_else(|| Error::config("segments.by: expected a list of dimension names"))?;
                    s.by = names
                        .iter()
                        .map(|n| {
                            Dimension::from_name(n).ok_or_else(|| {
                                Error::config(format!(
                                    "segments.by: unknown dimension `{n}` (channel, priority, team, agent, \
                                     brand, policy, day, week, month)"
                                ))
                            })
                        })
                        .collect::<Result<_>>()?;
                }
                "tz" => {
                    let name = val
                        .as_str()
                        .ok_or_else(|| Error::config("segments.tz: expected a time zone name"))?;
                    s.tz = name
                        .parse()
                        .map_err(|_| Error::config(format!("segments.tz: unknown time zone `{name}`")))?;
                }
                "max_segments" => {
                    s.max_segments = val
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| Error::config("segments.max_segments: expected a whole number"))?;
                }
                other => {
                    return Err(Error::config(format!(
                        "segments: unknown key `{other}` (by, tz, max_segments)"
                    )))
                }
            }
        }
        s.validate()?;
        Ok(s)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        for (i, d) in self.by.iter().enumerate() {
            if self.by[..i].contains(d) {
                return Err(Error::config(format!(
                    "segments.by: `{}` appears twice",
                    d.as_str()
                )));
            }
        }
        if !(1..=MAX_SEGMENTS_LIMIT).contains(&self.max_segments) {
            return Err(Error::config(format!(
                "segments.max_segments must be between 1 and {MAX_SEGMENTS_LIMIT}"
            )));
        }
        Ok(())
    }
}

/// The largest `max_segments` a config may ask for.
const MAX_SEGMENTS_LIMIT: usize = 100_000;

/// One segment of a breakdown: its value and its report.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Segment {
    /// The value (`email`, `AmazonHelp`, `2024-W14`), or [`NO_VALUE`] or [`OVERFLOW`].
    pub name: String,
    /// The report over this segment's conversations (2-digit histograms).
    pub report: Report,
}

/// A report broken down by one [`Dimension`] (R35).
#[derive(Debug, Clone)]
pub struct Breakdown {
    by: Dimension,
    max_segments: usize,
    /// In the order created (`segments()` sorts them by name).
    segments: Vec<Segment>,
    /// Engine-side value key → index in `segments`.
    slots: FxHashMap<u64, u32>,
    /// Segment name → index in `segments` (for merges and keys not seen by this engine).
    by_name: FxHashMap<String, u32>,
    /// Index in `segments` → the engine-side key whose value it holds, to redirect that key to
    /// `(other)` when the segment is evicted.
    key_of: FxHashMap<u32, u64>,
}

impl PartialEq for Breakdown {
    /// The same dimension and the same segments, in any order.
    fn eq(&self, o: &Breakdown) -> bool {
        self.by == o.by
            && self.max_segments == o.max_segments
            && self.segments.len() == o.segments.len()
            && self.segments.iter().all(|s| o.get(&s.name) == Some(&s.report))
    }
}

impl Breakdown {
    pub(crate) fn new(by: Dimension, max_segments: usize) -> Breakdown {
        Breakdown {
            by,
            max_segments,
            segments: Vec::new(),
            slots: FxHashMap::default(),
            by_name: FxHashMap::default(),
            key_of: FxHashMap::default(),
        }
    }

    /// What this breakdown is by.
    pub fn by(&self) -> Dimension {
        self.by
    }

    /// The segments, sorted by name (cohort periods in time order).
    pub fn segments(&self) -> Vec<&Segment> {
        let mut v: Vec<&Segment> = self.segments.iter().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// The segments as reports show them: largest first (by conversations), cohort periods in
    /// time order.
    pub fn display_order(&self) -> Vec<&Segment> {
        let mut v = self.segments();
        if !self.by.is_cohort() {
            v.sort_by_key(|s| std::cmp::Reverse(s.report.conversations().total));
        }
        v
    }

    /// The report of one segment by name.
    pub fn get(&self, name: &str) -> Option<&Report> {
        self.by_name.get(name).map(|&i| &self.segments[i as usize].report)
    }

    /// The cap on segments (config `max_segments`; `(other)` takes the rest).
    pub fn max_segments(&self) -> usize {
        self.max_segments
    }

    /// The segment named `name`, created if new ([`Breakdown::insert`]).
    fn named(&mut self, name: String, rules: &Rules) -> u32 {
        if let Some(&i) = self.by_name.get(&name) {
            return i;
        }
        self.insert(name, Report::segment(rules))
            .expect("segment reports of one config always merge")
    }

    /// Files `report`, the data of a value `name` without a segment yet. Until `max_segments`
    /// values have their own segment, it gets one. After that, a value takes a segment only if
    /// it sorts before the largest value kept, whose segment is folded into `(other)`; any
    /// other value goes to `(other)`. The values kept are thus always the `max_segments`
    /// smallest seen (cohort periods: the earliest), whatever the arrival order, so breakdowns
    /// of shards merge into the breakdown of the whole stream (R36). Returns the index.
    fn insert(&mut self, name: String, report: Report) -> Result<u32> {
        if !self.is_full(&name) {
            let i = self.segments.len() as u32;
            self.by_name.insert(name.clone(), i);
            self.segments.push(Segment { name, report });
            return Ok(i);
        }
        let largest = (0..self.segments.len())
            .filter(|&i| !is_special(&self.segments[i].name))
            .max_by(|&a, &b| self.segments[a].name.cmp(&self.segments[b].name));
        let Some(i) = largest.filter(|&i| name < self.segments[i].name) else {
            return self.fold_into_overflow(report);
        };
        let evicted = std::mem::replace(&mut self.segments[i].report, report);
        let old_name = std::mem::replace(&mut self.segments[i].name, name.clone());
        self.by_name.remove(&old_name);
        self.by_name.insert(name, i as u32);
        let old_key = self.key_of.remove(&(i as u32));
        let other = self.fold_into_overflow(evicted)?;
        if let Some(k) = old_key {
            self.slots.insert(k, other);
        }
        Ok(i as u32)
    }

    /// Merges `report` into `(other)`, creating it if needed; returns its index.
    fn fold_into_overflow(&mut self, report: Report) -> Result<u32> {
        match self.by_name.get(OVERFLOW) {
            Some(&o) => {
                self.segments[o as usize].report.merge(&report)?;
                Ok(o)
            }
            None => self.insert(OVERFLOW.to_owned(), report),
        }
    }

    /// Whether a new value `name` goes to `(other)`: `max_segments` values have their own
    /// segment already (`(none)` and `(other)` themselves never count and are never capped).
    fn is_full(&self, name: &str) -> bool {
        let regular = self.segments.iter().filter(|s| !is_special(&s.name)).count();
        !is_special(name) && regular >= self.max_segments
    }

    /// The segment of an engine-side key, naming it on first sight.
    fn slot(&mut self, key: u64, name: impl FnOnce() -> String, rules: &Rules) -> usize {
        if let Some(&i) = self.slots.get(&key) {
            return i as usize;
        }
        let i = self.named(name(), rules);
        self.slots.insert(key, i);
        if !is_special(&self.segments[i as usize].name) {
            // The segment's only engine key (a value has one), redirected if it is evicted.
            self.key_of.insert(i, key);
        }
        i as usize
    }

    /// The segment key of a conversation: cheap, no allocation; the name is made only for a
    /// key not seen before ([`Breakdown::name`]).
    fn key(&self, conv: &Conversation, rules: &Rules) -> u64 {
        match self.by {
            Dimension::Channel => u64::from(conv.channel.get()),
            Dimension::Brand => u64::from(conv.brand.get()),
            Dimension::Team => u64::from(conv.team.get()),
            Dimension::Agent => u64::from(conv.agent_of_record()),
            Dimension::Priority => conv.priority as u64,
            Dimension::Policy => u64::from(conv.policy),
            Dimension::Day | Dimension::Week | Dimension::Month => {
                period(self.by, conv.created_at(), rules.segments.tz).0
            }
        }
    }

    fn name(&self, conv: &Conversation, rules: &Rules, names: &Names) -> String {
        match self.by {
            Dimension::Channel => value_name(conv.channel.get(), &names.channels),
            Dimension::Brand => value_name(conv.brand.get(), &names.brands),
            Dimension::Team => value_name(conv.team.get(), &names.teams),
            Dimension::Agent => value_name(conv.agent_of_record(), &names.agents),
            Dimension::Priority => conv.priority.as_str().to_owned(),
            Dimension::Policy => match conv.policy {
                NO_POLICY => NO_VALUE.to_owned(),
                p => rules.policies[p as usize].name.clone(),
            },
            Dimension::Day | Dimension::Week | Dimension::Month => {
                period(self.by, conv.created_at(), rules.segments.tz).1
            }
        }
    }

    /// Folds a finalized conversation into its segment (and, by agent, its reply samples into
    /// the replying agents' segments). Allocates only for a value not seen before.
    pub(crate) fn add(&mut self, conv: &Conversation, rules: &Rules, names: &Names) {
        let key = self.key(conv, rules);
        let slot = match self.slots.get(&key) {
            Some(&i) => i as usize,
            None => {
                let name = self.name(conv, rules, names);
                self.slot(key, || name, rules)
            }
        };
        if self.by != Dimension::Agent {
            self.segments[slot].report.add(conv, rules, names);
            return;
        }
        self.segments[slot].report.add_conversation(conv, rules);
        // Reply samples by replier, each agent's once (a conversation has few repliers).
        for (k, s) in conv.samples().enumerate() {
            if conv.samples().take(k).any(|x| x.agent() == s.agent()) {
                continue;
            }
            let slot = self.slot(
                u64::from(s.agent()),
                || value_name(s.agent(), &names.agents),
                rules,
            );
            self.segments[slot]
                .report
                .add_replies(conv, rules, Some(s.agent()));
        }
    }

    /// Adds another breakdown's segments, by name (R36). Values beyond the cap go to `(other)`.
    pub(crate) fn merge(&mut self, other: &Breakdown) -> Result<()> {
        if self.by != other.by {
            return Err(Error::config(
                "cannot merge breakdowns by different dimensions (R36)",
            ));
        }
        for s in &other.segments {
            match self.by_name.get(&s.name) {
                Some(&i) => self.segments[i as usize].report.merge(&s.report)?,
                None => {
                    self.insert(s.name.clone(), s.report.clone())?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.by as u8);
        w.u64(self.max_segments as u64);
        w.u64(self.segments.len() as u64);
        for s in self.segments() {
            w.str(&s.name);
            w.bytes(&s.report.to_bytes());
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Breakdown> {
        let code = r.u8()?;
        let by = *Dimension::ALL
            .get(code as usize)
            .ok_or_else(|| Error::encoding(format!("unknown dimension code {code}")))?;
        let max_segments = usize::try_from(r.u64()?).unwrap_or(usize::MAX);
        let mut b = Breakdown::new(by, max_segments);
        let n = r.len()?;
        for _ in 0..n {
            let name = r.str()?;
            let report = Report::from_bytes(r.bytes()?)?;
            if b.by_name.insert(name.clone(), b.segments.len() as u32).is_some() {
                return Err(Error::encoding(format!("segment `{name}` appears twice")));
            }
            b.segments.push(Segment { name, report });
        }
        Ok(b)
    }
}

/// `(none)` and `(other)`: segments that never count against, and are never evicted by, the
/// cap.
fn is_special(name: &str) -> bool {
    name == NO_VALUE || name == OVERFLOW
}

/// The segment name of an interned value.
pub(crate) fn value_name(id: u32, names: &crate::intern::Interner) -> String {
    match id {
        NONE => NO_VALUE.to_owned(),
        OTHER => OVERFLOW.to_owned(),
        id => names
            .names()
            .get(id as usize)
            .map_or_else(|| OVERFLOW.to_owned(), |n| n.to_string()),
    }
}

/// The cohort period of `t` in `tz`: a key (days since the common era, or year and ISO week,
/// or year and month, packed) and its name.
fn period(by: Dimension, t: Timestamp, tz: Tz) -> (u64, String) {
    let Some(local) = t
        .to_chrono()
        .map(|utc| tz.from_utc_datetime(&utc.naive_utc()).date_naive())
    else {
        return (u64::MAX, NO_VALUE.to_owned());
    };
    match by {
        Dimension::Day => (
            local.num_days_from_ce() as u64,
            local.format("%Y-%m-%d").to_string(),
        ),
        Dimension::Week => {
            let w = local.iso_week();
            (
                (w.year() as i64 * 64 + w.week() as i64) as u64,
                format!("{}-W{:02}", w.year(), w.week()),
            )
        }
        _ => (
            (local.year() as i64 * 16 + local.month() as i64) as u64,
            format!("{}-{:02}", local.year(), local.month()),
        ),
    }
}
