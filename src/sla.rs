//! SLA policies compiled for the engine, and SLA instances (R20–R27).
//!
//! A policy's filter is compiled to interned ids and a tag bit mask, so choosing a policy costs
//! a few compares. An [`Instance`] is one target running for one conversation; its state machine
//! lives in `conversation.rs`, which knows when waits start, statuses change and replies arrive.

use crate::clock::Clock;
use crate::config::{Config, SlaMetric};
use crate::intern::{Names, NONE};
use crate::segment::{Dimension, Segments};
use crate::time::Packed;
use crate::{Priority, Result, Timestamp};

/// Index of "no policy" (R23: no matching policy, no instances).
pub(crate) const NO_POLICY: u16 = u16::MAX;

/// A target compiled for the engine.
#[derive(Debug, Clone)]
pub(crate) struct CompiledTarget {
    pub(crate) metric: SlaMetric,
    pub(crate) threshold_s: i64,
    pub(crate) clock: u8,
}

/// A policy compiled for the engine.
#[derive(Debug, Clone)]
pub(crate) struct CompiledPolicy {
    pub(crate) name: String,
    priorities: u8,
    channels: Vec<u32>,
    brands: Vec<u32>,
    tags: u64,
    pub(crate) targets: Vec<CompiledTarget>,
}

impl CompiledPolicy {
    /// Whether the filter is empty: the policy matches every conversation.
    #[inline]
    fn matches_all(&self) -> bool {
        self.priorities == 0 && self.channels.is_empty() && self.brands.is_empty() && self.tags == 0
    }
}

/// The configuration compiled for the hot path.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    /// 0 calendar, 1 business (when a schedule is set), then named schedules.
    pub(crate) clocks: Vec<Clock>,
    /// Clock names, parallel to `clocks`.
    pub(crate) clock_names: Vec<String>,
    /// How many clocks durations are recorded on (R31): 1, or 2 with a schedule.
    pub(crate) recorded: usize,
    /// How many clocks status time is tracked on: the recorded ones and every clock a pausing
    /// target (`requester_wait`, `agent_work`) uses, so its used time is exact after a
    /// re-targeting (R23, R24). At most `TRACKED_CLOCKS`.
    pub(crate) tracked: usize,
    pub(crate) policies: Vec<CompiledPolicy>,
    /// Tags named by policy filters; bit i of a conversation's tag mask is `tags[i]`.
    pub(crate) tags: Vec<String>,
    pub(crate) count_bot_replies: bool,
    pub(crate) count_automation_replies: bool,
    pub(crate) reopen_window_s: i64,
    pub(crate) idle_timeout_s: i64,
    pub(crate) allowed_lateness_s: i64,
    pub(crate) within_s: Vec<u64>,
    /// Report breakdowns (R35).
    pub(crate) segments: Segments,
    /// Whether conversations intern their team and agents (a breakdown needs them).
    pub(crate) by_team: bool,
    pub(crate) by_agent: bool,
}

