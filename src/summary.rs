//! The per-conversation summary of SPEC §10, emitted at finalization (R39).

use crate::config::SlaMetric;
use crate::conversation::{Conversation, FinalizedBy};
use crate::event::{Author, ExcludeReason};
use crate::sla::{Outcome, Rules};
use crate::Timestamp;
use serde::ser::{SerializeMap, Serializer};

/// A touch class of a resolved conversation (R17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Touch {
    /// No qualifying reply.
    Zero,
    /// One qualifying reply.
    One,
    /// Two qualifying replies.
    Two,
    /// Three or more.
    Multi,
}

impl Touch {
    pub(crate) fn of(replies: u32) -> Touch {
        match replies {
            0 => Touch::Zero,
            1 => Touch::One,
            2 => Touch::Two,
            _ => Touch::Multi,
        }
    }

    /// The JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Touch::Zero => "zero",
            Touch::One => "one",
            Touch::Two => "two",
            Touch::Multi => "multi",
        }
    }
}

/// The durations of one conversation instance on one clock, in seconds (R9–R15), exact over
/// the whole range R1 accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Durations {
    /// First response time (R9); `None` if no wait was answered.
    pub first_response_s: Option<i64>,
    /// Next reply times, in order (R9).
    pub next_reply_s: Vec<i64>,
    /// Creation to first resolution (R13).
    pub first_resolution_s: Option<i64>,
    /// Creation to last resolution, if resolved at finalization (R14).
    pub full_resolution_s: Option<i64>,
    /// Time in new, open and on-hold (R15).
    pub requester_wait_s: i64,
    /// Time in pending (R15).
    pub agent_wait_s: i64,
    /// Time in on-hold (R15).
    pub on_hold_s: i64,
    /// Time in new and open (R15).
    pub agent_work_s: i64,
}

/// The outcome of one SLA instance of a conversation (§10 `sla`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SlaRecord {
    /// The policy name.
    pub policy: String,
    /// The target's metric.
    pub metric: SlaMetric,
    /// The target's threshold.
    pub threshold_s: i64,
    /// The target's clock name.
    pub clock: String,
    /// met, breached, cancelled or active (R21).
    pub outcome: Outcome,
    /// The deadline in force when the outcome was decided (R43).
    pub deadline: Timestamp,
}

/// One record per finalized conversation instance (SPEC §10).
///
/// Serializes to the §10 JSON object; `_business_s` twins appear only when a schedule is
/// configured.
///
/// # Example
/// ```
/// use sla_metrics::{Author, Config, Engine, Event, Status, EventKind};
/// let mut engine = Engine::new(Config::default())?;
/// engine.collect_summaries(true);
/// let t0: sla_metrics::Timestamp = "2024-04-02T10:00:00Z".parse()?;
/// engine.ingest(&Event::message("c1", t0, Author::Customer))?;
/// engine.ingest(&Event::message("c1", t0.add_secs(300), Author::Agent))?;
/// engine.ingest(&Event::new("c1", t0.add_secs(600), EventKind::Status(Status::Closed)))?;
/// let s = engine.drain_summaries().next().unwrap();
/// assert_eq!(s.calendar.first_response_s, Some(300));
/// assert_eq!(s.fcr, true);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// The conversation id.
    pub conversation: String,
    /// 1, or 2, 3, … for follow-ups (R6).
    pub instance: u32,
    /// The first event's instant (R2).
    pub created_at: Timestamp,
    /// Author of the first message; `None` means `system` (R2).
    pub initiated_by: Option<Author>,
    /// Why the conversation was excluded, if it was (R26).
    pub excluded: Option<ExcludeReason>,
    /// Durations on the calendar clock.
    pub calendar: Durations,
    /// Durations on the business clock, when a schedule is configured (R31).
    pub business: Option<Durations>,
    /// Qualifying replies after the first customer message (R16).
    pub replies: u32,
    /// Moves out of solved (R5).
    pub reopens: u32,
    /// A solve or close ended a wait before any reply (R11).
    pub solved_without_reply: bool,
    /// Touch class, for resolved conversations (R17).
    pub touch: Option<Touch>,
    /// First-contact resolution (R17).
    pub fcr: bool,
    /// The last CSAT score (R19).
    pub csat: Option<u8>,
    /// The finalization instant (R39).
    pub finalized_at: Timestamp,
    /// What finalized it (R39).
    pub finalized_by: FinalizedBy,
    /// SLA instances in activation order.
    pub sla: Vec<SlaRecord>,
    /// The instance's segment values at finalization (R35), as a breakdown names them;
    /// `None` where unset.
    pub segment: SegmentValues,
}

/// The values of an instance's segment dimensions at finalization (R35): what a breakdown by
/// channel, brand, priority, team or agent files it under. These let a query engine group
/// summaries the way [`crate::Segments`] groups a report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SegmentValues {
    /// The channel, from `attributes` or the first message that named one.
    pub channel: Option<String>,
    /// The brand, from `attributes`.
    pub brand: Option<String>,
    /// The priority (`normal` unless set).
    pub priority: crate::Priority,
    /// The assigned team.
    pub team: Option<String>,
    /// The agent of record: the assignee, else the last agent who replied.
    pub agent: Option<String>,
}

/// Durations of a conversation on clock `c`, without allocating: next replies are visited.
pub(crate) fn measure(
    conv: &Conversation,
    c: usize,
    rules: &Rules,
    mut next_reply: impl FnMut(i64),
) -> Durations {
    let clock = &rules.clocks[c];
    let mut samples = conv.samples();
    let first_response_s = samples.next().map(|s| clock.between(s.start(), s.end()));
    for s in samples {
        next_reply(clock.between(s.start(), s.end()));
    }
    Durations {
        first_response_s,
        ..measure_without_replies(conv, c, rules)
    }
}

