//! The one error type of the crate (R41, R42): rejected input and bad configuration.
//!
//! Outcomes such as breaches, duplicates or events ignored after finalization are not errors;
//! they are counted in the [`Report`](crate::Report).

use crate::Timestamp;
use std::fmt;

/// A specialized `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error: a rejected event or line, or an invalid configuration.
///
/// It names, where known, the input line, the conversation and the event `id`, then the reason
/// with the SPEC rule it enforces: `line 17: conversation c-42: out of order (R3): …`.
/// A rejected event changes no state (R42).
///
/// # Example
/// ```
/// use sla_metrics::{Config, Engine, Event, Author};
/// let mut engine = Engine::new(Config::default())?;
/// engine.ingest(&Event::message("c1", "2024-04-02T10:30:00Z".parse()?, Author::Customer))?;
/// let err = engine
///     .ingest(&Event::message("c1", "2024-04-02T10:00:00Z".parse()?, Author::Agent))
///     .unwrap_err();
/// assert_eq!(err.code(), "out_of_order");
/// assert_eq!(err.conversation(), Some("c1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Error(Box<ErrorKind>);

/// What went wrong. Each variant carries where it happened; its `Display` is the reason
/// alone, and [`Error`]'s adds the line, conversation and event in front.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A malformed line or field: bad JSON, unknown `type` or field value, a timestamp without
    /// offset, a CSAT score out of range, a missing required field (R1, R42).
    #[error("invalid (R42): {reason}")]
    Invalid {
        /// Input line (1-based), when read from a line-oriented source.
        line: Option<u64>,
        /// The conversation id, when it could be read.
        conversation: Option<String>,
        /// The event `id`, when it could be read.
        event: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// An event older than the watermark (R38, R41).
    #[error("late (R41): event at {at} is older than the watermark {watermark}")]
    Late {
        /// Input line (1-based), when read from a line-oriented source.
        line: Option<u64>,
        /// The conversation id.
        conversation: String,
        /// The event `id`, if it had one.
        event: Option<String>,
        /// The event's instant.
        at: Timestamp,
        /// The watermark it is older than.
        watermark: Timestamp,
    },
    /// An event older than its conversation's last event (R3, R41).
    #[error("out of order (R3): event at {at} is older than the conversation's last event at {last}")]
    OutOfOrder {
        /// Input line (1-based), when read from a line-oriented source.
        line: Option<u64>,
        /// The conversation id.
        conversation: String,
        /// The event `id`, if it had one.
        event: Option<String>,
        /// The event's instant.
        at: Timestamp,
        /// The conversation's last event instant.
        last: Timestamp,
    },
    /// An invalid configuration: schedule (R32), policy or option (§6, §9).
    #[error("invalid config: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// A binary report encoding that is truncated, corrupt or of another version (R36).
    #[error("invalid report encoding: {reason}")]
    Encoding {
        /// What is wrong.
        reason: String,
    },
    /// Reading input failed.
    #[error("read failed: {source}")]
    Io {
        /// Input line (1-based) reached when it failed.
        line: Option<u64>,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    #[cold]
    #[inline(never)]
    pub(crate) fn invalid(reason: impl Into<String>) -> Error {
        Error(Box::new(ErrorKind::Invalid {
            line: None,
            conversation: None,
            event: None,
            reason: reason.into(),
        }))
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn config(reason: impl Into<String>) -> Error {
        Error(Box::new(ErrorKind::Config {
            reason: reason.into(),
        }))
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn encoding(reason: impl Into<String>) -> Error {
        Error(Box::new(ErrorKind::Encoding {
            reason: reason.into(),
        }))
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn late(
        conversation: &str,
        event: Option<&str>,
        at: Timestamp,
        watermark: Timestamp,
    ) -> Error {
        Error(Box::new(ErrorKind::Late {
            line: None,
            conversation: conversation.to_owned(),
            event: event.map(str::to_owned),
            at,
            watermark,
        }))
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn out_of_order(
        conversation: &str,
        event: Option<&str>,
        at: Timestamp,
        last: Timestamp,
    ) -> Error {
        Error(Box::new(ErrorKind::OutOfOrder {
            line: None,
            conversation: conversation.to_owned(),
            event: event.map(str::to_owned),
            at,
            last,
        }))
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn io(source: std::io::Error) -> Error {
        Error(Box::new(ErrorKind::Io { line: None, source }))
    }

    /// Fills in the conversation and event id of an `Invalid` error that does not name them yet.
    #[cold]
    pub(crate) fn in_event(mut self, conversation: Option<&str>, event: Option<&str>) -> Error {
        if let ErrorKind::Invalid {
            conversation: c,
            event: e,
            ..
        } = &mut *self.0
        {
            if c.is_none() {
                *c = conversation.map(str::to_owned);
            }
            if e.is_none() {
                *e = event.map(str::to_owned);
            }
        }
        self
    }

    /// Returns this error with its input line number set (1-based).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Timestamp;
    /// let err = Timestamp::parse("yesterday").unwrap_err().with_line(7);
    /// assert_eq!(err.line(), Some(7));
    /// assert!(err.to_string().starts_with("line 7: "));
    /// ```
    pub fn with_line(mut self, n: u64) -> Error {
        match &mut *self.0 {
            ErrorKind::Invalid { line, .. }
            | ErrorKind::Late { line, .. }
            | ErrorKind::OutOfOrder { line, .. }
            | ErrorKind::Io { line, .. } => *line = Some(n),
            ErrorKind::Config { .. } | ErrorKind::Encoding { .. } => {}
        }
        self
    }

    /// What went wrong.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{ErrorKind, Timestamp};
    /// let err = Timestamp::parse("2024-04-02T10:00:00").unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Invalid { .. }));
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// Unwraps the error into what went wrong.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{ErrorKind, Timestamp};
    /// let err = Timestamp::parse("nope").unwrap_err();
    /// assert!(matches!(err.into_kind(), ErrorKind::Invalid { .. }));
    /// ```
    pub fn into_kind(self) -> ErrorKind {
        *self.0
    }

    /// The input line (1-based), when the error came from a line-oriented reader.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Timestamp;
    /// assert_eq!(Timestamp::parse("nope").unwrap_err().line(), None);
    /// ```
    pub fn line(&self) -> Option<u64> {
        match &*self.0 {
            ErrorKind::Invalid { line, .. }
            | ErrorKind::Late { line, .. }
            | ErrorKind::OutOfOrder { line, .. }
            | ErrorKind::Io { line, .. } => *line,
            ErrorKind::Config { .. } | ErrorKind::Encoding { .. } => None,
        }
    }

    /// The conversation the rejected event belonged to, when known.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Timestamp;
    /// assert_eq!(Timestamp::parse("nope").unwrap_err().conversation(), None);
    /// ```
    pub fn conversation(&self) -> Option<&str> {
        match &*self.0 {
            ErrorKind::Invalid { conversation, .. } => conversation.as_deref(),
            ErrorKind::Late { conversation, .. } | ErrorKind::OutOfOrder { conversation, .. } => {
                Some(conversation)
            }
            _ => None,
        }
    }

    /// The rejection kind as R37 names it in the report: `invalid`, `late` or `out_of_order`;
    /// `config`, `encoding` and `io` for the other errors.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Timestamp;
    /// assert_eq!(Timestamp::parse("nope").unwrap_err().code(), "invalid");
    /// ```
    pub fn code(&self) -> &'static str {
        match &*self.0 {
            ErrorKind::Invalid { .. } => "invalid",
            ErrorKind::Late { .. } => "late",
            ErrorKind::OutOfOrder { .. } => "out_of_order",
            ErrorKind::Config { .. } => "config",
            ErrorKind::Encoding { .. } => "encoding",
            ErrorKind::Io { .. } => "io",
        }
    }

    /// A config error's reason alone (to wrap it in more context); the full message otherwise.
    pub(crate) fn reason_text(&self) -> String {
        match &*self.0 {
            ErrorKind::Config { reason } => reason.clone(),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line() {
            write!(f, "line {line}: ")?;
        }
        if let Some(c) = self.conversation() {
            write!(f, "conversation {c}: ")?;
        }
        let event = match &*self.0 {
            ErrorKind::Invalid { event, .. }
            | ErrorKind::Late { event, .. }
            | ErrorKind::OutOfOrder { event, .. } => event.as_deref(),
            _ => None,
        };
        if let Some(e) = event {
            write!(f, "event {e}: ")?;
        }
        fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.0)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::io(e)
    }
}
