//! The aggregate report (R33–R37): raw, mergeable counters and distributions; every derived
//! value (mean, percentile, share, rate, compliance) is an `Option` method, `null` in JSON.

use crate::config::SlaMetric;
use crate::conversation::Conversation;
use crate::encoding::{Reader, Writer};
use crate::event::ExcludeReason;
use crate::intern::Names;
use crate::segment::{Breakdown, Dimension};
use crate::sla::{Outcome, Rules};
use crate::stats::{wilson_interval, Distribution, DIGITS, SEGMENT_DIGITS};
use crate::summary::{measure_without_replies, Touch};
use crate::{Error, Result};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use std::fmt;

/// The thresholds of the what-if curves ([`Report::what_if`]): 1, 5, 15 and 30 minutes; 1, 2,
/// 4, 8 and 12 hours; 1, 2, 3, 7, 14 and 30 days.
pub const WHAT_IF_THRESHOLDS_S: [u64; 15] = [
    60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 43_200, 86_400, 172_800, 259_200, 604_800, 1_209_600,
    2_592_000,
];

/// A duration metric with a distribution in the report (R37).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// First response time (R9).
    FirstResponse,
    /// Next reply time (R9).
    NextReply,
    /// First resolution (R13).
    FirstResolution,
    /// Full resolution (R14).
    FullResolution,
    /// Requester wait (R15).
    RequesterWait,
    /// Agent wait (pending, R15).
    AgentWait,
    /// On hold (R15).
    OnHold,
    /// Agent work (R15).
    AgentWork,
}

impl Metric {
    /// All metrics, in report order.
    pub const ALL: [Metric; 8] = [
        Metric::FirstResponse,
        Metric::NextReply,
        Metric::FirstResolution,
        Metric::FullResolution,
        Metric::RequesterWait,
        Metric::AgentWait,
        Metric::OnHold,
        Metric::AgentWork,
    ];

    /// The JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Metric::FirstResponse => "first_response",
            Metric::NextReply => "next_reply",
            Metric::FirstResolution => "first_resolution",
            Metric::FullResolution => "full_resolution",
            Metric::RequesterWait => "requester_wait",
            Metric::AgentWait => "agent_wait",
            Metric::OnHold => "on_hold",
            Metric::AgentWork => "agent_work",
        }
    }
}

/// Conversation counts (R37 `conversations`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Conversations {
    /// Finalized instances, excluded included.
    pub total: u64,
    /// Excluded instances (R26).
    pub excluded: u64,
    /// Excluded instances by reason: spam, merged, deleted.
    pub excluded_by_reason: [u64; 3],
    /// Non-excluded instances resolved at finalization (R14).
    pub resolved: u64,
    /// Non-excluded instances with at least one reopen (R5).
    pub reopened: u64,
    /// Events ignored after finalization (R6).
    pub ignored_after_final: u64,
}

/// First-contact resolution and touch counts (R17).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fcr {
    /// Resolved conversations.
    pub resolved: u64,
    /// Resolved with exactly one reply and no reopen.
    pub fcr: u64,
    /// Resolved with one reply and no reopen that got a reply (Zendesk's one-touch).
    pub one_touch: u64,
    /// Resolved conversations by touch class: zero, one, two, multi.
    pub touch: [u64; 4],
}

impl Fcr {
    /// FCR / resolved; `None` when nothing was resolved.
    pub fn rate(&self) -> Option<f64> {
        ratio(self.fcr, self.resolved)
    }
}

/// Response rate counts (R18).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseRate {
    /// Conversations with a customer public message.
    pub eligible: u64,
    /// … and a qualifying reply.
    pub replied: u64,
}

impl ResponseRate {
    /// replied / eligible; `None` when nothing was eligible.
    pub fn rate(&self) -> Option<f64> {
        ratio(self.replied, self.eligible)
    }
}

/// CSAT counts (R19).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Csat {
    /// Conversations rated (last rating counts).
    pub rated: u64,
    /// Ratings ≥ 4.
    pub satisfied: u64,
    /// Sum of the scores.
    pub score_sum: u64,
}

impl Csat {
    /// satisfied / rated; `None` when nothing was rated.
    pub fn rate(&self) -> Option<f64> {
        ratio(self.satisfied, self.rated)
    }

    /// Mean score; `None` when nothing was rated.
    pub fn mean(&self) -> Option<f64> {
        ratio(self.score_sum, self.rated)
    }
}

/// Outcome counts for one target of one policy (R22, R37 `sla`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlaCounts {
    /// The policy name.
    pub policy: String,
    /// The metric.
    pub metric: SlaMetric,
    /// The threshold.
    pub threshold_s: i64,
    /// The clock name.
    pub clock: String,
    /// Met instances.
    pub met: u64,
    /// Breached instances.
    pub breached: u64,
    /// Instances still active at finalization.
    pub active: u64,
    /// Cancelled instances (not in compliance).
    pub cancelled: u64,
}

impl SlaCounts {
    /// met / (met + breached) (R22); `None` when both are zero.
    pub fn compliance(&self) -> Option<f64> {
        ratio(self.met, self.met + self.breached)
    }