impl Rules {
    pub(crate) fn compile(config: &Config, names: &mut Names) -> Result<Rules> {
        config.validate()?;
        let mut clocks = vec![Clock::Calendar];
        let mut clock_names = vec!["calendar".to_owned()];
        let recorded = match &config.schedule {
            Some(s) => {
                clocks.push(Clock::Business(s.clone()));
                clock_names.push("business".to_owned());
                2
            }
            None => {
                // Keep indexes stable: named schedules start at 2 (Config::clock_index).
                clocks.push(Clock::Calendar);
                clock_names.push("business".to_owned());
                1
            }
        };
        for (name, s) in &config.schedules {
            clocks.push(Clock::Business(s.clone()));
            clock_names.push(name.clone());
        }
        if clocks.len() > u8::MAX as usize {
            return Err(crate::Error::config("too many named schedules (at most 250)"));
        }
        let mut tags: Vec<String> = Vec::new();
        let mut policies = Vec::with_capacity(config.policies.len());
        for p in &config.policies {
            let mut mask = 0u64;
            for t in &p.when.tags {
                let i = match tags.iter().position(|x| x == t) {
                    Some(i) => i,
                    None => {
                        tags.push(t.clone());
                        tags.len() - 1
                    }
                };
                mask |= 1 << i;
            }
            let targets = p
                .targets
                .iter()
                .map(|t| {
                    Ok(CompiledTarget {
                        metric: t.metric,
                        threshold_s: t.threshold_s,
                        clock: config.clock_index(&t.clock)? as u8,
                    })
                })
                .collect::<Result<_>>()?;
            policies.push(CompiledPolicy {
                name: p.name.clone(),
                priorities: p.when.priority.iter().fold(0, |m, &pr| m | priority_bit(pr)),
                channels: p
                    .when
                    .channel
                    .iter()
                    .map(|c| names.channels.intern_pinned(c))
                    .collect(),
                brands: p
                    .when
                    .brand
                    .iter()
                    .map(|b| names.brands.intern_pinned(b))
                    .collect(),
                tags: mask,
                targets,
            });
        }
        let tracked = policies
            .iter()
            .flat_map(|p: &CompiledPolicy| &p.targets)
            .filter(|t| matches!(t.metric, SlaMetric::RequesterWait | SlaMetric::AgentWork))
            .map(|t| t.clock as usize + 1)
            .fold(recorded, usize::max);
        if tracked > crate::conversation::TRACKED_CLOCKS {
            return Err(crate::Error::config(format!(
                "requester_wait and agent_work targets may use at most {} named schedules",
                crate::conversation::TRACKED_CLOCKS - 2
            )));
        }
        for (what, values) in [("channel", &names.channels), ("brand", &names.brands)] {
            if values.names().len() > crate::intern::ATTRIBUTE_CAP {
                return Err(crate::Error::config(format!(
                    "policies name more than {} distinct {what} values",
                    crate::intern::ATTRIBUTE_CAP
                )));
            }
        }
        if policies.len() >= NO_POLICY as usize {
            return Err(crate::Error::config("too many policies"));
        }
        Ok(Rules {
            clocks,
            clock_names,
            recorded,
            tracked,
            policies,
            tags,
            count_bot_replies: config.count_bot_replies,
            count_automation_replies: config.count_automation_replies,
            reopen_window_s: config.reopen_window_s,
            idle_timeout_s: config.idle_timeout_s,
            allowed_lateness_s: config.allowed_lateness_s,
            within_s: config.within_s.clone(),
            segments: config.segments.clone(),
            by_team: config.segments.by.contains(&Dimension::Team),
            by_agent: config.segments.by.contains(&Dimension::Agent),
        })
    }

    /// A hash of everything that shapes engine state (clocks, policies, options): a checkpoint
    /// restores only under rules with the same fingerprint.
    pub(crate) fn fingerprint(&self) -> u64 {
        crate::encoding::checksum(format!("{self:?}").as_bytes())
    }

    /// The first policy whose filter matches (§6); [`NO_POLICY`] if none. In line, with a
    /// first look at whether the first policy matches everything, as the default one does.
    #[inline]
    pub(crate) fn select(&self, priority: Priority, channel: u32, brand: u32, tags: u64) -> u16 {
        if self.policies.first().is_some_and(CompiledPolicy::matches_all) {
            return 0;
        }
        let pbit = priority_bit(priority);
        self.policies
            .iter()
            .position(|p| {
                (p.priorities == 0 || p.priorities & pbit != 0)
                    && (p.channels.is_empty() || (channel != NONE && p.channels.contains(&channel)))
                    && (p.brands.is_empty() || (brand != NONE && p.brands.contains(&brand)))
                    && tags & p.tags == p.tags
            })
            .map_or(NO_POLICY, |i| i as u16)
    }

    /// The bit of a tag in a conversation's tag mask; 0 for tags no policy names.
    pub(crate) fn tag_bit(&self, tag: &str) -> u64 {
        self.tags.iter().position(|t| t == tag).map_or(0, |i| 1 << i)
    }

    pub(crate) fn target(&self, policy: u16, target: u8) -> &CompiledTarget {
        &self.policies[policy as usize].targets[target as usize]
    }
}

fn priority_bit(p: Priority) -> u8 {
    1 << (p as u8)
}

