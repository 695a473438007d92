//! Sharded runs (R36): JSON Lines partitioned by conversation id over N engines on N threads,
//! finished at the whole stream's finish instant (R38) and merged.

use crate::intern::FxHasher;
use crate::jsonl::{find_byte, line_end_noting, parse_line, without_bom, Batch, JsonlStats, Lines, Record};
use crate::{Config, Engine, Error, Report, Result, Summary};
use std::hash::Hasher;
use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

/// The result of [`run_jsonl`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Run {
    /// The merged report.
    pub report: Report,
    /// Per-conversation summaries (when asked for), ordered by shard then finalization.
    pub summaries: Vec<Summary>,
    /// Line counts.
    pub stats: JsonlStats,
    /// Every rejected line, in line order (R42).
    pub rejections: Vec<Error>,
}

/// Where a line goes.
enum Route {
    /// A watermark: every shard applies it; only shard 0 reports it if it is bad.
    Everyone,
    /// A conversation's event: the shard of its id.
    Shard(usize),
}

/// The value of the string field `key` (quoted) in a line without backslashes or nested
/// objects, where a quoted `key` followed by a colon can only be a top-level key. `None` if
/// absent or not a string (the shard's parse then judges the line).
fn string_field<'a>(line: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut from = 0;
    while let Some(pos) = find(&line[from..], key) {
        from += pos + key.len();
        let rest = line[from..].trim_ascii_start();
        let Some(value) = rest.strip_prefix(b":") else {
            continue; // a string value equal to the key's name
        };
        let value = value.trim_ascii_start().strip_prefix(b"\"")?;
        return find_byte(value, b'"').map(|end| &value[..end]);
    }
    None
}

