//! Measures end-to-end throughput on generated data, single engine and sharded:
//!
//! ```text
//! cargo run --release --example throughput -- [CONVERSATIONS] [--write FILE.jsonl]
//! ```
//! 1. typed in-memory events through `Engine::ingest` and `Engine::ingest_many` (one core);
//! 2. JSON Lines from memory through `run_jsonl` (read + parse + ingest + report), 1 and 2 shards;
//! 3. the state per open conversation, from `Engine::memory`;
//! 4. the size and speed of a checkpoint of that state, and of restoring it.
//!
//! The rates of 1 and 2 are also given as multiples of the issue's yardstick, plain
//! serde_json parsing of the same lines alone (`common/yardstick.rs`), run once before each
//! round so that both see the machine of the same minute. The targets were set where the
//! yardstick's kind of parse ran at 5.5 M lines/s: 10 M/s typed is 1.82 times that, 2.5 M/s
//! end to end 0.45 times.
//!
//! `--write` also saves the JSON Lines so the SQL baseline can run on the same file.

#[path = "common/allocator.rs"]
mod allocator;
#[path = "common/yardstick.rs"]
mod yardstick;

use sla_metrics::{run_jsonl, Config, Engine, Event, Workload};
use std::borrow::Cow;
use std::time::Instant;

/// The events with their strings laid out contiguously, as a parser's buffer holds them, so the
/// measurement is of the engine rather than of where the generator's allocations landed.
fn compact<'a>(owned: &[Event<'static>], text: &'a mut String) -> Vec<Event<'a>> {
    let mut spans = Vec::with_capacity(owned.len());
    for e in owned {
        let a = text.len();
        text.push_str(&e.conversation);
        let b = text.len();
        text.push_str(e.id.as_deref().unwrap_or(""));
        spans.push((a, b, text.len(), e.id.is_some()));
    }
    let text: &'a str = text;
    owned
        .iter()
        .zip(spans)
        .map(|(e, (a, b, c, has_id))| Event {
            conversation: Cow::Borrowed(&text[a..b]),
            at: e.at,
            id: has_id.then(|| Cow::Borrowed(&text[b..c])),
            kind: e.kind.clone(),
        })
        .collect()
}

