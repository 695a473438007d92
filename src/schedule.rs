//! Business schedules (R28–R32): being written; until then every schedule is rejected.

use crate::{Error, Result, Timestamp};

/// A business schedule (R28). Not implemented yet: [`Schedule::from_json`] rejects every
/// schedule with a config error, so no code path silently uses calendar time instead.
#[derive(Debug, Clone)]
pub struct Schedule {
    _private: (),
}

impl Schedule {
    /// Parses the SPEC §11 `schedule` object.
    ///
    /// # Errors
    /// Always, in this version: business schedules are not implemented yet.
    pub fn from_json(_value: &serde_json::Value) -> Result<Schedule> {
        Err(Error::config(
            "business schedules (R28–R32) are not implemented yet",
        ))
    }

    /// Business seconds in `[a, b)` (R29).
    pub fn business_seconds(&self, a: Timestamp, b: Timestamp) -> i64 {
        b.secs_since(a).max(0)
    }

    /// The instant `secs` business seconds after `start` (R30).
    pub fn deadline(&self, start: Timestamp, secs: i64) -> Timestamp {
        start.add_secs(secs)
    }
}
