//! A second, deliberately naive implementation of the SPEC's per-conversation rules, written
//! from the rule text alone, checked against the engine on random streams: every summary field
//! of §10, on the calendar clock and, in four cases in seven, on a business schedule too
//! (R29–R31, with business seconds and deadlines counted naively, interval by interval), and
//! the report's counts that no summary shows: conversations, duplicates, events ignored after
//! finalization, and the rates' parts (R17 `one_touch`, R18, R19).
//!
//! The model keeps whole histories in plain structs and recomputes nothing incrementally, so
//! it shares no code and no shortcut with the engine. It covers R2 (creation, initiator), R5
//! (status moves and reopens), R6 (follow-ups, ignored events, the id memory), R7 (reply
//! options), R8–R11 (the wait, handoffs, cancelled waits), R13–R17 (resolution, status time,
//! replies, touch, FCR), R19 (last rating) and R39/R43 (finalization instants and their ties).
//! Streams are in time order but for a few back-dated events, which come late (after a
//! watermark at their place), out of order, or in order after all: the engine must reject
//! the same events with the same kind, and a rejection changes nothing (R3, R41, R42). Some
//! events are preceded by a watermark at their place, which finalizes what it passes (R39)
//! and otherwise changes no outcome (R21, R38). Gaps land exactly on, and one second past,
//! the reopen window and the idle timeout. Delivery ids are new or repeat an earlier
//! event's: a duplicate of the live instance is counted and changes nothing else; one of an
//! earlier instance is judged as any event (R4, R43).
//!
//! Five cases in six also run policies with short targets: one with two
//! `first_response` targets (the default policy's shape), `next_reply`, `first_resolution` and
//! `full_resolution`; one with `requester_wait` and `agent_work`, which pause with the status;
//! two policies chosen by priority, with different and unpaired targets (reply and
//! resolution ones, or pausing ones), so that priority events re-target running, paused and
//! fulfilled instances or leave no policy at all; or three policies chosen by channel, tags
//! and priority together, which `attributes` events (overwriting the channel, replacing the
//! tags) and messages' channels (filling an unset one, §9) move conversations between.
//! Their targets run on the calendar clock, the business clock, a named schedule in another
//! time zone, or in turn on two or three of these, so re-targeting also moves instances
//! between clocks. Their outcomes and deadlines
//! check §6's filters, R10, R11, R20, R21, R23, R24, R25, R26, R30, R38 and R43.

mod common;

use proptest::prelude::*;
use sla_metrics::{
    Author, Config, Durations, Engine, Event, EventKind, ExcludeReason, FinalizedBy, Outcome, Priority,
    SlaMetric, Status, Summary, Timestamp, Touch,
};
use std::borrow::Cow;
use std::collections::HashMap;

/// One generated event of a conversation, before it has a time.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Author, public, channel.
    Message(Author, bool, Option<&'static str>),
    Status(Status),
    Handoff,
    Csat(u8),
    Exclude(ExcludeReason),
    Priority(Priority),
    /// `attributes` with a channel and tags, each absent or present.
    Attributes(Option<&'static str>, Option<&'static [&'static str]>),
}

impl Step {
    fn kind(self) -> EventKind<'static> {
        match self {
            Step::Message(author, public, channel) => EventKind::Message {
                author,
                visibility: if public {
                    sla_metrics::Visibility::Public
                } else {
                    sla_metrics::Visibility::Internal
                },
                agent: None,
                channel: channel.map(Cow::Borrowed),
            },
            Step::Status(s) => EventKind::Status(s),
            Step::Handoff => EventKind::Handoff,
            Step::Csat(score) => EventKind::Csat { score },
            Step::Exclude(reason) => EventKind::Exclude { reason },
            Step::Priority(p) => EventKind::Priority(p),
            Step::Attributes(channel, tags) => EventKind::Attributes {
                channel: channel.map(Cow::Borrowed),
                brand: None,
                tags: tags.map(|t| t.iter().map(|&t| Cow::Borrowed(t)).collect()),
            },
        }
    }
}

/// The options the model reads.
#[derive(Debug, Clone, Copy)]
struct Options {
    reopen_window: i64,
    idle_timeout: i64,
    count_bot: bool,
    count_automation: bool,
    clocks: Clocks,
    /// The policies (their targets' clocks: `clocks`); none: `"policies": []`.
    policies: &'static [Policy],
}

/// A policy: a name, what it matches and its targets.
#[derive(Debug)]
struct Policy {
    name: &'static str,
    when: When,
    targets: &'static [(SlaMetric, i64)],
}

/// A policy's filter (§6): any of the priorities and any of the channels (either, if empty),
/// and all of the tags.
#[derive(Debug)]
struct When {
    priorities: &'static [Priority],
    channels: &'static [&'static str],
    tags: &'static [&'static str],
}

/// Matches everything.
const ANY: When = When::priorities(&[]);

impl When {
    const fn priorities(priorities: &'static [Priority]) -> When {
        When {
            priorities,
            channels: &[],
            tags: &[],
        }
    }

    fn matches(&self, priority: Priority, channel: Option<&str>, tags: &[&str]) -> bool {
        (self.priorities.is_empty() || self.priorities.contains(&priority))
            && (self.channels.is_empty() || channel.is_some_and(|c| self.channels.contains(&c)))
            && self.tags.iter().all(|t| tags.contains(t))
    }

