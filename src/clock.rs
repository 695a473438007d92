//! Clocks (R29–R31): every duration and deadline is asked of a clock, never computed inline, so
//! the business clock costs nothing extra where it is not configured.

use crate::{Schedule, Timestamp};

/// A clock durations and deadlines are measured on.
#[derive(Debug, Clone)]
pub(crate) enum Clock {
    /// Wall-clock seconds on the UTC time line.
    Calendar,
    /// Open seconds of a business schedule (R29, R30).
    Business(Schedule),
}

impl Clock {
    /// Seconds of this clock in `[a, b)`; 0 when `b <= a`.
    #[inline]
    pub(crate) fn between(&self, a: Timestamp, b: Timestamp) -> i64 {
        match self {
            Clock::Calendar => b.secs_since(a).max(0),
            Clock::Business(s) => s.business_seconds(a, b),
        }
    }

    /// The earliest instant at which `secs` seconds of this clock have passed since `start`
    /// (R30); `start` itself when `secs <= 0`.
    #[inline]
    pub(crate) fn deadline(&self, start: Timestamp, secs: i64) -> Timestamp {
        if secs <= 0 {
            return start;
        }
        match self {
            Clock::Calendar => start.add_secs(secs),
            Clock::Business(s) => s.deadline(start, secs),
        }
    }
}
