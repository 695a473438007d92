//! Adapters from real exports to events: the Twitter customer-support CSV (`twcs`) and the
//! helpdesk ticket event log.
//!
//! Each adapter returns the events in time order and every row it could not use, with its line
//! number and the reason: nothing is dropped silently (R42).

use crate::{Author, Error, Event, EventKind, Result, Timestamp};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

/// A row an adapter could not turn into events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnusableRow {
    /// The 1-based line where the row starts (the header is line 1).
    pub line: u64,
    /// Why it was not used.
    pub reason: String,
}

/// The events read from an export, in time order, and the rows that could not be used.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Adapted {
    /// Events, in non-decreasing time order (per conversation in its own order).
    pub events: Vec<Event<'static>>,
    /// Conversations found.
    pub conversations: usize,
    /// Rows that could not be used, with line numbers and reasons.
    pub unusable: Vec<UnusableRow>,
}

/// Reads CSV records (RFC 4180) one at a time and hands each to `record` with the line it
/// starts on: quoted fields may hold commas, doubled quotes and line breaks; only `\n` ends a
/// record (a bare `\r` inside a field is data), and a `\r` just before `\n` is dropped. A quote
/// opens quoting only at the start of a field; elsewhere it is data. A byte-order mark at the
/// start is skipped. Reads line by line and
/// reuses its field buffers, so memory stays that of the longest record, whatever the size of
/// the export.
fn for_each_record(
    mut input: impl BufRead,
    mut record: impl FnMut(u64, &[String]) -> Result<()>,
) -> Result<()> {
    // The current record's fields are `fields[..=n]`; buffers beyond are kept for reuse.
    let mut fields = vec![String::new()];
    let mut n = 0;
    let mut quoted = false;
    let (mut line, mut start) = (1u64, 1u64);
    // Whether anything has been read since the last record ended.
    let mut any = false;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf).map_err(Error::io)? == 0 {
            break;
        }
        let text = std::str::from_utf8(&buf)
            .map_err(|_| Error::invalid(format!("line {line}: the CSV is not UTF-8")))?;
        // A byte-order mark, as spreadsheet programs write, is not part of the first field.
        let text = if line == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        let bytes = text.as_bytes();
        any = true;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'"' if quoted => {
                    if bytes.get(i + 1) == Some(&b'"') {
                        fields[n].push('"');
                        i += 1;
                    } else {
                        quoted = false;
                    }
                }
                b'"' if fields[n].is_empty() => quoted = true,
                b'\n' if !quoted => {
                    if fields[n].ends_with('\r') {
                        fields[n].pop();
                    }
                    record(start, &fields[..=n])?;
                    n = 0;
                    fields[0].clear();
                    line += 1;
                    start = line;
                    any = false;
                }
                b',' if !quoted => {
                    n += 1;
                    if n == fields.len() {
                        fields.push(String::new());
                    } else {
                        fields[n].clear();
                    }
                }
                _ => {
                    // This byte is data (a line break only inside quotes), and so is what follows
                    // up to the next byte that may mean something: ASCII, so a char boundary.
                    if bytes[i] == b'\n' {
                        line += 1;
                    }
                    let end = memchr::memchr3(b'"', b',', b'\n', &bytes[i + 1..])
                        .map_or(bytes.len(), |k| i + 1 + k);
                    fields[n].push_str(&text[i..end]);
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
    }
    if any {
        record(start, &fields[..=n])?;
    }
    Ok(())
}

/// One record of a CSV export, read through the columns an adapter wants.
struct Row<'a> {
    /// The line it starts on.
    line: u64,
    /// Its position among the records after the header.
    index: usize,
    fields: &'a [String],
    /// Where the wanted columns are, in the order they were asked for.
    columns: &'a [usize],
}

impl Row<'_> {
    /// The `k`-th wanted column's field.
    fn get(&self, k: usize) -> &str {
        self.fields.get(self.columns[k]).map_or("", String::as_str)
    }
}