/// The first occurrence of `needle` (non-empty) in `hay`. (`memchr::memmem::find` reads the
/// same, but builds a searcher on every call: 1.6 % more instructions on a 2-shard run.)
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(p) = find_byte(&hay[from..], first) {
        let at = from + p;
        if hay.len() - at >= needle.len() && hay[at..].iter().zip(needle).all(|(a, b)| a == b) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The shard of a line, or every shard for a watermark, decided as the engine's parse would
/// decide it while reading as little of the line as that allows. `has_w`, `has_backslash`:
/// whether the line has those bytes (found while looking for its end). A watermark's `type`
/// holds the bytes `watermark` or an escape, so most lines are known not to be one at once.
fn route(line: &[u8], shards: usize, has_w: bool, has_backslash: bool) -> Route {
    let maybe_watermark = has_backslash || (has_w && find(line, b"watermark").is_some());
    // Fast path: the id is the first field and has no escapes, as writers usually put it.
    const PREFIX: &[u8] = b"{\"conversation\":\"";
    if !maybe_watermark {
        if let Some(end) = line.strip_prefix(PREFIX).and_then(|rest| find_byte(rest, b'"')) {
            return Route::Shard(shard_of(&line[PREFIX.len()..PREFIX.len() + end], shards));
        }
    }
    // In a line without escapes or nested objects, a `"type"` or `"conversation"` followed by
    // a colon can only be a top-level key.
    let flat = !has_backslash && line.get(1..).is_some_and(|rest| find_byte(rest, b'{').is_none());
    if flat {
        if maybe_watermark && string_field(line, b"\"type\"") == Some(b"watermark") {
            return Route::Everyone;
        }
        return match string_field(line, b"\"conversation\"") {
            Some(id) => Route::Shard(shard_of(id, shards)),
            None => Route::Shard(0),
        };
    }
    // Escapes or nesting (rare): read the line as the engine will. A line that does not parse
    // goes to shard 0, which reports it.
    match parse_line(line) {
        Ok(Some(Record::Watermark(_))) => Route::Everyone,
        Ok(Some(Record::Event(e))) => Route::Shard(shard_of(e.conversation.as_bytes(), shards)),
        Ok(None) | Err(_) => Route::Shard(0),
    }
}

/// The shard of a conversation id (stable across runs and platforms).
fn shard_of(id: &[u8], shards: usize) -> usize {
    let mut h = FxHasher::default();
    h.write(id);
    // Mix the high bits in: FxHash's low bits are weak for short keys.
    let x = h.finish();
    ((x ^ (x >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize % shards
}

/// A chunk of input holding whole lines (the last chunk may end without a newline): text when
/// all of it is UTF-8 (checked once, by the reading thread), else bytes. Every worker sees every
/// chunk, in order, so each numbers the lines itself.
type Chunk = Arc<std::result::Result<String, Vec<u8>>>;

/// One shard: sees every line, routes it itself, applies its own and every watermark.
fn work(
    mut engine: Engine,
    shard: usize,
    shards: usize,
    rx: Receiver<Chunk>,
) -> (Engine, JsonlStats, Vec<Error>) {
    let mut stats = JsonlStats::default();
    let mut rejections = Vec::new();
    let mut line_no = 0u64;
    let mut reject = |e| rejections.push(e);
    for chunk in rx {
        let lines = match &*chunk {
            Ok(text) => Lines::text(text),
            Err(bytes) => Lines::new(bytes),
        };
        let bytes = lines.bytes();
        let mut start = 0;
        let mut batch = Batch::default();
        while start < bytes.len() {
            let (len, has_w, has_backslash) = line_end_noting(&bytes[start..], b'w', b'\\');
            let line = lines.at(start, start + len);
            start += len + 1;
            line_no += 1;
            let mine = match route(line.bytes(), shards, has_w, has_backslash) {
                Route::Everyone => {
                    if shard != 0 {
                        // A watermark copy: apply silently (after the lines before it); shard 0
                        // counts and reports it.
                        if let Ok(Some(Record::Watermark(t))) = line.parse(&mut Default::default()) {
                            engine.ingest_batch(batch.take(), &mut stats, &mut reject);
                            engine.advance_to(t);
                        }
                        continue;
                    }
                    true
                }
                Route::Shard(i) => i == shard,
            };
            if mine && batch.push(line_no, line) {
                engine.ingest_batch(batch.take(), &mut stats, &mut reject);
            }
        }
        engine.ingest_batch(batch.take(), &mut stats, &mut reject);
    }
    stats.lines = line_no;
    (engine, stats, rejections)
}

/// Reads JSON Lines and computes the report on `shards` engines in parallel, partitioned by
/// conversation id (R36). Every shard finishes at the whole stream's finish instant (R38), so
/// the result equals a single engine's for every count, sum and share; percentiles agree within
/// histogram precision. `shards == 1` runs on the calling thread. A byte-order mark at the
/// start of the input is skipped, as [`Engine::ingest_jsonl`] does.
///
/// # Errors
/// An invalid config, or a failure to read `input`. Bad lines are not errors: they are in
/// [`Run::rejections`] and the report.
///
/// # Example
/// ```
/// use sla_metrics::{run_jsonl, Config};
/// let input = br#"{"conversation":"a","at":"2024-04-02T10:00:00Z","type":"message","author":"customer"}
/// {"conversation":"b","at":"2024-04-02T10:00:00Z","type":"message","author":"customer"}
/// {"conversation":"a","at":"2024-04-02T10:20:00Z","type":"message","author":"agent"}
/// "#;
/// let one = run_jsonl(&input[..], &Config::default(), 1, false)?;
/// let two = run_jsonl(&input[..], &Config::default(), 2, false)?;
/// assert_eq!(one.report, two.report);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_jsonl<R: Read>(input: R, config: &Config, shards: usize, summaries: bool) -> Result<Run> {
    let shards = shards.max(1);
    let mut engines = (0..shards)
        .map(|_| {
            let mut e = Engine::new(config.clone())?;
            e.collect_summaries(summaries);
            Ok(e)
        })
        .collect::<Result<Vec<_>>>()?;
    let (mut engines, stats, mut rejections) = if shards == 1 {
        let mut engine = engines.pop().expect("one engine");
        let mut rejections = Vec::new();
        let stats = engine.ingest_jsonl(input, |e| rejections.push(e))?;
        (vec![engine], stats, rejections)
    } else {
        distribute(input, engines, shards)?
    };
    // R38: one finish instant for all shards.
    let fin = engines
        .iter()
        .map(|e| e.watermark().max(e.latest_event()))
        .max()
        .unwrap_or(crate::Timestamp::MIN);
    let finished: Vec<(Report, Vec<Summary>)> = std::thread::scope(|s| {
        let handles: Vec<_> = engines
            .iter_mut()
            .map(|e| {
                s.spawn(move || {
                    // The engines end here: no id memory is needed after the finish.
                    let r = e.finish_at_and_forget(fin);
                    (r, e.drain_summaries().collect::<Vec<_>>())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("shard finish panicked"))
            .collect()
    });
    let mut iter = finished.into_iter();
    let (mut report, mut all_summaries) = iter.next().expect("at least one shard");
    for (r, s) in iter {
        report.merge(&r)?;
        all_summaries.extend(s);
    }
    rejections.sort_by_key(|e| e.line());
    Ok(Run {
        report,
        summaries: all_summaries,
        stats,
        rejections,
    })
}

/// Reads the input in large chunks of whole lines and hands every chunk to every shard, which
/// routes each line by conversation id itself: no router thread, no per-line copying.
fn distribute<R: Read>(
    input: R,
    engines: Vec<Engine>,
    shards: usize,
) -> Result<(Vec<Engine>, JsonlStats, Vec<Error>)> {
    let mut input = without_bom(input)?;
    const CHUNK: usize = 1 << 20;
    let mut senders = Vec::with_capacity(shards);
    let mut handles = Vec::with_capacity(shards);
    for (i, engine) in engines.into_iter().enumerate() {
        let (tx, rx) = sync_channel::<Chunk>(8);
        senders.push(tx);
        handles.push(std::thread::spawn(move || work(engine, i, shards, rx)));
    }
    let mut carry: Vec<u8> = Vec::new();
    let mut read_error = None;
    loop {
        let mut buf = Vec::with_capacity(CHUNK.max(carry.len() * 2));
        buf.append(&mut carry);
        let start_len = buf.len();
        buf.resize(buf.capacity(), 0);
        let n = loop {
            match input.read(&mut buf[start_len..]) {
                Ok(n) => break Some(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    read_error = Some(Error::io(e));
                    break None;
                }
            }
        };
        // As on one shard, a read error ends the input without applying the partial line read
        // so far; it is numbered below, once the workers have counted the lines before it.
        let Some(n) = n else { break };
        let eof = n == 0;
        buf.truncate(start_len + n);
        if !eof {
            // Keep the partial last line for the next chunk.
            match buf.iter().rposition(|&b| b == b'\n') {
                Some(p) => {
                    carry.extend_from_slice(&buf[p + 1..]);
                    buf.truncate(p + 1);
                }
                None => {
                    carry = buf;
                    continue;
                }
            }
        }
        if !buf.is_empty() {
            let chunk = Arc::new(String::from_utf8(buf).map_err(|e| e.into_bytes()));
            for tx in &senders {
                // A worker only stops early by panicking, which join reports below.
                let _ = tx.send(Arc::clone(&chunk));
            }
        }
        if eof {
            break;
        }
    }
    drop(senders);
    let mut engines = Vec::with_capacity(shards);
    let mut stats = JsonlStats::default();
    let mut rejections = Vec::new();
    for h in handles {
        let (e, s, r) = h.join().expect("shard worker panicked");
        engines.push(e);
        stats.lines = s.lines; // every worker counted every line
        stats.events += s.events;
        stats.watermarks += s.watermarks;
        stats.rejected += s.rejected;
        rejections.extend(r);
    }
    match read_error {
        Some(e) => Err(e.with_line(stats.lines + 1)),
        None => Ok((engines, stats, rejections)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte_agrees_with_a_plain_search() {
        // Every length up to three words, every position, bytes either side of the pattern.
        for len in 0..24 {
            for at in 0..=len {
                for (byte, fill) in [(b'w', b'v'), (b'\n', 0x0b), (0x80, 0x7f), (0xff, 0x00)] {
                    let mut hay = vec![fill; len];
                    if at < len {
                        hay[at] = byte;
                        hay[len - 1] = byte;
                    }
                    let expected = hay.iter().position(|&b| b == byte);
                    assert_eq!(crate::jsonl::find_byte(&hay, byte), expected, "{hay:?}");
                }
            }
        }
        assert_eq!(find(b"a watermark", b"watermark"), Some(2));
        // The line end and whether a `w` and a `\\` come before it, against a plain search:
        // every length up to three words, a newline, a `w` and a `\\` at every position,
        // other bytes next to all three in value.
        for len in 0..24 {
            for nl in 0..=len {
                for (w, bs) in (0..=len).map(|w| (w, (w * 7 + nl) % (len + 1))) {
                    for fill in [b'v', b'x', 0x09, 0x0b, b'[', b']', 0x00, 0xff] {
                        let mut hay = vec![fill; len];
                        if bs < len {
                            hay[bs] = b'\\';
                        }
                        if w < len {
                            hay[w] = b'w';
                        }
                        if nl < len {
                            hay[nl] = b'\n';
                            hay[len - 1] = b'\n';
                        }
                        let end = hay.iter().position(|&b| b == b'\n').unwrap_or(len);
                        let expected = (end, hay[..end].contains(&b'w'), hay[..end].contains(&b'\\'));
                        assert_eq!(line_end_noting(&hay, b'w', b'\\'), expected, "{hay:?}");
                    }
                }
            }
        }
        assert_eq!(find(b"waterwatermar", b"watermark"), None);
    }

    /// R36, R42: a failing reader is an error naming the line being read, the same on any
    /// number of shards; the lines before it were applied, the partial line was not.
    #[test]
    fn r36_a_read_error_names_the_same_line_on_every_shard_count() {
        /// Hands out its bytes, then fails.
        struct Failing(&'static [u8]);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() {
                    return Err(std::io::Error::other("disk gone"));
                }
                let n = buf.len().min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let first: &[u8] =
            br#"{"conversation":"a","at":"2024-04-02T10:00:00Z","type":"message","author":"customer"}
{"conversation":"b","at":"2024-04-02T10:00:00Z","type":"message","author":"customer"}
{"conversation":"a","at":"2024-"#;
        for shards in [1, 2, 3] {
            let err = run_jsonl(Failing(first), &Config::default(), shards, false).unwrap_err();
            assert_eq!(err.line(), Some(3), "{shards} shards: {err}");
            assert!(err.to_string().contains("disk gone"), "{err}");
        }
    }

    #[test]
    fn r36_routing_reads_ids_like_the_parser() {
        let id = |l: &'static [u8]| string_field(l, b"\"conversation\"");
        assert_eq!(id(br#"{"conversation":"c1","at":"x"}"#), Some(&b"c1"[..]));
        assert_eq!(
            id(br#"{"x":"conversation","conversation" : "c2"}"#),
            Some(&b"c2"[..])
        );
        assert_eq!(id(br#"{"conversation":5}"#), None);
        let route = |l: &[u8]| {
            let (_, w, bs) = line_end_noting(l, b'w', b'\\');
            match route(l, 7, w, bs) {
                Route::Everyone => None,
                Route::Shard(s) => Some(s),
            }
        };
        assert_eq!(
            route(br#"{"type":"watermark","at":"2024-04-02T10:00:00Z","conversation":"c"}"#),
            None
        );
        assert_eq!(
            route(br#"{"type":"\u0077atermark","at":"2024-04-02T10:00:00Z"}"#),
            None
        );
        // The fast path, the flat path and the parse agree; decoys in nested objects or
        // strings do not mislead them.
        let abc = route(br#"{"conversation":"abc","type":"message"}"#);
        assert_eq!(abc, Some(shard_of(b"abc", 7)));
        for line in [
            &br#"{"type":"message", "conversation" : "abc"}"#[..],
            br#"{"type":"message","conversation":"a\u0062c"}"#,
            br#"{"meta":{"conversation":"decoy","type":"watermark"},"conversation":"abc","type":"message"}"#,
            br#"{"note":"\"conversation\":\"decoy\"","conversation":"abc","type":"message"}"#,
            br#"{"conversation":"abc","type":"message","note":"watermark"}"#,
        ] {
            assert_eq!(route(line), abc, "{}", String::from_utf8_lossy(line));
        }
    }
}
