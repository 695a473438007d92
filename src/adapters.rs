//! Adapters from real exports to events: the Twitter customer-support CSV (`twcs`) and the
//! helpdesk ticket event log.
//!
//! Each adapter returns the events in time order and every row it could not use, with its line
//! number and the reason: nothing is dropped silently (R42).

use crate::{Author, Error, Event, EventKind, Result, Timestamp};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;

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

/// Splits CSV text into records (RFC 4180): quoted fields may hold commas, doubled quotes and
/// line breaks; only `\n` ends a record (a bare `\r` inside a field is data), and a `\r` just
/// before `\n` is dropped. Returns `(line where the record starts, fields)`.
pub(crate) fn csv_records(text: &str) -> Vec<(u64, Vec<String>)> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1u64;
    let mut start = 1u64;
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

/// A CSV export: its rows after the header, the header's width, and where the wanted columns are.
struct Table {
    records: Vec<(u64, Vec<String>)>,
    width: usize,
    columns: Vec<usize>,
}

impl Table {
    /// Reads a whole CSV export; `None` when it is empty.
    fn read(mut input: impl Read, what: &str, wanted: &[&str]) -> Result<Option<Table>> {
        let mut text = String::new();
        input.read_to_string(&mut text).map_err(Error::io)?;
        let mut records = csv_records(&text);
        if records.is_empty() {
            return Ok(None);
        }
        let (_, header) = records.remove(0);
        let columns = wanted
            .iter()
            .map(|name| {
                header
                    .iter()
                    .position(|h| h == name)
                    .ok_or_else(|| Error::invalid(format!("{what}: the header has no `{name}` column")))
            })
            .collect::<Result<_>>()?;
        Ok(Some(Table {
            records,
            width: header.len(),
            columns,
        }))
    }
}

