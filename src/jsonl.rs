//! The JSON Lines interchange format (SPEC §1, R1, R42): parsing one line into an [`Event`] or a
//! watermark, zero-copy where the line has no escapes, and a buffered reader that feeds an
//! [`Engine`] line by line, reporting every rejected line with its number.

use crate::event::{Author, Event, EventKind, ExcludeReason, Priority, Status, Visibility};
use crate::json::{read_object, Fields};
use crate::time::LastDay;
use crate::{Engine, Error, Result, Timestamp};
use std::borrow::Cow;
use std::io::Read;

/// One parsed line: an event, or a `watermark` control line (R38).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record<'a> {
    /// A conversation event.
    Event(Event<'a>),
    /// Advance the watermark to this instant.
    Watermark(Timestamp),
}

fn value<T>(field: &str, v: Option<&Cow<'_, str>>, parse: impl Fn(&str) -> Option<T>) -> Result<T> {
    let s = v.ok_or_else(|| Error::invalid(format!("missing field `{field}`")))?;
    parse(s).ok_or_else(|| {
        Error::invalid(format!(
            "unknown {field} `{}`",
            crate::time::truncate_for_message(s)
        ))
    })
}

fn optional<T>(
    field: &str,
    v: Option<&Cow<'_, str>>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>> {
    v.map(|_| value(field, v, parse)).transpose()
}

/// Parses one JSON Lines record (SPEC §1). A blank line gives `Ok(None)` (R42).
///
/// # Errors
/// `invalid` errors (R42) naming the conversation and event id when they could be read:
/// malformed JSON, a missing or unknown `type`, a missing required field, an unknown enum value,
/// a timestamp without offset (R1), a non-string `id`, a CSAT score outside 1–5.
///
/// # Example
/// ```
/// use sla_metrics::{parse_line, Record};
/// let line = br#"{"conversation":"c1","at":"2024-04-02T10:00:00Z","type":"message","author":"customer","extra":1}"#;
/// assert!(matches!(parse_line(line)?, Some(Record::Event(_))));
/// assert!(matches!(parse_line(br#"{"type":"watermark","at":"2024-04-02T10:00:00Z"}"#)?, Some(Record::Watermark(_))));
/// assert!(parse_line(b"   ")?.is_none());
/// let err = parse_line(br#"{"conversation":"c1","at":"2024-04-02T10:00:00","type":"handoff"}"#).unwrap_err();
/// assert_eq!((err.code(), err.conversation()), ("invalid", Some("c1")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_line(line: &[u8]) -> Result<Option<Record<'_>>> {
    let text = std::str::from_utf8(line).map_err(|e| {
        Error::invalid(format!(
            "malformed JSON: not UTF-8 at byte {}",
            e.valid_up_to() + 1
        ))
    })?;
    parse_text(text, &mut LastDay::default())
}

/// [`parse_line`] on a line known to be UTF-8 ([`Line::Text`]); `last` is the day of the line
/// before (see [`LastDay`]).
fn parse_text<'a>(line: &'a str, last: &mut LastDay) -> Result<Option<Record<'a>>> {
    if line.bytes().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    let mut raw = Fields::default();
    // The conversation and id name the error when they were read (before the fault, for
    // malformed JSON).
    let read = read_object(line, &mut raw).map_err(|e| Error::invalid(format!("malformed JSON: {e}")));
    let named = |e: Error| e.in_event(raw.conversation.as_deref(), raw.id.as_deref());
    read.map_err(named)?;
    build(&raw, last).map(Some).map_err(named)
}

