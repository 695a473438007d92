//! Business schedules (R28–R32): an IANA time zone, weekly local opening hours and holidays,
//! and the business clock over them.
//!
//! Open intervals are converted to UTC instants on their own local date (DST-correct, R29) and
//! kept in a per-year index of sorted intervals with prefix sums, built lazily on first use and
//! shared by every clone and thread. A query is a binary search per year touched: no walk
//! minute by minute or day by day.

use crate::time::{civil_from_days, days_from_civil};
use crate::{Error, Result, Timestamp};
use chrono::{Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Weekday};
use chrono_tz::Tz;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Years with a cached index; instants outside are computed on the fly (slower, same result).
const FIRST_YEAR: i64 = 1900;
const LAST_YEAR: i64 = 2200;
/// Deadlines beyond this year are unreachable (returned as [`Timestamp::MAX`]).
const HORIZON_YEAR: i64 = 9999;
const DAY: i64 = 86_400;

/// A business schedule (R28): an IANA time zone, weekly local opening intervals (several per
/// day, `24:00` allowed as an end; an overnight shift is two intervals, e.g. Monday 22:00–24:00
/// and Tuesday 00:00–06:00) and holidays (local dates, closed all day).
///
/// Cheap to clone and shareable across threads: the lazily built index is shared.
///
/// # Example
/// ```
/// use sla_metrics::{Schedule, Timestamp};
/// use chrono::Weekday::*;
/// let nine_to_five: Vec<_> = [Mon, Tue, Wed, Thu, Fri].iter().map(|&d| (d, "09:00", "17:00")).collect();
/// let s = Schedule::new("America/New_York", &nine_to_five, &["2024-12-25"])?;
/// // Friday 16:00 New York to Monday 10:00: one hour on Friday, one on Monday (R29).
/// let fri: Timestamp = "2024-03-08T21:00:00Z".parse()?;
/// let mon: Timestamp = "2024-03-11T14:00:00Z".parse()?;
/// assert_eq!(s.business_seconds(fri, mon), 7200);
/// assert_eq!(s.deadline(fri, 7200), mon); // R30
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Schedule(Arc<Inner>);

struct Inner {
    tz: Tz,
    /// Open intervals per weekday (Monday first), seconds from local midnight, sorted.
    week: [Vec<(u32, u32)>; 7],
    holidays: BTreeSet<NaiveDate>,
    years: Box<[OnceLock<YearIndex>]>,
}

/// The open intervals of one UTC year, as UTC instants, with prefix sums.
struct YearIndex {
    starts: Vec<i64>,
    ends: Vec<i64>,
    /// Open seconds before interval i.
    before: Vec<i64>,
    /// Open seconds up to the end of interval i.
    reach: Vec<i64>,
    total: i64,
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schedule")
            .field("tz", &self.0.tz.name())
            .field("week", &self.0.week)
            .field("holidays", &self.0.holidays)
            .finish()
    }
}

/// The weekday names §11 writes, Monday first (indexed by `num_days_from_monday`).
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `HH:MM` or `HH:MM:SS`, 00:00 to 24:00, as seconds from midnight.
fn clock_time(s: &str) -> Result<u32> {
    let bad = || {
        Error::config(format!(
            "schedule: `{s}` is not a time of day (HH:MM, 00:00 to 24:00)"
        ))
    };
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let n: Vec<u32> = parts.iter().map(|p| p.parse().unwrap_or(99)).collect();
    let (h, m, sec) = (n[0], n[1], n.get(2).copied().unwrap_or(0));
    if m > 59 || sec > 59 || h > 24 || (h == 24 && (m, sec) != (0, 0)) {
        return Err(bad());
    }
    Ok(h * 3600 + m * 60 + sec)
}

fn date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| Error::config(format!("schedule: holiday `{s}` is not a date (YYYY-MM-DD)")))
}

fn weekday_name(d: Weekday) -> &'static str {
    WEEKDAYS[d.num_days_from_monday() as usize]
}

fn hhmm(s: u32) -> String {
    format!("{:02}:{:02}", s / 3600, s / 60 % 60)
}