fn main() {
    let mut conversations = 300_000u64;
    let mut write = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--write" => write = args.next(),
            n => {
                conversations = n
                    .parse()
                    .expect("usage: throughput [CONVERSATIONS] [--write FILE]")
            }
        }
    }
    let workload = Workload::new(7, conversations);
    let t = Instant::now();
    let owned: Vec<_> = workload.events().collect();
    let mut text = String::new();
    let events = compact(&owned, &mut text);
    drop(owned);
    let mut data = Vec::with_capacity(events.len() * 140);
    workload.write_jsonl(&mut data).expect("write to memory");
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!(lines, events.len() as u64, "one line per event");
    println!(
        "generated {} events of {} conversations in {:.2} s; as JSON Lines {} MB, {:.0} bytes/line",
        events.len(),
        conversations,
        t.elapsed().as_secs_f64(),
        data.len() / 1_000_000,
        data.len() as f64 / lines as f64
    );
    // One run of the yardstick, in seconds.
    let time_yardstick = || {
        let t = Instant::now();
        assert_eq!(yardstick::serde_json_plain(&data), lines);
        t.elapsed().as_secs_f64()
    };

    // 1. Typed events, one core, best of 3: ingest, then finish (which finalizes everything);
    // one event at a time, then in one call (which loads 32 events' state at a time).
    let typed = |what: &str, ingest: &dyn Fn(&mut Engine)| {
        let mut best = (f64::MAX, 0.0);
        let mut yard = f64::MAX;
        for _ in 0..3 {
            yard = yard.min(time_yardstick());
            let mut engine = Engine::new(Config::default()).expect("default config");
            let t = Instant::now();
            ingest(&mut engine);
            let ingest = t.elapsed().as_secs_f64();
            let report = engine.finish();
            let total = t.elapsed().as_secs_f64();
            // Generated events are valid and in order; nothing is rejected.
            assert_eq!(report.rejected(), 0);
            if total < best.0 {
                best = (total, ingest);
            }
        }
        println!(
            "typed ingest, 1 core, {what}: {:.2} M events/s ({:.3} s), {:.2} M events/s with finish ({:.3} s)",
            events.len() as f64 / best.1 / 1e6,
            best.1,
            events.len() as f64 / best.0 / 1e6,
            best.0
        );
        beside("typed", best.1, yard, lines, 1.82);
    };
    typed("Engine::ingest", &|engine| {
        for e in &events {
            let _ = engine.ingest(e);
        }
    });
    typed("Engine::ingest_many", &|engine| {
        engine.ingest_many(&events, |_, _| {})
    });

    // 3. State per open conversation, sampled (untimed) as the stream goes.
    let mut engine = Engine::new(Config::default()).expect("default config");
    let mut peak = sla_metrics::Engine::new(Config::default())
        .expect("default config")
        .memory();
    let every = (events.len() / 64).clamp(1, 65_536);
    for (i, e) in events.iter().enumerate() {
        let _ = engine.ingest(e);
        if i % every == 0 {
            let m = engine.memory();
            if m.open_conversations > peak.open_conversations {
                peak = m;
            }
        }
    }
    println!(
        "state per open conversation: {:.0} bytes on average at {} open ({} bytes of table capacity besides)",
        peak.bytes_per_open_conversation(),
        peak.open_conversations,
        peak.table_bytes
    );

    // 4. Checkpoint and restore of that state (issue: robustness).
    let t = Instant::now();
    let saved = engine.checkpoint().expect("nothing pending");
    let checkpoint_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let restored = Engine::restore(Config::default(), &saved).expect("restores");
    println!(
        "checkpoint of {} open conversations: {} MB ({:.0} bytes each), written in {:.3} s, restored in {:.3} s",
        restored.open_conversations(),
        saved.len() / 1_000_000,
        saved.len() as f64 / restored.open_conversations().max(1) as f64,
        checkpoint_s,
        t.elapsed().as_secs_f64()
    );
    drop((engine, restored, saved));

    // 2. JSON Lines end to end.
    drop(events);
    drop(text);
    if let Some(path) = &write {
        std::fs::write(path, &data).expect("write file");
        println!("wrote {path}");
    }
    end_to_end("1 shard(s)", 1, || &data[..], Some(&time_yardstick));
    end_to_end("2 shard(s)", 2, || &data[..], None);
    // The same from the file, read as the SQL baseline reads it (best of 3, in one process).
    if let Some(path) = &write {
        drop(data);
        for shards in [1, 2] {
            let open = || std::fs::File::open(path).expect("open the written file");
            end_to_end(&format!("{shards} shard(s), from {path}"), shards, open, None);
        }
    }
}

/// Best of 3 runs of `run_jsonl` over `input()`, with the JSON report, each after one run of
/// `time_yardstick` (which returns its seconds) if there is one.
fn end_to_end<R: std::io::Read>(
    what: &str,
    shards: usize,
    input: impl Fn() -> R,
    time_yardstick: Option<&dyn Fn() -> f64>,
) {
    let mut best = f64::MAX;
    let mut yard = f64::MAX;
    let mut lines = 0;
    for _ in 0..3 {
        if let Some(time_yardstick) = time_yardstick {
            yard = yard.min(time_yardstick());
        }
        let t = Instant::now();
        let run = run_jsonl(input(), &Config::default(), shards, false).expect("run");
        let json = run.report.to_json_pretty();
        best = best.min(t.elapsed().as_secs_f64());
        assert!(json.len() > 100 && run.rejections.is_empty());
        lines = run.stats.lines;
    }
    println!(
        "JSON Lines end to end (read + parse + ingest + report), {what}: {:.2} M events/s ({best:.3} s)",
        lines as f64 / best / 1e6
    );
    if time_yardstick.is_some() {
        beside("end to end", best, yard, lines, 0.45);
    }
}

/// Prints a rate of `events` in `secs` as a multiple of the yardstick's over the same
/// events' lines in `yard_secs`, beside the multiple the target asks.
fn beside(what: &str, secs: f64, yard_secs: f64, events: u64, target: f64) {
    println!(
        "  beside it, the yardstick (plain serde_json parsing alone): {:.2} M lines/s; {what} is {:.2}× it (target {target}×)",
        events as f64 / yard_secs / 1e6,
        yard_secs / secs
    );
}
