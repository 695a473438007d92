//! The event model of SPEC §1 (R1–R6): the Rust mirror of the JSON Lines format.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One event of a conversation's stream (SPEC §1).
///
/// String fields are [`Cow`]s so the JSON Lines reader can borrow them from its buffer; events
/// built in code own their strings (`Event<'static>`).
///
/// # Example
/// ```
/// use sla_metrics::{Author, Event, EventKind, Status};
/// let at = "2024-04-02T10:00:00Z".parse()?;
/// let e = Event::message("c1", at, Author::Customer).with_id("m1");
/// assert_eq!(e.conversation, "c1");
/// let solved = Event::new("c1", at, EventKind::Status(Status::Solved));
/// assert!(matches!(solved.kind, EventKind::Status(Status::Solved)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    /// The conversation id.
    pub conversation: Cow<'a, str>,
    /// When it happened (R1).
    pub at: Timestamp,
    /// Optional delivery id, for duplicate detection (R4).
    pub id: Option<Cow<'a, str>>,
    /// What happened.
    pub kind: EventKind<'a>,
}

/// What an [`Event`] says happened (the `type` of SPEC §1 and its fields).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind<'a> {
    /// `message`: someone wrote in the conversation.
    Message {
        /// Who wrote it.
        author: Author,
        /// Public or internal note.
        visibility: Visibility,
        /// The agent id, for agent messages (optional).
        agent: Option<Cow<'a, str>>,
        /// The channel, filling an unset channel (R43).
        channel: Option<Cow<'a, str>>,
    },
    /// `status`: a status change.
    Status(Status),
    /// `priority`: a priority change.
    Priority(Priority),
    /// `assign`: an assignment to an agent and/or a team.
    Assign {
        /// The agent id.
        agent: Option<Cow<'a, str>>,
        /// The team id.
        team: Option<Cow<'a, str>>,
    },
    /// `handoff`: a bot hands the conversation to the human queue (R10).
    Handoff,
    /// `attributes`: channel, brand and tags (each overwrites when present, R43).
    Attributes {
        /// New channel.
        channel: Option<Cow<'a, str>>,
        /// New brand.
        brand: Option<Cow<'a, str>>,
        /// New tag set (replaces the old one).
        tags: Option<Vec<Cow<'a, str>>>,
    },
    /// `csat`: a satisfaction rating, 1–5 (R19).
    Csat {
        /// The score, 1 to 5.
        score: u8,
    },
    /// `exclude`: the conversation leaves every metric (R26).
    Exclude {
        /// Why.
        reason: ExcludeReason,
    },
}

/// Who wrote a message (R7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The customer (requester).
    Customer,
    /// A human agent.
    Agent,
    /// A chat bot.
    Bot,
    /// A trigger or auto-acknowledgement.
    Automation,
    /// The system.
    System,
}

/// Whether a message is visible to the customer (R7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Visible to the customer (the default).
    #[default]
    Public,
    /// An internal note.
    Internal,
}

/// A conversation status (R5, R15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Created, not yet answered.
    New,
    /// Waiting on the team.
    Open,
    /// Waiting on the customer.
    Pending,
    /// Waiting on a third party.
    OnHold,
    /// Solved; may reopen within `reopen_window`.
    Solved,
    /// Closed for good.
    Closed,
}

/// A conversation priority (R23 filters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Low.
    Low,
    /// Normal (the initial priority, R2).
    Normal,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

/// Why a conversation is excluded from the metrics (R26).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExcludeReason {
    /// Spam.
    Spam,
    /// Merged into another conversation.
    Merged,
    /// Deleted.
    Deleted,
}