/// Where an SLA instance stands (R21, R24).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Clock running, not yet due.
    Running,
    /// Clock paused by status (R24); the deadline moves by the paused time.
    Paused,
    /// Fulfilled at a solve but may resume on a reopen (R24): final only at finalization.
    Fulfilled,
    /// Final: fulfilled at or before the deadline.
    Met,
    /// Final: the deadline passed unfulfilled.
    Breached,
    /// Final: cancelled by R11, R23 or R26.
    Cancelled,
    /// Final at finalization: still running and not yet due (R38).
    Active,
}

impl State {
    /// Not yet final: may still change outcome (R43 "running").
    pub(crate) fn is_running(self) -> bool {
        matches!(self, State::Running | State::Paused | State::Fulfilled)
    }

    pub(crate) fn outcome(self) -> Outcome {
        match self {
            State::Met | State::Fulfilled => Outcome::Met,
            State::Breached => Outcome::Breached,
            State::Cancelled => Outcome::Cancelled,
            State::Running | State::Paused | State::Active => Outcome::Active,
        }
    }
}

/// The outcome of an SLA instance (R21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Fulfilled at or before the deadline.
    Met,
    /// Not fulfilled when the deadline passed.
    Breached,
    /// Cancelled (solved while waiting, R11; policy change, R23; exclusion, R26).
    Cancelled,
    /// Still running at finalization and not yet due.
    Active,
}

impl Outcome {
    /// The JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Met => "met",
            Outcome::Breached => "breached",
            Outcome::Cancelled => "cancelled",
            Outcome::Active => "active",
        }
    }
}

/// One SLA target running for one conversation instance (R20): 20 bytes, laid out in order
/// with the state first, so that [`Instances`] finds a niche for its tag at its start and
/// takes 40 bytes, not 48.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Instance {
    pub(crate) state: State,
    pub(crate) metric: SlaMetric,
    pub(crate) policy: u16,
    /// The target's index in its policy (a policy has at most 256, `Config::validate`).
    pub(crate) target: u8,
    /// For reply metrics, where the wait started (R20, R10); for resolution metrics, creation;
    /// for pausing metrics, the start of the current running period (R24; their clock started at
    /// creation, which the conversation holds). One field, as no metric needs two of these.
    pub(crate) anchor: Packed,
    /// Clock seconds used before `anchor` (pausing metrics, R24).
    pub(crate) used: Packed,
    /// The deadline in force (R43): current while running, as decided once final.
    pub(crate) deadline: Packed,
}

impl Instance {
    /// The target's threshold: always that of `(policy, target)`, which re-targeting (R23)
    /// updates together, so it is looked up rather than stored.
    #[inline]
    pub(crate) fn threshold_s(&self, rules: &Rules) -> i64 {
        rules.target(self.policy, self.target).threshold_s
    }

    /// The index of the target's clock: like the threshold, looked up.
    #[inline]
    pub(crate) fn clock(&self, rules: &Rules) -> u8 {
        rules.target(self.policy, self.target).clock
    }

    /// See the field `anchor`.
    #[inline]
    pub(crate) fn anchor(&self) -> Timestamp {
        // A wait's start, a creation or a period's start: an accepted instant.
        self.anchor.raw_instant()
    }

    /// See the field `used`.
    #[inline]
    pub(crate) fn used(&self) -> i64 {
        // At most a conversation's span (checked when read from a checkpoint).
        self.used.raw()
    }

    /// See the field `deadline`.
    #[inline]
    pub(crate) fn deadline(&self) -> Timestamp {
        self.deadline.instant()
    }
}

/// How many instances a conversation holds without a heap allocation: the default policy's
/// two `first_response` targets (R20).
const INLINE_INSTANCES: usize = 2;

/// A conversation's SLA instances in activation order (R20): up to [`INLINE_INSTANCES`]
/// inside the conversation, so most events reach them without another memory access and most
/// conversations allocate nothing for them; more (next-reply targets, re-targeting) move to
/// the heap. An unused inline slot has no policy, which no activated instance lacks; the
/// enum then needs no tag of its own (64 bytes, not 72).
#[derive(Debug, Clone)]
pub(crate) enum Instances {
    Inline([Instance; INLINE_INSTANCES]),
    Heap(Vec<Instance>),
}

/// An unused inline slot.
const UNUSED: Instance = Instance {
    policy: NO_POLICY,
    target: 0,
    metric: SlaMetric::FirstResponse,
    state: State::Cancelled,
    anchor: Packed::at(Timestamp::MIN),
    used: Packed::new(0),
    deadline: Packed::at(Timestamp::MIN),
};

