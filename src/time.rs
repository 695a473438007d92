//! Instants: whole UTC seconds since the Unix epoch (R1), parsed from and printed as RFC 3339.

use std::fmt;

/// An instant on the UTC time line, at one-second resolution (R1).
///
/// All arithmetic in the crate is on these instants; sub-second input is truncated when parsed.
/// It prints and serializes as an RFC 3339 UTC string (`2024-04-02T10:00:00Z`).
///
/// # Example
/// ```
/// use sla_metrics::Timestamp;
/// let t = Timestamp::parse("2024-04-02T12:00:00.750+02:00")?;
/// assert_eq!(t.to_string(), "2024-04-02T10:00:00Z");
/// assert_eq!(t.as_unix(), 1_712_052_000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

/// Seconds a civil date's day number is offset from 1970-01-01.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Howard Hinnant's algorithm.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day number counted from 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// The number two ASCII digits spell (the caller checked that they are digits).
#[inline]
fn two_digits(hi: u8, lo: u8) -> u32 {
    u32::from(hi - b'0') * 10 + u32::from(lo - b'0')
}

/// Seconds since midnight, if `hour:minute:second` is a time of day (R1: no `:60` second).
#[inline]
fn time_of_day(hour: u32, minute: u32, second: u32) -> Option<u32> {
    (hour <= 23 && minute <= 59 && second <= 59).then_some(hour * 3600 + minute * 60 + second)
}

/// The day of the last timestamp read in the usual form (`YYYY-MM-DDTHH:MM:SSZ`), so that the
/// next one on that day, as most lines of a stream are, skips reading and checking the date.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LastDay {
    /// Its `YYYY-MM-DD` (no date's text before the first: zero bytes are not digits).
    date: [u8; 10],
    /// Its first instant.
    midnight: i64,
}

/// Why a timestamp string was not accepted (R1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimestampError {
    /// Not of the form `YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)`.
    Syntax,
    /// A date or time field out of range (month 13, second 60, …).
    Range,
    /// The string has no UTC offset.
    NoOffset,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimestampError::Syntax => "not an RFC 3339 timestamp (YYYY-MM-DDTHH:MM:SS with Z or ±HH:MM)",
            TimestampError::Range => "a date or time field is out of range",
            TimestampError::NoOffset => "timestamp has no UTC offset (R1 requires Z or ±HH:MM)",
        })
    }
}