    /// The 95 % Wilson score interval of the compliance (R22).
    pub fn ci95(&self) -> Option<(f64, f64)> {
        wilson_interval(self.met, self.met + self.breached)
    }
}

/// One rejected input (R37 `rejected.first`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Rejection {
    /// The input line, when read from lines.
    pub line: Option<u64>,
    /// `invalid`, `late` or `out_of_order`.
    pub kind: &'static str,
    /// The error message.
    pub message: String,
}

/// How many of the first rejections the report keeps (R37).
const KEEP_REJECTIONS: usize = 10;

/// The aggregate report over finalized conversations (R33–R37).
///
/// Holds only raw, mergeable values; serializes to the R37 JSON object and prints as a table.
///
/// # Example
/// ```
/// use sla_metrics::{Author, Config, Engine, Event, Metric};
/// let mut engine = Engine::new(Config::default())?;
/// let t0: sla_metrics::Timestamp = "2024-04-02T10:00:00Z".parse()?;
/// engine.ingest(&Event::message("c1", t0, Author::Customer))?;
/// engine.ingest(&Event::message("c1", t0.add_secs(600), Author::Agent))?;
/// let report = engine.finish();
/// let frt = report.distribution(Metric::FirstResponse, false).unwrap();
/// assert_eq!(frt.mean_s(), Some(600.0));
/// assert_eq!(frt.within_share(3600), Some(1.0));
/// assert_eq!(report.sla()[0].compliance(), Some(1.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    within_s: Vec<u64>,
    business: bool,
    conversations: Conversations,
    /// 8 calendar distributions, then 8 business ones when a schedule is configured.
    metrics: Vec<Distribution>,
    fcr: Fcr,
    response_rate: ResponseRate,
    csat: Csat,
    duplicates: u64,
    sla: Vec<SlaCounts>,
    /// Start of each policy's targets in `sla`.
    sla_offsets: Vec<usize>,
    rejected: u64,
    first_rejections: Vec<Rejection>,
    /// Breakdowns by segment and cohort (R35), in config order.
    breakdowns: Vec<Breakdown>,
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl Report {
    pub(crate) fn new(rules: &Rules) -> Report {
        let mut r = Report::shaped(rules, DIGITS);
        r.breakdowns = rules
            .segments
            .by
            .iter()
            .map(|&d| Breakdown::new(d, rules.segments.max_segments))
            .collect();
        r
    }

    /// An empty report of one segment (R35): 2-digit histograms, no breakdowns of its own.
    pub(crate) fn segment(rules: &Rules) -> Report {
        Report::shaped(rules, SEGMENT_DIGITS)
    }

    fn shaped(rules: &Rules, digits: u8) -> Report {
        let n = 8 * rules.recorded;
        let mut sla = Vec::new();
        let mut sla_offsets = Vec::new();
        for p in &rules.policies {
            sla_offsets.push(sla.len());
            for t in &p.targets {
                sla.push(SlaCounts {
                    policy: p.name.clone(),
                    metric: t.metric,
                    threshold_s: t.threshold_s,
                    clock: rules.clock_names[t.clock as usize].clone(),
                    met: 0,
                    breached: 0,
                    active: 0,
                    cancelled: 0,
                });
            }
        }
        Report {
            within_s: rules.within_s.clone(),
            business: rules.recorded > 1,
            conversations: Conversations::default(),
            metrics: (0..n)
                .map(|_| Distribution::with_digits(&rules.within_s, digits))
                .collect(),
            fcr: Fcr::default(),
            response_rate: ResponseRate::default(),
            csat: Csat::default(),
            duplicates: 0,
            sla,
            sla_offsets,
            rejected: 0,
            first_rejections: Vec::new(),
            breakdowns: Vec::new(),
        }
    }

    /// Folds one finalized conversation in, and into its segment of every breakdown (R35).
    pub(crate) fn add(&mut self, conv: &Conversation, rules: &Rules, names: &Names) {
        self.add_conversation(conv, rules);
        self.add_replies(conv, rules, None);
        for b in &mut self.breakdowns {
            b.add(conv, rules, names);
        }
    }

    /// Reply samples (R9): first response and next replies on every recorded clock; with
    /// `agent`, only that agent's replies (the breakdown by agent, R35).
    pub(crate) fn add_replies(&mut self, conv: &Conversation, rules: &Rules, agent: Option<u32>) {
        if conv.excluded().is_some() {
            return;
        }
        for c in 0..rules.recorded {
            let clock = &rules.clocks[c];
            for (k, s) in conv.samples().enumerate() {
                if agent.is_some_and(|a| a != s.agent()) {
                    continue;
                }
                let metric = 8 * c + usize::from(k > 0);
                self.metrics[metric].record(clock.between(s.start(), s.end()) as u64);
            }
        }
    }

    /// Everything but reply samples (R26: excluded conversations only count as excluded and
    /// their SLA instances as cancelled).
    pub(crate) fn add_conversation(&mut self, conv: &Conversation, rules: &Rules) {
        self.conversations.total += 1;
        for i in conv.sla.iter() {
            let c = &mut self.sla[self.sla_offsets[i.policy as usize] + i.target as usize];
            match i.state.outcome() {
                Outcome::Met => c.met += 1,
                Outcome::Breached => c.breached += 1,
                Outcome::Active => c.active += 1,
                Outcome::Cancelled => c.cancelled += 1,
            }
        }
        if let Some(reason) = conv.excluded() {
            self.conversations.excluded += 1;
            self.conversations.excluded_by_reason[reason as usize] += 1;
            return;
        }
        for c in 0..rules.recorded {
            let d = measure_without_replies(conv, c, rules);
            let m = &mut self.metrics[8 * c..8 * c + 8];
            if let Some(x) = d.first_resolution_s {
                m[2].record(x as u64);
            }
            if let Some(x) = d.full_resolution_s {
                m[3].record(x as u64);
            }
            m[4].record(d.requester_wait_s as u64);
            m[5].record(d.agent_wait_s as u64);
            m[6].record(d.on_hold_s as u64);
            m[7].record(d.agent_work_s as u64);
        }
        if conv.reopens > 0 {
            self.conversations.reopened += 1;
        }
        if conv.resolved() {
            self.conversations.resolved += 1;
            self.fcr.resolved += 1;
            if conv.replies == 1 && conv.reopens == 0 {
                self.fcr.fcr += 1;
            }
            if conv.one_touch() {
                self.fcr.one_touch += 1;
            }
            self.fcr.touch[Touch::of(conv.replies) as usize] += 1;
        }
        if conv.customer_seen() {
            self.response_rate.eligible += 1;
            if conv.replies > 0 {
                self.response_rate.replied += 1;
            }
        }
        if let Some(s) = conv.csat() {
            self.csat.rated += 1;
            self.csat.score_sum += s as u64;
            if s >= 4 {
                self.csat.satisfied += 1;
            }
        }
    }

    pub(crate) fn count_duplicate(&mut self) {
        self.duplicates += 1;
    }

    pub(crate) fn count_ignored(&mut self) {
        self.conversations.ignored_after_final += 1;
    }

    pub(crate) fn count_rejection(&mut self, err: &Error) {
        self.rejected += 1;
        if self.first_rejections.len() < KEEP_REJECTIONS {
            self.first_rejections.push(Rejection {
                line: err.line(),
                kind: err.code(),
                message: err.to_string(),
            });
        }
    }

    /// Conversation counts.
    pub fn conversations(&self) -> &Conversations {
        &self.conversations
    }

    /// The distribution of a metric on the calendar clock, or on the business clock when
    /// `business` is true (`None` without a schedule).
    pub fn distribution(&self, metric: Metric, business: bool) -> Option<&Distribution> {
        let base = if business { 8 } else { 0 };
        self.metrics.get(base + metric as usize)
    }

    /// FCR and touch counts.
    pub fn fcr(&self) -> &Fcr {
        &self.fcr
    }

    /// Response rate counts.
    pub fn response_rate(&self) -> &ResponseRate {
        &self.response_rate
    }

    /// CSAT counts.
    pub fn csat(&self) -> &Csat {
        &self.csat
    }

    /// Duplicate deliveries ignored (R4).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Outcome counts per policy target, in policy and target order.
    pub fn sla(&self) -> &[SlaCounts] {
        &self.sla
    }

    /// Rejected events (R42).
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// The first rejections (up to 10), with line numbers when read from lines.
    pub fn first_rejections(&self) -> &[Rejection] {
        &self.first_rejections
    }

    /// The thresholds counted exactly (R34).
    pub fn within_s(&self) -> &[u64] {
        &self.within_s
    }

    /// Whether business-clock distributions are present (R31).
    pub fn has_business_clock(&self) -> bool {
        self.business
    }

    /// The what-if curve of a metric (R34): for each of [`WHAT_IF_THRESHOLDS_S`] (1 minute to
    /// 30 days), the share of samples within it, estimated from the histogram (histogram
    /// precision, not exact; the configured `within_s` shares are the exact ones). `None`
    /// shares when there are no samples; an empty list when the clock is not recorded.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Config, Engine, Event, Metric};
    /// let mut engine = Engine::new(Config::default())?;
    /// let t0: sla_metrics::Timestamp = "2024-04-02T10:00:00Z".parse()?;
    /// engine.ingest(&Event::message("c1", t0, Author::Customer))?;
    /// engine.ingest(&Event::message("c1", t0.add_secs(600), Author::Agent))?; // 10 min
    /// let curve = engine.finish().what_if(Metric::FirstResponse, false);
    /// assert_eq!(curve[0], (60, Some(0.0))); // none within 1 minute
    /// assert_eq!(curve[4], (3600, Some(1.0))); // all within 1 hour
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn what_if(&self, metric: Metric, business: bool) -> Vec<(u64, Option<f64>)> {
        match self.distribution(metric, business) {
            Some(d) => WHAT_IF_THRESHOLDS_S
                .iter()
                .map(|&t| (t, d.estimated_share_within(t)))
                .collect(),
            None => Vec::new(),
        }
    }

    /// The breakdowns by segment and cohort (R35), in config order; empty unless the config
    /// asks for `segments`.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Config, Dimension, Engine, Event, EventKind};
    /// let config = Config::from_json(r#"{"segments": {"by": ["brand"]}}"#)?;
    /// let mut engine = Engine::new(config)?;
    /// let t0: sla_metrics::Timestamp = "2024-04-02T10:00:00Z".parse()?;
    /// let brand = EventKind::Attributes { channel: None, brand: Some("acme".into()), tags: None };
    /// engine.ingest(&Event::new("c1", t0, brand))?;
    /// engine.ingest(&Event::message("c1", t0, Author::Customer))?;
    /// engine.ingest(&Event::message("c2", t0, Author::Customer))?;
    /// let report = engine.finish();
    /// let by_brand = report.breakdown(Dimension::Brand).unwrap();
    /// assert_eq!(by_brand.get("acme").unwrap().conversations().total, 1);
    /// assert_eq!(by_brand.get("(none)").unwrap().conversations().total, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn breakdowns(&self) -> &[Breakdown] {
        &self.breakdowns
    }

    /// The breakdown by `by`, if the config asks for it.
    pub fn breakdown(&self, by: Dimension) -> Option<&Breakdown> {
        self.breakdowns.iter().find(|b| b.by() == by)
    }

    /// Adds another report of the same configuration (R36): counts, sums and within counters
    /// exactly, histograms bucket by bucket. Shards partitioned by conversation id and finished
    /// at the same instant merge into the report of the whole stream.
    ///
    /// # Errors
    /// The reports come from different configurations (thresholds, clocks or policies).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Config, Engine, Event};
    /// let t0: sla_metrics::Timestamp = "2024-04-02T10:00:00Z".parse()?;
    /// let (mut a, mut b) = (Engine::new(Config::default())?, Engine::new(Config::default())?);
    /// a.ingest(&Event::message("c1", t0, Author::Customer))?;
    /// b.ingest(&Event::message("c2", t0, Author::Customer))?;
    /// let mut report = a.finish_at(t0);
    /// report.merge(&b.finish_at(t0))?;
    /// assert_eq!(report.conversations().total, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn merge(&mut self, other: &Report) -> Result<()> {
        let same_sla = self.sla.len() == other.sla.len()
            && self.sla.iter().zip(&other.sla).all(|(a, b)| {
                a.policy == b.policy
                    && a.metric == b.metric
                    && a.threshold_s == b.threshold_s
                    && a.clock == b.clock
            });
        let same_breakdowns = self.breakdowns.len() == other.breakdowns.len()
            && self
                .breakdowns
                .iter()
                .zip(&other.breakdowns)
                .all(|(a, b)| a.by() == b.by());
        if self.within_s != other.within_s || self.business != other.business || !same_sla || !same_breakdowns
        {
            return Err(Error::config(
                "cannot merge reports of different configurations (R36)",
            ));
        }
        for (a, b) in self.metrics.iter_mut().zip(&other.metrics) {
            a.merge(b)?;
        }
        let (c, o) = (&mut self.conversations, &other.conversations);
        c.total += o.total;
        c.excluded += o.excluded;
        for (a, b) in c.excluded_by_reason.iter_mut().zip(o.excluded_by_reason) {
            *a += b;
        }
        c.resolved += o.resolved;
        c.reopened += o.reopened;
        c.ignored_after_final += o.ignored_after_final;
        self.fcr.resolved += other.fcr.resolved;
        self.fcr.fcr += other.fcr.fcr;
        self.fcr.one_touch += other.fcr.one_touch;
        for (a, b) in self.fcr.touch.iter_mut().zip(other.fcr.touch) {
            *a += b;
        }
        self.response_rate.eligible += other.response_rate.eligible;
        self.response_rate.replied += other.response_rate.replied;
        self.csat.rated += other.csat.rated;
        self.csat.satisfied += other.csat.satisfied;
        self.csat.score_sum += other.csat.score_sum;
        self.duplicates += other.duplicates;
        for (a, b) in self.sla.iter_mut().zip(&other.sla) {
            a.met += b.met;
            a.breached += b.breached;
            a.active += b.active;
            a.cancelled += b.cancelled;
        }
        self.rejected += other.rejected;
        if self.first_rejections.is_empty() {
            self.first_rejections.clone_from(&other.first_rejections);
        } else if !other.first_rejections.is_empty() {
            // Shards partition the lines: the merged first rejections are the earliest lines
            // of both, whatever order the shards are merged in.
            self.first_rejections
                .extend(other.first_rejections.iter().cloned());
            self.first_rejections.sort_by_key(|r| r.line.unwrap_or(u64::MAX));
            self.first_rejections.truncate(KEEP_REJECTIONS);
        }
        for (a, b) in self.breakdowns.iter_mut().zip(&other.breakdowns) {
            a.merge(b)?;
        }
        Ok(())
    }

    /// The report in the crate's compact, versioned binary encoding (R36): every raw counter and
    /// each histogram in HdrHistogram V2 form, for shipping shard results to an aggregator.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Config, Engine, Event, Report};
    /// let mut engine = Engine::new(Config::default())?;
    /// engine.ingest(&Event::message("c1", "2024-04-02T10:00:00Z".parse()?, Author::Customer))?;
    /// let report = engine.finish();
    /// let bytes = report.to_bytes();
    /// assert_eq!(Report::from_bytes(&bytes)?, report);
    /// assert!(Report::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(&crate::encoding::REPORT);
        w.u64(self.within_s.len() as u64);
        self.within_s.iter().for_each(|&t| w.u64(t));
        w.u8(u8::from(self.business));
        let c = &self.conversations;
        for v in [c.total, c.excluded, c.resolved, c.reopened, c.ignored_after_final] {
            w.u64(v);
        }
        c.excluded_by_reason.iter().for_each(|&v| w.u64(v));
        w.u64(self.metrics.len() as u64);
        self.metrics.iter().for_each(|d| d.encode(&mut w));
        for v in [self.fcr.resolved, self.fcr.fcr, self.fcr.one_touch] {
            w.u64(v);
        }
        self.fcr.touch.iter().for_each(|&v| w.u64(v));
        for v in [
            self.response_rate.eligible,
            self.response_rate.replied,
            self.csat.rated,
            self.csat.satisfied,
            self.csat.score_sum,
            self.duplicates,
        ] {
            w.u64(v);
        }
        w.u64(self.sla.len() as u64);
        for x in &self.sla {
            w.str(&x.policy);
            w.str(x.metric.as_str());
            w.i64(x.threshold_s);
            w.str(&x.clock);
            for v in [x.met, x.breached, x.active, x.cancelled] {
                w.u64(v);
            }
        }
        w.u64(self.sla_offsets.len() as u64);
        self.sla_offsets.iter().for_each(|&o| w.u64(o as u64));
        w.u64(self.rejected);
        w.u64(self.first_rejections.len() as u64);
        for r in &self.first_rejections {
            w.u64(r.line.map_or(0, |l| l + 1));
            w.str(r.kind);
            w.str(&r.message);
        }
        w.u64(self.breakdowns.len() as u64);
        self.breakdowns.iter().for_each(|b| b.encode(&mut w));
        w.0
    }

    /// Decodes [`Report::to_bytes`].
    ///
    /// # Errors
    /// [`ErrorKind::Encoding`](crate::ErrorKind::Encoding): truncated or corrupt bytes, another
    /// format version, or counters that contradict each other.
    pub fn from_bytes(bytes: &[u8]) -> Result<Report> {
        let mut r = Reader::new(bytes, &crate::encoding::REPORT)?;
        let n = r.len()?;
        let within_s = (0..n).map(|_| r.u64()).collect::<Result<Vec<_>>>()?;
        let business = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(Error::encoding("bad business-clock flag")),
        };
        let mut c = Conversations::default();
        for v in [
            &mut c.total,
            &mut c.excluded,
            &mut c.resolved,
            &mut c.reopened,
            &mut c.ignored_after_final,
        ] {
            *v = r.u64()?;
        }
        for v in &mut c.excluded_by_reason {
            *v = r.u64()?;
        }
        let n = r.len()?;
        if n != if business { 16 } else { 8 } {
            return Err(Error::encoding(format!("{n} distributions")));
        }
        let metrics = (0..n)
            .map(|_| Distribution::decode(&mut r))
            .collect::<Result<Vec<_>>>()?;
        if metrics
            .iter()
            .any(|d| d.within().iter().map(|w| w.0).ne(within_s.iter().copied()))
        {
            return Err(Error::encoding("distribution thresholds differ from within_s"));
        }
        let mut fcr = Fcr::default();
        for v in [&mut fcr.resolved, &mut fcr.fcr, &mut fcr.one_touch] {
            *v = r.u64()?;
        }
        for v in &mut fcr.touch {
            *v = r.u64()?;
        }
        let mut response_rate = ResponseRate::default();
        let mut csat = Csat::default();
        let mut duplicates = 0;
        for v in [
            &mut response_rate.eligible,
            &mut response_rate.replied,
            &mut csat.rated,
            &mut csat.satisfied,
            &mut csat.score_sum,
            &mut duplicates,
        ] {
            *v = r.u64()?;
        }
        let n = r.len()?;
        let mut sla = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let policy = r.str()?;
            let metric_name = r.str()?;
            let metric = SlaMetric::from_name(&metric_name)
                .ok_or_else(|| Error::encoding(format!("unknown metric {metric_name}")))?;
            let threshold_s = r.i64()?;
            let clock = r.str()?;
            sla.push(SlaCounts {
                policy,
                metric,
                threshold_s,
                clock,
                met: r.u64()?,
                breached: r.u64()?,
                active: r.u64()?,
                cancelled: r.u64()?,
            });
        }
        let n = r.len()?;
        let sla_offsets = (0..n)
            .map(|_| Ok(r.u64()? as usize))
            .collect::<Result<Vec<_>>>()?;
        if sla_offsets.iter().any(|&o| o > sla.len()) {
            return Err(Error::encoding("SLA offsets out of range"));
        }
        let rejected = r.u64()?;
        let n = r.len()?;
        let mut first_rejections = Vec::with_capacity(n.min(KEEP_REJECTIONS));
        for _ in 0..n {
            let line = r.u64()?.checked_sub(1);
            let kind = match r.str()?.as_str() {
                "invalid" => "invalid",
                "late" => "late",
                "out_of_order" => "out_of_order",
                other => return Err(Error::encoding(format!("unknown rejection kind {other}"))),
            };
            first_rejections.push(Rejection {
                line,
                kind,
                message: r.str()?,
            });
        }
        let n = r.len()?;
        let breakdowns = (0..n)
            .map(|_| Breakdown::decode(&mut r))
            .collect::<Result<Vec<_>>>()?;
        r.finish()?;
        Ok(Report {
            within_s,
            business,
            conversations: c,
            metrics,
            fcr,
            response_rate,
            csat,
            duplicates,
            sla,
            sla_offsets,
            rejected,
            first_rejections,
            breakdowns,
        })
    }

    /// The report as pretty JSON (R37), as `sla_report --json` prints it.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A number of the report by path, for gates and dashboards: a dotted path into the R37
    /// JSON (`first_response.within.3600`, `fcr.rate`, `conversations.resolved`, and list
    /// elements by position, `sla.0.breached`, as the golden cases of SPEC §11 write them), or
    /// `sla.<policy>.<metric>.<threshold_s>` (optionally `.<clock>`) for a target's compliance.
    /// `None` when the path names nothing or the value is `null` (a share over zero items).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Config, Engine, Event};
    /// let mut engine = Engine::new(Config::default())?;
    /// let t0: sla_metrics::Timestamp = "2024-04-02T10:00:00Z".parse()?;
    /// engine.ingest(&Event::message("c1", t0, Author::Customer))?;
    /// engine.ingest(&Event::message("c1", t0.add_secs(4000), Author::Agent))?;
    /// let report = engine.finish();
    /// assert_eq!(report.value("first_response.within.86400"), Some(1.0));
    /// assert_eq!(report.value("sla.default.first_response.3600"), Some(0.0));
    /// assert_eq!(report.value("sla.0.breached"), Some(1.0)); // the first target, by position
    /// assert_eq!(report.value("next_reply.mean_s"), None); // no samples: null
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn value(&self, path: &str) -> Option<f64> {
        let parts: Vec<&str> = path.split('.').collect();
        if parts.first() == Some(&"sla") && parts.len() >= 4 {
            let threshold = parts[3].parse::<i64>().ok();
            let clock = parts.get(4).copied();
            let target = self.sla.iter().find(|c| {
                c.policy == parts[1]
                    && c.metric.as_str() == parts[2]
                    && Some(c.threshold_s) == threshold
                    && clock.map_or(true, |k| k == c.clock)
            });
            if let Some(target) = target {
                return target.compliance();
            }
            // Not a target: a path into the list (`sla.0.ci95.1`).
        }
        let json = serde_json::to_value(self).ok()?;
        parts
            .iter()
            .try_fold(&json, |v, k| match v {
                serde_json::Value::Array(items) => items.get(k.parse::<usize>().ok()?),
                _ => v.get(*k),
            })?
            .as_f64()
    }
}

