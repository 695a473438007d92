//! Measures end-to-end throughput on generated data, single engine and sharded:
//!
//! ```text
//! cargo run --release --example throughput -- [CONVERSATIONS] [--write FILE.jsonl]
//! ```
//! 1. typed in-memory events through `Engine::ingest` (one core);
//! 2. JSON Lines from memory through `run_jsonl` (read + parse + ingest + report), 1 and 2 shards;
//! 3. the state per open conversation, from `Engine::memory`.
//!
//! `--write` also saves the JSON Lines so the SQL baseline can run on the same file.

use sla_metrics::{run_jsonl, Config, Engine, Workload};
use std::time::Instant;

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
    let events: Vec<_> = workload.events().collect();
    println!(
        "generated {} events of {} conversations in {:.2} s",
        events.len(),
        conversations,
        t.elapsed().as_secs_f64()
    );

    // 1. Typed events, one core, best of 3.
    let mut best = f64::MAX;
    let mut peak_open = 0;
    let mut per_open = 0.0;
    for _ in 0..3 {
        let mut engine = Engine::new(Config::default()).expect("default config");
        let t = Instant::now();
        for (i, e) in events.iter().enumerate() {
            // Generated events are valid and in order; nothing is rejected.
            let _ = engine.ingest(e);
            if i % 65_536 == 0 {
                let m = engine.memory();
                if m.open_conversations > peak_open {
                    peak_open = m.open_conversations;
                    per_open = m.bytes_per_open_conversation();
                }
            }
        }
        let report = engine.finish();
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(report.rejected(), 0);
    }
    println!(
        "typed ingest + finish, 1 core: {:.2} M events/s ({:.3} s)",
        events.len() as f64 / best / 1e6,
        best
    );
    println!("state per open conversation: {per_open:.0} bytes (at {peak_open} open)");

    // 2. JSON Lines end to end.
    let mut data = Vec::with_capacity(events.len() * 140);
    workload.write_jsonl(&mut data).expect("write to memory");
    drop(events);
    println!(
        "JSON Lines: {} MB, {:.0} bytes/line",
        data.len() / 1_000_000,
        data.len() as f64 / data.iter().filter(|&&b| b == b'\n').count() as f64
    );
    if let Some(path) = write {
        std::fs::write(&path, &data).expect("write file");
        println!("wrote {path}");
    }
    for shards in [1, 2] {
        let mut best = f64::MAX;
        let mut lines = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let run = run_jsonl(&data[..], &Config::default(), shards, false).expect("run");
            let json = run.report.to_json_pretty();
            best = best.min(t.elapsed().as_secs_f64());
            assert!(json.len() > 100 && run.rejections.is_empty());
            lines = run.stats.lines;
        }
        println!(
            "JSON Lines end to end (read + parse + ingest + report), {shards} shard(s): {:.2} M events/s ({:.3} s)",
            lines as f64 / best / 1e6,
            best
        );
    }
}
