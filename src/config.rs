//! Configuration (SPEC §6, §9, §11): schedules, SLA policies and the engine's options.

use crate::{Error, Priority, Result, Schedule, Segments};
use serde_json::Value;
use std::fmt;

/// A metric an SLA target can be set on (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaMetric {
    /// Time to the first qualifying reply of the instance (R9).
    FirstResponse,
    /// Time to each later reply; one instance per wait (R25).
    NextReply,
    /// Creation to the first resolution (R13).
    FirstResolution,
    /// Creation to the last resolution; resumes on reopen (R14, R24).
    FullResolution,
    /// Time in new, open and on-hold; pauses while pending or solved (R24).
    RequesterWait,
    /// Time in new and open; pauses while pending, on-hold or solved (R24).
    AgentWork,
}

impl SlaMetric {
    /// All metrics, in SPEC order.
    pub const ALL: [SlaMetric; 6] = [
        SlaMetric::FirstResponse,
        SlaMetric::NextReply,
        SlaMetric::FirstResolution,
        SlaMetric::FullResolution,
        SlaMetric::RequesterWait,
        SlaMetric::AgentWork,
    ];

    /// The JSON name of the metric.
    pub const fn as_str(self) -> &'static str {
        match self {
            SlaMetric::FirstResponse => "first_response",
            SlaMetric::NextReply => "next_reply",
            SlaMetric::FirstResolution => "first_resolution",
            SlaMetric::FullResolution => "full_resolution",
            SlaMetric::RequesterWait => "requester_wait",
            SlaMetric::AgentWork => "agent_work",
        }
    }

    /// Parses a JSON metric name.
    pub fn from_name(s: &str) -> Option<SlaMetric> {
        SlaMetric::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Reply metrics run on the waiting clock (R20) and never pause (R24).
    pub(crate) fn is_reply(self) -> bool {
        matches!(self, SlaMetric::FirstResponse | SlaMetric::NextReply)
    }

    /// Whether the metric's clock pauses on status (R24): `requester_wait` and `agent_work`.
    pub(crate) fn pauses(self) -> bool {
        matches!(self, SlaMetric::RequesterWait | SlaMetric::AgentWork)
    }
}

impl fmt::Display for SlaMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One SLA target: a metric, a threshold and the clock it is measured on (§6).
///
/// # Example
/// ```
/// use sla_metrics::{SlaMetric, Target};
/// let t = Target::calendar(SlaMetric::FirstResponse, 3600);
/// assert_eq!(t.clock, "calendar");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The metric.
    pub metric: SlaMetric,
    /// The threshold in seconds on `clock` (positive).
    pub threshold_s: i64,
    /// `calendar`, `business` (the config's `schedule`) or a name from `schedules`.
    pub clock: String,
}

impl Target {
    /// A target on the calendar clock.
    pub fn calendar(metric: SlaMetric, threshold_s: i64) -> Target {
        Target {
            metric,
            threshold_s,
            clock: "calendar".into(),
        }
    }

    /// A target on the config's business `schedule`.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{SlaMetric, Target};
    /// assert_eq!(Target::business(SlaMetric::NextReply, 900).clock, "business");
    /// ```
    pub fn business(metric: SlaMetric, threshold_s: i64) -> Target {
        Target {
            metric,
            threshold_s,
            clock: "business".into(),
        }
    }
}

/// The most targets a policy may have: an SLA instance stores its target's index in a byte.
const MAX_TARGETS: usize = 256;

/// Which conversations a policy applies to (§6 `when`). Empty lists match everything. All
/// policies together may name at most 65 534 distinct channels and as many brands
/// ([`Engine::new`](crate::Engine::new) returns a config error beyond that).
///
/// # Example
/// ```
/// use sla_metrics::{Filter, Priority};
/// let f = Filter { priority: vec![Priority::High, Priority::Urgent], ..Filter::default() };
/// assert!(f.channel.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Any of these priorities (empty: any).
    pub priority: Vec<Priority>,
    /// Any of these channels (empty: any).
    pub channel: Vec<String>,
    /// Any of these brands (empty: any).
    pub brand: Vec<String>,
    /// All of these tags must be present.
    pub tags: Vec<String>,
}