/// The what-if curve (R34): share within each threshold, estimated from the histogram.
struct WhatIfView<'a>(&'a Report);

impl serde::Serialize for WhatIfView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "precision",
            "histogram estimate (values within 0.1 %); the exact shares are the `within` keys",
        )?;
        m.serialize_entry("thresholds_s", &WHAT_IF_THRESHOLDS_S)?;
        let clocks: &[(bool, &str)] = if self.0.business {
            &[(false, ""), (true, "_business")]
        } else {
            &[(false, "")]
        };
        for &(business, suffix) in clocks {
            for metric in Metric::ALL {
                let curve: Vec<Option<f64>> = self
                    .0
                    .what_if(metric, business)
                    .into_iter()
                    .map(|(_, share)| share)
                    .collect();
                m.serialize_entry(&format!("{}{suffix}", metric.as_str()), &curve)?;
            }
        }
        m.end()
    }
}

/// Serializes a distribution as R37 wants it.
struct DistView<'a>(&'a Distribution);

impl serde::Serialize for DistView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("count", &d.count())?;
        m.serialize_entry("sum_s", &(d.sum_s() as u64))?;
        m.serialize_entry("mean_s", &d.mean_s())?;
        m.serialize_entry("min_s", &d.min_s())?;
        m.serialize_entry("p50_s", &d.quantile_s(0.50))?;
        m.serialize_entry("p90_s", &d.quantile_s(0.90))?;
        m.serialize_entry("p95_s", &d.quantile_s(0.95))?;
        m.serialize_entry("p99_s", &d.quantile_s(0.99))?;
        m.serialize_entry("max_s", &d.max_s())?;
        let within: serde_json::Map<String, serde_json::Value> = d
            .within()
            .iter()
            .map(|&(t, _)| (t.to_string(), serde_json::json!(d.within_share(t))))
            .collect();
        m.serialize_entry("within", &within)?;
        m.serialize_entry("saturated", &d.saturated())?;
        m.end()
    }
}