fn build<'a>(raw: &Fields<'a>, last: &mut LastDay) -> Result<Record<'a>> {
    let kind_name = raw
        .kind
        .as_deref()
        .ok_or_else(|| Error::invalid("missing field `type`"))?;
    let at_text = raw
        .at
        .as_deref()
        .ok_or_else(|| Error::invalid("missing field `at`"))?;
    let at = Timestamp::parse_after(at_text, last)?;
    if kind_name == "watermark" {
        return Ok(Record::Watermark(at));
    }
    let conversation = raw
        .conversation
        .clone()
        .ok_or_else(|| Error::invalid("missing field `conversation`"))?;
    let kind = match kind_name {
        "message" => EventKind::Message {
            author: value("author", raw.author.as_ref(), Author::from_name)?,
            visibility: optional("visibility", raw.visibility.as_ref(), Visibility::from_name)?
                .unwrap_or_default(),
            agent: raw.agent.clone(),
            channel: raw.channel.clone(),
        },
        "status" => EventKind::Status(value("status", raw.status.as_ref(), Status::from_name)?),
        "priority" => EventKind::Priority(value("priority", raw.priority.as_ref(), Priority::from_name)?),
        "assign" => {
            if raw.agent.is_none() && raw.team.is_none() {
                return Err(Error::invalid("assign needs `agent` and/or `team`"));
            }
            EventKind::Assign {
                agent: raw.agent.clone(),
                team: raw.team.clone(),
            }
        }
        "handoff" => EventKind::Handoff,
        "attributes" => EventKind::Attributes {
            channel: raw.channel.clone(),
            brand: raw.brand.clone(),
            tags: raw.tags.clone(),
        },
        "csat" => {
            let score = raw.score.ok_or_else(|| Error::invalid("missing field `score`"))?;
            if !(1..=5).contains(&score) {
                return Err(Error::invalid(format!(
                    "csat score {score} is out of range 1–5 (R19)"
                )));
            }
            EventKind::Csat { score: score as u8 }
        }
        "exclude" => EventKind::Exclude {
            reason: value("reason", raw.reason.as_ref(), ExcludeReason::from_name)?,
        },
        other => {
            return Err(Error::invalid(format!(
                "unknown type `{}`",
                crate::time::truncate_for_message(other)
            )))
        }
    };
    Ok(Record::Event(Event {
        conversation,
        at,
        id: raw.id.clone(),
        kind,
    }))
}

/// Totals of one [`Engine::ingest_jsonl`] run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JsonlStats {
    /// Lines read, blank ones included.
    pub lines: u64,
    /// Event lines accepted (applied, duplicates and ignored-after-final).
    pub events: u64,
    /// Watermark lines applied.
    pub watermarks: u64,
    /// Lines rejected (R42).
    pub rejected: u64,
}

/// The first `\n` in `hay`.
#[inline]
pub(crate) fn find_newline(hay: &[u8]) -> Option<usize> {
    find_byte(hay, b'\n')
}

/// The first `\n` in `hay` (or its length), and whether bytes `a` and `b` occur before it:
/// where a line's end and hints about its content are all wanted.
#[inline]
pub(crate) fn line_end_noting(hay: &[u8], a: u8, b: u8) -> (usize, bool, bool) {
    let end = find_newline(hay).unwrap_or(hay.len());
    let line = &hay[..end];
    // One search for both, as most lines have neither.
    match memchr::memchr2(a, b, line) {
        None => (end, false, false),
        Some(p) => (
            end,
            find_byte(&line[p..], a).is_some(),
            find_byte(&line[p..], b).is_some(),
        ),
    }
}

/// The first `byte` in `hay` (vectorized: `memchr`, already a dependency of the JSON and
/// histogram crates; a word-at-a-time loop here took three times the instructions).
#[inline]
pub(crate) fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    memchr::memchr(byte, hay)
}

/// One line of input as the readers hand it on: text when its bytes are UTF-8, checked a
/// whole chunk of lines at a time ([`Lines`]), which costs a fraction of checking each line
/// on its own; else its bytes, which parsing rejects with the position of the bad byte.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Line<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl<'a> Line<'a> {
    /// The line's bytes.
    #[inline]
    pub(crate) fn bytes(self) -> &'a [u8] {
        match self {
            Line::Text(t) => t.as_bytes(),
            Line::Bytes(b) => b,
        }
    }

    /// [`parse_line`] on this line; `last` is the day of the line before (see [`LastDay`]).
    #[inline]
    pub(crate) fn parse(self, last: &mut LastDay) -> Result<Option<Record<'a>>> {
        match self {
            Line::Text(t) => parse_text(t, last),
            Line::Bytes(b) => parse_line(b),
        }
    }

    /// Whether the line is blank (counted, but neither an event nor a watermark, R42).
    fn is_blank(self) -> bool {
        self.bytes().iter().all(u8::is_ascii_whitespace)
    }
}

