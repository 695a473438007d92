//! Live SLA tracking (R21, R27): breaches known as soon as the watermark passes a deadline, an
//! SLA event log a product can drain, and the at-risk list. Off by default; turned on with
//! [`Engine::track_sla`](crate::Engine::track_sla), it costs nothing when off.
//!
//! Running instances sit in one ordered index by deadline: the watermark breaches from its front
//! in O((breaches + 1) · log n), and the at-risk query reads its first entries.

use crate::config::SlaMetric;
use crate::conversation::Conversation;
use crate::intern::Key;
use crate::sla::{Instance, Rules, State};
use crate::Timestamp;
use std::collections::BTreeSet;

/// What happened to an SLA instance (R27).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaEventKind {
    /// The metric's clock started (R20).
    Activate,
    /// A running instance got a new start or deadline: a bot handoff (R10) or a re-targeting
    /// (R23).
    Update,
    /// The clock paused on a status (R24).
    Pause,
    /// The clock resumed (R24), also when a reopen undoes a fulfilment.
    Resume,
    /// Fulfilled at or before the deadline (for resolution metrics, final only at
    /// finalization, R24).
    Fulfill,
    /// The deadline passed unfulfilled (R21); `at` is the deadline.
    Breach,
    /// Cancelled by a solve while waiting (R11), a policy change (R23) or exclusion (R26).
    Cancel,
}

/// One entry of the SLA event log (R27).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SlaEvent {
    /// When it happened (for a breach: the deadline).
    pub at: Timestamp,
    /// What happened.
    pub kind: SlaEventKind,
    /// The conversation id.
    pub conversation: String,
    /// The conversation instance (R6).
    pub instance: u32,
    /// The instance's creation: with `conversation` and `instance`, its identity (R43).
    pub created_at: Timestamp,
    /// The instance's position among the conversation's SLA instances, in activation order.
    pub index: u32,
    /// The policy name.
    pub policy: String,
    /// The target's metric.
    pub metric: SlaMetric,
    /// The target's threshold.
    pub threshold_s: i64,
    /// The target's clock.
    pub clock: String,
    /// The deadline in force after the event.
    pub deadline: Timestamp,
}

/// A running SLA instance due soon (R27), from [`Engine::at_risk`](crate::Engine::at_risk).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct AtRisk {
    /// The conversation id.
    pub conversation: String,
    /// The instance's position among the conversation's SLA instances.
    pub index: u32,
    /// The policy name.
    pub policy: String,
    /// The target's metric.
    pub metric: SlaMetric,
    /// The target's threshold.
    pub threshold_s: i64,
    /// The target's clock.
    pub clock: String,
    /// When it breaches unless fulfilled.
    pub deadline: Timestamp,
    /// Calendar seconds from the watermark to the deadline.
    pub time_left_s: i64,
}

/// The state of live tracking inside the engine.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    /// Running instances by deadline: `(deadline, conversation, index)`.
    pub(crate) running: BTreeSet<(Timestamp, Key, u32)>,
    pub(crate) log: Vec<SlaEvent>,
    /// `(state, deadline)` of a conversation's instances before an event.
    pub(crate) before: Vec<(State, Timestamp)>,
}

impl Tracker {
    /// Remembers the instances' states before a change.
    pub(crate) fn snapshot(&mut self, sla: &[Instance]) {
        self.before.clear();
        self.before.extend(sla.iter().map(|i| (i.state, i.deadline())));
    }

    /// Logs every transition since the snapshot and keeps the running index in step.
    pub(crate) fn record(&mut self, key: &Key, conv: &Conversation, at: Timestamp, rules: &Rules) {
        for (index, now) in conv.sla.iter().enumerate() {
            let old = self.before.get(index).copied();
            let was_running = matches!(old, Some((State::Running, _)));
            let is_running = now.state == State::Running;
            let moved = was_running && is_running && old.is_some_and(|(_, d)| d != now.deadline());
            if was_running && (!is_running || moved) {
                if let Some((_, d)) = old {
                    self.running.remove(&(d, key.clone(), index as u32));
                }
            }
            if is_running && (!was_running || moved) {
                self.running.insert((now.deadline(), key.clone(), index as u32));
            }
            let mut kinds: [Option<SlaEventKind>; 2] = [None, None];
            match old {
                None => {
                    kinds[0] = Some(SlaEventKind::Activate);
                    kinds[1] = transition(State::Running, now.state);
                }
                Some((state, _)) if state != now.state => kinds[0] = transition(state, now.state),
                Some(_) if moved => kinds[0] = Some(SlaEventKind::Update),
                Some(_) => {}
            }
            for kind in kinds.into_iter().flatten() {
                self.log.push(SlaEvent {
                    at: if kind == SlaEventKind::Breach {
                        now.deadline()
                    } else {
                        at
                    },
                    kind,
                    conversation: key.to_text(),
                    instance: conv.instance(),
                    created_at: conv.created_at(),
                    index: index as u32,
                    policy: rules.policies[now.policy as usize].name.clone(),
                    metric: now.metric,
                    threshold_s: now.threshold_s(rules),
                    clock: rules.clock_names[now.clock(rules) as usize].clone(),
                    deadline: now.deadline(),
                });
            }
        }
    }
}

/// The logged kind of a state change; `None` for changes that are not events (finalization of
/// a still running instance: it stays active, R38).
fn transition(from: State, to: State) -> Option<SlaEventKind> {
    match to {
        State::Running if from == State::Running => None,
        State::Running => Some(SlaEventKind::Resume),
        State::Paused => Some(SlaEventKind::Pause),
        State::Fulfilled => Some(SlaEventKind::Fulfill),
        State::Met if from == State::Fulfilled => None,
        State::Met => Some(SlaEventKind::Fulfill),
        State::Breached => Some(SlaEventKind::Breach),
        State::Cancelled => Some(SlaEventKind::Cancel),
        State::Active => None,
    }
}