/// Parses `Tue Oct 31 22:10:47 +0000 2017` (the twcs `created_at`).
fn twitter_time(s: &str) -> Option<Timestamp> {
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
        b'+' => "+",
        b'-' => "-",
        _ => return None,
    };
    let off = offset.get(1..)?;
    if off.len() != 4 {
        return None;
    }
    let text = format!("{year}-{m:02}-{d:02}T{time}{sign}{}:{}", &off[..2], &off[2..]);
    Timestamp::parse(&text).ok()
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
    let Some(table) = Table::read(
        input,
        "twcs",
        &[
            "tweet_id",
            "author_id",
            "inbound",
            "created_at",
            "in_response_to_tweet_id",
        ],
    )?
    else {
        return Ok(Adapted::default());
    };
    let [c_id, c_author, c_inbound, c_at, c_parent] = table.columns[..] else {
        unreachable!()
    };
    let (records, width) = (&table.records, table.width);
    struct Tweet {
        line: u64,
        id: u64,
        author: String,
        customer: bool,
        at: Timestamp,
        parent: Option<u64>,
    }
    let mut adapted = Adapted::default();
    let mut tweets: Vec<Tweet> = Vec::new();
    for (line, r) in records {
        let get = |i: usize| r.get(i).map(String::as_str).unwrap_or("");
        let bad = |reason: String| UnusableRow { line: *line, reason };
        if r.len() < width {
            adapted
                .unusable
                .push(bad(format!("{} fields, the header has {width}", r.len())));
            continue;
        }
        let Ok(id) = get(c_id).parse::<u64>() else {
            adapted
                .unusable
                .push(bad(format!("tweet_id `{}` is not a number", get(c_id))));
            continue;
        };
        let customer = match get(c_inbound) {
            "True" => true,
            "False" => false,
            other => {
                adapted
                    .unusable
                    .push(bad(format!("inbound `{other}` is neither True nor False")));
                continue;
            }
        };
        let Some(at) = twitter_time(get(c_at)) else {
            adapted
                .unusable
                .push(bad(format!("created_at `{}` is not a tweet time", get(c_at))));
            continue;
        };
        let parent = match get(c_parent) {
            "" => None,
            p => match p.parse::<f64>() {
                Ok(v) if v >= 0.0 && v.fract() == 0.0 => Some(v as u64),
                _ => {
                    adapted
                        .unusable
                        .push(bad(format!("in_response_to_tweet_id `{p}` is not a tweet id")));
                    continue;
                }
            },
        };
        tweets.push(Tweet {
            line: *line,
            id,
            author: get(c_author).to_owned(),
            customer,
            at,
            parent,
        });
    }
    // Each tweet's thread: follow parents up to a tweet that replies to nothing.
    let index: HashMap<u64, usize> = tweets.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    let mut root: Vec<Option<Result<usize, String>>> = vec![None; tweets.len()];
    for i in 0..tweets.len() {
        let mut path = vec![i];
        let found = loop {
            let t = &tweets[*path.last().unwrap_or(&i)];
            if let Some(known) = &root[*path.last().unwrap_or(&i)] {
                break known.clone();
            }
            match t.parent {
                None => break Ok(*path.last().unwrap_or(&i)),
                Some(p) => match index.get(&p) {
                    Some(&j) if !path.contains(&j) && path.len() < 10_000 => path.push(j),
                    Some(_) => break Err("reply chain loops".to_owned()),
                    None => break Err(format!("replies to tweet {p}, which is not in the file")),
                },
            }
        };
        for k in path {
            root[k] = Some(found.clone());
        }
    }
    let mut threads: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, r) in root.iter().enumerate() {
        match r {
            Some(Ok(start)) => threads.entry(*start).or_default().push(i),
            Some(Err(reason)) => adapted.unusable.push(UnusableRow {
                line: tweets[i].line,
                reason: reason.clone(),
            }),
            None => {}
        }
    }
    adapted.conversations = threads.len();
    let mut starts: Vec<usize> = threads.keys().copied().collect();
    starts.sort_unstable();
    for start in starts {
        let mut members = threads.remove(&start).unwrap_or_default();
        members.sort_by_key(|&i| (tweets[i].at, tweets[i].id));
        let conversation: Cow<'static, str> = Cow::Owned(format!("t{}", tweets[start].id));
        let brand = members
            .iter()
            .map(|&i| &tweets[i])
            .find(|t| !t.customer)
            .map(|t| t.author.clone());
        for (n, &i) in members.iter().enumerate() {
            let t = &tweets[i];
            let mut e = Event::message(
                conversation.clone(),
                t.at,
                if t.customer {
                    Author::Customer
                } else {
                    Author::Agent
                },
            )
            .with_id(format!("tw{}", t.id));
            if !t.customer {
                e = e.with_agent(t.author.clone());
            }
            adapted.events.push(e);
            if n == 0 {
                adapted.events.push(
                    Event::new(
                        conversation.clone(),
                        t.at,
                        EventKind::Attributes {
                            channel: Some("twitter".into()),
                            brand: brand.clone().map(Cow::Owned),
                            tags: None,
                        },
                    )
                    .with_id(format!("tw{}-attributes", t.id)),
                );
            }
        }
    }
    // Stable: events of one conversation keep their order.
    adapted.events.sort_by_key(|e| e.at);
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
    let Some(table) = Table::read(
        input,
        "helpdesk",
        &["Case ID", "Activity", "Resource", "Complete Timestamp"],
    )?
    else {
        return Ok(Adapted::default());
    };
    let [c_case, c_activity, c_resource, c_time] = table.columns[..] else {
        unreachable!()
    };
    let rome: chrono_tz::Tz = chrono_tz::Europe::Rome;
    let mut adapted = Adapted::default();
    let mut rows: Vec<(Timestamp, usize, String, String, String)> = Vec::new();
    for (n, (line, r)) in table.records.iter().enumerate() {
        let get = |i: usize| r.get(i).map(String::as_str).unwrap_or("");
        if r.len() < table.width {
            adapted.unusable.push(UnusableRow {
                line: *line,
                reason: format!("{} fields, the header has {}", r.len(), table.width),
            });
            continue;
        }
        let Some(at) = rome_time(&rome, get(c_time)) else {
            adapted.unusable.push(UnusableRow {
                line: *line,
                reason: format!("`{}` is not a time (YYYY/M/D hh:mm:ss)", get(c_time)),
            });
            continue;
        };
        if get(c_case).is_empty() {
            adapted.unusable.push(UnusableRow {
                line: *line,
                reason: "empty Case ID".into(),
            });
            continue;
        }
        rows.push((
            at,
            n,
            get(c_case).to_owned(),
            get(c_activity).to_owned(),
            get(c_resource).to_owned(),
        ));
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

    #[test]
    fn csv_quotes_newlines_and_bare_carriage_returns() {
        let text = "a,b,c\r\n1,\"x, \"\"y\"\"\nz\",3\n4,bare\rcr,6\n7,,";
        let r = csv_records(text);
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
}