/// A named SLA policy: a filter and its targets (§6). The first matching policy applies.
///
/// # Example
/// ```
/// use sla_metrics::{Policy, SlaMetric};
/// let p = Policy::default_policy();
/// assert_eq!(p.name, "default");
/// assert_eq!(p.targets.len(), 2);
/// assert_eq!(p.targets[1].metric, SlaMetric::FirstResponse);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The policy name, as reported.
    pub name: String,
    /// Which conversations it applies to.
    pub when: Filter,
    /// Its targets, in activation order: at most 256 ([`Engine::new`](crate::Engine::new)
    /// returns a config error beyond that).
    pub targets: Vec<Target>,
}

impl Policy {
    /// The default SLA when a config has no `policies` key: `first_response` within 1 h and
    /// within 24 h on the calendar clock (§6).
    pub fn default_policy() -> Policy {
        Policy {
            name: "default".into(),
            when: Filter::default(),
            targets: vec![
                Target::calendar(SlaMetric::FirstResponse, 3600),
                Target::calendar(SlaMetric::FirstResponse, 86_400),
            ],
        }
    }
}

/// Everything the engine is configured with (SPEC §11 `config`).
///
/// # Example
/// ```
/// use sla_metrics::Config;
/// let c = Config::from_json(r#"{"reopen_window_s": 86400, "count_bot_replies": true}"#)?;
/// assert_eq!(c.reopen_window_s, 86_400);
/// assert!(c.count_bot_replies);
/// assert_eq!(c.policies[0].name, "default");
/// assert_eq!(c.within_s, vec![3600, 86_400]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// The business schedule of the `business` clock; when set, every duration is also recorded
    /// on it (R31).
    pub schedule: Option<Schedule>,
    /// Named schedules that targets may use as clocks (§6).
    pub schedules: Vec<(String, Schedule)>,
    /// SLA policies, first match applies; `[]` means no SLA (§6).
    pub policies: Vec<Policy>,
    /// Count bot messages as replies (R7).
    pub count_bot_replies: bool,
    /// Count automation messages as replies (R7).
    pub count_automation_replies: bool,
    /// Seconds a solved conversation may reopen (R39); default 28 days.
    pub reopen_window_s: i64,
    /// Seconds of inactivity after which a conversation is finalized (R39); default 30 days.
    pub idle_timeout_s: i64,
    /// Reorder-buffer lateness in seconds (R41); 0 rejects every late event.
    pub allowed_lateness_s: i64,
    /// Thresholds whose "within" shares are counted exactly (R34); default 1 h and 24 h.
    pub within_s: Vec<u64>,
    /// Report breakdowns by segment and cohort (R35); none by default.
    pub segments: Segments,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            schedule: None,
            schedules: Vec::new(),
            policies: vec![Policy::default_policy()],
            count_bot_replies: false,
            count_automation_replies: false,
            reopen_window_s: 28 * 86_400,
            idle_timeout_s: 30 * 86_400,
            allowed_lateness_s: 0,
            within_s: vec![3600, 86_400],
            segments: Segments::default(),
        }
    }
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::config(format!("{what}: expected strings, found {x}")))
            })
            .collect(),
        other => Err(Error::config(format!(
            "{what}: expected a string or a list, found {other}"
        ))),
    }
}

fn seconds(v: &Value, key: &str) -> Result<i64> {
    v.as_i64().filter(|&s| s >= 0).ok_or_else(|| {
        Error::config(format!(
            "{key}: expected a non-negative whole number of seconds, found {v}"
        ))
    })
}

