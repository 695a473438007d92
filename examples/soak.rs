//! A soak run: streams many conversations through one engine with the watermark advancing and
//! prints the open state and the process's resident memory as it goes (R39, R40).
//!
//! ```text
//! cargo run --release --example soak -- [CONVERSATIONS]   # default 10 000 000
//! ```
//! Memory should rise while the first reopen window (28 days of traffic) fills, then stay flat.

use sla_metrics::{Config, Engine, Workload};
use std::time::Instant;

/// Resident and peak resident memory in MiB, from /proc (Linux); zeros elsewhere.
fn rss_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    let conversations: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let workload = Workload::new(11, conversations);
    let mut engine = Engine::new(Config::default()).expect("default config");
    let t = Instant::now();
    let mut events = 0u64;
    let mut last_day = i64::MIN;
    for e in workload.events() {
        // The watermark follows the stream, one hour behind.
        let hour = e.at.as_unix() / 3600;
        if hour != last_day {
            engine.advance_to(sla_metrics::Timestamp::from_unix(hour * 3600 - 3600));
            if hour % (24 * 7) == 0 {
                let m = engine.memory();
                let (rss, peak) = rss_mib();
                println!(
                    "{}  events {:>11}  open {:>9}  id memories {:>9}  finalized {:>10}  state {:>5} MiB ({:>5.1} B/open)  tables {:>5} MiB  rss {:>6} MiB  peak {:>6} MiB",
                    e.at,
                    events,
                    m.open_conversations,
                    m.id_memories,
                    engine.report().conversations().total,
                    m.open_state_bytes >> 20,
                    m.bytes_per_open_conversation(),
                    m.table_bytes >> 20,
                    rss,
                    peak
                );
            }
            last_day = hour;
        }
        let _ = engine.ingest(&e);
        events += 1;
    }
    let report = engine.finish();
    let (rss, peak) = rss_mib();
    println!(
        "done: {events} events, {} conversations in {:.1} s; rss {rss} MiB, peak {peak} MiB",
        report.conversations().total,
        t.elapsed().as_secs_f64()
    );
}