impl Schedule {
    /// A schedule from a time zone name, opening intervals `(weekday, "HH:MM", "HH:MM")` and
    /// holiday dates `"YYYY-MM-DD"`.
    ///
    /// # Errors
    /// R32: an unknown time zone, a malformed time or date, an interval that does not end after
    /// it starts, overlapping intervals on one day, no open time at all, or a year in which
    /// holidays close every open day.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Schedule;
    /// use chrono::Weekday::Mon;
    /// assert!(Schedule::new("Mars/Olympus", &[(Mon, "09:00", "17:00")], &[]).is_err());
    /// assert!(Schedule::new("UTC", &[(Mon, "09:00", "12:00"), (Mon, "11:00", "13:00")], &[]).is_err());
    /// assert!(Schedule::new("UTC", &[(Mon, "22:00", "24:00")], &[]).is_ok());
    /// ```
    pub fn new(tz: &str, open: &[(Weekday, &str, &str)], holidays: &[&str]) -> Result<Schedule> {
        let zone: Tz = tz
            .parse()
            .map_err(|_| Error::config(format!("schedule: unknown time zone `{tz}` (R32)")))?;
        let mut week: [Vec<(u32, u32)>; 7] = Default::default();
        for &(day, from, to) in open {
            let (a, b) = (clock_time(from)?, clock_time(to)?);
            if b <= a {
                return Err(Error::config(format!(
                    "schedule: {} interval {from}-{to} does not end after it starts (R32)",
                    weekday_name(day)
                )));
            }
            week[day.num_days_from_monday() as usize].push((a, b));
        }
        for (i, day) in week.iter_mut().enumerate() {
            day.sort_unstable();
            for w in day.windows(2) {
                if w[1].0 < w[0].1 {
                    return Err(Error::config(format!(
                        "schedule: overlapping intervals on {} (R32): {}-{} and {}-{}",
                        WEEKDAYS[i],
                        hhmm(w[0].0),
                        hhmm(w[0].1),
                        hhmm(w[1].0),
                        hhmm(w[1].1)
                    )));
                }
            }
        }
        if week.iter().all(Vec::is_empty) {
            return Err(Error::config("schedule: no open time in the week (R32)"));
        }
        let holidays = holidays
            .iter()
            .map(|h| date(h))
            .collect::<Result<BTreeSet<_>>>()?;
        let schedule = Schedule(Arc::new(Inner {
            tz: zone,
            week,
            holidays,
            years: (FIRST_YEAR..=LAST_YEAR).map(|_| OnceLock::new()).collect(),
        }));
        // R32: a year whose open days are all holidays has no open time.
        let years: BTreeSet<i32> = schedule.0.holidays.iter().map(|d| d.year()).collect();
        for y in years {
            if schedule.year_total(y as i64) == 0 {
                return Err(Error::config(format!(
                    "schedule: no open time in {y}: every open day is a holiday (R32)"
                )));
            }
        }
        Ok(schedule)
    }