impl serde::Serialize for Report {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ReportView {
            report: self,
            segment: false,
        }
        .serialize(s)
    }
}

/// The R37 JSON of a report; a segment's (R35) leaves out the what-if curves and breakdowns.
struct ReportView<'a> {
    report: &'a Report,
    segment: bool,
}

/// The JSON of the segments of one breakdown: `{name: report}`, sorted by name.
struct BreakdownView<'a>(&'a Breakdown);

impl serde::Serialize for BreakdownView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for seg in self.0.segments() {
            m.serialize_entry(
                &seg.name,
                &ReportView {
                    report: &seg.report,
                    segment: true,
                },
            )?;
        }
        m.end()
    }
}

impl serde::Serialize for ReportView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde_json::json;
        let this = self.report;
        let mut m = s.serialize_map(None)?;
        let c = &this.conversations;
        let by_reason: serde_json::Map<String, serde_json::Value> = ExcludeReason::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), json!(c.excluded_by_reason[*r as usize])))
            .collect();
        m.serialize_entry(
            "conversations",
            &json!({
                "total": c.total, "excluded": c.excluded, "excluded_by_reason": by_reason,
                "resolved": c.resolved, "reopened": c.reopened,
                "ignored_after_final": c.ignored_after_final,
            }),
        )?;
        for metric in Metric::ALL {
            m.serialize_entry(metric.as_str(), &DistView(&this.metrics[metric as usize]))?;
        }
        if this.business {
            for metric in Metric::ALL {
                m.serialize_entry(
                    &format!("{}_business", metric.as_str()),
                    &DistView(&this.metrics[8 + metric as usize]),
                )?;
            }
        }
        let f = &this.fcr;
        m.serialize_entry(
            "fcr",
            &json!({
                "resolved": f.resolved, "fcr": f.fcr, "rate": f.rate(), "one_touch": f.one_touch,
                "zero_touch": f.touch[0], "two_touch": f.touch[2], "multi_touch": f.touch[3],
                "touch": {"zero": f.touch[0], "one": f.touch[1], "two": f.touch[2], "multi": f.touch[3]},
            }),
        )?;
        let r = &this.response_rate;
        m.serialize_entry(
            "response_rate",
            &json!({"eligible": r.eligible, "replied": r.replied, "rate": r.rate()}),
        )?;
        let cs = &this.csat;
        m.serialize_entry(
            "csat",
            &json!({"rated": cs.rated, "satisfied": cs.satisfied, "rate": cs.rate(), "mean": cs.mean()}),
        )?;
        m.serialize_entry("duplicates", &this.duplicates)?;
        m.serialize_entry("sla", &SlaView(&this.sla))?;
        m.serialize_entry(
            "rejected",
            &json!({"count": this.rejected, "first": this.first_rejections}),
        )?;
        if !self.segment {
            m.serialize_entry("what_if", &WhatIfView(this))?;
        }
        if !this.breakdowns.is_empty() {
            let mut by = serde_json::Map::new();
            for b in &this.breakdowns {
                let v = serde_json::to_value(BreakdownView(b)).map_err(serde::ser::Error::custom)?;
                by.insert(b.by().as_str().to_owned(), v);
            }
            m.serialize_entry("segments", &by)?;
        }
        m.end()
    }
}