impl Default for Instances {
    fn default() -> Instances {
        Instances::Inline([UNUSED; INLINE_INSTANCES])
    }
}

/// How many inline slots are used: the used ones come first.
#[inline]
fn used_slots(items: &[Instance; INLINE_INSTANCES]) -> usize {
    items.iter().take_while(|i| i.policy != NO_POLICY).count()
}

impl Instances {
    /// Appends an instance (of a policy, never [`NO_POLICY`]).
    pub(crate) fn push(&mut self, i: Instance) {
        debug_assert_ne!(i.policy, NO_POLICY);
        match self {
            Instances::Inline(items) => match used_slots(items) {
                n if n < INLINE_INSTANCES => items[n] = i,
                _ => {
                    let mut v = Vec::with_capacity(2 * INLINE_INSTANCES);
                    v.extend_from_slice(items);
                    v.push(i);
                    *self = Instances::Heap(v);
                }
            },
            Instances::Heap(v) => v.push(i),
        }
    }

    /// R21: breaches every running instance whose deadline lies before `t`. Inline, it looks
    /// at both slots without counting the used ones: an unused slot is never running.
    #[inline]
    pub(crate) fn breach_before(&mut self, t: Timestamp) {
        // Compared as packed: a running deadline is never below the range (Packed::clamp).
        self.breach_before_raw(Packed::clamp(t.as_unix()));
    }

    /// [`breach_before`](Self::breach_before) an accepted event's instant (R1), which needs
    /// no [`Packed::clamp`]: 4 instructions fewer on every event.
    #[inline]
    pub(crate) fn breach_before_accepted(&mut self, t: Timestamp) {
        let t = t.as_unix();
        debug_assert_eq!(Packed::clamp(t), t, "not an accepted instant");
        self.breach_before_raw(t);
    }

    #[inline]
    fn breach_before_raw(&mut self, t: i64) {
        let items: &mut [Instance] = match self {
            Instances::Inline(items) => items,
            Instances::Heap(v) => v,
        };
        for i in items {
            if i.state == State::Running && i.deadline.raw() < t {
                i.state = State::Breached;
            }
        }
    }

    /// Heap bytes held (R40, `Engine::memory`).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Instances::Inline(..) => 0,
            Instances::Heap(v) => v.capacity() * std::mem::size_of::<Instance>(),
        }
    }
}

impl std::ops::Deref for Instances {
    type Target = [Instance];

    #[inline]
    fn deref(&self) -> &[Instance] {
        match self {
            Instances::Inline(items) => &items[..used_slots(items)],
            Instances::Heap(v) => v,
        }
    }
}

impl std::ops::DerefMut for Instances {
    #[inline]
    fn deref_mut(&mut self) -> &mut [Instance] {
        match self {
            Instances::Inline(items) => {
                let n = used_slots(items);
                &mut items[..n]
            }
            Instances::Heap(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R20: instances keep their activation order and every field, inline or on the heap.
    #[test]
    fn r20_instances_keep_activation_order_inline_and_spilled() {
        let mut list = Instances::default();
        assert!(list.is_empty());
        for k in 0..7u16 {
            list.push(Instance {
                policy: k % 3,
                target: k as u8,
                metric: SlaMetric::ALL[k as usize % SlaMetric::ALL.len()],
                state: State::Running,
                anchor: Packed::new(i64::from(k)),
                used: Packed::new(i64::from(k) * 10),
                deadline: Packed::new(1000 + i64::from(k)),
            });
            assert_eq!(list.len(), usize::from(k) + 1);
            assert_eq!(list.heap_bytes() > 0, usize::from(k) >= INLINE_INSTANCES);
            list.last_mut().expect("just pushed").state = State::Met;
        }
        for (k, i) in list.iter().enumerate() {
            let k = k as u16;
            assert_eq!((i.policy, i.target), (k % 3, k as u8));
            assert_eq!(
                (i.anchor().as_unix(), i.used(), i.deadline().as_unix()),
                (i64::from(k), i64::from(k) * 10, 1000 + i64::from(k))
            );
            assert_eq!(i.state, State::Met);
        }
    }
}
