//! SPEC §7 (R28–R32): the business clock against a brute-force oracle and its laws.

mod common;

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;
use sla_metrics::{Schedule, Timestamp};

const ZONES: [&str; 6] = [
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "UTC",
];
const DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn hhmm(m: u32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// R29 by the letter, with no index and no prefix sums: the instant of a local time on its own
/// date; in a gap the first instant after it (found by bisection on the UTC line), when
/// ambiguous the earlier one.
fn oracle_instant(tz: &Tz, ndt: NaiveDateTime) -> i64 {
    match tz.from_local_datetime(&ndt) {
        LocalResult::Single(t) => t.timestamp(),
        LocalResult::Ambiguous(a, b) => a.timestamp().min(b.timestamp()),
        LocalResult::None => {
            let guess = ndt.and_utc().timestamp();
            let (mut lo, mut hi) = (guess - 2 * 86_400, guess + 2 * 86_400);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let local = tz.timestamp_opt(mid, 0).unwrap().naive_local();
                if local >= ndt {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            lo
        }
    }
}

/// Business seconds in [a, b): walk the local dates, convert each interval on its own date,
/// add up the overlaps.
fn oracle(tz: &Tz, week: &[(Weekday, u32, u32)], holidays: &[NaiveDate], a: i64, b: i64) -> i64 {
    if b <= a {
        return 0;
    }
    let first = tz.timestamp_opt(a, 0).unwrap().date_naive() - Duration::days(1);
    let last = tz.timestamp_opt(b, 0).unwrap().date_naive() + Duration::days(1);
    let mut total = 0;
    let mut d = first;
    while d <= last {
        if !holidays.contains(&d) {
            for &(day, from, to) in week {
                if day != d.weekday() {
                    continue;
                }
                let at = |m: u32| {
                    let (date, m) = if m == 1440 {
                        (d.succ_opt().unwrap(), 0)
                    } else {
                        (d, m)
                    };
                    oracle_instant(tz, date.and_hms_opt(m / 60, m % 60, 0).unwrap())
                };
                let (s, e) = (at(from).max(a), at(to).min(b));
                if e > s {
                    total += e - s;
                }
            }
        }
        d = d.succ_opt().unwrap();
    }
    total
}

prop_compose! {
    /// Up to two non-overlapping intervals per weekday (minutes, 24:00 allowed as an end),
    /// sometimes an overnight pair, never an empty week.
    fn week()(raw in proptest::collection::vec((0usize..7, 0u32..1440, 1u32..600), 1..9)) -> Vec<(Weekday, u32, u32)> {
        let mut out: Vec<(Weekday, u32, u32)> = Vec::new();
        for (day, start, len) in raw {
            let end = (start + len).min(1440);
            let d = DAYS[day];
            if out.iter().any(|&(od, s, e)| od == d && start < e && s < end) {
                continue;
            }
            out.push((d, start, end));
        }
        out
    }
}

fn build(zone: &str, week: &[(Weekday, u32, u32)], holidays: &[NaiveDate]) -> Schedule {
    let times: Vec<(Weekday, String, String)> = week.iter().map(|&(d, a, b)| (d, hhmm(a), hhmm(b))).collect();
    let open: Vec<(Weekday, &str, &str)> = times
        .iter()
        .map(|(d, a, b)| (*d, a.as_str(), b.as_str()))
        .collect();
    let days: Vec<String> = holidays.iter().map(|h| h.to_string()).collect();
    let days: Vec<&str> = days.iter().map(String::as_str).collect();
    Schedule::new(zone, &open, &days).expect("valid schedule")
}

prop_compose! {
    /// Intervals whose boundaries fall in the small hours, where DST gaps and folds are.
    fn night_week()(raw in proptest::collection::vec((0usize..7, 0u32..240, 1u32..200), 1..12)) -> Vec<(Weekday, u32, u32)> {
        let mut out: Vec<(Weekday, u32, u32)> = Vec::new();
        for (day, start, len) in raw {
            let (d, end) = (DAYS[day], start + len);
            if !out.iter().any(|&(od, s, e)| od == d && start < e && s < end) {
                out.push((d, start, end));
            }
        }
        out
    }
}

/// Local dates of DST changes in 2024: (zone, date).
const TRANSITIONS: [(&str, (i32, u32, u32)); 6] = [
    ("America/New_York", (2024, 3, 10)),
    ("America/New_York", (2024, 11, 3)),
    ("Europe/London", (2024, 3, 31)),
    ("Europe/London", (2024, 10, 27)),
    ("Australia/Sydney", (2024, 4, 7)),
    ("Australia/Sydney", (2024, 10, 6)),
];

/// Instants from 2023 to 2026, around DST changes often enough.
fn instant() -> impl Strategy<Value = i64> {
    1_672_531_200i64..1_767_225_600i64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(96)))]

    /// R29: business seconds equal the brute-force walk over local dates.
    #[test]
    fn r29_matches_the_brute_force_oracle(
        zone in 0usize..ZONES.len(), week in week(), a in instant(), span in 0i64..90 * 86_400,
        holiday_offsets in proptest::collection::vec(0i64..90, 0..4),
    ) {
        let tz: Tz = ZONES[zone].parse().unwrap();
        let start_date = tz.timestamp_opt(a, 0).unwrap().date_naive();
        let holidays: Vec<NaiveDate> = holiday_offsets.iter().map(|&k| start_date + Duration::days(k)).collect();
        let s = build(ZONES[zone], &week, &holidays);
        let b = a + span;
        prop_assert_eq!(
            s.business_seconds(Timestamp::from_unix(a), Timestamp::from_unix(b)),
            oracle(&tz, &week, &holidays, a, b)
        );
    }

    /// R29 on the days clocks change: boundaries in gaps map to the first instant after the gap,
    /// ambiguous ones to the earlier instant, exactly as the oracle computes.
    #[test]
    fn r29_dst_days_match_the_oracle(which in 0usize..TRANSITIONS.len(), week in night_week(), before in 0i64..2 * 86_400, span in 0i64..4 * 86_400) {
        let (zone, (y, m, d)) = TRANSITIONS[which];
        let tz: Tz = zone.parse().unwrap();
        let midnight = NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
        let a = midnight - before;
        let s = build(zone, &week, &[]);
        prop_assert_eq!(
            s.business_seconds(Timestamp::from_unix(a), Timestamp::from_unix(a + span)),
            oracle(&tz, &week, &[], a, a + span)
        );
    }

    /// R29 laws: additivity over [a,b)+[b,c), and 0 <= between(a,b) <= b - a.
    #[test]
    fn r29_additive_and_bounded(zone in 0usize..ZONES.len(), week in week(), a in instant(), x in 0i64..400 * 86_400, y in 0i64..400 * 86_400) {
        let s = build(ZONES[zone], &week, &[]);
        let (a, b, c) = (Timestamp::from_unix(a), Timestamp::from_unix(a + x), Timestamp::from_unix(a + x + y));
        let (ab, bc, ac) = (s.business_seconds(a, b), s.business_seconds(b, c), s.business_seconds(a, c));
        prop_assert_eq!(ab + bc, ac);
        prop_assert!(0 <= ab && ab <= x);
    }

    /// R30: between(a, deadline(a, x)) = x, and the deadline is the earliest such instant.
    #[test]
    fn r30_deadline_is_the_earliest_instant(zone in 0usize..ZONES.len(), week in week(), a in instant(), x in 1i64..60 * 86_400) {
        let s = build(ZONES[zone], &week, &[]);
        let a = Timestamp::from_unix(a);
        let d = s.deadline(a, x);
        prop_assert_eq!(s.business_seconds(a, d), x);
        prop_assert!(s.business_seconds(a, d.add_secs(-1)) < x);
        prop_assert_eq!(s.deadline(a, 0), a);
    }
}