    /// The config's `when` clause, with a trailing comma; empty if it matches everything.
    fn json(&self) -> String {
        fn list<T: AsRef<str>>(key: &str, items: &[T]) -> Option<String> {
            let names: Vec<String> = items.iter().map(|i| format!(r#""{}""#, i.as_ref())).collect();
            (!items.is_empty()).then(|| format!(r#""{key}": [{}]"#, names.join(",")))
        }
        let priorities: Vec<&str> = self.priorities.iter().map(|p| p.as_str()).collect();
        let keys: Vec<String> = [
            list("priority", &priorities),
            list("channel", self.channels),
            list("tags", self.tags),
        ]
        .into_iter()
        .flatten()
        .collect();
        if keys.is_empty() {
            String::new()
        } else {
            format!(r#""when": {{{}}}, "#, keys.join(", "))
        }
    }
}

/// The schedules configured and the clocks of the policies' targets.
#[derive(Debug, Clone, Copy)]
enum Clocks {
    /// No schedule: every target on the calendar clock.
    NoSchedule,
    /// A business schedule (`BUSINESS`), every target on the calendar clock.
    Calendar,
    /// A business schedule, every target on it.
    Business,
    /// A business schedule; the second, fourth, … target of each policy on it.
    Alternate,
    /// A business schedule and a named one (`SUPPORT`); the targets of each policy on the
    /// calendar, business and named clocks in turn.
    Rotate,
    /// Only the named schedule, every target on it.
    Support,
}

impl Clocks {
    /// A business schedule is configured: durations are also recorded on it (R31).
    fn business(self) -> bool {
        !matches!(self, Clocks::NoSchedule | Clocks::Support)
    }

    /// The named schedule is configured.
    fn support(self) -> bool {
        matches!(self, Clocks::Rotate | Clocks::Support)
    }
}

/// A clock of the model (R29, R30); the discriminant indexes per-clock arrays.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Clock {
    Calendar,
    Business,
    Support,
}

/// A schedule of the model: the same open minutes every open hour of every open day, in a
/// zone at a fixed offset from UTC (none of the zones used changes offset in the streams' days).
#[derive(Debug)]
struct Hours {
    tz: &'static str,
    /// Seconds east of UTC.
    offset: i64,
    /// Open weekdays, Monday = 0.
    days: &'static [i64],
    /// Open local hours.
    hours: std::ops::Range<i64>,
    /// Open minutes of each open hour, `[from, to)`.
    minutes: &'static [(i64, i64)],
    /// A local date closed all day, and its day number since 1970-01-01.
    holiday: Option<(&'static str, i64)>,
}

/// The business schedule, in UTC: Monday to Friday, every hour open from :05 to :25 and from
/// :40 to :55, with Wednesday 2024-04-03 a holiday. Most gaps between events straddle an
/// opening or a closing, and the streams start at `T0`, three hours before the holiday, so
/// longer conversations run into it.
static BUSINESS: Hours = Hours {
    tz: "UTC",
    offset: 0,
    days: &[0, 1, 2, 3, 4],
    hours: 0..24,
    minutes: &[(5, 25), (40, 55)],
    holiday: Some(("2024-04-03", 19_816)),
};

/// The named schedule: every day in India (UTC+05:30), 06:00 to midnight, open from :10 to
/// :50 each hour. Its days and hours start half an hour off the UTC ones, and `T0` is at
/// 02:30 there, so conversations begin closed and open at 00:30 UTC.
static SUPPORT: Hours = Hours {
    tz: "Asia/Kolkata",
    offset: 19_800,
    days: &[0, 1, 2, 3, 4, 5, 6],
    hours: 6..24,
    minutes: &[(10, 50)],
    holiday: None,
};

/// Where the streams start: Tuesday 2024-04-02T21:00:00Z.
const T0: i64 = 1_712_091_600;

impl Hours {
    /// The open intervals `[start, end)` (UTC instants) of local day `d` (days since
    /// 1970-01-01, a Thursday).
    fn intervals(&self, d: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let weekday = (d + 3).rem_euclid(7); // Monday = 0
        let open = self.days.contains(&weekday) && !self.holiday.is_some_and(|(_, h)| h == d);
        let base = d * 86_400 - self.offset;
        self.hours.clone().filter(move |_| open).flat_map(move |h| {
            self.minutes
                .iter()
                .map(move |&(a, b)| (base + h * 3600 + a * 60, base + h * 3600 + b * 60))
        })
    }

    fn day(&self, t: i64) -> i64 {
        (t + self.offset).div_euclid(86_400)
    }

    /// Open seconds in `[a, b)` (R29).
    fn between(&self, a: i64, b: i64) -> i64 {
        (self.day(a)..=self.day(b))
            .flat_map(|d| self.intervals(d))
            .map(|(s, e)| (e.min(b) - s.max(a)).max(0))
            .sum()
    }

    /// The earliest instant with `secs > 0` open seconds since `start` (R30).
    fn deadline(&self, start: i64, secs: i64) -> i64 {
        let mut left = secs;
        for (s, e) in (self.day(start)..).flat_map(|d| self.intervals(d)) {
            let from = s.max(start);
            if e > from {
                if left <= e - from {
                    return from + left;
                }
                left -= e - from;
            }
        }
        unreachable!("the schedule opens every week")
    }

    /// The config's form.
    fn json(&self) -> String {
        let day: Vec<String> = self
            .hours
            .clone()
            .flat_map(|h| {
                self.minutes
                    .iter()
                    .map(move |(a, b)| format!(r#"["{h:02}:{a:02}", "{h:02}:{b:02}"]"#))
            })
            .collect();
        let week: Vec<String> = self
            .days
            .iter()
            .map(|&d| {
                format!(
                    r#""{}": [{}]"#,
                    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][d as usize],
                    day.join(",")
                )
            })
            .collect();
        let holidays = self.holiday.map_or(String::new(), |(h, _)| format!(r#""{h}""#));
        format!(
            r#"{{"tz": "{}", "week": {{{}}}, "holidays": [{holidays}]}}"#,
            self.tz,
            week.join(",")
        )
    }
}

impl Clock {
    const ALL: [Clock; 3] = [Clock::Calendar, Clock::Business, Clock::Support];

    fn name(self) -> &'static str {
        match self {
            Clock::Calendar => "calendar",
            Clock::Business => "business",
            Clock::Support => "support",
        }
    }

    fn hours(self) -> Option<&'static Hours> {
        match self {
            Clock::Calendar => None,
            Clock::Business => Some(&BUSINESS),
            Clock::Support => Some(&SUPPORT),
        }
    }

    /// Seconds of this clock in `[a, b)` (R29).
    fn between(self, a: i64, b: i64) -> i64 {
        self.hours().map_or((b - a).max(0), |h| h.between(a, b))
    }

    /// The earliest instant at which `secs` seconds of this clock have passed since `start`
    /// (R30); `start` itself for none.
    fn deadline(self, start: i64, secs: i64) -> i64 {
        match self.hours() {
            _ if secs <= 0 => start,
            None => start + secs,
            Some(h) => h.deadline(start, secs),
        }
    }
}

impl Options {
    /// The clock of a policy's `k`-th target.
    fn clock(self, k: usize) -> Clock {
        match self.clocks {
            Clocks::Business => Clock::Business,
            Clocks::Alternate if k % 2 == 1 => Clock::Business,
            Clocks::Rotate => Clock::ALL[k % 3],
            Clocks::Support => Clock::Support,
            _ => Clock::Calendar,
        }
    }

    /// §6: the first policy that matches.
    fn select(self, live: &Live) -> Option<usize> {
        self.policies
            .iter()
            .position(|p| p.when.matches(live.priority, live.channel, live.tags))
    }

    fn config(self) -> Config {
        let policies: Vec<String> = self
            .policies
            .iter()
            .map(|p| {
                let targets: Vec<String> = p
                    .targets
                    .iter()
                    .enumerate()
                    .map(|(k, (m, t))| {
                        format!(
                            r#"{{"metric": "{}", "threshold_s": {t}, "clock": "{}"}}"#,
                            m.as_str(),
                            self.clock(k).name()
                        )
                    })
                    .collect();
                let when = p.when.json();
                format!(
                    r#"{{"name": "{}", {when}"targets": [{}]}}"#,
                    p.name,
                    targets.join(",")
                )
            })
            .collect();
        let policies = policies.join(",");
        let mut schedule = String::new();
        if self.clocks.business() {
            schedule += &format!(r#""schedule": {}, "#, BUSINESS.json());
        }
        if self.clocks.support() {
            schedule += &format!(r#""schedules": {{"support": {}}}, "#, SUPPORT.json());
        }
        Config::from_json(&format!(
            r#"{{{schedule}"policies": [{policies}], "reopen_window_s": {}, "idle_timeout_s": {}, "count_bot_replies": {}, "count_automation_replies": {}}}"#,
            self.reopen_window, self.idle_timeout, self.count_bot, self.count_automation
        ))
        .expect("config")
    }
}

/// What the model expects of one instance: the §10 fields.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    conversation: String,
    instance: u32,
    created_at: i64,
    initiated_by: Author,
    excluded: Option<ExcludeReason>,
    calendar: Durs,
    /// With a schedule (R31).
    business: Option<Durs>,
    replies: u32,
    reopens: u32,
    solved_without_reply: bool,
    touch: Option<Touch>,
    fcr: bool,
    csat: Option<u8>,
    finalized_at: i64,
    finalized_by: FinalizedBy,
    /// (policy, metric, threshold, clock, outcome, deadline) of each SLA instance, in
    /// activation order.
    sla: Vec<(String, SlaMetric, i64, &'static str, Outcome, i64)>,
}

/// The durations of one clock.
#[derive(Debug, Clone, PartialEq)]
struct Durs {
    first_response_s: Option<i64>,
    next_reply_s: Vec<i64>,
    first_resolution_s: Option<i64>,
    full_resolution_s: Option<i64>,
    /// new + open, pending, on_hold (R15).
    status_time: [i64; 3],
}

impl Durs {
    fn of(d: &Durations) -> Durs {
        Durs {
            first_response_s: d.first_response_s,
            next_reply_s: d.next_reply_s.clone(),
            first_resolution_s: d.first_resolution_s,
            full_resolution_s: d.full_resolution_s,
            status_time: [d.agent_work_s, d.agent_wait_s, d.on_hold_s],
        }
    }
}

fn from_engine(s: &Summary) -> Expected {
    Expected {
        conversation: s.conversation.clone(),
        instance: s.instance,
        created_at: s.created_at.as_unix(),
        initiated_by: s.initiated_by.unwrap_or(Author::System),
        excluded: s.excluded,
        calendar: Durs::of(&s.calendar),
        business: s.business.as_ref().map(Durs::of),
        replies: s.replies,
        reopens: s.reopens,
        solved_without_reply: s.solved_without_reply,
        touch: s.touch,
        fcr: s.fcr,
        csat: s.csat,
        finalized_at: s.finalized_at.as_unix(),
        finalized_by: s.finalized_by,
        sla: s
            .sla
            .iter()
            .map(|r| {
                let clock = match r.clock.as_str() {
                    "calendar" => Clock::Calendar.name(),
                    "business" => Clock::Business.name(),
                    "support" => Clock::Support.name(),
                    other => panic!("unexpected clock {other}"),
                };
                (
                    r.policy.clone(),
                    r.metric,
                    r.threshold_s,
                    clock,
                    r.outcome,
                    r.deadline.as_unix(),
                )
            })
            .collect(),
    }
}

/// A live instance in the model.
#[derive(Debug)]
struct Live {
    instance: u32,
    created_at: i64,
    initiated_by: Option<Author>,
    status: Status,
    /// When the current status began.
    status_since: i64,
    /// Per clock (`Clock`) and bucket (`bucket`).
    status_time: [[i64; 3]; 3],
    last_at: i64,
    waiting_since: Option<i64>,
    seen_customer: bool,
    /// A qualifying reply counted by R16 has happened (R10, R11).
    replied: bool,
    /// The first qualifying reply (R5) has happened, outreach included.
    any_reply: bool,
    /// The waits replies ended (R9): start and end.
    samples: Vec<(i64, i64)>,
    replies: u32,
    reopens: u32,
    solved_without_reply: bool,
    first_resolution: Option<i64>,
    last_solved: Option<i64>,
    csat: Option<u8>,
    priority: Priority,
    /// A counted reply came after a reopen (R17's `one_touch`).
    reply_after_reopen: bool,
    /// The delivery ids of its events (R4).
    deliveries: Vec<String>,
    channel: Option<&'static str>,
    tags: &'static [&'static str],
    /// The index of the policy in force (§6).
    policy: Option<usize>,
    sla: Vec<Sla>,
}

/// An SLA instance in the model: `Active` while running, while paused, or while fulfilled
/// by a solve that a reopen may undo (R24).
#[derive(Debug, Clone, Copy)]
struct Sla {
    policy: &'static str,
    /// Where the threshold counts from (R20, R23): the wait's start, or creation.
    start: i64,
    metric: SlaMetric,
    threshold: i64,
    clock: Clock,
    outcome: Outcome,
    deadline: i64,
    fulfilled: bool,
    /// `requester_wait` and `agent_work`: paused, the seconds used before the last resume,
    /// and that resume.
    paused: bool,
    used: i64,
    resumed_at: i64,
}

impl Sla {
    /// An instance of `policy` activated at `t` whose clock started at `start` (R20, R23).
    fn new(
        policy: &'static str,
        (metric, threshold): (SlaMetric, i64),
        clock: Clock,
        start: i64,
        t: i64,
    ) -> Sla {
        Sla {
            policy,
            start,
            metric,
            threshold,
            clock,
            outcome: Outcome::Active,
            deadline: clock.deadline(start, threshold),
            fulfilled: false,
            paused: false,
            used: 0,
            resumed_at: t,
        }
    }
}

impl Sla {
    /// A pausing instance that has used `used` clock seconds at `t`, when its threshold was
    /// set anew (R23, R24): breached at `t` if that is past the threshold; else fulfilled
    /// while solved (its deadline from the solve, when its clock stopped), running with the
    /// seconds left, or paused.
    fn place(&mut self, used: i64, t: i64, status: Status, last_solved: Option<i64>) {
        let left = self.threshold - used;
        self.used = used;
        self.resumed_at = t;
        self.paused = false;
        self.fulfilled = false;
        if left < 0 {
            self.outcome = Outcome::Breached;
            self.deadline = t;
        } else if status == Status::Solved {
            self.fulfilled = true;
            self.deadline = self.clock.deadline(last_solved.expect("solved"), left);
        } else {
            self.paused = !runs_in(self.metric, status);
            self.deadline = self.clock.deadline(t, left);
        }
    }
}

fn pausing(m: SlaMetric) -> bool {
    matches!(m, SlaMetric::RequesterWait | SlaMetric::AgentWork)
}

/// Whether a pausing target's clock runs in a status (R24).
fn runs_in(m: SlaMetric, s: Status) -> bool {
    match m {
        SlaMetric::RequesterWait => matches!(s, Status::New | Status::Open | Status::OnHold),
        SlaMetric::AgentWork => matches!(s, Status::New | Status::Open),
        _ => true,
    }
}

fn is_reply(m: SlaMetric) -> bool {
    matches!(m, SlaMetric::FirstResponse | SlaMetric::NextReply)
}

#[derive(Debug)]
enum Id {
    Live(Box<Live>),
    /// Finalized: its instance number, finalization instant and last event time (R6, R43).
    Final {
        instance: u32,
        at: i64,
        last_at: i64,
    },
}

fn bucket(s: Status) -> Option<usize> {
    match s {
        Status::New | Status::Open => Some(0),
        Status::Pending => Some(1),
        Status::OnHold => Some(2),
        Status::Solved | Status::Closed => None,
    }
}

impl Live {
    fn new(instance: u32, t: i64) -> Live {
        Live {
            instance,
            created_at: t,
            initiated_by: None,
            status: Status::New,
            status_since: t,
            status_time: [[0; 3]; 3],
            last_at: t,
            waiting_since: None,
            seen_customer: false,
            replied: false,
            any_reply: false,
            samples: Vec::new(),
            replies: 0,
            reopens: 0,
            solved_without_reply: false,
            first_resolution: None,
            last_solved: None,
            csat: None,
            priority: Priority::Normal,
            reply_after_reopen: false,
            deliveries: Vec::new(),
            channel: None,
            tags: &[],
            policy: None,
            sla: Vec::new(),
        }
    }

    fn running(&mut self) -> impl Iterator<Item = &mut Sla> {
        self.sla
            .iter_mut()
            .filter(|i| i.outcome == Outcome::Active && !i.fulfilled && !i.paused)
    }

    fn running_replies(&mut self) -> impl Iterator<Item = &mut Sla> {
        self.running().filter(|i| is_reply(i.metric))
    }

    /// R20, in the policy's target order: the resolution targets start at creation; every
    /// wait starts the `first_response` targets until the FRT is measured (the first wait,
    /// and one after a solve ended a wait unanswered: R11, SPEC §11 case 07), and the
    /// `next_reply` targets after it (R25).
    fn activate(&mut self, t: i64, o: Options, created: bool, wait_starts: bool) {
        let Some(policy) = self.policy else { return };
        for (k, &(metric, threshold)) in o.policies[policy].targets.iter().enumerate() {
            let starts = match metric {
                SlaMetric::FirstResponse => wait_starts && self.samples.is_empty(),
                SlaMetric::NextReply => wait_starts && !self.samples.is_empty(),
                _ => created,
            };
            if starts {
                let name = o.policies[policy].name;
                self.sla
                    .push(Sla::new(name, (metric, threshold), o.clock(k), t, t));
            }
        }
    }

    /// R24 on a status move at `t`: a solve or close fulfils `full_resolution`,
    /// `requester_wait` and `agent_work` (a paused one with the deadline it would have had if
    /// resumed then); a reopen resumes them; `requester_wait` and `agent_work` pause and resume
    /// with their status and keep what they used.
    fn pause_or_resume(&mut self, old: Status, new: Status, t: i64) {
        for i in self
            .sla
            .iter_mut()
            .filter(|i| i.outcome == Outcome::Active && pausing(i.metric))
        {
            if !i.paused && !i.fulfilled {
                i.used += i.clock.between(i.resumed_at, t);
            }
            if matches!(new, Status::Solved | Status::Closed) {
                if i.paused {
                    i.deadline = i.clock.deadline(t, i.threshold - i.used);
                }
                i.fulfilled = true;
                i.paused = false;
                continue;
            }
            if old == Status::Solved {
                i.fulfilled = false;
            } else if i.fulfilled {
                continue;
            }
            i.paused = !runs_in(i.metric, new);
            i.resumed_at = t;
            if !i.paused {
                i.deadline = i.clock.deadline(t, i.threshold - i.used);
            }
        }
        if old == Status::Solved {
            // full_resolution resumes (past its deadline, it is breached at the next event
            // or at finalization, as any running instance).
            for i in self
                .sla
                .iter_mut()
                .filter(|i| i.metric == SlaMetric::FullResolution)
            {
                i.fulfilled = false;
            }
        }
    }

    /// R23: a priority change that changes the policy re-targets the instances not yet
    /// final, metric by metric, k-th with k-th: the new threshold counts from the original
    /// start; unpaired running instances are cancelled; unpaired new targets activate from
    /// their clock's original start (a reply target only on a running wait of its metric; a
    /// `first_resolution` target not after the first resolution, R43). A pausing target
    /// keeps the clock seconds used since creation (R24) and is placed by `place`.
    fn retarget(&mut self, t: i64, o: Options) {
        let new = o.select(self);
        if new == self.policy {
            return;
        }
        let (name, targets) = new.map_or(("", &[][..]), |p| (o.policies[p].name, o.policies[p].targets));
        let mut unpaired = Vec::new();
        for metric in SlaMetric::ALL {
            let mut running = (0..self.sla.len())
                .filter(|&i| self.sla[i].metric == metric && self.sla[i].outcome == Outcome::Active)
                .collect::<Vec<_>>()
                .into_iter();
            for (k, &(m, threshold)) in targets.iter().enumerate() {
                if m != metric {
                    continue;
                }
                let Some(i) = running.next() else {
                    unpaired.push(k);
                    continue;
                };
                let (last_solved, status, clock) = (self.last_solved, self.status, o.clock(k));
                // A pausing target keeps the seconds its clock used (R24): on the same clock,
                // what it counted; on another, that clock's time since creation in the
                // statuses it runs in.
                let old = self.sla[i];
                let used = match pausing(metric) {
                    false => None,
                    true if old.clock == clock => {
                        let running = !old.paused && !old.fulfilled;
                        Some(
                            old.used
                                + if running {
                                    clock.between(old.resumed_at, t)
                                } else {
                                    0
                                },
                        )
                    }
                    true => Some(self.used_since_creation(metric, clock, t)),
                };
                let inst = &mut self.sla[i];
                inst.policy = name;
                inst.threshold = threshold;
                inst.clock = clock;
                if let Some(used) = used {
                    inst.place(used, t, status, last_solved);
                    continue;
                }
                inst.deadline = clock.deadline(inst.start, threshold);
                let late = if inst.fulfilled {
                    last_solved.is_some_and(|r| r > inst.deadline)
                } else {
                    inst.deadline < t
                };
                if late {
                    inst.outcome = Outcome::Breached;
                }
            }
            for i in running {
                self.sla[i].outcome = Outcome::Cancelled;
            }
        }
        self.policy = new;
        unpaired.sort_unstable();
        for k in unpaired {
            let (metric, threshold) = targets[k];
            let wait_metric = if self.samples.is_empty() {
                SlaMetric::FirstResponse
            } else {
                SlaMetric::NextReply
            };
            let start = match metric {
                _ if is_reply(metric) && metric != wait_metric => continue,
                _ if is_reply(metric) => match self.waiting_since {
                    Some(w) => w,
                    None => continue,
                },
                SlaMetric::FirstResolution if self.first_resolution.is_some() => continue,
                _ => self.created_at,
            };
            let mut inst = Sla::new(name, (metric, threshold), o.clock(k), start, t);
            if pausing(metric) {
                let used = self.used_since_creation(metric, inst.clock, t);
                inst.place(used, t, self.status, self.last_solved);
                self.sla.push(inst);
                continue;
            }
            let solved = metric == SlaMetric::FullResolution && self.status == Status::Solved;
            inst.outcome = match self.last_solved {
                Some(r) if solved && r > inst.deadline => Outcome::Breached,
                _ if !solved && inst.deadline < t => Outcome::Breached,
                _ => Outcome::Active,
            };
            inst.fulfilled = solved && inst.outcome == Outcome::Active;
            self.sla.push(inst);
        }
    }

    /// A resolution instant (R13): `first_resolution` is met; `full_resolution` is fulfilled
    /// until a reopen (R24).
    fn resolved_at(&mut self) {
        for i in self.running() {
            match i.metric {
                SlaMetric::FirstResolution => i.outcome = Outcome::Met,
                SlaMetric::FullResolution => i.fulfilled = true,
                _ => {}
            }
        }
    }

    /// The seconds of `clock` since creation in the statuses a pausing metric runs in (R24).
    fn used_since_creation(&self, metric: SlaMetric, clock: Clock, t: i64) -> i64 {
        let [work, _, on_hold] = self.status_time[clock as usize];
        let mut used = work
            + if metric == SlaMetric::RequesterWait {
                on_hold
            } else {
                0
            };
        if runs_in(metric, self.status) {
            used += clock.between(self.status_since, t);
        }
        used
    }

    /// R21: an instance still running when its deadline has passed is breached.
    fn breach_before(&mut self, t: i64) {
        for i in self.running().filter(|i| i.deadline < t) {
            i.outcome = Outcome::Breached;
        }
    }

    /// Status time of the current status up to `t` (R15).
    fn accrue(&mut self, t: i64) {
        if let Some(b) = bucket(self.status) {
            for clock in Clock::ALL {
                self.status_time[clock as usize][b] += clock.between(self.status_since, t);
            }
        }
        self.status_since = t;
    }

    fn set_status(&mut self, s: Status, t: i64) {
        if s == self.status {
            return;
        }
        self.accrue(t);
        if self.status == Status::Solved {
            // R5: any move out of solved.
            self.reopens += 1;
        }
        self.pause_or_resume(self.status, s, t);
        self.status = s;
        if s == Status::Solved {
            self.last_solved = Some(t);
            self.first_resolution.get_or_insert(t);
            self.resolved_at();
        }
    }

    /// R11: a solve, close or exclusion ends a wait without a sample.
    fn cancel_wait(&mut self, sets_flag: bool) {
        if self.waiting_since.take().is_some() {
            if sets_flag && !self.replied {
                self.solved_without_reply = true;
            }
            for i in self.running_replies() {
                i.outcome = Outcome::Cancelled;
            }
        }
    }

    /// The pending finalization of R39 other than `finish`, earliest first, ties in R43's order.
    fn due(&self, o: Options) -> (i64, FinalizedBy) {
        let idle = (self.last_at + o.idle_timeout, FinalizedBy::Idle);
        match (self.status, self.last_solved) {
            (Status::Solved, Some(s)) if s + o.reopen_window <= idle.0 => {
                (s + o.reopen_window, FinalizedBy::ReopenWindow)
            }
            _ => idle,
        }
    }

    /// The instance's summary, finalized at `at` (R39); `excluded` with `by` = `Excluded`.
    fn finalize(
        mut self,
        id: &str,
        at: i64,
        by: FinalizedBy,
        excluded: Option<ExcludeReason>,
        o: Options,
        rates: &mut Rates,
    ) -> Expected {
        let close = by == FinalizedBy::Closed;
        let closed_from = self.status;
        self.accrue(at);
        if close && closed_from != Status::Solved {
            self.pause_or_resume(closed_from, Status::Closed, at);
            self.resolved_at();
        }
        // R38: due before the finalization instant is breached; the rest stays active. R26:
        // exclusion cancels every instance, whatever its outcome.
        self.breach_before(at);
        for i in &mut self.sla {
            if excluded.is_some() {
                i.outcome = Outcome::Cancelled;
            } else if i.fulfilled && i.outcome == Outcome::Active {
                i.outcome = Outcome::Met;
            } else if i.paused && i.outcome == Outcome::Active {
                // R24: a paused instance's deadline as if it resumed at finalization.
                i.deadline = i.clock.deadline(at, i.threshold - i.used);
            }
        }
        let resolved = close || closed_from == Status::Solved;
        // R13: a close from any status but solved is a resolution instant; R14: the last
        // solve, or that close.
        let last_resolution = if close && closed_from != Status::Solved {
            self.first_resolution.get_or_insert(at);
            Some(at)
        } else {
            self.last_solved
        };
        if excluded.is_none() {
            rates.count(&self, resolved);
        }
        let created = self.created_at;
        let durations = |clock: Clock| Durs {
            first_response_s: self.samples.first().map(|&(a, b)| clock.between(a, b)),
            next_reply_s: self
                .samples
                .iter()
                .skip(1)
                .map(|&(a, b)| clock.between(a, b))
                .collect(),
            first_resolution_s: self.first_resolution.map(|t| clock.between(created, t)),
            full_resolution_s: last_resolution
                .filter(|_| resolved)
                .map(|t| clock.between(created, t)),
            status_time: self.status_time[clock as usize],
        };
        Expected {
            conversation: id.to_string(),
            instance: self.instance,
            created_at: self.created_at,
            initiated_by: self.initiated_by.unwrap_or(Author::System),
            excluded,
            calendar: durations(Clock::Calendar),
            business: o.clocks.business().then(|| durations(Clock::Business)),
            replies: self.replies,
            reopens: self.reopens,
            solved_without_reply: self.solved_without_reply,
            touch: resolved.then_some(match self.replies {
                0 => Touch::Zero,
                1 => Touch::One,
                2 => Touch::Two,
                _ => Touch::Multi,
            }),
            fcr: resolved && self.replies == 1 && self.reopens == 0,
            csat: self.csat,
            finalized_at: at,
            finalized_by: by,
            sla: self
                .sla
                .iter()
                .map(|i| {
                    let clock = i.clock.name();
                    (
                        i.policy.to_string(),
                        i.metric,
                        i.threshold,
                        clock,
                        i.outcome,
                        i.deadline,
                    )
                })
                .collect(),
        }
    }
}

/// The report's rates (R17–R19) over the instances not excluded (R26): what the summaries
/// do not show.
#[derive(Debug, Default, PartialEq)]
struct Rates {
    /// Response rate: instances with a customer's public message, and those of them with a
    /// counted reply (R18).
    eligible: u64,
    replied: u64,
    /// Resolved, one reply, no reopen that got a reply (R17, §8).
    one_touch: u64,
    /// Ratings of 4 or 5, and the sum of all (R19).
    satisfied: u64,
    score_sum: u64,
}

impl Rates {
    fn count(&mut self, live: &Live, resolved: bool) {
        if live.seen_customer {
            self.eligible += 1;
            self.replied += u64::from(live.replies > 0);
        }
        self.one_touch += u64::from(resolved && live.replies == 1 && !live.reply_after_reopen);
        if let Some(score) = live.csat {
            self.satisfied += u64::from(score >= 4);
            self.score_sum += u64::from(score);
        }
    }

    fn of(report: &sla_metrics::Report) -> Rates {
        Rates {
            eligible: report.response_rate().eligible,
            replied: report.response_rate().replied,
            one_touch: report.fcr().one_touch,
            satisfied: report.csat().satisfied,
            score_sum: report.csat().score_sum,
        }
    }
}

/// The model: events in arrival order, then finish.
struct Model {
    o: Options,
    rates: Rates,
    ids: HashMap<String, Id>,
    done: Vec<Expected>,
    ignored: u64,
    /// Events whose delivery id the live instance has seen (R4).
    duplicates: u64,
    watermark: i64,
    latest: i64,
}

impl Model {
    /// A watermark (R38): what is older is late (R41), and it moves the finish instant. An
    /// instance whose finalization instant it passes is finalized (R39), so that the id's
    /// events are judged as after finalization from then on.
    fn advance_to(&mut self, t: i64) {
        self.watermark = self.watermark.max(t);
        self.latest = self.latest.max(t);
        let due: Vec<String> = self
            .ids
            .iter()
            .filter(|(_, state)| matches!(state, Id::Live(live) if live.due(self.o).0 < t))
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            self.finalize_due(&id);
        }
    }

    /// Finalizes the live instance of `id` at its finalization instant (R39).
    fn finalize_due(&mut self, id: &str) {
        let Some(Id::Live(live)) = self.ids.remove(id) else {
            unreachable!()
        };
        let (due, by) = live.due(self.o);
        self.conclude(id, *live, due, by, None);
    }

    /// Finalizes `live` at `at` (R39): its summary, then the id memory of R6.
    fn conclude(&mut self, id: &str, live: Live, at: i64, by: FinalizedBy, excluded: Option<ExcludeReason>) {
        let (instance, last_at) = (live.instance, live.last_at);
        self.done
            .push(live.finalize(id, at, by, excluded, self.o, &mut self.rates));
        self.ids.insert(
            id.to_string(),
            Id::Final {
                instance,
                at,
                last_at,
            },
        );
    }

    /// Event `step` of conversation `id` at `t`, with an optional delivery id (R4); the
    /// rejection's code if the event is rejected (R41, R42), which then changes nothing.
    fn apply(&mut self, id: &str, t: i64, step: Step, delivery: Option<&str>) -> Result<(), &'static str> {
        let o = self.o;
        // Finalize what became due strictly before this event (R39, R43).
        if matches!(self.ids.get(id), Some(Id::Live(live)) if live.due(o).0 < t) {
            self.finalize_due(id);
        }
        // R4: a delivery id the live instance has seen: counted, nothing else (not even the
        // finish instant moves). One seen by an earlier instance only is no duplicate (R43).
        if let (Some(d), Some(Id::Live(live))) = (delivery, self.ids.get(id)) {
            if live.deliveries.iter().any(|seen| seen == d) {
                self.duplicates += 1;
                return Ok(());
            }
        }
        // R41, R42: then late, then out of order: before the live instance's last event, or
        // the last event of a finalized one while the id is remembered (R6, R43).
        if t < self.watermark {
            return Err("late");
        }
        match self.ids.get(id) {
            Some(Id::Live(live)) if t < live.last_at => return Err("out_of_order"),
            Some(&Id::Final { at, last_at, .. }) if t <= at + o.reopen_window && t < last_at => {
                return Err("out_of_order")
            }
            _ => {}
        }
        self.latest = self.latest.max(t);
        let customer_public = matches!(step, Step::Message(Author::Customer, true, _));
        let (mut live, created) = match self.ids.remove(id) {
            None => (Live::new(1, t), true),
            // R6: the id memory lasts until reopen_window after the finalization instant.
            Some(Id::Final { at, .. }) if t > at + o.reopen_window => (Live::new(1, t), true),
            Some(Id::Final { instance, .. }) if customer_public => (Live::new(instance + 1, t), true),
            Some(Id::Final { instance, at, .. }) => {
                // R43: an ignored event moves the id's last event time.
                self.ignored += 1;
                self.ids.insert(
                    id.to_string(),
                    Id::Final {
                        instance,
                        at,
                        last_at: t,
                    },
                );
                return Ok(());
            }
            Some(Id::Live(l)) => (*l, false),
        };
        live.deliveries.extend(delivery.map(str::to_string));
        live.last_at = t;
        live.breach_before(t);
        // §6: the policy is chosen after the first event's own fields are applied; §9: an
        // `attributes` event overwrites the channel and replaces the tags, a message's channel
        // only fills an unset one. The filters change before the event's other effects.
        match step {
            Step::Priority(p) => live.priority = p,
            Step::Message(_, _, Some(c)) if live.channel.is_none() => live.channel = Some(c),
            Step::Attributes(channel, tags) => {
                live.channel = channel.or(live.channel);
                live.tags = tags.unwrap_or(live.tags);
            }
            _ => {}
        }
        if created {
            live.policy = o.select(&live);
        } else {
            live.retarget(t, o);
        }
        // R8, R10: does this event start a wait?
        let wait_starts = live.waiting_since.is_none()
            && match step {
                Step::Message(Author::Customer, true, _) => true,
                Step::Handoff => !live.replied,
                _ => false,
            };
        live.activate(t, o, created, wait_starts);
        if wait_starts {
            live.waiting_since = Some(t);
        }
        match step {
            Step::Message(author, public, _) => {
                live.initiated_by.get_or_insert(author);
                if author == Author::Customer && public {
                    live.seen_customer = true;
                    if matches!(live.status, Status::Pending | Status::OnHold | Status::Solved) {
                        live.set_status(Status::Open, t);
                    }
                }
                let qualifies = public
                    && match author {
                        Author::Agent => true,
                        Author::Bot => o.count_bot,
                        Author::Automation => o.count_automation,
                        _ => false,
                    };
                if qualifies {
                    if live.seen_customer {
                        live.replies += 1;
                        live.replied = true;
                        live.reply_after_reopen |= live.reopens > 0;
                    }
                    if let Some(since) = live.waiting_since.take() {
                        live.samples.push((since, t));
                        for i in live.running_replies() {
                            i.outcome = Outcome::Met;
                        }
                    }
                    if !live.any_reply && live.status == Status::New {
                        live.set_status(Status::Open, t);
                    }
                    live.any_reply = true;
                }
            }
            Step::Status(Status::Closed) => {
                live.cancel_wait(true);
                self.conclude(id, live, t, FinalizedBy::Closed, None);
                return Ok(());
            }
            Step::Status(s) => {
                if s == Status::Solved && live.status != Status::Solved {
                    live.cancel_wait(true);
                }
                live.set_status(s, t);
            }
            Step::Handoff => {
                // R10: bot time is not agent time; running instances restart (those already
                // past their deadline were breached above).
                if !live.replied && !wait_starts {
                    live.waiting_since = Some(t);
                    for i in live.running_replies() {
                        i.start = t;
                        i.deadline = i.clock.deadline(t, i.threshold);
                    }
                }
            }
            Step::Csat(score) => live.csat = Some(score),
            Step::Priority(_) | Step::Attributes(..) => {} // applied above
            Step::Exclude(reason) => {
                live.cancel_wait(false);
                self.conclude(id, live, t, FinalizedBy::Excluded, Some(reason));
                return Ok(());
            }
        }
        self.ids.insert(id.to_string(), Id::Live(Box::new(live)));
        Ok(())
    }

    /// R38: the finish instant is the later of the watermark and the latest event time;
    /// R39: whichever is earliest.
    fn finish(mut self) -> (Vec<Expected>, u64, u64, Rates) {
        let fin = self.latest;
        for (id, state) in std::mem::take(&mut self.ids) {
            if let Id::Live(live) = state {
                let (due, by) = live.due(self.o);
                let (at, by) = if due <= fin {
                    (due, by)
                } else {
                    (fin, FinalizedBy::Finish)
                };
                self.done
                    .push(live.finalize(&id, at, by, None, self.o, &mut self.rates));
            }
        }
        (self.done, self.ignored, self.duplicates, self.rates)
    }
}

fn key(e: &Expected) -> (String, i64, u32) {
    (e.conversation.clone(), e.created_at, e.instance)
}

fn step() -> impl Strategy<Value = Step> {
    use Author::*;
    prop_oneof![
        6 => (Just(Customer), Just(true), channel()).prop_map(|(a, p, c)| Step::Message(a, p, c)),
        1 => (Just(Customer), Just(false), channel()).prop_map(|(a, p, c)| Step::Message(a, p, c)),
        6 => (Just(Agent), Just(true), channel()).prop_map(|(a, p, c)| Step::Message(a, p, c)),
        1 => (Just(Agent), Just(false), channel()).prop_map(|(a, p, c)| Step::Message(a, p, c)),
        2 => prop_oneof![Just(Bot), Just(Automation), Just(System)].prop_map(|a| Step::Message(a, true, None)),
        5 => prop_oneof![
            Just(Status::New),
            Just(Status::Open),
            Just(Status::Pending),
            Just(Status::OnHold),
            Just(Status::Solved),
            Just(Status::Solved),
            Just(Status::Closed),
        ]
        .prop_map(Step::Status),
        2 => Just(Step::Handoff),
        1 => (1u8..=5).prop_map(Step::Csat),
        1 => prop_oneof![Just(ExcludeReason::Spam), Just(ExcludeReason::Merged)].prop_map(Step::Exclude),
        2 => prop_oneof![
            Just(Priority::Low),
            Just(Priority::Normal),
            Just(Priority::High),
            Just(Priority::Urgent),
        ]
        .prop_map(Step::Priority),
        2 => (
            prop_oneof![Just(None), Just(Some("chat")), Just(Some("email")), Just(Some("web"))],
            prop_oneof![
                Just(None),
                Just(Some(&[][..])),
                Just(Some(&["vip"][..])),
                Just(Some(&["x", "vip"][..])),
                Just(Some(&["x"][..])),
            ],
        )
            .prop_map(|(c, t)| Step::Attributes(c, t)),
    ]
}

/// A message's channel: mostly none.
fn channel() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![8 => Just(None), 1 => Just(Some("chat")), 1 => Just(Some("email"))]
}

/// Gaps between a conversation's events: often zero or short, sometimes exactly on (or one
/// past) the reopen window or the idle timeout, or past the id memory.
fn gap(o: Options) -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => Just(0i64),
        6 => 1i64..400,
        1 => Just(o.reopen_window),
        1 => Just(o.reopen_window + 1),
        1 => Just(o.idle_timeout),
        1 => Just(o.idle_timeout + 1),
        1 => Just(2 * o.reopen_window + 1),
        1 => 400i64..5000,
    ]
}

/// One policy for every priority, with reply and resolution targets.
static REPLIES: &[Policy] = &[Policy {
    name: "p",
    when: ANY,
    targets: &[
        (SlaMetric::FirstResponse, 300),
        (SlaMetric::FirstResponse, 1500),
        (SlaMetric::NextReply, 600),
        (SlaMetric::FirstResolution, 1200),
        (SlaMetric::FullResolution, 2400),
    ],
}];

/// One policy for every priority, with targets that pause with the status.
static PAUSING: &[Policy] = &[Policy {
    name: "p",
    when: ANY,
    targets: &[
        (SlaMetric::RequesterWait, 900),
        (SlaMetric::AgentWork, 600),
        (SlaMetric::RequesterWait, 2000),
    ],
}];

/// Two policies by priority, with different targets of the same metrics and unpaired ones;
/// `high` matches neither.
static BY_PRIORITY: &[Policy] = &[
    Policy {
        name: "urgent",
        when: When::priorities(&[Priority::Urgent]),
        targets: &[
            (SlaMetric::FirstResponse, 300),
            (SlaMetric::FirstResolution, 900),
            (SlaMetric::FullResolution, 1800),
        ],
    },
    Policy {
        name: "normal",
        when: When::priorities(&[Priority::Low, Priority::Normal]),
        targets: &[
            (SlaMetric::FirstResponse, 1500),
            (SlaMetric::FirstResponse, 3000),
            (SlaMetric::NextReply, 600),
            (SlaMetric::FullResolution, 3600),
        ],
    },
];

/// Two policies by priority with pausing targets: paired, unpaired on either side, and
/// beside a resolution target; `high` matches neither.
static PAUSING_BY_PRIORITY: &[Policy] = &[
    Policy {
        name: "urgent",
        when: When::priorities(&[Priority::Urgent]),
        targets: &[
            (SlaMetric::RequesterWait, 600),
            (SlaMetric::AgentWork, 300),
            (SlaMetric::AgentWork, 1200),
        ],
    },
    Policy {
        name: "normal",
        when: When::priorities(&[Priority::Low, Priority::Normal]),
        targets: &[
            (SlaMetric::RequesterWait, 1800),
            (SlaMetric::RequesterWait, 3600),
            (SlaMetric::AgentWork, 900),
            (SlaMetric::FullResolution, 2400),
        ],
    },
];

/// Three policies by channel, tags and priority together; most conversations match none at
/// first, and `attributes` events and messages' channels move them between policies.
static FILTERED: &[Policy] = &[
    Policy {
        name: "vip_chat",
        when: When {
            priorities: &[Priority::High, Priority::Urgent],
            channels: &["chat"],
            tags: &[],
        },
        targets: &[(SlaMetric::FirstResponse, 300), (SlaMetric::FullResolution, 1800)],
    },
    Policy {
        name: "tagged",
        when: When {
            priorities: &[],
            channels: &[],
            tags: &["vip"],
        },
        targets: &[
            (SlaMetric::FirstResponse, 600),
            (SlaMetric::RequesterWait, 1200),
            (SlaMetric::NextReply, 900),
        ],
    },
    Policy {
        name: "email",
        when: When {
            priorities: &[],
            channels: &["email", "web"],
            tags: &[],
        },
        targets: &[
            (SlaMetric::FirstResponse, 3000),
            (SlaMetric::FirstResolution, 2400),
            (SlaMetric::AgentWork, 1500),
        ],
    },
];

fn options() -> impl Strategy<Value = Options> {
    (
        prop_oneof![Just(600i64), Just(1800)],
        prop_oneof![Just(900i64), Just(1800), Just(2400)],
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            Just(&[][..]),
            Just(REPLIES),
            Just(PAUSING),
            Just(BY_PRIORITY),
            Just(PAUSING_BY_PRIORITY),
            Just(FILTERED),
        ],
        prop_oneof![
            2 => Just(Clocks::NoSchedule),
            1 => Just(Clocks::Calendar),
            1 => Just(Clocks::Business),
            1 => Just(Clocks::Alternate),
            1 => Just(Clocks::Rotate),
            1 => Just(Clocks::Support),
        ],
    )
        .prop_map(
            |(reopen_window, idle_timeout, count_bot, count_automation, policies, clocks)| Options {
                reopen_window,
                idle_timeout,
                count_bot,
                count_automation,
                policies,
                clocks,
            },
        )
}

/// An event's delivery id (R4): none, a new one, or that of an earlier event of the same
/// conversation (the k-th, modulo their number; none if there is none yet).
#[derive(Debug, Clone, Copy)]
enum Delivery {
    None,
    New,
    Again(usize),
}

/// How far an event is back-dated from its place in the stream: mostly not at all.
fn back() -> impl Strategy<Value = i64> {
    prop_oneof![24 => Just(0i64), 1 => 1i64..600, 1 => 600i64..4000]
}

fn delivery() -> impl Strategy<Value = Delivery> {
    prop_oneof![
        3 => Just(Delivery::None),
        5 => Just(Delivery::New),
        2 => any::<usize>().prop_map(Delivery::Again),
    ]
}

/// One event of a case: conversation, instant, step, a watermark before it, and its
/// delivery id.
type Timed = (String, i64, Step, Option<i64>, Option<String>);

/// Up to four conversations, each a start offset and timed steps, interleaved by time. An
/// event may be preceded by a watermark at its place in the stream, and may be back-dated
/// from that place (`back`).
fn case() -> impl Strategy<Value = (Options, Vec<Timed>)> {
    options().prop_flat_map(|o| {
        let timed = (gap(o), step(), prop::bool::weighted(0.2), delivery(), back());
        let conversation = (0i64..3000, prop::collection::vec(timed, 1..30));
        prop::collection::vec(conversation, 1..5).prop_map(move |convs| {
            let mut events = Vec::new();
            for (i, (start, steps)) in convs.into_iter().enumerate() {
                let mut t = T0 + start;
                let mut given: Vec<String> = Vec::new();
                for (j, (g, s, watermark, d, back)) in steps.into_iter().enumerate() {
                    t += g;
                    let d = match d {
                        Delivery::None => None,
                        Delivery::New => {
                            given.push(format!("c{i}-e{j}"));
                            given.last().cloned()
                        }
                        Delivery::Again(k) if !given.is_empty() => Some(given[k % given.len()].clone()),
                        Delivery::Again(_) => None,
                    };
                    events.push((format!("c{i}"), t, s, watermark.then_some(t), d, back));
                }
            }
            events.sort_by_key(|e| e.1); // stable: order within a conversation is kept
                                         // Back-dated events keep their place in the stream: after a watermark at their
                                         // place, they are late; else out of order, or in order after all.
            let events = events
                .into_iter()
                .map(|(c, t, s, w, d, back)| (c, t - back, s, w, d))
                .collect();
            (o, events)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(2000)))]

    #[test]
    fn r2_to_r19_r39_the_engine_agrees_with_a_naive_model_of_the_rules((o, events) in case()) {
        let mut engine = Engine::new(o.config()).expect("engine");
        engine.collect_summaries(true);
        let mut model = Model { o, rates: Rates::default(), ids: HashMap::new(), done: Vec::new(), ignored: 0, duplicates: 0, watermark: i64::MIN, latest: i64::MIN };
        let mut rejected = 0;
        for (id, t, step, watermark, delivery) in &events {
            if let Some(w) = *watermark {
                engine.advance_to(Timestamp::from_unix(w));
                model.advance_to(w);
            }
            let mut event = Event::new(id.as_str(), Timestamp::from_unix(*t), step.kind());
            if let Some(d) = delivery {
                event = event.with_id(d.as_str());
            }
            let got = engine.ingest(&event).map(|_| ()).map_err(|e| e.code());
            let want = model.apply(id, *t, *step, delivery.as_deref());
            prop_assert_eq!(got, want, "{} at {}: {:?}", id, t, step);
            rejected += u64::from(want.is_err());
        }
        let report = engine.finish();
        let mut got: Vec<Expected> = engine.drain_summaries().map(|s| from_engine(&s)).collect();
        let (mut want, ignored, duplicates, rates) = model.finish();
        got.sort_by_key(key);
        want.sort_by_key(key);
        prop_assert_eq!(got.len(), want.len(), "instances: {:#?}\nvs model {:#?}", got, want);
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!(g, w);
        }
        prop_assert_eq!(report.conversations().ignored_after_final, ignored);
        prop_assert_eq!(report.duplicates(), duplicates);
        prop_assert_eq!(Rates::of(&report), rates);
        prop_assert_eq!(report.conversations().total, want.len() as u64);
        prop_assert_eq!(report.rejected(), rejected);
    }
}
