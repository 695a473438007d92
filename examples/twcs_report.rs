//! First response on Twitter customer-support threads (the `twcs.csv` format), overall and per
//! brand:
//!
//! ```text
//! cargo run --release --example twcs_report -- [twcs.csv]
//! ```
//! Without a file it reads a small synthetic sample in the same format
//! (`examples/data/twcs_sample.csv`).
//!
//! A thread is counted once, by the conversation instance its first tweet starts; its first
//! response is SPEC R9's (oldest unanswered customer tweet to the first brand tweet). Shares
//! are over ALL customer-started threads (an unanswered thread is not answered in time), as
//! the data set's published figures are; the report's own `within` shares count answered
//! conversations only. A thread quiet for longer than the idle timeout continues as a
//! follow-up instance (R6, R39) and is not part of its thread's first response.

#[path = "common/progress.rs"]
mod progress;

use sla_metrics::{twcs_events, Config, Engine, EventKind, Summary};
use std::collections::BTreeMap;

/// The figures of one table row, from the threads' first-instance summaries.
fn row(name: &str, threads: &[&Summary]) {
    let mut frt: Vec<i64> = threads
        .iter()
        .filter_map(|s| s.calendar.first_response_s)
        .collect();
    frt.sort_unstable();
    let n = threads.len().max(1) as f64;
    let within = |t: i64| {
        format!(
            "{:.1}%",
            100.0 * frt.iter().filter(|&&x| x <= t).count() as f64 / n
        )
    };
    // Nearest rank: the smallest value with at least p of the samples at or below it.
    let q = |p: f64| match frt.len() {
        0 => "-".to_owned(),
        n => format!(
            "{:.1}",
            frt[((n as f64 * p).ceil() as usize).max(1) - 1] as f64 / 60.0
        ),
    };
    println!(
        "{:<20} {:>8} {:>10} {:>10} {:>9} {:>9} {:>9}",
        name,
        threads.len(),
        q(0.5),
        q(0.9),
        within(3600),
        within(86_400),
        format!("{:.1}%", 100.0 * frt.len() as f64 / n)
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/twcs_sample.csv").to_owned());
    let adapted = twcs_events(progress::Progress::new(std::fs::File::open(&path)?, "lines"))?;
    for u in adapted.unusable.iter().take(5) {
        eprintln!("{path}: line {}: not used: {}", u.line, u.reason);
    }
    if !adapted.unusable.is_empty() {
        eprintln!("{path}: {} rows not used in all", adapted.unusable.len());
    }
    let mut brand: BTreeMap<String, String> = BTreeMap::new();
    for e in &adapted.events {
        if let EventKind::Attributes { brand: Some(b), .. } = &e.kind {
            brand.insert(e.conversation.to_string(), b.to_string());
        }
    }
    let mut engine = Engine::new(Config::default())?;
    engine.collect_summaries(true);
    for e in &adapted.events {
        engine.ingest(e)?;
    }
    let report = engine.finish();
    let summaries: Vec<Summary> = engine.drain_summaries().collect();
    // Each thread's first instance: the earliest summary of its id, if a customer started it.
    let threads = sla_metrics::twcs_threads(&summaries);
    println!(
        "{path}: {} events from {} threads ({} started by a customer), {} conversation instances\n",
        adapted.events.len(),
        adapted.conversations,
        threads.len(),
        report.conversations().total
    );
    println!(
        "{:<20} {:>8} {:>10} {:>10} {:>9} {:>9} {:>9}",
        "brand", "threads", "p50 (min)", "p90 (min)", "<= 1 h", "<= 24 h", "answered"
    );
    row("all", &threads);
    let mut by_brand: BTreeMap<&str, Vec<&Summary>> = BTreeMap::new();
    for s in &threads {
        by_brand
            .entry(brand.get(&s.conversation).map_or("(no reply)", String::as_str))
            .or_default()
            .push(s);
    }
    for (name, list) in by_brand {
        row(name, &list);
    }
    Ok(())
}
