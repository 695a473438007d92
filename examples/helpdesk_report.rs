//! The SLA report on a helpdesk ticket event log (`Case ID`, `Activity`, `Resource`,
//! `Complete Timestamp`, …; times local to Europe/Rome):
//!
//! ```text
//! cargo run --release --example helpdesk_report -- [helpdesk.csv]
//! ```
//! Without a file it reads a small synthetic sample in the same format
//! (`examples/data/helpdesk_sample.csv`). The activity mapping is documented on
//! `sla_metrics::helpdesk_events`.

#[path = "common/progress.rs"]
mod progress;

use sla_metrics::{helpdesk_events, Config, Engine};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/helpdesk_sample.csv").to_owned()
    });
    let adapted = helpdesk_events(progress::Progress::new(std::fs::File::open(&path)?, "lines"))?;
    for u in &adapted.unusable {
        eprintln!("{path}: line {}: not used: {}", u.line, u.reason);
    }
    let rows = adapted.events.len() - adapted.conversations;
    println!(
        "{path}: {} cases, {rows} event rows used, {} not used\n",
        adapted.conversations,
        adapted.unusable.len()
    );
    let mut engine = Engine::new(Config::default())?;
    for e in &adapted.events {
        engine.ingest(e)?;
    }
    print!("{}", engine.finish());
    Ok(())
}