/// R29: the golden timelines' figures (SPEC §11 cases 10, 11, 12, 29).
#[test]
fn r29_worked_examples() {
    use Weekday::*;
    let weekdays: Vec<_> = [Mon, Tue, Wed, Thu, Fri]
        .iter()
        .map(|&d| (d, "09:00", "17:00"))
        .collect();
    let ny = Schedule::new("America/New_York", &weekdays, &[]).unwrap();
    assert_eq!(
        ny.business_seconds(ts("2024-03-08T21:00:00Z"), ts("2024-03-11T14:00:00Z")),
        7200
    );
    let sundays = Schedule::new("America/New_York", &[(Sun, "00:00", "24:00")], &[]).unwrap();
    assert_eq!(
        sundays.business_seconds(ts("2024-11-03T04:00:00Z"), ts("2024-11-04T05:00:00Z")),
        90_000
    );
    assert_eq!(
        sundays.business_seconds(ts("2024-03-10T05:00:00Z"), ts("2024-03-11T04:00:00Z")),
        82_800
    );
    let berlin = Schedule::new("Europe/Berlin", &weekdays, &["2024-12-25", "2024-12-26"]).unwrap();
    assert_eq!(
        berlin.business_seconds(ts("2024-12-24T14:00:00Z"), ts("2024-12-27T09:00:00Z")),
        10_800
    );
    let night = Schedule::new("UTC", &[(Mon, "22:00", "24:00"), (Tue, "00:00", "06:00")], &[]).unwrap();
    assert_eq!(
        night.business_seconds(ts("2024-04-01T20:00:00Z"), ts("2024-04-02T07:00:00Z")),
        28_800
    );
}