/// Reads a CSV export record by record: finds the `wanted` columns in its header (the first
/// record), then hands every later record with as many fields as the header to `row`, which
/// makes it what the adapter keeps, into `kept`, or says why it cannot; such records and
/// shorter ones go to `unusable` with their line. `Ok(false)` when the export is empty.
fn read_table<T>(
    input: impl Read,
    what: &str,
    wanted: &[&str],
    kept: &mut Vec<T>,
    unusable: &mut Vec<UnusableRow>,
    mut row: impl FnMut(&Row<'_>) -> std::result::Result<T, String>,
) -> Result<bool> {
    let mut header: Option<(usize, Vec<usize>)> = None;
    let mut index = 0;
    for_each_record(BufReader::new(input), |line, fields| {
        let Some((width, columns)) = &header else {
            let columns = wanted
                .iter()
                .map(|name| {
                    fields
                        .iter()
                        .position(|h| h == name)
                        .ok_or_else(|| Error::invalid(format!("{what}: the header has no `{name}` column")))
                })
                .collect::<Result<_>>()?;
            header = Some((fields.len(), columns));
            return Ok(());
        };
        let made = if fields.len() < *width {
            Err(format!("{} fields, the header has {width}", fields.len()))
        } else {
            row(&Row {
                line,
                index,
                fields,
                columns,
            })
        };
        index += 1;
        match made {
            Ok(t) => kept.push(t),
            Err(reason) => unusable.push(UnusableRow { line, reason }),
        }
        Ok(())
    })?;
    Ok(header.is_some())
}

/// Parses `Tue Oct 31 22:10:47 +0000 2017` (the twcs `created_at`).
fn twitter_time(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    // The usual form, single spaces between tokens of fixed width, is cut where it stands.
    let usual = b.len() == 30
        && b.iter().enumerate().all(|(i, &c)| {
            if matches!(i, 3 | 7 | 10 | 19 | 25) {
                c == b' '
            } else {
                c.is_ascii_graphic()
            }
        });
    let [_, month, day, time, offset, year] = if usual {
        [0..3, 4..7, 8..10, 11..19, 20..25, 26..30].map(|r| s.get(r).unwrap_or(""))
    } else {
        let mut parts = s.split_whitespace();
        let [Some(w), Some(m), Some(d), Some(t), Some(o), Some(y)] = [(); 6].map(|()| parts.next()) else {
            return None;
        };
        if parts.next().is_some() {
            return None;
        }
        [w, m, d, t, o, y]
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| *x == month)? + 1;
    let d: u32 = day.parse().ok()?;
    let [sign @ (b'+' | b'-'), h0, h1, m0, m1] = *offset.as_bytes() else {
        return None;
    };
    if d >= 100 {
        return None; // no date has a day of three digits
    }
    // As RFC 3339 (`YYYY-MM-DDTHH:MM:SS±HH:MM`), which `Timestamp` reads: put together on the
    // stack (the usual form takes 25 bytes), on the heap if some part is unusually long.
    let digit = |v: usize| b'0' + (v % 10) as u8;
    let d = d as usize;
    let date = [b'-', digit(m / 10), digit(m), b'-', digit(d / 10), digit(d), b'T'];
    let zone = [sign, h0, h1, b':', m0, m1];
    let parts: [&[u8]; 4] = [year.as_bytes(), &date, time.as_bytes(), &zone];
    let len = parts.iter().map(|p| p.len()).sum();
    let (mut stack, mut heap) = ([0; 32], Vec::new());
    let text = if len <= stack.len() {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        &mut heap[..]
    };
    let mut at = 0;
    for p in parts {
        text[at..at + p.len()].copy_from_slice(p);
        at += p.len();
    }
    Timestamp::parse_bytes(text).ok()
}

/// Reads the Twitter customer-support CSV (`twcs.csv` columns: index, `tweet_id`,
/// `author_id`, `inbound`, `created_at`, `text`, `response_tweet_id`,
/// `in_response_to_tweet_id`) into conversation events.
///
/// A conversation is a thread: a tweet that replies to nothing, and every tweet that replies
/// to it, transitively; its id is `t` + the first tweet's id. Customer tweets (`inbound` True)
/// are customer messages; brand tweets are agent messages whose `agent` is the brand's
/// `author_id`, so they are qualifying replies (R7). Each thread also gets, at its first
/// instant, an `attributes` event with channel `twitter` and `brand` = the first brand that
/// tweets in it. A thread a brand starts is proactive outreach (R12, R16). Rows with a bad
/// time or fields, and replies whose parent is not in the file (threads cut short), are
/// returned in [`Adapted::unusable`].
///
/// # Errors
/// Reading fails, or the input is not UTF-8 or lacks the twcs header.
///
/// # Example
/// ```
/// let csv = "\
/// ,tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id
/// 0,1,115712,True,Tue Oct 31 21:45:10 +0000 2017,\"@acme help, please\",2,
/// 1,2,acme,False,Tue Oct 31 21:55:10 +0000 2017,@115712 on it,,1.0
/// ";
/// let adapted = sla_metrics::twcs_events(csv.as_bytes())?;
/// assert_eq!(adapted.conversations, 1);
/// assert_eq!(adapted.events.len(), 3); // two tweets and the thread's attributes
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn twcs_events(input: impl Read) -> Result<Adapted> {
    struct Tweet {
        line: u64,
        id: u64,
        /// The brand's `author_id` for a brand tweet; empty for a customer's (never read).
        author: String,
        customer: bool,
        at: Timestamp,
        parent: Option<u64>,
    }
    /// A row as a tweet, or why it is not one.
    fn tweet(r: &Row<'_>) -> std::result::Result<Tweet, String> {
        let [id, author, inbound, at, parent] = [0, 1, 2, 3, 4].map(|k| r.get(k));
        let Ok(id) = id.parse::<u64>() else {
            return Err(format!("tweet_id `{id}` is not a number"));
        };
        let customer = match inbound {
            "True" => true,
            "False" => false,
            other => return Err(format!("inbound `{other}` is neither True nor False")),
        };
        let Some(at) = twitter_time(at) else {
            return Err(format!("created_at `{at}` is not a tweet time"));
        };
        let parent = match parent {
            "" => None,
            // Written as a float (`3.0`): its digits are read exactly when they are only that.
            p => Some(
                p.strip_suffix(".0")
                    .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))
                    .and_then(|d| d.parse::<u64>().ok())
                    .or_else(|| {
                        p.parse::<f64>()
                            .ok()
                            .filter(|v| *v >= 0.0 && v.fract() == 0.0)
                            .map(|v| v as u64)
                    })
                    .ok_or_else(|| format!("in_response_to_tweet_id `{p}` is not a tweet id"))?,
            ),
        };
        Ok(Tweet {
            line: r.line,
            id,
            author: if customer {
                String::new()
            } else {
                author.to_owned()
            },
            customer,
            at,
            parent,
        })
    }
    let mut adapted = Adapted::default();
    let mut tweets: Vec<Tweet> = Vec::new();
    let wanted = [
        "tweet_id",
        "author_id",
        "inbound",
        "created_at",
        "in_response_to_tweet_id",
    ];
    if !read_table(input, "twcs", &wanted, &mut tweets, &mut adapted.unusable, tweet)? {
        return Ok(Adapted::default());
    }
    // Each tweet's thread, by the position of the tweet that starts it: follow parents up to a
    // tweet that replies to nothing.
    let index: HashMap<u64, usize> = tweets.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    let mut root: Vec<Option<Result<usize, String>>> = vec![None; tweets.len()];
    let mut path = Vec::new();
    for i in 0..tweets.len() {
        path.clear();
        path.push(i);
        let found = loop {
            let last = *path.last().unwrap_or(&i);
            if let Some(known) = &root[last] {
                break known.clone();
            }
            match tweets[last].parent {
                None => break Ok(last),
                Some(p) => match index.get(&p) {
                    Some(&j) if !path.contains(&j) && path.len() < 10_000 => path.push(j),
                    Some(_) => break Err("reply chain loops".to_owned()),
                    None => break Err(format!("replies to tweet {p}, which is not in the file")),
                },
            }
        };
        for &k in &path {
            root[k] = Some(found.clone());
        }
    }
    drop(index);
    // (thread start, time, tweet id, position) for every tweet in a thread: sorted, the threads
    // in file order of their first tweets, each in time order (tweet id at equal times).
    let mut members: Vec<(usize, Timestamp, u64, usize)> = Vec::with_capacity(tweets.len());
    for (i, r) in root.into_iter().enumerate() {
        match r {
            Some(Ok(start)) => members.push((start, tweets[i].at, tweets[i].id, i)),
            Some(Err(reason)) => adapted.unusable.push(UnusableRow {
                line: tweets[i].line,
                reason,
            }),
            None => {}
        }
    }
    members.sort_unstable();
    // Per thread, in that order: its conversation id and its brand (the first to tweet in it).
    let mut threads: Vec<(Cow<'static, str>, Option<Cow<'static, str>>)> = Vec::new();
    // (time, thread, place in the thread, tweet) of every event: a thread's first tweet, then
    // the thread's attributes, then its other tweets. Sorted, the events are in time order and,
    // at equal times, in thread order and in their order within the thread.
    let mut order: Vec<(Timestamp, usize, usize, usize)> = Vec::with_capacity(members.len() * 5 / 4);
    for thread in members.chunk_by(|a, b| a.0 == b.0) {
        let Some(&(start, ..)) = thread.first() else {
            continue;
        };
        let brand = thread
            .iter()
            .map(|m| &tweets[m.3])
            .find(|t| !t.customer)
            .map(|t| Cow::Owned(t.author.clone()));
        let rank = threads.len();
        threads.push((Cow::Owned(format!("t{}", tweets[start].id)), brand));
        for (n, &(_, at, _, i)) in thread.iter().enumerate() {
            order.push((at, rank, if n == 0 { 0 } else { n + 1 }, i));
            if n == 0 {
                order.push((at, rank, 1, i));
            }
        }
    }
    drop(members);
    order.sort_unstable();
    adapted.conversations = threads.len();
    adapted.events = order
        .into_iter()
        .map(|(at, rank, place, i)| {
            let (conversation, brand) = &threads[rank];
            let t = &tweets[i];
            if place == 1 {
                let kind = EventKind::Attributes {
                    channel: Some("twitter".into()),
                    brand: brand.clone(),
                    tags: None,
                };
                Event::new(conversation.clone(), at, kind).with_id(format!("tw{}-attributes", t.id))
            } else if t.customer {
                Event::message(conversation.clone(), at, Author::Customer).with_id(format!("tw{}", t.id))
            } else {
                Event::message(conversation.clone(), at, Author::Agent)
                    .with_id(format!("tw{}", t.id))
                    .with_agent(t.author.clone())
            }
        })
        .collect();
    adapted.unusable.sort_by_key(|u| u.line);
    Ok(adapted)
}