#[inline]
fn digits(b: &[u8], at: usize, n: usize) -> Result<u32, TimestampError> {
    let mut v = 0u32;
    for i in at..at + n {
        let c = *b.get(i).ok_or(TimestampError::Syntax)?;
        if !c.is_ascii_digit() {
            return Err(TimestampError::Syntax);
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Ok(v)
}

#[inline]
fn expect(b: &[u8], at: usize, c: u8) -> Result<(), TimestampError> {
    if b.get(at) == Some(&c) {
        Ok(())
    } else {
        Err(TimestampError::Syntax)
    }
}

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00Z.
    pub const EPOCH: Timestamp = Timestamp(0);
    /// The earliest representable instant.
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    /// The latest representable instant.
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    /// The instant `secs` seconds after the Unix epoch.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Timestamp;
    /// assert_eq!(Timestamp::from_unix(0).to_string(), "1970-01-01T00:00:00Z");
    /// ```
    #[inline]
    pub const fn from_unix(secs: i64) -> Timestamp {
        Timestamp(secs)
    }

    /// Seconds since the Unix epoch.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Timestamp;
    /// assert_eq!(Timestamp::from_unix(42).as_unix(), 42);
    /// ```
    #[inline]
    pub const fn as_unix(self) -> i64 {
        self.0
    }

    /// This instant plus `secs` seconds, saturating at the ends of the time line.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Timestamp;
    /// assert_eq!(Timestamp::from_unix(10).add_secs(5), Timestamp::from_unix(15));
    /// ```
    #[inline]
    pub const fn add_secs(self, secs: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(secs))
    }

    /// Seconds from `earlier` to `self` (negative if `earlier` is later).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Timestamp;
    /// assert_eq!(Timestamp::from_unix(15).secs_since(Timestamp::from_unix(10)), 5);
    /// ```
    #[inline]
    pub const fn secs_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Parses an RFC 3339 timestamp with an explicit offset (R1): `T` or `t` between date and
    /// time, optional fraction (truncated to the second), `Z`, `z` or `±HH:MM`.
    ///
    /// # Errors
    /// A string without an offset, with a space instead of `T`, a `:60` second, an offset beyond
    /// ±23:59 or any field out of range is an [`ErrorKind::Invalid`](crate::ErrorKind::Invalid)
    /// error.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Timestamp;
    /// assert!(Timestamp::parse("2024-04-02T10:00:00Z").is_ok());
    /// assert!(Timestamp::parse("2024-04-02T10:00:00").is_err()); // no offset (R1)
    /// ```
    pub fn parse(s: &str) -> crate::Result<Timestamp> {
        Timestamp::parse_after(s, &mut LastDay::default())
    }

    /// [`Timestamp::parse`], skipping the date arithmetic when `s` falls on `last`'s day;
    /// updates `last`.
    pub(crate) fn parse_after(s: &str, last: &mut LastDay) -> crate::Result<Timestamp> {
        Timestamp::parse_bytes_after(s.as_bytes(), last)
            .map_err(|e| crate::Error::invalid(format!("field `at`: {e}: {:?}", truncate_for_message(s))))
    }

    /// [`Timestamp::parse_bytes`], with the day of the usual form (`YYYY-MM-DDTHH:MM:SSZ`)
    /// remembered in `last`: the next such timestamp on that day reads only its time of day.
    #[inline]
    pub(crate) fn parse_bytes_after(b: &[u8], last: &mut LastDay) -> Result<Timestamp, TimestampError> {
        if let Some((date, &[b'T' | b't', h0, h1, b':', i0, i1, b':', s0, s1, b'Z' | b'z'])) =
            b.split_first_chunk::<10>()
        {
            // Its day is `last`'s: only the time of day is read. (Not digits or out of range:
            // the general path names the error.)
            if *date == last.date && [h0, h1, i0, i1, s0, s1].iter().all(u8::is_ascii_digit) {
                let n = two_digits;
                if let Some(secs) = time_of_day(n(h0, h1), n(i0, i1), n(s0, s1)) {
                    return Ok(Timestamp(last.midnight + i64::from(secs)));
                }
            }
            let t = Timestamp::parse_bytes(b)?;
            // A `Z` timestamp: its day starts at a multiple of 86 400 s.
            *last = LastDay {
                date: *date,
                midnight: t.0 - t.0.rem_euclid(86_400),
            };
            return Ok(t);
        }
        Timestamp::parse_bytes(b)
    }

    pub(crate) fn parse_bytes(b: &[u8]) -> Result<Timestamp, TimestampError> {
        // The usual form, `YYYY-MM-DDTHH:MM:SSZ`, without the general path's bookkeeping.
        if let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T' | b't', h0, h1, b':', i0, i1, b':', s0, s1, b'Z' | b'z'] =
            b
        {
            let d = [y0, y1, y2, y3, m0, m1, d0, d1, h0, h1, i0, i1, s0, s1];
            if d.iter().all(u8::is_ascii_digit) {
                let n = two_digits;
                let year = i64::from(n(y0, y1) * 100 + n(y2, y3));
                let (month, day) = (n(m0, m1), n(d0, d1));
                let (hour, minute, second) = (n(h0, h1), n(i0, i1), n(s0, s1));
                return Timestamp::from_fields(year, month, day, hour, minute, second, 0);
            }
        }
        Timestamp::parse_general(b)
    }

    /// Any form R1 accepts: fractional seconds (truncated), `Z` or a `±HH:MM` offset.
    fn parse_general(b: &[u8]) -> Result<Timestamp, TimestampError> {
        let year = digits(b, 0, 4)? as i64;
        expect(b, 4, b'-')?;
        let month = digits(b, 5, 2)?;
        expect(b, 7, b'-')?;
        let day = digits(b, 8, 2)?;
        match b.get(10) {
            Some(b'T') | Some(b't') => {}
            _ => return Err(TimestampError::Syntax),
        }
        let hour = digits(b, 11, 2)?;
        expect(b, 13, b':')?;
        let minute = digits(b, 14, 2)?;
        expect(b, 16, b':')?;
        let second = digits(b, 17, 2)?;
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
            if i == start {
                return Err(TimestampError::Syntax);
            }
        }
        let offset: i64 = match b.get(i) {
            Some(b'Z') | Some(b'z') => {
                i += 1;
                0
            }
            Some(&sign @ (b'+' | b'-')) => {
                let oh = digits(b, i + 1, 2)?;
                expect(b, i + 3, b':')?;
                let om = digits(b, i + 4, 2)?;
                if oh > 23 || om > 59 {
                    return Err(TimestampError::Range);
                }
                i += 6;
                let o = (oh * 3600 + om * 60) as i64;
                if sign == b'-' {
                    -o
                } else {
                    o
                }
            }
            None => return Err(TimestampError::NoOffset),
            _ => return Err(TimestampError::Syntax),
        };
        if i != b.len() {
            return Err(TimestampError::Syntax);
        }
        Timestamp::from_fields(year, month, day, hour, minute, second, offset)
    }

    /// The instant of a civil date and time at a UTC offset (seconds), once its fields are
    /// read; `Range` for a month, day, hour, minute or second that does not exist.
    #[inline]
    fn from_fields(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        offset: i64,
    ) -> Result<Timestamp, TimestampError> {
        let Some(secs) = time_of_day(hour, minute, second) else {
            return Err(TimestampError::Range);
        };
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(TimestampError::Range);
        }
        let days = days_from_civil(year, month, day);
        Ok(Timestamp(days * 86_400 + i64::from(secs) - offset))
    }

    /// Converts to a chrono UTC date-time (None beyond chrono's range).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::Timestamp;
    /// let dt = Timestamp::from_unix(86_400).to_chrono().unwrap();
    /// assert_eq!(dt.to_rfc3339(), "1970-01-02T00:00:00+00:00");
    /// ```
    pub fn to_chrono(self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::from_timestamp(self.0, 0)
    }
}