/// A chunk of whole lines (only `\n` ends a line; the last may lack it), checked for UTF-8
/// once.
pub(crate) struct Lines<'a> {
    bytes: &'a [u8],
    /// The chunk as text; `None` when some line is not UTF-8: each line is then checked alone.
    text: Option<&'a str>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Lines<'a> {
        Lines {
            bytes,
            text: std::str::from_utf8(bytes).ok(),
        }
    }

    /// A chunk known to be text.
    pub(crate) fn text(text: &'a str) -> Lines<'a> {
        Lines {
            bytes: text.as_bytes(),
            text: Some(text),
        }
    }

    /// The chunk's bytes.
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The line at `start..end` (ending at a `\n` or the chunk's end).
    #[inline]
    pub(crate) fn at(&self, start: usize, end: usize) -> Line<'a> {
        // Slicing the text at line ends never splits a character.
        if let Some(t) = self.text.and_then(|t| t.get(start..end)) {
            return Line::Text(t);
        }
        let b = &self.bytes[start..end];
        std::str::from_utf8(b).map_or(Line::Bytes(b), Line::Text)
    }
}

/// The UTF-8 byte-order mark.
const BOM: [u8; 3] = [0xef, 0xbb, 0xbf];

/// `input` without a byte-order mark at its start: JSON texts must not carry one, yet tools
/// on some platforms write it, and RFC 8259 (§8.1) lets a parser ignore it. Anywhere else
/// it is part of its line, which is then malformed (R42). Reads the first three bytes now.
///
/// # Errors
/// A failure to read them, as on line 1.
pub(crate) fn without_bom<R: Read>(mut input: R) -> Result<impl Read> {
    let mut head = Vec::with_capacity(BOM.len());
    (&mut input)
        .take(BOM.len() as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(e).with_line(1))?;
    if head == BOM {
        head.clear();
    }
    Ok(std::io::Cursor::new(head).chain(input))
}

/// Splits a byte stream into lines (only `\n` ends a line) with a large reusable buffer, and
/// hands them to `f` in batches of up to [`BATCH`], each line with its 1-based number.
pub(crate) fn for_each_batch<R: Read>(mut input: R, mut f: impl FnMut(&[(u64, Line<'_>)])) -> Result<u64> {
    const CHUNK: usize = 1 << 20;
    let mut buf = vec![0u8; CHUNK];
    let mut filled = 0usize;
    let mut line_no = 0u64;
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0); // one line longer than the buffer
        }
        let n = match input.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(e).with_line(line_no + 1)),
        };
        if n == 0 {
            if filled > 0 {
                line_no += 1;
                f(&[(line_no, Lines::new(&buf[..filled]).at(0, filled))]);
            }
            return Ok(line_no);
        }
        filled += n;
        // The whole lines read so far, up to and including the last newline.
        let whole = memchr::memrchr(b'\n', &buf[..filled]).map_or(0, |p| p + 1);
        let lines = Lines::new(&buf[..whole]);
        let mut start = 0;
        let mut batch = Batch::default();
        while let Some(pos) = find_newline(&buf[start..whole]) {
            line_no += 1;
            if batch.push(line_no, lines.at(start, start + pos)) {
                f(batch.take());
            }
            start += pos + 1;
        }
        f(batch.take());
        buf.copy_within(start..filled, 0);
        filled -= start;
    }
}

/// How many lines are parsed before any of them is applied: the state of their conversations
/// is then loaded together ([`OpenTable::warm`](crate::table::OpenTable::warm)), so that their
/// cache misses overlap. With hundreds of thousands of conversations open, an event otherwise
/// spends much of its time waiting on memory.
pub(crate) const BATCH: usize = crate::table::WARM_BATCH;

/// Numbered lines gathered for [`Engine::ingest_batch`].
pub(crate) struct Batch<'a> {
    lines: [(u64, Line<'a>); BATCH],
    len: usize,
}

impl Default for Batch<'_> {
    fn default() -> Self {
        Batch {
            lines: [(0, Line::Bytes(&[])); BATCH],
            len: 0,
        }
    }
}