impl Config {
    /// Parses the SPEC §11 `config` object: `schedule`, `schedules`, `policies`,
    /// `count_bot_replies`, `count_automation_replies`, `reopen_window_s`, `idle_timeout_s`,
    /// `allowed_lateness_s`, `within_s`, and `segments` (R35, [`Segments`]). Missing keys take their defaults; unknown keys are
    /// ignored (as unknown event fields are, R42).
    ///
    /// # Errors
    /// Invalid JSON, a malformed schedule (R32), an unknown metric or clock, a business clock
    /// with no schedule, a non-positive threshold, a policy without name, or an option of the
    /// wrong type.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Config;
    /// let err = Config::from_json(r#"{"policies": [{"name": "p", "targets": [
    ///     {"metric": "first_response", "threshold_s": 60, "clock": "business"}]}]}"#).unwrap_err();
    /// assert!(err.to_string().contains("no schedule"));
    /// ```
    pub fn from_json(text: &str) -> Result<Config> {
        let v: Value = serde_json::from_str(text).map_err(|e| Error::config(format!("not JSON: {e}")))?;
        Config::from_value(&v)
    }

    /// Like [`Config::from_json`], from an already parsed JSON value.
    ///
    /// # Errors
    /// As [`Config::from_json`].
    pub fn from_value(v: &Value) -> Result<Config> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::config("the config must be a JSON object"))?;
        let mut c = Config::default();
        if let Some(s) = obj.get("schedule").filter(|s| !s.is_null()) {
            c.schedule = Some(Schedule::from_json(s)?);
        }
        if let Some(m) = obj.get("schedules").filter(|s| !s.is_null()) {
            let m = m
                .as_object()
                .ok_or_else(|| Error::config("schedules: expected an object of named schedules"))?;
            for (name, s) in m {
                if matches!(name.as_str(), "calendar" | "business") {
                    return Err(Error::config(format!(
                        "schedules: `{name}` is a reserved clock name"
                    )));
                }
                c.schedules.push((name.clone(), Schedule::from_json(s)?));
            }
        }
        for (key, flag) in [
            ("count_bot_replies", &mut c.count_bot_replies),
            ("count_automation_replies", &mut c.count_automation_replies),
        ] {
            if let Some(x) = obj.get(key).filter(|x| !x.is_null()) {
                *flag = x
                    .as_bool()
                    .ok_or_else(|| Error::config(format!("{key}: expected true or false, found {x}")))?;
            }
        }
        for (key, secs) in [
            ("reopen_window_s", &mut c.reopen_window_s),
            ("idle_timeout_s", &mut c.idle_timeout_s),
            ("allowed_lateness_s", &mut c.allowed_lateness_s),
        ] {
            if let Some(x) = obj.get(key).filter(|x| !x.is_null()) {
                *secs = seconds(x, key)?;
            }
        }
        if let Some(w) = obj.get("within_s").filter(|x| !x.is_null()) {
            let list = w
                .as_array()
                .ok_or_else(|| Error::config(format!("within_s: expected a list of seconds, found {w}")))?;
            c.within_s = list
                .iter()
                .map(|x| seconds(x, "within_s").map(|s| s as u64))
                .collect::<Result<_>>()?;
        }
        if let Some(seg) = obj.get("segments").filter(|x| !x.is_null()) {
            c.segments = Segments::from_value(seg)?;
        }
        if let Some(p) = obj.get("policies").filter(|x| !x.is_null()) {
            let list = p
                .as_array()
                .ok_or_else(|| Error::config("policies: expected a list"))?;
            c.policies = list.iter().map(parse_policy).collect::<Result<_>>()?;
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks what [`Config::from_json`] checks, for a config built in code.
    ///
    /// # Errors
    /// An unknown clock, a business clock with no schedule, a non-positive threshold, more than
    /// 64 distinct tags across policy filters, or a negative option.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Config, SlaMetric, Target};
    /// let mut c = Config::default();
    /// c.policies[0].targets.push(Target::calendar(SlaMetric::AgentWork, 0));
    /// assert!(c.validate().is_err()); // thresholds must be positive
    /// ```
    pub fn validate(&self) -> Result<()> {
        for (key, v) in [
            ("reopen_window_s", self.reopen_window_s),
            ("idle_timeout_s", self.idle_timeout_s),
            ("allowed_lateness_s", self.allowed_lateness_s),
        ] {
            if v < 0 {
                return Err(Error::config(format!("{key} must not be negative")));
            }
        }
        let mut tags: Vec<&str> = Vec::new();
        for p in &self.policies {
            if p.targets.len() > MAX_TARGETS {
                return Err(Error::config(format!(
                    "policy {}: at most {MAX_TARGETS} targets, found {}",
                    p.name,
                    p.targets.len()
                )));
            }
            for t in &p.targets {
                if t.threshold_s <= 0 {
                    return Err(Error::config(format!(
                        "policy {}: {} threshold must be positive, found {}",
                        p.name, t.metric, t.threshold_s
                    )));
                }
                self.clock_index(&t.clock)
                    .map_err(|e| Error::config(format!("policy {}: {}", p.name, e.reason_text())))?;
            }
            for tag in &p.when.tags {
                if !tags.contains(&tag.as_str()) {
                    tags.push(tag);
                }
            }
        }
        if tags.len() > 64 {
            return Err(Error::config("policy filters may name at most 64 distinct tags"));
        }
        self.segments.validate()
    }

    /// The index of a clock name: 0 calendar, 1 business (when a schedule is set), then the
    /// named schedules in order.
    pub(crate) fn clock_index(&self, name: &str) -> Result<usize> {
        match name {
            "calendar" => Ok(0),
            "business" => {
                if self.schedule.is_some() {
                    Ok(1)
                } else {
                    Err(Error::config(
                        "clock `business` needs a schedule, and the config has no schedule",
                    ))
                }
            }
            other => self
                .schedules
                .iter()
                .position(|(n, _)| n == other)
                .map(|i| i + 2)
                .ok_or_else(|| {
                    Error::config(format!(
                        "unknown clock `{other}` (calendar, business or a name from schedules)"
                    ))
                }),
        }
    }
}