pub(crate) fn truncate_for_message(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

impl<Tz: chrono::TimeZone> From<chrono::DateTime<Tz>> for Timestamp {
    fn from(dt: chrono::DateTime<Tz>) -> Timestamp {
        Timestamp(dt.timestamp())
    }
}

impl std::str::FromStr for Timestamp {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Timestamp> {
        Timestamp::parse(s)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            y,
            m,
            d,
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse_bytes(s.as_bytes()).map_err(serde::de::Error::custom)
    }
}

/// A whole number of seconds, or an instant, in 5 bytes rather than 8, for the state kept per
/// open conversation (R40). Every instant R1 accepts (years 0000–9999) and every span between
/// two of them lies within ±2^38 seconds, well inside the 40 bits kept; values beyond ±2^39
/// saturate to `i64::MIN` / `i64::MAX`, so [`Timestamp::MIN`] and [`Timestamp::MAX`] come back
/// as themselves and a deadline past the year 19 000 reads as never.
///
/// Packed (alignment 1) rather than `[u8; 5]`: a value is then stored as one 4-byte and one
/// 1-byte write, where the bytes of an array were written one at a time (5 stores and 3
/// shifts): 4 % fewer instructions an event. Fields are only ever copied out, never
/// borrowed.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, packed)]
pub(crate) struct Packed {
    /// Bits 0–31.
    low: u32,
    /// Bits 32–39, whose sign extends over the upper bits.
    high: i8,
}

/// The 40-bit values that stand for `i64::MIN` and `i64::MAX`.
const PACKED_MIN: i64 = -(1 << 39);
const PACKED_MAX: i64 = (1 << 39) - 1;

impl Packed {
    #[inline]
    pub(crate) const fn new(v: i64) -> Packed {
        Packed::low_bytes(Packed::clamp(v))
    }

    /// The low 40 bits of `v`, which must lie in the range [`raw`](Self::raw) values take.
    #[inline]
    const fn low_bytes(v: i64) -> Packed {
        Packed {
            low: v as u32,
            high: (v >> 32) as i8,
        }
    }

    /// The value, with the saturated ends read back as `i64::MIN` / `i64::MAX`.
    #[inline]
    pub(crate) const fn get(self) -> i64 {
        match self.raw() {
            PACKED_MIN => i64::MIN,
            PACKED_MAX => i64::MAX,
            v => v,
        }
    }

    /// The 40 bits as they are: equal to [`get`](Self::get) for every value within ±2^39, and
    /// ordered like it, with the saturated ends as the least and greatest values. For fields
    /// that only ever hold accepted event instants or spans between them (all well within
    /// range), and for comparisons against [`Packed::clamp`]. Saves the two compares of `get`
    /// on the per-event path.
    #[inline]
    pub(crate) const fn raw(self) -> i64 {
        (self.high as i64) << 32 | self.low as i64
    }

    /// `v` saturated to the range [`raw`](Self::raw) values take: `Packed::new(a).raw() <
    /// Packed::clamp(b)` exactly when `Packed::new(a).get() < b`, for any `b` and any `a` not
    /// below the range (a deadline: never before its anchor, an accepted instant).
    #[inline]
    pub(crate) const fn clamp(v: i64) -> i64 {
        if v < PACKED_MIN {
            PACKED_MIN
        } else if v > PACKED_MAX {
            PACKED_MAX
        } else {
            v
        }
    }

    #[inline]
    pub(crate) const fn at(t: Timestamp) -> Packed {
        Packed::new(t.as_unix())
    }

    /// [`at`](Self::at) for an accepted event's instant (R1: years 0000–9999, far inside
    /// ±2^39 s), which needs no saturation: the per-event path stores these.
    #[inline]
    pub(crate) fn accepted(t: Timestamp) -> Packed {
        let v = t.as_unix();
        debug_assert!(
            (PACKED_MIN < v) && (v < PACKED_MAX),
            "not an accepted instant: {v}"
        );
        Packed::low_bytes(v)
    }

    #[inline]
    pub(crate) const fn instant(self) -> Timestamp {
        Timestamp::from_unix(self.get())
    }

    /// [`raw`](Self::raw) as an instant: for fields that only hold accepted instants.
    #[inline]
    pub(crate) const fn raw_instant(self) -> Timestamp {
        Timestamp::from_unix(self.raw())
    }
}

impl fmt::Debug for Packed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

#[cfg(test)]
mod tests {

    /// R1, R40: instants and spans within R1's years round-trip through 5 bytes exactly, and
    /// the sentinels and anything further out saturate.
    #[test]
    fn r40_packed_keeps_every_accepted_instant() {
        let first = Timestamp::from_unix(-62_167_219_200).as_unix(); // 0000-01-01T00:00:00Z
        let last = Timestamp::from_unix(253_402_300_799).as_unix(); // 9999-12-31T23:59:59Z
        for v in [
            0,
            1,
            -1,
            first,
            last,
            last - first,
            first - last,
            1 << 38,
            -(1 << 38),
        ] {
            assert_eq!(Packed::new(v).get(), v, "{v}");
        }
        // An accepted instant packs the same without the saturation check.
        for v in [first, first + 1, -1, 0, 1_712_000_000, last - 1, last] {
            let t = Timestamp::from_unix(v);
            assert_eq!(Packed::accepted(t), Packed::at(t), "{v}");
            assert_eq!(Packed::accepted(t).raw_instant(), t, "{v}");
        }
        for (v, want) in [
            (i64::MIN, i64::MIN),
            (i64::MAX, i64::MAX),
            (-(1 << 39), i64::MIN),
            ((1 << 39) - 1, i64::MAX),
            (1 << 45, i64::MAX),
            (-(1 << 45), i64::MIN),
        ] {
            assert_eq!(Packed::new(v).get(), want, "{v}");
        }
        let probes = [
            i64::MIN,
            -(1 << 40),
            -(1 << 39),
            -5,
            0,
            7,
            (1 << 39) - 1,
            1 << 41,
            i64::MAX,
        ];
        for a in probes.into_iter().filter(|&a| a > -(1 << 39)) {
            for b in probes {
                let packed = Packed::new(a);
                assert_eq!(packed.raw() < Packed::clamp(b), packed.get() < b, "{a} < {b}");
            }
        }
        assert_eq!(Packed::at(Timestamp::MAX).instant(), Timestamp::MAX);
        assert_eq!(Packed::at(Timestamp::MIN).instant(), Timestamp::MIN);
    }
    use super::*;

    #[test]
    fn r1_parse_variants() {
        let t = |s: &str| Timestamp::parse_bytes(s.as_bytes());
        assert_eq!(t("1970-01-01T00:00:00Z"), Ok(Timestamp(0)));
        assert_eq!(t("1970-01-01t01:00:00+01:00"), Ok(Timestamp(0)));
        assert_eq!(t("1970-01-01T00:00:00.999z"), Ok(Timestamp(0)));
        assert_eq!(t("1969-12-31T23:59:59.5Z"), Ok(Timestamp(-1)));
        assert_eq!(t("2024-02-29T00:00:00-00:30"), Ok(Timestamp(1_709_166_600)));
        assert_eq!(t("2024-04-02T10:00:00"), Err(TimestampError::NoOffset));
        assert_eq!(t("2024-04-02 10:00:00Z"), Err(TimestampError::Syntax));
        assert_eq!(t("2024-04-02T10:00:60Z"), Err(TimestampError::Range));
        assert_eq!(t("2023-02-29T10:00:00Z"), Err(TimestampError::Range));
        assert_eq!(t("2024-04-02T10:00:00+24:00"), Err(TimestampError::Range));
        assert_eq!(t("2024-04-02T10:00:00.Z"), Err(TimestampError::Syntax));
        assert_eq!(t("2024-04-02T10:00:00Zx"), Err(TimestampError::Syntax));
        assert_eq!(t(""), Err(TimestampError::Syntax));
    }

    /// R1: the fast path for `YYYY-MM-DDTHH:MM:SSZ` reads exactly what the general path reads,
    /// valid or not, with every byte of such a string changed in turn.
    #[test]
    fn r1_usual_form_reads_as_the_general_form() {
        let samples = [
            "2024-04-02T10:00:00Z",
            "0000-01-01T00:00:00z",
            "9999-12-31t23:59:59Z",
            "2024-02-29T12:34:56Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-10T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-04-00T00:00:00Z",
            "2024-04-02T24:00:00Z",
            "2024-04-02T10:60:00Z",
            "2024-04-02T10:00:60Z",
        ];
        for s in samples {
            for i in 0..=s.len() {
                for c in [
                    None,
                    Some(b'0'),
                    Some(b'9'),
                    Some(b'/'),
                    Some(b':'),
                    Some(b'Z'),
                    Some(b'-'),
                    Some(b' '),
                ] {
                    let mut b = s.as_bytes().to_vec();
                    match (c, i < b.len()) {
                        (Some(c), true) => b[i] = c,
                        (Some(c), false) => b.push(c),
                        (None, true) => {
                            b.remove(i);
                        }
                        (None, false) => {}
                    }
                    let general = Timestamp::parse_general(&b);
                    let text = String::from_utf8_lossy(&b);
                    assert_eq!(Timestamp::parse_bytes(&b), general, "{text}");
                    // And after any sample, whose day may be this one's (R1, `LastDay`).
                    for before in samples {
                        let mut last = LastDay::default();
                        let _ = Timestamp::parse_bytes_after(before.as_bytes(), &mut last);
                        assert_eq!(
                            Timestamp::parse_bytes_after(&b, &mut last),
                            general,
                            "{text} after {before}"
                        );
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// R1: reading a stream's timestamps in turn, each after the day of the one before,
        /// gives what reading each alone gives, for the usual form and the others, in range or
        /// not, on the same day or the next.
        #[test]
        fn r1_reading_after_the_last_day_equals_reading_alone(
            stamps in proptest::collection::vec(
                (0u32..3, 0u32..=24, 0u32..=60, 0u32..=60, proptest::sample::select(vec!["Z", "z", "+01:00", ".5Z", ""])),
                1..40,
            ),
        ) {
            let mut last = LastDay::default();
            for (day, hour, minute, second, zone) in stamps {
                let s = format!("2024-02-{:02}T{hour:02}:{minute:02}:{second:02}{zone}", 28 + day);
                let alone = Timestamp::parse_bytes(s.as_bytes());
                proptest::prop_assert_eq!(Timestamp::parse_bytes_after(s.as_bytes(), &mut last), alone, "{}", s);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4096, ..Default::default() })]

        /// R1 against chrono's RFC 3339 reader, on every combination of in- and out-of-range
        /// fields: the same instant, or both refuse. (A second of 60, which chrono reads as a
        /// leap second, is invalid here, SPEC R43; years stop at 9999 in both.)
        #[test]
        fn r1_reads_rfc3339_as_chrono_does(
            year in 0u32..=9999, month in 0u32..=13, day in 0u32..=32, hour in 0u32..=24,
            minute in 0u32..=60, second in 0u32..=60, frac in proptest::option::of("[0-9]{1,12}"),
            t in proptest::sample::select(vec!['T', 't']), zulu in proptest::sample::select(vec!["Z", "z", ""]),
            sign in proptest::sample::select(vec!['+', '-']), oh in 0u32..=24, om in 0u32..=60,
        ) {
            let offset = if zulu.is_empty() { format!("{sign}{oh:02}:{om:02}") } else { zulu.to_owned() };
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            let s = format!("{year:04}-{month:02}-{day:02}{t}{hour:02}:{minute:02}:{second:02}{frac}{offset}");
            let ours = Timestamp::parse_bytes(s.as_bytes()).ok().map(|t| t.0);
            let chrono = chrono::DateTime::parse_from_rfc3339(&s).ok().map(|d| d.timestamp());
            if second == 60 {
                proptest::prop_assert_eq!(ours, None, "{}", s);
            } else {
                proptest::prop_assert_eq!(ours, chrono, "{}", s);
            }
        }
    }

    #[test]
    fn civil_round_trip() {
        for d in (-800_000i64..800_000).step_by(97) {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(Timestamp(1_712_052_000).to_string(), "2024-04-02T10:00:00Z");
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59Z");
    }
}