/// R30: deadlines of cases 13, 30 and 39.
#[test]
fn r30_worked_deadlines() {
    use Weekday::*;
    let irregular = Schedule::new(
        "UTC",
        &[
            (Mon, "09:00", "17:00"),
            (Tue, "09:00", "16:00"),
            (Thu, "08:00", "17:00"),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        irregular.deadline(ts("2024-04-01T11:00:00Z"), 57_600),
        ts("2024-04-04T11:00:00Z")
    );
    let weekdays: Vec<_> = [Mon, Tue, Wed, Thu, Fri]
        .iter()
        .map(|&d| (d, "09:00", "17:00"))
        .collect();
    let utc = Schedule::new("UTC", &weekdays, &[]).unwrap();
    assert_eq!(
        utc.deadline(ts("2024-04-06T10:00:00Z"), 3600),
        ts("2024-04-08T10:00:00Z")
    );
    assert_eq!(
        utc.deadline(ts("2024-04-01T09:00:00Z"), 28_800),
        ts("2024-04-01T17:00:00Z")
    );
    // Ten years ahead, across year boundaries.
    let far = utc.deadline(ts("2024-04-01T09:00:00Z"), 10 * 52 * 5 * 28_800);
    assert_eq!(
        utc.business_seconds(ts("2024-04-01T09:00:00Z"), far),
        10 * 52 * 5 * 28_800
    );
}

/// R32: invalid schedules are rejected at construction with a clear message.
#[test]
fn r32_invalid_schedules_are_rejected() {
    use Weekday::*;
    let err = |tz: &str, open: &[(Weekday, &str, &str)], holidays: &[&str]| {
        Schedule::new(tz, open, holidays).unwrap_err().to_string()
    };
    assert!(err("Mars/Base", &[(Mon, "09:00", "17:00")], &[]).contains("unknown time zone"));
    assert!(err("UTC", &[(Mon, "17:00", "09:00")], &[]).contains("does not end after it starts"));
    assert!(err("UTC", &[(Mon, "09:00", "12:00"), (Mon, "11:00", "13:00")], &[]).contains("overlapping"));
    assert!(err("UTC", &[], &[]).contains("no open time"));
    assert!(err("UTC", &[(Mon, "09:00", "24:01")], &[]).contains("not a time of day"));
    assert!(err("UTC", &[(Mon, "09:00", "17:00")], &["2024-13-01"]).contains("not a date"));
    // Every Monday of 2025 a holiday: no open time in 2025.
    let mondays: Vec<String> = (0..53)
        .map(|k| NaiveDate::from_ymd_opt(2025, 1, 6).unwrap() + Duration::weeks(k))
        .filter(|d| d.year() == 2025)
        .map(|d| d.to_string())
        .collect();
    let mondays: Vec<&str> = mondays.iter().map(String::as_str).collect();
    assert!(err("UTC", &[(Mon, "09:00", "17:00")], &mondays).contains("no open time in 2025"));
    let json = serde_json::json!({"tz": "UTC", "week": {"someday": [["09:00", "17:00"]]}});
    assert!(Schedule::from_json(&json)
        .unwrap_err()
        .to_string()
        .contains("unknown weekday"));
}

/// R28: a schedule's weekdays as §11 writes them (`mon`) or as people do (`Mon`, `monday`,
/// `MONDAY`) read the same; a day given as `null` or `[]` is closed, as an absent one is; the
/// same day under two spellings is one day, so its intervals must not overlap (R32).
#[test]
fn r28_weekday_spellings_and_closed_days() {
    let week = |w: serde_json::Value| Schedule::from_json(&serde_json::json!({"tz": "UTC", "week": w}));
    let plain = week(serde_json::json!({"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:00"]]})).unwrap();
    let a: Timestamp = "2024-04-01T00:00:00Z".parse().unwrap(); // a Monday
    let b = a.add_secs(7 * 86_400);
    assert_eq!(plain.business_seconds(a, b), 11 * 3600);
    for w in [
        serde_json::json!({"Mon": [["09:00", "17:00"]], "TUESDAY": [["09:00", "12:00"]], "sat": null, "sun": []}),
        serde_json::json!({"monday": [["09:00", "17:00"]], "Tue": [["09:00", "12:00"]], "wed": null}),
    ] {
        assert_eq!(week(w).unwrap().business_seconds(a, b), 11 * 3600);
    }
    let twice = week(serde_json::json!({"mon": [["09:00", "12:00"]], "monday": [["11:00", "13:00"]]}));
    assert!(twice.unwrap_err().to_string().contains("overlapping"));
    assert!(week(serde_json::json!({"mon": "09:00-17:00"}))
        .unwrap_err()
        .to_string()
        .contains("expected a list"));
}