macro_rules! names {
    ($t:ty { $($v:ident = $s:literal),* $(,)? }) => {
        impl $t {
            /// The JSON name of this value.
            pub const fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),* }
            }
            /// Parses the JSON name of a value; `None` if unknown.
            pub fn from_name(s: &str) -> Option<Self> {
                match s { $($s => Some(<$t>::$v),)* _ => None }
            }
        }
    };
}
names!(Author { Customer = "customer", Agent = "agent", Bot = "bot", Automation = "automation", System = "system" });
names!(Visibility { Public = "public", Internal = "internal" });
names!(Status { New = "new", Open = "open", Pending = "pending", OnHold = "on_hold", Solved = "solved", Closed = "closed" });
names!(Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" });
names!(ExcludeReason { Spam = "spam", Merged = "merged", Deleted = "deleted" });

impl ExcludeReason {
    /// All reasons, in report order.
    pub const ALL: [ExcludeReason; 3] = [ExcludeReason::Spam, ExcludeReason::Merged, ExcludeReason::Deleted];
}

impl<'a> Event<'a> {
    /// An event of any kind.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Event, EventKind, Timestamp};
    /// let e = Event::new("c1", Timestamp::from_unix(0), EventKind::Handoff);
    /// assert_eq!(e.kind, EventKind::Handoff);
    /// ```
    pub fn new(conversation: impl Into<Cow<'a, str>>, at: Timestamp, kind: EventKind<'a>) -> Event<'a> {
        Event {
            conversation: conversation.into(),
            at,
            id: None,
            kind,
        }
    }

    /// A public message without agent or channel.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Event, Timestamp};
    /// let e = Event::message("c1", Timestamp::from_unix(0), Author::Agent).with_agent("alice");
    /// assert_eq!(e.to_json(), r#"{"conversation":"c1","at":"1970-01-01T00:00:00Z","type":"message","author":"agent","agent":"alice"}"#);
    /// ```
    pub fn message(conversation: impl Into<Cow<'a, str>>, at: Timestamp, author: Author) -> Event<'a> {
        Event::new(
            conversation,
            at,
            EventKind::Message {
                author,
                visibility: Visibility::Public,
                agent: None,
                channel: None,
            },
        )
    }

    /// Sets the delivery id (R4).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Event, Timestamp};
    /// let e = Event::message("c1", Timestamp::from_unix(0), Author::Customer).with_id("m1");
    /// assert_eq!(e.id.as_deref(), Some("m1"));
    /// ```
    pub fn with_id(mut self, id: impl Into<Cow<'a, str>>) -> Event<'a> {
        self.id = Some(id.into());
        self
    }

    /// Sets the agent of a message or assignment (no effect on other kinds).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Event, EventKind, Timestamp};
    /// let e = Event::message("c1", Timestamp::from_unix(0), Author::Agent).with_agent("bob");
    /// assert!(matches!(e.kind, EventKind::Message { agent: Some(ref a), .. } if a == "bob"));
    /// ```
    pub fn with_agent(mut self, id: impl Into<Cow<'a, str>>) -> Event<'a> {
        match &mut self.kind {
            EventKind::Message { agent, .. } | EventKind::Assign { agent, .. } => *agent = Some(id.into()),
            _ => {}
        }
        self
    }

    /// Makes a message an internal note (no effect on other kinds).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Event, EventKind, Timestamp, Visibility};
    /// let e = Event::message("c1", Timestamp::from_unix(0), Author::Agent).internal();
    /// assert!(matches!(e.kind, EventKind::Message { visibility: Visibility::Internal, .. }));
    /// ```
    pub fn internal(mut self) -> Event<'a> {
        if let EventKind::Message { visibility, .. } = &mut self.kind {
            *visibility = Visibility::Internal;
        }
        self
    }

    /// Sets the channel of a message (no effect on other kinds).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Event, EventKind, Timestamp};
    /// let e = Event::message("c1", Timestamp::from_unix(0), Author::Customer).with_channel("email");
    /// assert!(matches!(e.kind, EventKind::Message { channel: Some(ref c), .. } if c == "email"));
    /// ```
    pub fn with_channel(mut self, name: impl Into<Cow<'a, str>>) -> Event<'a> {
        if let EventKind::Message { channel, .. } = &mut self.kind {
            *channel = Some(name.into());
        }
        self
    }

    /// Copies every borrowed string, giving an event that outlives its input buffer.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Author, Event, Timestamp};
    /// let id = String::from("c1");
    /// let owned: Event<'static> = Event::message(id.as_str(), Timestamp::from_unix(0), Author::Customer).into_owned();
    /// drop(id);
    /// assert_eq!(owned.conversation, "c1");
    /// ```
    pub fn into_owned(self) -> Event<'static> {
        fn own(c: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(c.into_owned())
        }
        let kind = match self.kind {
            EventKind::Message {
                author,
                visibility,
                agent,
                channel,
            } => EventKind::Message {
                author,
                visibility,
                agent: agent.map(own),
                channel: channel.map(own),
            },
            EventKind::Status(s) => EventKind::Status(s),
            EventKind::Priority(p) => EventKind::Priority(p),
            EventKind::Assign { agent, team } => EventKind::Assign {
                agent: agent.map(own),
                team: team.map(own),
            },
            EventKind::Handoff => EventKind::Handoff,
            EventKind::Attributes { channel, brand, tags } => EventKind::Attributes {
                channel: channel.map(own),
                brand: brand.map(own),
                tags: tags.map(|t| t.into_iter().map(own).collect()),
            },
            EventKind::Csat { score } => EventKind::Csat { score },
            EventKind::Exclude { reason } => EventKind::Exclude { reason },
        };
        Event {
            conversation: own(self.conversation),
            at: self.at,
            id: self.id.map(own),
            kind,
        }
    }

    /// The JSON Lines form of this event (one line, no newline), as SPEC §1 writes it.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Event, EventKind, Status, Timestamp};
    /// let e = Event::new("c1", Timestamp::from_unix(0), EventKind::Status(Status::Solved));
    /// assert_eq!(e.to_json(), r#"{"conversation":"c1","at":"1970-01-01T00:00:00Z","type":"status","status":"solved"}"#);
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(128);
        self.write_json(&mut out);
        out
    }

    /// Appends the JSON Lines form of this event (no newline) to `out`.
    pub(crate) fn write_json(&self, out: &mut String) {
        use std::fmt::Write;
        let q = |out: &mut String, k: &str, v: &str| {
            out.push_str(",\"");
            out.push_str(k);
            out.push_str("\":");
            out.push_str(&serde_json::to_string(v).unwrap_or_default());
        };
        out.push_str("{\"conversation\":");
        out.push_str(&serde_json::to_string(&*self.conversation).unwrap_or_default());
        let _ = write!(out, ",\"at\":\"{}\"", self.at);
        if let Some(id) = &self.id {
            q(out, "id", id);
        }
        match &self.kind {
            EventKind::Message {
                author,
                visibility,
                agent,
                channel,
            } => {
                q(out, "type", "message");
                q(out, "author", author.as_str());
                if *visibility != Visibility::Public {
                    q(out, "visibility", visibility.as_str());
                }
                if let Some(a) = agent {
                    q(out, "agent", a);
                }
                if let Some(c) = channel {
                    q(out, "channel", c);
                }
            }
            EventKind::Status(s) => {
                q(out, "type", "status");
                q(out, "status", s.as_str());
            }
            EventKind::Priority(p) => {
                q(out, "type", "priority");
                q(out, "priority", p.as_str());
            }
            EventKind::Assign { agent, team } => {
                q(out, "type", "assign");
                if let Some(a) = agent {
                    q(out, "agent", a);
                }
                if let Some(t) = team {
                    q(out, "team", t);
                }
            }
            EventKind::Handoff => q(out, "type", "handoff"),
            EventKind::Attributes { channel, brand, tags } => {
                q(out, "type", "attributes");
                if let Some(c) = channel {
                    q(out, "channel", c);
                }
                if let Some(b) = brand {
                    q(out, "brand", b);
                }
                if let Some(t) = tags {
                    out.push_str(",\"tags\":");
                    let v: Vec<&str> = t.iter().map(|s| &**s).collect();
                    out.push_str(&serde_json::to_string(&v).unwrap_or_default());
                }
            }
            EventKind::Csat { score } => {
                q(out, "type", "csat");
                let _ = write!(out, ",\"score\":{score}");
            }
            EventKind::Exclude { reason } => {
                q(out, "type", "exclude");
                q(out, "reason", reason.as_str());
            }
        }
        out.push('}');
    }
}

/// The earliest and latest `at` an RFC 3339 line can carry (years 0000–9999, any offset), with
/// a day to spare. Typed events outside are invalid (R1), which also keeps [`Timestamp::MIN`]
/// free to mean "none" in the engine's compact state.
const EARLIEST_EVENT: Timestamp = Timestamp::from_unix(-62_167_219_200 - 86_400);
const LATEST_EVENT: Timestamp = Timestamp::from_unix(253_402_300_799 + 86_400);

/// Content checks the engine applies to every event, whatever its source (R1, R19, R42): in
/// line where they pass, the reason built out of line only for an event that fails one.
#[inline(always)]
pub(crate) fn check(ev: &Event<'_>) -> crate::Result<()> {
    let csat_in_range = match ev.kind {
        EventKind::Csat { score } => (1..=5).contains(&score),
        _ => true,
    };
    let passes =
        !ev.conversation.is_empty() && (EARLIEST_EVENT..=LATEST_EVENT).contains(&ev.at) && csat_in_range;
    // The two lists of checks are one contract: the tests hold them to the same verdict.
    debug_assert_eq!(
        passes,
        explain_check(ev).is_ok(),
        "check and explain_check disagree"
    );
    if passes {
        Ok(())
    } else {
        explain_check(ev)
    }
}

/// The error of an event that fails [`check`], naming the check; `Ok` for one that passes.
#[cold]
#[inline(never)]
fn explain_check(ev: &Event<'_>) -> crate::Result<()> {
    let fail = |reason: String| {
        Err(crate::Error::invalid(reason).in_event(Some(&ev.conversation), ev.id.as_deref()))
    };
    if ev.conversation.is_empty() {
        return fail("field `conversation` is empty".into());
    }
    if !(EARLIEST_EVENT..=LATEST_EVENT).contains(&ev.at) {
        return fail(format!(
            "`at` ({} s after the epoch) lies outside the years 0000–9999 that RFC 3339 can write (R1)",
            ev.at.as_unix()
        ));
    }
    if let EventKind::Csat { score } = ev.kind {
        if !(1..=5).contains(&score) {
            return fail(format!("csat score {score} is out of range 1–5 (R19)"));
        }
    }
    Ok(())
}