/// The summaries that stand for customer-started threads: for each conversation id its first
/// instance (the earliest `created_at`), when a customer's message started it. This is the unit
/// the twcs data set's published figures count; a thread quiet for longer than the idle
/// timeout continues as a follow-up instance (R6, R39), which is left out.
///
/// # Example
/// ```
/// use sla_metrics::{twcs_events, twcs_threads, Config, Engine};
/// let csv = ",tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n\
///            0,1,115712,True,Tue Oct 31 21:45:10 +0000 2017,@acme help,2,\n\
///            1,2,acme,False,Tue Oct 31 21:55:10 +0000 2017,@115712 on it,,1.0\n";
/// let mut engine = Engine::new(Config::default())?;
/// engine.collect_summaries(true);
/// for e in &twcs_events(csv.as_bytes())?.events {
///     engine.ingest(e)?;
/// }
/// engine.finish();
/// let summaries: Vec<_> = engine.drain_summaries().collect();
/// let threads = twcs_threads(&summaries);
/// assert_eq!(threads[0].calendar.first_response_s, Some(600));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn twcs_threads(summaries: &[crate::Summary]) -> Vec<&crate::Summary> {
    let mut first: std::collections::BTreeMap<&str, &crate::Summary> = std::collections::BTreeMap::new();
    for s in summaries {
        let e = first.entry(&s.conversation).or_insert(s);
        if s.created_at < e.created_at {
            *e = s;
        }
    }
    first
        .into_values()
        .filter(|s| s.initiated_by == Some(Author::Customer))
        .collect()
}