impl<'a> Batch<'a> {
    /// Adds a line; `true` when the batch is full.
    #[inline]
    pub(crate) fn push(&mut self, line_no: u64, line: Line<'a>) -> bool {
        self.lines[self.len] = (line_no, line);
        self.len += 1;
        self.len == BATCH
    }

    /// The lines gathered, leaving the batch empty.
    #[inline]
    pub(crate) fn take(&mut self) -> &[(u64, Line<'a>)] {
        let n = std::mem::take(&mut self.len);
        &self.lines[..n]
    }
}

impl Engine {
    /// Parses and applies one JSON Lines record (an event or a watermark), with its line
    /// number for errors. A rejected line is counted in the report (R42).
    ///
    /// # Errors
    /// As [`parse_line`] and [`Engine::ingest`], with `line` set.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Config, Engine};
    /// let mut engine = Engine::new(Config::default())?;
    /// engine.ingest_line(br#"{"type":"watermark","at":"2024-04-02T12:00:00Z"}"#, 1)?;
    /// let err = engine
    ///     .ingest_line(br#"{"conversation":"c1","at":"2024-04-02T11:00:00Z","type":"message","author":"customer"}"#, 2)
    ///     .unwrap_err();
    /// assert_eq!((err.code(), err.line()), ("late", Some(2)));
    /// assert_eq!(engine.report().rejected(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest_line(&mut self, line: &[u8], line_no: u64) -> Result<Option<crate::Ingested>> {
        self.apply_record(&mut parse_line(line), line_no, None)
    }

    /// Applies one parsed line (R42: a rejected line is counted in the report); `hash`, when
    /// known, is its event's conversation id's [`crate::table::hash`]. The line is read where
    /// its batch parsed it (an error is taken out of it): moving each parsed event, over 100
    /// bytes, out of the batch cost 82 instructions a line.
    fn apply_record(
        &mut self,
        parsed: &mut Result<Option<Record<'_>>>,
        line_no: u64,
        hash: Option<u64>,
    ) -> Result<Option<crate::Ingested>> {
        let result = match parsed {
            Ok(None) => Ok(None),
            Ok(Some(Record::Watermark(t))) => {
                self.advance_to(*t);
                Ok(None)
            }
            Ok(Some(Record::Event(e))) => match hash {
                Some(h) => self.ingest_hashed(e, h),
                None => self.ingest_unrecorded(e),
            }
            .map(Some),
            Err(_) => std::mem::replace(parsed, Ok(None)).map(|_| None), // the error, taken out
        };
        result.map_err(|e| self.reject(e.with_line(line_no)))
    }