fn parse_policy(v: &Value) -> Result<Policy> {
    let o = v
        .as_object()
        .ok_or_else(|| Error::config(format!("policies: expected an object, found {v}")))?;
    let name = o
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::config("policies: every policy needs a string `name`"))?
        .to_owned();
    let ctx = |e: Error| Error::config(format!("policy {name}: {}", e.reason_text()));
    let mut when = Filter::default();
    if let Some(w) = o.get("when").filter(|x| !x.is_null()) {
        let w = w
            .as_object()
            .ok_or_else(|| Error::config(format!("policy {name}: `when` must be an object")))?;
        for (k, val) in w {
            match k.as_str() {
                "priority" => {
                    when.priority = strings(val, "priority")
                        .map_err(ctx)?
                        .iter()
                        .map(|s| {
                            Priority::from_name(s).ok_or_else(|| {
                                Error::config(format!("policy {name}: unknown priority `{s}`"))
                            })
                        })
                        .collect::<Result<_>>()?
                }
                "channel" => when.channel = strings(val, "channel").map_err(ctx)?,
                "brand" => when.brand = strings(val, "brand").map_err(ctx)?,
                "tags" => when.tags = strings(val, "tags").map_err(ctx)?,
                other => {
                    return Err(Error::config(format!(
                        "policy {name}: unknown `when` key `{other}` (priority, channel, brand, tags)"
                    )))
                }
            }
        }
    }
    let targets = o
        .get("targets")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::config(format!("policy {name}: `targets` must be a list")))?
        .iter()
        .map(|t| {
            let metric_name = t.get("metric").and_then(Value::as_str).unwrap_or("");
            let metric = SlaMetric::from_name(metric_name)
                .ok_or_else(|| Error::config(format!("policy {name}: unknown metric `{metric_name}`")))?;
            let threshold_s = t.get("threshold_s").and_then(Value::as_i64).ok_or_else(|| {
                Error::config(format!(
                    "policy {name}: {metric_name}: `threshold_s` must be a whole number"
                ))
            })?;
            let clock = match t.get("clock") {
                None | Some(Value::Null) => "calendar".to_owned(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => {
                    return Err(Error::config(format!(
                        "policy {name}: clock must be a string, found {other}"
                    )))
                }
            };
            Ok(Target {
                metric,
                threshold_s,
                clock,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Policy { name, when, targets })
}