/// Reads the helpdesk ticket event log (columns `Case ID`, `Activity`, `Resource`,
/// `Complete Timestamp` as `YYYY/M/D hh:mm:ss` in Europe/Rome local time) into events, one
/// conversation per case.
///
/// Mapping: a case's first row also opens the customer's request (a customer message at that
/// instant, so first response is measured from the case's creation, R8); `Take in charge
/// ticket` → an agent reply (agent = `Resource`), the first of which is the first response;
/// `Resolve ticket` → `solved`; `Wait` → `pending`; `Closed` → `closed`; every other activity
/// (`Assign seriousness`, `Require upgrade`, `Insert ticket`, `Create SW anomaly`, …) → an
/// internal note by the resource: an event of the case, never a reply (R7). Local times are
/// converted as R29 says (a time in a DST gap → the first instant after it, an ambiguous one →
/// the earlier instant). Rows of a case keep their file order at equal times.
///
/// # Errors
/// Reading fails, or the input is not UTF-8 or lacks one of those columns.
///
/// # Example
/// ```
/// let csv = "Case ID,Activity,Resource,Complete Timestamp\n\
///            Case 1,Assign seriousness,Value 1,2012/10/9 14:50:17\n\
///            Case 1,Take in charge ticket,Value 2,2012/10/9 15:50:17\n";
/// let adapted = sla_metrics::helpdesk_events(csv.as_bytes())?;
/// assert_eq!((adapted.conversations, adapted.events.len()), (1, 3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn helpdesk_events(input: impl Read) -> Result<Adapted> {
    use crate::{Status, Visibility};
    let rome: chrono_tz::Tz = chrono_tz::Europe::Rome;
    let mut adapted = Adapted::default();
    // (time, position, case, activity, resource) of every usable row.
    let mut rows: Vec<(Timestamp, usize, String, String, String)> = Vec::new();
    let wanted = ["Case ID", "Activity", "Resource", "Complete Timestamp"];
    let read = read_table(
        input,
        "helpdesk",
        &wanted,
        &mut rows,
        &mut adapted.unusable,
        |r| {
            let [case, activity, resource, time] = [0, 1, 2, 3].map(|k| r.get(k));
            let Some(at) = rome_time(&rome, time) else {
                return Err(format!("`{time}` is not a time (YYYY/M/D hh:mm:ss)"));
            };
            if case.is_empty() {
                return Err("empty Case ID".into());
            }
            Ok((
                at,
                r.index,
                case.to_owned(),
                activity.to_owned(),
                resource.to_owned(),
            ))
        },
    )?;
    if !read {
        return Ok(Adapted::default());
    }
    // Per case in time order (file order at equal times), then all cases merged by time.
    rows.sort_by(|a, b| (&a.2, a.0, a.1).cmp(&(&b.2, b.0, b.1)));
    let mut last_case: Option<String> = None;
    for (at, n, case, activity, resource) in rows {
        let conversation: Cow<'static, str> = Cow::Owned(case.clone());
        if last_case.as_deref() != Some(case.as_str()) {
            adapted.conversations += 1;
            adapted.events.push(
                Event::message(conversation.clone(), at, Author::Customer).with_id(format!("r{n}-open")),
            );
            last_case = Some(case);
        }
        let kind = match activity.as_str() {
            "Take in charge ticket" => EventKind::Message {
                author: Author::Agent,
                visibility: Visibility::Public,
                agent: Some(Cow::Owned(resource)),
                channel: None,
            },
            "Resolve ticket" => EventKind::Status(Status::Solved),
            "Wait" => EventKind::Status(Status::Pending),
            "Closed" => EventKind::Status(Status::Closed),
            _ => EventKind::Message {
                author: Author::Agent,
                visibility: Visibility::Internal,
                agent: Some(Cow::Owned(resource)),
                channel: None,
            },
        };
        adapted
            .events
            .push(Event::new(conversation, at, kind).with_id(format!("r{n}")));
    }
    adapted.events.sort_by_key(|e| e.at); // stable: a case keeps its order
    adapted.unusable.sort_by_key(|u| u.line);
    Ok(adapted)
}