struct SlaView<'a>(&'a [SlaCounts]);

impl serde::Serialize for SlaView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for c in self.0 {
            seq.serialize_element(&serde_json::json!({
                "policy": c.policy, "metric": c.metric, "threshold_s": c.threshold_s, "clock": c.clock,
                "met": c.met, "breached": c.breached, "active": c.active, "cancelled": c.cancelled,
                "compliance": c.compliance(), "ci95": c.ci95().map(|(lo, hi)| [lo, hi]),
            }))?;
        }
        seq.end()
    }
}

fn human(secs: Option<f64>) -> String {
    let Some(s) = secs else { return "-".into() };
    if s < 60.0 {
        format!("{s:.0}s")
    } else if s < 3600.0 {
        format!("{:.1}m", s / 60.0)
    } else if s < 86_400.0 * 2.0 {
        format!("{:.1}h", s / 3600.0)
    } else {
        format!("{:.1}d", s / 86_400.0)
    }
}

/// Segments shown per breakdown in the text report.
const SHOWN_SEGMENTS: usize = 25;

impl Report {
    /// One breakdown as a table: largest segments first (cohorts in time order), first
    /// response figures, the response rate and the first SLA target's compliance.
    fn fmt_breakdown(&self, f: &mut fmt::Formatter<'_>, b: &Breakdown) -> fmt::Result {
        let segments = b.display_order();
        let note = if b.by() == Dimension::Agent {
            "; first response figures by the agent who replied"
        } else {
            ""
        };
        writeln!(f, "by {} ({} segments{note})", b.by().as_str(), segments.len())?;
        write!(
            f,
            "{:<24} {:>9} {:>9} {:>8} {:>8}",
            "segment", "convs", "frt n", "frt p50", "frt p90"
        )?;
        for t in &self.within_s {
            write!(f, " {:>8}", format!("<={}", human(Some(*t as f64))))?;
        }
        writeln!(f, " {:>9} {:>8}", "resp rate", "sla")?;
        for seg in segments.iter().take(SHOWN_SEGMENTS) {
            let r = &seg.report;
            let d = &r.metrics[Metric::FirstResponse as usize];
            let name: String = seg.name.chars().take(24).collect();
            write!(
                f,
                "{:<24} {:>9} {:>9} {:>8} {:>8}",
                name,
                r.conversations.total,
                d.count(),
                human(d.quantile_s(0.5).map(|v| v as f64)),
                human(d.quantile_s(0.9).map(|v| v as f64))
            )?;
            for &(t, _) in d.within() {
                write!(f, " {:>8}", pct(d.within_share(t)))?;
            }
            writeln!(
                f,
                " {:>9} {:>8}",
                pct(r.response_rate.rate()),
                pct(r.sla.first().and_then(SlaCounts::compliance))
            )?;
        }
        if segments.len() > SHOWN_SEGMENTS {
            writeln!(
                f,
                "+ {} more segments (in the JSON report)",
                segments.len() - SHOWN_SEGMENTS
            )?;
        }
        Ok(())
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.1}%", v * 100.0))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.conversations;
        writeln!(
            f,
            "conversations: {} ({} excluded: {} spam, {} merged, {} deleted), {} resolved, {} reopened, {} events ignored after final",
            c.total, c.excluded, c.excluded_by_reason[0], c.excluded_by_reason[1], c.excluded_by_reason[2],
            c.resolved, c.reopened, c.ignored_after_final
        )?;
        writeln!(f)?;
        let within_hdr: Vec<String> = self
            .within_s
            .iter()
            .map(|t| format!("<={}", human(Some(*t as f64))))
            .collect();
        write!(
            f,
            "{:<26} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "metric", "count", "mean", "p50", "p90", "p95", "p99", "max"
        )?;
        for h in &within_hdr {
            write!(f, " {h:>8}")?;
        }
        writeln!(f)?;
        let clocks = if self.business { 2 } else { 1 };
        for clock in 0..clocks {
            for metric in Metric::ALL {
                let d = &self.metrics[8 * clock + metric as usize];
                let name = if clock == 1 {
                    format!("{} (business)", metric.as_str())
                } else {
                    metric.as_str().to_owned()
                };
                let q = |p| human(d.quantile_s(p).map(|v| v as f64));
                write!(
                    f,
                    "{:<26} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
                    name,
                    d.count(),
                    human(d.mean_s()),
                    q(0.5),
                    q(0.9),
                    q(0.95),
                    q(0.99),
                    human(d.max_s().map(|v| v as f64))
                )?;
                for &(t, _) in d.within() {
                    write!(f, " {:>8}", pct(d.within_share(t)))?;
                }
                writeln!(f)?;
            }
        }
        writeln!(f)?;
        let fc = &self.fcr;
        writeln!(
            f,
            "resolution: {} resolved, FCR {} ({}), one-touch {}, touches zero/one/two/multi {}/{}/{}/{}",
            fc.resolved,
            fc.fcr,
            pct(fc.rate()),
            fc.one_touch,
            fc.touch[0],
            fc.touch[1],
            fc.touch[2],
            fc.touch[3]
        )?;
        let r = &self.response_rate;
        writeln!(
            f,
            "response rate: {}/{} ({})",
            r.replied,
            r.eligible,
            pct(r.rate())
        )?;
        let cs = &self.csat;
        writeln!(
            f,
            "csat: {} rated, {} satisfied ({}), mean {}",
            cs.rated,
            cs.satisfied,
            pct(cs.rate()),
            cs.mean().map_or("-".into(), |m| format!("{m:.2}"))
        )?;
        writeln!(f, "duplicates ignored: {}", self.duplicates)?;
        if !self.sla.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "{:<14} {:<18} {:>10} {:<10} {:>8} {:>8} {:>7} {:>9} {:>8}  95% CI",
                "policy", "target", "threshold", "clock", "met", "breached", "active", "cancelled", "comply"
            )?;
            for s in &self.sla {
                let ci = s.ci95().map_or("-".into(), |(lo, hi)| {
                    format!("{}–{}", pct(Some(lo)), pct(Some(hi)))
                });
                writeln!(
                    f,
                    "{:<14} {:<18} {:>10} {:<10} {:>8} {:>8} {:>7} {:>9} {:>8}  {}",
                    s.policy,
                    s.metric.as_str(),
                    human(Some(s.threshold_s as f64)),
                    s.clock,
                    s.met,
                    s.breached,
                    s.active,
                    s.cancelled,
                    pct(s.compliance()),
                    ci
                )?;
            }
        }
        let frt = &self.metrics[Metric::FirstResponse as usize];
        if frt.count() > 0 {
            writeln!(f)?;
            write!(f, "first response what-if (histogram estimate):")?;
            for (t, share) in self.what_if(Metric::FirstResponse, false) {
                write!(f, " <={} {}", human(Some(t as f64)), pct(share))?;
            }
            writeln!(f)?;
        }
        for b in &self.breakdowns {
            writeln!(f)?;
            self.fmt_breakdown(f, b)?;
        }
        if self.rejected > 0 {
            writeln!(f)?;
            writeln!(
                f,
                "rejected: {} (first {} below)",
                self.rejected,
                self.first_rejections.len()
            )?;
            for r in &self.first_rejections {
                writeln!(f, "  {}", r.message)?;
            }
        }
        Ok(())
    }
}