/// The durations other than reply samples (R13–R15) on clock `c`.
pub(crate) fn measure_without_replies(conv: &Conversation, c: usize, rules: &Rules) -> Durations {
    let clock = &rules.clocks[c];
    let span = |a: Timestamp, b: Timestamp| clock.between(a, b);
    let st = conv.status_time(c);
    Durations {
        first_response_s: None,
        next_reply_s: Vec::new(),
        first_resolution_s: conv.first_resolution_at.get().map(|r| span(conv.created_at(), r)),
        full_resolution_s: if conv.resolved() {
            conv.last_resolution_at.get().map(|r| span(conv.created_at(), r))
        } else {
            None
        },
        requester_wait_s: st[0] + st[2],
        agent_wait_s: st[1],
        on_hold_s: st[2],
        agent_work_s: st[0],
    }
}

impl Summary {
    pub(crate) fn build(
        key: String,
        conv: &Conversation,
        finalized_at: Timestamp,
        finalized_by: FinalizedBy,
        rules: &Rules,
        names: &crate::intern::Names,
    ) -> Summary {
        let name = |id: u32, names: &crate::intern::Interner| {
            (id != crate::intern::NONE).then(|| crate::segment::value_name(id, names))
        };
        let durations = |c: usize| {
            let mut nr = Vec::new();
            let mut d = measure(conv, c, rules, |x| nr.push(x));
            d.next_reply_s = nr;
            d
        };
        let resolved = conv.resolved();
        Summary {
            conversation: key,
            instance: conv.instance(),
            created_at: conv.created_at(),
            initiated_by: conv.initiated_by,
            excluded: conv.excluded(),
            calendar: durations(0),
            business: (rules.recorded > 1).then(|| durations(1)),
            replies: conv.replies,
            reopens: conv.reopens,
            solved_without_reply: conv.solved_without_reply(),
            touch: resolved.then(|| Touch::of(conv.replies)),
            fcr: resolved && conv.replies == 1 && conv.reopens == 0,
            csat: conv.csat(),
            finalized_at,
            finalized_by,
            sla: conv
                .sla
                .iter()
                .map(|i| SlaRecord {
                    policy: rules.policies[i.policy as usize].name.clone(),
                    metric: i.metric,
                    threshold_s: i.threshold_s(rules),
                    clock: rules.clock_names[i.clock(rules) as usize].clone(),
                    outcome: i.state.outcome(),
                    deadline: i.deadline(),
                })
                .collect(),
            segment: SegmentValues {
                channel: name(conv.channel.get(), &names.channels),
                brand: name(conv.brand.get(), &names.brands),
                priority: conv.priority,
                team: name(conv.team.get(), &names.teams),
                agent: name(conv.agent_of_record(), &names.agents),
            },
        }
    }

    /// This summary as one line of JSON (§10), as `sla_report --summaries` prints it.
    ///
    /// # Example
    /// ```
    /// # use sla_metrics::{Author, Config, Engine, Event};
    /// let mut engine = Engine::new(Config::default())?;
    /// engine.collect_summaries(true);
    /// engine.ingest(&Event::message("c1", "2024-04-02T10:00:00Z".parse()?, Author::Customer))?;
    /// engine.finish();
    /// let line = engine.drain_summaries().next().unwrap().to_json();
    /// assert!(line.starts_with(r#"{"conversation":"c1","instance":1,"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn put_durations<M: SerializeMap>(m: &mut M, d: &Durations, suffix: &str) -> Result<(), M::Error> {
    m.serialize_entry(&format!("first_response{suffix}"), &d.first_response_s)?;
    m.serialize_entry(&format!("next_reply{suffix}"), &d.next_reply_s)?;
    m.serialize_entry(&format!("first_resolution{suffix}"), &d.first_resolution_s)?;
    m.serialize_entry(&format!("full_resolution{suffix}"), &d.full_resolution_s)?;
    m.serialize_entry(&format!("requester_wait{suffix}"), &d.requester_wait_s)?;
    m.serialize_entry(&format!("agent_wait{suffix}"), &d.agent_wait_s)?;
    m.serialize_entry(&format!("on_hold{suffix}"), &d.on_hold_s)?;
    m.serialize_entry(&format!("agent_work{suffix}"), &d.agent_work_s)
}

impl serde::Serialize for Summary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("conversation", &self.conversation)?;
        m.serialize_entry("instance", &self.instance)?;
        m.serialize_entry("created_at", &self.created_at)?;
        m.serialize_entry("initiated_by", self.initiated_by.map_or("system", Author::as_str))?;
        m.serialize_entry("excluded", &self.excluded)?;
        put_durations(&mut m, &self.calendar, "_s")?;
        if let Some(b) = &self.business {
            put_durations(&mut m, b, "_business_s")?;
        }
        m.serialize_entry("replies", &self.replies)?;
        m.serialize_entry("reopens", &self.reopens)?;
        m.serialize_entry("solved_without_reply", &self.solved_without_reply)?;
        m.serialize_entry("touch", &self.touch)?;
        m.serialize_entry("fcr", &self.fcr)?;
        m.serialize_entry("csat", &self.csat)?;
        m.serialize_entry("finalized_at", &self.finalized_at)?;
        m.serialize_entry("finalized_by", &self.finalized_by)?;
        m.serialize_entry("sla", &self.sla)?;
        m.serialize_entry("segment", &self.segment)?;
        m.end()
    }
}