/// `YYYY/M/D hh:mm:ss` in Europe/Rome to an instant (R29's rule for gaps and folds).
fn rome_time(tz: &chrono_tz::Tz, s: &str) -> Option<Timestamp> {
    use chrono::{LocalResult, NaiveDateTime, TimeZone};
    let ndt = NaiveDateTime::parse_from_str(s.trim(), "%Y/%m/%d %H:%M:%S").ok()?;
    match tz.from_local_datetime(&ndt) {
        LocalResult::Single(t) => Some(Timestamp::from_unix(t.timestamp())),
        LocalResult::Ambiguous(a, b) => Some(Timestamp::from_unix(a.timestamp().min(b.timestamp()))),
        LocalResult::None => (1..=180)
            .find_map(
                |m| match tz.from_local_datetime(&(ndt + chrono::Duration::minutes(m))) {
                    LocalResult::None => None,
                    r => r.earliest().map(|t| t.timestamp()),
                },
            )
            .map(|t| {
                // The first instant after the gap: the valid minute's instant minus what lies
                // beyond the gap's end (gaps end on whole minutes in the Rome zone).
                Timestamp::from_unix(t - (t.rem_euclid(60)))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every record of `text`, read in small pieces (as a slow reader hands them over).
    fn records(text: &str) -> Vec<(u64, Vec<String>)> {
        records_in_pieces(text, 3)
    }

    fn records_in_pieces(text: &str, piece: usize) -> Vec<(u64, Vec<String>)> {
        let mut out = Vec::new();
        let input = std::io::BufReader::with_capacity(piece, text.as_bytes());
        for_each_record(input, |line, fields| {
            out.push((line, fields.to_vec()));
            Ok(())
        })
        .expect("valid UTF-8");
        out
    }

    /// A byte-order mark before the header (spreadsheet exports) is skipped, there only.
    #[test]
    fn csv_skips_a_byte_order_mark() {
        let r = records("\u{feff}Case ID,b\n\u{feff}x,y\n");
        assert_eq!(r[0], (1, vec!["Case ID".into(), "b".into()]));
        assert_eq!(r[1], (2, vec!["\u{feff}x".into(), "y".into()]));
        let csv = "\u{feff}Case ID,Activity,Resource,Complete Timestamp\n\
                   Case 1,Assign seriousness,Value 1,2012/10/9 14:50:17\n";
        let adapted = helpdesk_events(csv.as_bytes()).expect("the header is found");
        assert_eq!((adapted.conversations, adapted.events.len()), (1, 2));
    }

    #[test]
    fn csv_quotes_newlines_and_bare_carriage_returns() {
        let text = "a,b,c\r\n1,\"x, \"\"y\"\"\nz\",3\n4,bare\rcr,6\n7,,";
        let r = records(text);
        assert_eq!(r.len(), 4);
        assert_eq!(r[0], (1, vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(r[1], (2, vec!["1".into(), "x, \"y\"\nz".into(), "3".into()]));
        assert_eq!(r[2], (4, vec!["4".into(), "bare\rcr".into(), "6".into()]));
        assert_eq!(r[3], (5, vec!["7".into(), "".into(), "".into()]));
    }

    #[test]
    fn r29_rome_times() {
        let tz = chrono_tz::Europe::Rome;
        assert_eq!(
            rome_time(&tz, "2012/10/9 14:50:17").map(|t| t.to_string()),
            Some("2012-10-09T12:50:17Z".into())
        );
        // 2012-03-25 02:30 does not exist in Rome: the first instant after the gap, 01:00Z.
        assert_eq!(
            rome_time(&tz, "2012/3/25 2:30:00").map(|t| t.to_string()),
            Some("2012-03-25T01:00:00Z".into())
        );
        // 2012-10-28 02:30 happens twice: the earlier, 00:30Z.
        assert_eq!(
            rome_time(&tz, "2012/10/28 2:30:00").map(|t| t.to_string()),
            Some("2012-10-28T00:30:00Z".into())
        );
        assert_eq!(rome_time(&tz, "yesterday"), None);
    }

    #[test]
    fn r1_tweet_times() {
        assert_eq!(
            twitter_time("Tue Oct 31 22:10:47 +0000 2017").map(|t| t.to_string()),
            Some("2017-10-31T22:10:47Z".into())
        );
        assert_eq!(
            twitter_time("Tue Oct 31 22:10:47 -0130 2017").map(|t| t.to_string()),
            Some("2017-10-31T23:40:47Z".into())
        );
        assert_eq!(twitter_time("Tue Foo 31 22:10:47 +0000 2017"), None);
        assert_eq!(twitter_time("yesterday"), None);
    }

    /// The reader as it first was, a char at a time over the whole text: the reference the
    /// streaming reader must agree with.
    fn reference_records(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut records = Vec::new();
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let (mut line, mut start) = (1u64, 1u64);
        let mut chars = text.chars().peekable();
        let mut any = false;
        while let Some(c) = chars.next() {
            any = true;
            match c {
                '"' if quoted => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                }
                '"' if field.is_empty() => quoted = true,
                '\n' if !quoted => {
                    if field.ends_with('\r') {
                        field.pop();
                    }
                    fields.push(std::mem::take(&mut field));
                    records.push((start, std::mem::take(&mut fields)));
                    line += 1;
                    start = line;
                    any = false;
                }
                ',' if !quoted => fields.push(std::mem::take(&mut field)),
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
        }
        if any {
            fields.push(field);
            records.push((start, fields));
        }
        records
    }

    /// `twitter_time` as it first was: split, put together with `format!`, read.
    fn reference_twitter_time(s: &str) -> Option<Timestamp> {
        let p: Vec<&str> = s.split_whitespace().collect();
        let [_, month, day, time, offset, year] = p.as_slice() else {
            return None;
        };
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let m = MONTHS.iter().position(|x| x == month)? + 1;
        let d: u32 = day.parse().ok()?;
        let sign = match offset.as_bytes().first()? {
            b'+' => '+',
            b'-' => '-',
            _ => return None,
        };
        let off = offset.as_bytes().get(1..)?;
        if off.len() != 4 {
            return None;
        }
        let mut text = format!("{year}-{m:02}-{d:02}T{time}{sign}").into_bytes();
        text.extend_from_slice(&off[..2]);
        text.push(b':');
        text.extend_from_slice(&off[2..]);
        Timestamp::parse_bytes(&text).ok()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        /// The streaming reader splits any text as the whole-text reader does, whatever pieces
        /// the input comes in: quotes, doubled quotes, commas, bare and paired carriage
        /// returns, line breaks inside and outside quotes, multi-byte characters.
        #[test]
        fn csv_reader_agrees_with_the_reference(
            parts in proptest::collection::vec(prop_oneof![
                Just("\""), Just("\"\""), Just(","), Just("\n"), Just("\r"), Just("\r\n"),
                Just("a"), Just("bc"), Just("é"), Just("日本"), Just(" "),
            ], 0..40),
            piece in 1usize..16,
        ) {
            let text: String = parts.concat();
            prop_assert_eq!(records_in_pieces(&text, piece), reference_records(&text));
        }
    }

    /// R1: `twitter_time` reads every text of a grid as the reference does: the usual form,
    /// other spacing and widths (its general path), bad months, days, times, offsets, years
    /// and characters, every combination.
    #[test]
    fn r1_tweet_times_agree_with_the_reference() {
        let wdays = ["Tue", "T e", "Tü", ""];
        let months = ["Oct", "Feb", "oct", "Oc"];
        let days = ["31", "1", "01", "+5", "100", "x"];
        let times = ["22:10:47", "22:10:47.5", "2:10:47", "24:00:00", "22:10:60"];
        let offsets = ["+0000", "-0130", "+2400", "0000", "+1é", "+00000"];
        let years = ["2017", "17", "20170", "0000"];
        let seps = [" ", "  ", "\t", "\u{a0}", "\u{b}"];
        let mut read = 0;
        for w in wdays {
            for m in months {
                for d in days {
                    for t in times {
                        for o in offsets {
                            for y in years {
                                for sep in seps {
                                    let s = [w, m, d, t, o, y].join(sep);
                                    let got = twitter_time(&s);
                                    assert_eq!(got, reference_twitter_time(&s), "{s:?}");
                                    read += usize::from(got.is_some());
                                }
                            }
                        }
                    }
                }
            }
        }
        // Readable: 2 weekdays (one token each) × 7 month-days (`Feb 31` is none; a day may
        // have a sign, as `u32` reads it) × 2 times (`24:00` and `:60` are none) × 2 offsets
        // (±23:59 at most) × 2 years × every separator.
        assert_eq!(read, 2 * 7 * 2 * 2 * 2 * 5);
    }
}