    /// Parses the SPEC §11 `schedule` object:
    /// `{"tz": "America/New_York", "week": {"mon": [["09:00", "17:00"]], …}, "holidays": ["2024-12-25"]}`.
    ///
    /// Weekdays may also be written `Mon` or `monday` (any case); a day that is absent, `null`
    /// or `[]` is closed.
    ///
    /// # Errors
    /// As [`Schedule::new`], plus a malformed object or an unknown weekday key.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Schedule;
    /// let v = serde_json::json!({"tz": "UTC", "week": {"mon": [["22:00", "24:00"]], "tue": [["00:00", "06:00"]]}});
    /// let s = Schedule::from_json(&v)?;
    /// let a = "2024-04-01T20:00:00Z".parse()?;
    /// let b = "2024-04-02T07:00:00Z".parse()?;
    /// assert_eq!(s.business_seconds(a, b), 8 * 3600); // an overnight shift (R28)
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_json(value: &serde_json::Value) -> Result<Schedule> {
        let obj = value
            .as_object()
            .ok_or_else(|| Error::config("schedule: expected an object with tz, week, holidays"))?;
        let tz = obj
            .get("tz")
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::config("schedule: `tz` must be an IANA time zone name"))?;
        let mut open: Vec<(Weekday, &str, &str)> = Vec::new();
        if let Some(week) = obj.get("week").filter(|w| !w.is_null()) {
            let week = week
                .as_object()
                .ok_or_else(|| Error::config("schedule: `week` must be an object of weekdays"))?;
            for (key, list) in week {
                // `mon` as §11 writes it; `Mon` and `monday` too (chrono's names, any case).
                let day = key
                    .parse::<Weekday>()
                    .map_err(|_| Error::config(format!("schedule: unknown weekday `{key}` (mon … sun)")))?;
                if list.is_null() {
                    continue; // null means absent: closed all day
                }
                let list = list.as_array().ok_or_else(|| {
                    Error::config(format!("schedule: {key}: expected a list of [start, end]"))
                })?;
                for iv in list {
                    match iv.as_array().map(Vec::as_slice) {
                        Some([a, b]) => match (a.as_str(), b.as_str()) {
                            (Some(a), Some(b)) => open.push((day, a, b)),
                            _ => {
                                return Err(Error::config(format!("schedule: {key}: times must be strings")))
                            }
                        },
                        _ => {
                            return Err(Error::config(format!(
                                "schedule: {key}: expected [start, end], found {iv}"
                            )))
                        }
                    }
                }
            }
        }
        let mut holidays: Vec<&str> = Vec::new();
        if let Some(h) = obj.get("holidays").filter(|h| !h.is_null()) {
            for d in h
                .as_array()
                .ok_or_else(|| Error::config("schedule: `holidays` must be a list of dates"))?
            {
                holidays.push(
                    d.as_str().ok_or_else(|| {
                        Error::config(format!("schedule: holiday {d} is not a date string"))
                    })?,
                );
            }
        }
        Schedule::new(tz, &open, &holidays)
    }

    /// The time zone's IANA name.
    pub fn tz_name(&self) -> &str {
        self.0.tz.name()
    }

    /// Business seconds in `[a, b)` (R29): the measure of the overlap with open intervals, each
    /// converted to instants on its own local date. 0 when `b <= a`.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Schedule;
    /// use chrono::Weekday::Sun;
    /// let s = Schedule::new("America/New_York", &[(Sun, "00:00", "24:00")], &[])?;
    /// // The spring-forward Sunday is 23 hours long.
    /// let (a, b) = ("2024-03-10T05:00:00Z".parse()?, "2024-03-11T04:00:00Z".parse()?);
    /// assert_eq!(s.business_seconds(a, b), 23 * 3600);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn business_seconds(&self, a: Timestamp, b: Timestamp) -> i64 {
        if b <= a {
            return 0;
        }
        let (a, b) = (a.as_unix(), b.as_unix());
        let (ya, yb) = (year_of(a), year_of(b));
        if ya == yb {
            return self.with_year(ya, |y| y.cum(b) - y.cum(a));
        }
        let mut sum = self.with_year(ya, |y| y.total - y.cum(a));
        for year in ya + 1..yb {
            sum += self.year_total(year);
        }
        sum + self.with_year(yb, |y| y.cum(b))
    }

    /// The earliest instant at which `secs` business seconds have passed since `start` (R30);
    /// a start outside hours begins counting at the next opening; `start` itself when
    /// `secs <= 0`; [`Timestamp::MAX`] if unreachable before the year 9999.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Schedule;
    /// use chrono::Weekday::*;
    /// let week: Vec<_> = [Mon, Tue, Wed, Thu, Fri].iter().map(|&d| (d, "09:00", "17:00")).collect();
    /// let s = Schedule::new("UTC", &week, &[])?;
    /// let saturday = "2024-04-06T10:00:00Z".parse()?;
    /// assert_eq!(s.deadline(saturday, 3600).to_string(), "2024-04-08T10:00:00Z");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn deadline(&self, start: Timestamp, secs: i64) -> Timestamp {
        if secs <= 0 {
            return start;
        }
        let s = start.as_unix();
        let mut year = year_of(s);
        let (found, mut need) = self.with_year(year, |y| {
            let target = y.cum(s) + secs;
            if target <= y.total {
                (Some(y.instant_at(target)), 0)
            } else {
                (None, target - y.total)
            }
        });
        if let Some(t) = found {
            return Timestamp::from_unix(t);
        }
        loop {
            year += 1;
            if year > HORIZON_YEAR {
                return Timestamp::MAX;
            }
            let total = self.year_total(year);
            if need <= total {
                return Timestamp::from_unix(self.with_year(year, |y| y.instant_at(need)));
            }
            need -= total;
        }
    }

    fn year_total(&self, year: i64) -> i64 {
        self.with_year(year, |y| y.total)
    }

    /// Runs `f` on the index of a UTC year, building it on first use.
    #[inline]
    fn with_year<R>(&self, year: i64, f: impl FnOnce(&YearIndex) -> R) -> R {
        if (FIRST_YEAR..=LAST_YEAR).contains(&year) {
            let slot = &self.0.years[(year - FIRST_YEAR) as usize];
            f(slot.get_or_init(|| self.build_year(year)))
        } else {
            f(&self.build_year(year))
        }
    }

    /// The open intervals of UTC year `year` (R29): every local date that can touch it, each
    /// weekly interval converted on its own date, clipped to the year, merged, summed.
    fn build_year(&self, year: i64) -> YearIndex {
        let lo = days_from_civil(year, 1, 1) * DAY;
        let hi = days_from_civil(year + 1, 1, 1) * DAY;
        let inner = &*self.0;
        let mut spans: Vec<(i64, i64)> = Vec::new();
        // Local dates from two days before to one day after the UTC year cover every offset.
        let first = days_from_civil(year, 1, 1) - 2;
        let last = days_from_civil(year + 1, 1, 1) + 1;
        for day in first..=last {
            let (y, m, d) = civil_from_days(day);
            let Some(date) = NaiveDate::from_ymd_opt(y as i32, m, d) else {
                continue;
            };
            if inner.holidays.contains(&date) {
                continue;
            }
            for &(from, to) in &inner.week[date.weekday().num_days_from_monday() as usize] {
                let a = local_instant(&inner.tz, date, from).max(lo);
                let b = local_instant(&inner.tz, date, to).min(hi);
                if b > a {
                    spans.push((a, b));
                }
            }
        }
        spans.sort_unstable();
        let mut index = YearIndex {
            starts: Vec::with_capacity(spans.len()),
            ends: Vec::with_capacity(spans.len()),
            before: Vec::with_capacity(spans.len()),
            reach: Vec::new(),
            total: 0,
        };
        for (a, b) in spans {
            match index.ends.last_mut() {
                // Adjacent or overlapping after conversion (an overnight shift, a DST fold): merge.
                Some(end) if a <= *end => {
                    if b > *end {
                        index.total += b - *end;
                        *end = b;
                    }
                }
                _ => {
                    index.starts.push(a);
                    index.ends.push(b);
                    index.before.push(index.total);
                    index.total += b - a;
                }
            }
        }
        index.reach = index
            .before
            .iter()
            .zip(&index.starts)
            .zip(&index.ends)
            .map(|((b, s), e)| b + (e - s))
            .collect();
        index
    }
}