    /// Reads JSON Lines from `input` to the end, applying every line; each rejected line goes
    /// to `on_reject` (with its line number) and the reading continues (R42). Call
    /// [`Engine::finish`] afterwards for the report. A UTF-8 byte-order mark at the start of
    /// the input is skipped (RFC 8259 allows it); anywhere else it makes its line malformed.
    ///
    /// # Errors
    /// Only a failure to read `input`; bad lines are not errors here.
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{Config, Engine};
    /// let input = br#"{"conversation":"c1","at":"2024-04-02T10:00:00Z","type":"message","author":"customer"}
    /// {"conversation":"c1","at":"2024-04-02T10:05:00Z","type":"message","author":"agent","agent":"a"}
    /// not json
    /// "#;
    /// let mut engine = Engine::new(Config::default())?;
    /// let mut rejected = Vec::new();
    /// let stats = engine.ingest_jsonl(&input[..], |e| rejected.push(e.to_string()))?;
    /// assert_eq!((stats.events, stats.rejected), (2, 1));
    /// assert!(rejected[0].starts_with("line 3: invalid"));
    /// assert_eq!(engine.finish().distribution(sla_metrics::Metric::FirstResponse, false).unwrap().mean_s(), Some(300.0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest_jsonl<R: Read>(
        &mut self,
        input: R,
        mut on_reject: impl FnMut(Error),
    ) -> Result<JsonlStats> {
        let mut stats = JsonlStats::default();
        stats.lines = for_each_batch(without_bom(input)?, |lines| {
            self.ingest_batch(lines, &mut stats, &mut on_reject)
        })?;
        Ok(stats)
    }

    /// [`Engine::ingest_line`] on each of `lines` in turn, counting the outcomes in `stats` and
    /// handing each rejection to `on_reject`. With many conversations open, all lines of a
    /// batch are parsed first and the state of their conversations is loaded together
    /// ([`BATCH`]).
    pub(crate) fn ingest_batch(
        &mut self,
        lines: &[(u64, Line<'_>)],
        stats: &mut JsonlStats,
        on_reject: &mut impl FnMut(Error),
    ) {
        let mut tally = |line: Line<'_>, result: Result<Option<crate::Ingested>>| match result {
            Ok(Some(_)) => stats.events += 1,
            Ok(None) => {
                if !line.is_blank() {
                    stats.watermarks += 1;
                }
            }
            Err(e) => {
                stats.rejected += 1;
                on_reject(e);
            }
        };
        let mut last_day = LastDay::default();
        for group in lines.chunks(BATCH) {
            if !self.worth_warming() {
                for &(line_no, line) in group {
                    tally(
                        line,
                        self.apply_record(&mut line.parse(&mut last_day), line_no, None),
                    );
                }
                continue;
            }
            let mut parsed: [Result<Option<Record<'_>>>; BATCH] = std::array::from_fn(|_| Ok(None));
            for (p, (_, line)) in parsed.iter_mut().zip(group) {
                *p = line.parse(&mut last_day);
            }
            let mut hashes = [None; BATCH];
            for (h, p) in hashes.iter_mut().zip(&parsed[..group.len()]) {
                if let Ok(Some(Record::Event(e))) = p {
                    *h = Some(crate::table::hash(e.conversation.as_bytes()));
                }
            }
            self.warm(hashes.iter().flatten().copied());
            for ((p, h), &(line_no, line)) in parsed.iter_mut().zip(hashes).zip(group) {
                tally(line, self.apply_record(p, line_no, h));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine, Event, Mix, Workload};
    use proptest::prelude::*;

    fn varied(seed: u64, n: u64) -> Workload {
        let mut w = Workload::new(seed, n);
        w.mix = Mix::Varied;
        w
    }

    fn configs() -> impl Strategy<Value = Config> {
        let late = Config {
            allowed_lateness_s: 600,
            ..Config::default()
        };
        prop_oneof![Just(Config::default()), Just(late)]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// R42, §12: reading JSON Lines in batches (every line of a batch parsed, and the state
        /// of its conversations loaded, before any is applied) gives what applying each line in
        /// turn gives: the same report, summaries, line counts and rejections, with their line
        /// numbers. (In these tests the batches start from 4 open conversations, so a stream
        /// takes both paths.)
        /// The damage includes bytes that leave a line not UTF-8, so chunks checked whole and
        /// lines checked alone are both read.
        #[test]
        fn r42_batched_reading_equals_line_by_line(
            seed in any::<u64>(), n in 1u64..40, config in configs(),
            edits in prop::collection::vec((any::<usize>(), 0u8..3, prop::sample::select(b"{}[]\",:\\ wcu0-9\n\xc3\xa9\xff".to_vec())), 0..12),
        ) {
            let mut data = Vec::new();
            varied(seed, n).write_jsonl(&mut data).unwrap();
            // A watermark line (at the time of the line after it) before every 11th line.
            let mut with = Vec::new();
            for (i, line) in data.split_inclusive(|&c| c == b'\n').enumerate() {
                if i % 11 == 5 {
                    let at = &line[line.windows(6).position(|w| w == b"\"at\":\"").unwrap() + 6..][..20];
                    with.extend_from_slice(b"{\"type\":\"watermark\",\"at\":\"");
                    with.extend_from_slice(at);
                    with.extend_from_slice(b"\"}\n");
                }
                with.extend_from_slice(line);
            }
            let mut data = with;
            crate::json::tests::damage(&mut data, edits);
            let mut batched = Engine::new(config.clone()).unwrap();
            batched.collect_summaries(true);
            let mut batched_rejections = Vec::new();
            let stats = batched
                .ingest_jsonl(&data[..], |e| batched_rejections.push(e.to_string()))
                .unwrap();
            let mut single = Engine::new(config).unwrap();
            single.collect_summaries(true);
            let mut single_rejections = Vec::new();
            // Only `\n` ends a line; nothing follows the last one.
            let lines = data.strip_suffix(b"\n").unwrap_or(&data).split(|&c| c == b'\n');
            for (i, line) in lines.clone().enumerate() {
                if let Err(e) = single.ingest_line(line, i as u64 + 1) {
                    single_rejections.push(e.to_string());
                }
            }
            prop_assert_eq!(stats.lines, lines.count() as u64);
            prop_assert_eq!(stats.rejected as usize, single_rejections.len());
            prop_assert_eq!(batched_rejections, single_rejections);
            prop_assert_eq!(batched.finish(), single.finish());
            prop_assert_eq!(batched.drain_summaries().collect::<Vec<_>>(), single.drain_summaries().collect::<Vec<_>>());
        }

        /// `Engine::ingest_many` gives each event the outcome `Engine::ingest` gives it, and the
        /// same report and summaries (events here include rejected and duplicate ones).
        #[test]
        fn ingest_many_equals_ingest_one_at_a_time(seed in any::<u64>(), n in 1u64..40, config in configs(), shift in 0usize..50) {
            let mut events: Vec<Event<'static>> = varied(seed, n).events().collect();
            // Redeliveries and events moved later than their place: duplicates, late and
            // out-of-order rejections.
            for i in (0..events.len()).step_by(7) {
                let e = events[i].clone();
                let to = (i + shift).min(events.len());
                events.insert(to, e);
            }
            let mut many = Engine::new(config.clone()).unwrap();
            many.collect_summaries(true);
            let mut outcomes = Vec::new();
            many.ingest_many(&events, |i, r| outcomes.push((i, r.map_err(|e| e.to_string()))));
            let mut one = Engine::new(config).unwrap();
            one.collect_summaries(true);
            let expected: Vec<_> = events.iter().enumerate().map(|(i, e)| (i, one.ingest(e).map_err(|e| e.to_string()))).collect();
            prop_assert_eq!(outcomes, expected);
            prop_assert_eq!(many.finish(), one.finish());
            prop_assert_eq!(many.drain_summaries().collect::<Vec<_>>(), one.drain_summaries().collect::<Vec<_>>());
        }
    }

    /// R42: a line whose JSON is malformed, or holds a value of the wrong type, names the
    /// conversation and event id read before the fault; one faulty before them names neither.
    #[test]
    fn r42_a_malformed_line_names_the_conversation_read_before_the_fault() {
        let err = |line: &str| crate::parse_line(line.as_bytes()).unwrap_err();
        let event = |e: &crate::Error| match e.kind() {
            crate::ErrorKind::Invalid { event, .. } => event.clone(),
            other => panic!("{other:?}"),
        };
        let e = err(
            r#"{"conversation":"c1","id":"e7","at":"2024-04-02T10:00:00Z","type":"message","author":"customer","tags":5}"#,
        );
        assert_eq!((e.code(), e.conversation()), ("invalid", Some("c1")));
        assert_eq!(event(&e).as_deref(), Some("e7"));
        assert!(e.to_string().contains("malformed JSON"), "{e}");
        let e = err(r#"{"conversation":"c1","at":"2024-04-02T10:00:00Z","id":5}"#);
        assert_eq!((e.conversation(), event(&e)), (Some("c1"), None));
        assert!(
            e.to_string()
                .starts_with("conversation c1: invalid (R42): malformed JSON: field `id` must be a string"),
            "{e}"
        );
        let e = err(r#"{"conversation":"c1","at":"2024-04-02T10:00:00Z","#);
        assert_eq!(e.conversation(), Some("c1"));
        let e = err(r#"{"id":[],"conversation":"c1"}"#);
        assert_eq!((e.conversation(), event(&e)), (None, None));
    }

    /// A reader that hands out one byte per call, so a byte-order mark arrives in pieces.
    struct ByteAtATime<'a>(&'a [u8]);

    impl std::io::Read for ByteAtATime<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), out.first_mut()) {
                (Some((&b, rest)), Some(o)) => {
                    *o = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    /// R42, RFC 8259 §8.1: a byte-order mark at the very start of the input is skipped, on
    /// one shard or two, however the reads split it; the same mark at the start of a later
    /// line is part of that line, which is rejected as malformed. Inputs shorter than the
    /// mark, or starting like it without being it, lose nothing.
    #[test]
    fn r42_a_byte_order_mark_is_skipped_only_at_the_start_of_the_input() {
        let line = |c: &str| {
            format!(
                r#"{{"conversation":"{c}","at":"2024-04-02T10:00:00Z","type":"message","author":"customer"}}"#
            )
        };
        let text = format!("\u{feff}{}\n\u{feff}{}\n{}", line("a"), line("b"), line("c"));
        let data = text.as_bytes();
        let check = |lines: u64, events: u64, rejections: Vec<crate::Error>| {
            assert_eq!((lines, events), (3, 2));
            assert_eq!(rejections.len(), 1);
            assert_eq!(rejections[0].line(), Some(2));
            assert!(
                rejections[0].to_string().contains("malformed JSON"),
                "{}",
                rejections[0]
            );
        };
        for shards in [1, 2] {
            let run = crate::run_jsonl(ByteAtATime(data), &Config::default(), shards, false).unwrap();
            check(run.stats.lines, run.stats.events, run.rejections);
            let run = crate::run_jsonl(data, &Config::default(), shards, false).unwrap();
            check(run.stats.lines, run.stats.events, run.rejections);
        }
        let mut engine = Engine::new(Config::default()).unwrap();
        let mut rejections = Vec::new();
        let stats = engine
            .ingest_jsonl(ByteAtATime(data), |e| rejections.push(e))
            .unwrap();
        check(stats.lines, stats.events, rejections);
        // Short inputs and near misses: every byte after a whole mark is read, as a line.
        for input in [
            &b""[..],
            b"\n",
            b"\xef",
            b"\xef\xbb",
            b"\xef\xbb\xbf",
            b"\xef\xbbx\n",
            b"x\xef\xbb\xbf",
        ] {
            let mut engine = Engine::new(Config::default()).unwrap();
            let mut rejected = 0u64;
            let stats = engine
                .ingest_jsonl(ByteAtATime(input), |_| rejected += 1)
                .unwrap();
            let text = input.strip_prefix(&super::BOM[..]).unwrap_or(input);
            let lines = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() as u64;
            assert_eq!((stats.rejected, rejected), (lines, lines), "{input:?}");
        }
    }

    /// R42: a line that is not UTF-8 is rejected, with its number and the position of the bad
    /// byte, whether it is read alone, in a chunk of good lines or on two shards; the lines
    /// around it, text with characters beyond ASCII included, are read as usual.
    #[test]
    fn r42_a_line_that_is_not_utf8_is_rejected_alone() {
        let line = |c: &str, channel: &[u8]| {
            let mut l = format!(r#"{{"conversation":"{c}","at":"2024-04-02T10:00:00Z","type":"message","author":"customer","channel":""#).into_bytes();
            l.extend_from_slice(channel);
            l.extend_from_slice(b"\"}\n");
            l
        };
        let mut data = Vec::new();
        for c in ["a", "b", "x", "c", "d"] {
            // "café" in UTF-8, and on line 3 in Latin-1 (the é a lone 0xe9 byte).
            data.extend(line(c, if c == "x" { b"caf\xe9" } else { "café".as_bytes() }));
        }
        let bad = data.split(|&b| b == b'\n').nth(2).unwrap();
        let byte = bad.iter().position(|&b| b == 0xe9).unwrap() + 1;
        let expected = format!("line 3: invalid (R42): malformed JSON: not UTF-8 at byte {byte}");
        assert_eq!(
            crate::parse_line(bad).unwrap_err().with_line(3).to_string(),
            expected
        );
        for shards in [1, 2] {
            let run = crate::run_jsonl(&data[..], &Config::default(), shards, false).unwrap();
            assert_eq!((run.stats.lines, run.stats.events, run.stats.rejected), (5, 4, 1));
            assert_eq!(run.rejections.len(), 1);
            assert_eq!(run.rejections[0].to_string(), expected);
            assert_eq!(run.report.conversations().total, 4);
        }
    }
}