impl YearIndex {
    /// Open seconds from the start of the year to `t`.
    #[inline]
    fn cum(&self, t: i64) -> i64 {
        let n = self.starts.partition_point(|&s| s < t);
        if n == 0 {
            return 0;
        }
        let i = n - 1;
        self.before[i] + (t.min(self.ends[i]) - self.starts[i])
    }

    /// The earliest instant where `cum` reaches `target` (0 < target <= total).
    #[inline]
    fn instant_at(&self, target: i64) -> i64 {
        // The first interval whose end reaches the target.
        let i = self
            .reach
            .partition_point(|&r| r < target)
            .min(self.starts.len().saturating_sub(1));
        self.starts
            .get(i)
            .map_or(i64::MAX, |s| s + (target - self.before[i]))
    }
}

/// The UTC instant of local `secs` after midnight of `date` (86 400 is the next midnight),
/// by R29: a time in a DST gap maps to the first instant after the gap, an ambiguous one to the
/// earlier instant.
fn local_instant(tz: &Tz, date: NaiveDate, secs: u32) -> i64 {
    let (date, secs) = if secs >= DAY as u32 {
        (date.succ_opt().unwrap_or(date), secs - DAY as u32)
    } else {
        (date, secs)
    };
    let naive = |s: i64| -> NaiveDateTime {
        let base = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        base + chrono::Duration::seconds(s)
    };
    let resolve = |ndt: NaiveDateTime| match tz.from_local_datetime(&ndt) {
        LocalResult::Single(t) => Some(t.timestamp()),
        LocalResult::Ambiguous(a, b) => Some(a.timestamp().min(b.timestamp())),
        LocalResult::None => None,
    };
    let s = secs as i64;
    if let Some(t) = resolve(naive(s)) {
        return t;
    }
    // In a gap: find the first valid local minute after it, then the first valid second.
    let mut step = 60;
    while step <= 2 * DAY {
        if resolve(naive(s + step)).is_some() {
            let mut k = step;
            while k > step - 60 && resolve(naive(s + k - 1)).is_some() {
                k -= 1;
            }
            return resolve(naive(s + k)).unwrap_or_default();
        }
        step += 60;
    }
    // No valid time within two days: treat as UTC (cannot happen with real zone data).
    naive(s).and_utc().timestamp()
}

/// The UTC year of an instant.
#[inline]
fn year_of(t: i64) -> i64 {
    civil_from_days(t.div_euclid(DAY)).0
}
