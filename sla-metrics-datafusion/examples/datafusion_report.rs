//! The standard report with SQL on DataFusion: the same table as `sla_report`.
//!
//! ```text
//! cargo run --release -p sla-metrics-datafusion --example datafusion_report -- [FILE|DIR] \
//!     [--config CONFIG.json] [--json] [--by brand] [--partitions N] [--rejections]
//! ```
//!
//! FILE or DIR holds JSON Lines (SPEC §1) or Parquet files of the events columns; without one,
//! the demo data of `sla_report` (seed 42, 20,000 conversations) is written to a temporary file.
//! `--by brand` (or channel, priority, team, agent) also prints one report per value with
//! `GROUP BY`; `--rejections` lists every rejected line, like `sla_report` on stderr.
//! Exit status: 0, or 1 when lines were rejected, 2 on a usage or query error.

use datafusion::arrow::array::Array;
use datafusion::prelude::{SessionConfig, SessionContext};
use sla_metrics::{Config, Report, Workload};
use std::process::ExitCode;

fn usage(msg: &str) -> ExitCode {
    eprintln!("datafusion_report: {msg}");
    eprintln!("usage: datafusion_report [FILE|DIR] [--config FILE] [--json] [--by DIM] [--partitions N] [--rejections]");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut path, mut config_text, mut json, mut by, mut partitions, mut list) =
        (None, String::from("{}"), false, None, 2usize, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" => match args.next().map(std::fs::read_to_string) {
                Some(Ok(t)) => config_text = t,
                _ => return usage("--config needs a readable file"),
            },
            "--json" => json = true,
            "--rejections" => list = true,
            "--by" => by = args.next(),
            "--partitions" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => partitions = n,
                _ => return usage("--partitions needs a positive number"),
            },
            s if s.starts_with("--") => return usage(&format!("unknown option {s}")),
            s => path = Some(s.to_owned()),
        }
    }
    let config = match Config::from_json(&config_text) {
        Ok(c) => c,
        Err(e) => return usage(&format!("config: {e}")),
    };
    // The demo data's file, removed once the report is made.
    let mut demo_file = None;
    let path = match path {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let demo = Workload::new(42, 20_000);
            let p = std::env::temp_dir().join(format!("sla-metrics-demo-{}.jsonl", std::process::id()));
            let written = std::fs::File::create(&p).and_then(|f| {
                let mut w = std::io::BufWriter::new(f);
                demo.write_jsonl(&mut w)
            });
            if let Err(e) = written {
                return usage(&format!("demo data: {e}"));
            }
            if !json {
                println!(
                    "demo: {} synthetic conversations (seed 42); pass a JSON Lines file or directory\n",
                    demo.conversations
                );
            }
            demo_file = Some(p.clone());
            p
        }
    };
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions));
    let run = async {
        sla_metrics_datafusion::register(&ctx, &config_text)?;
        sla_metrics_datafusion::register_events(&ctx, "events", &path).await?;
        let (report, finish) = sla_metrics_datafusion::report(&ctx, "events", &config).await?;
        let mut segments = Vec::new();
        if let Some(dim) = &by {
            segments = by_segment(&ctx, dim, finish).await?;
        }
        if list {
            let rejected = ctx
                .sql(&sla_metrics_datafusion::query(
                    sla_metrics_datafusion::REJECTIONS_SQL,
                    "events",
                    finish,
                ))
                .await?
                .collect()
                .await?;
            eprintln!(
                "{}",
                datafusion::arrow::util::pretty::pretty_format_batches(&rejected)?
            );
        }
        Ok::<_, datafusion::error::DataFusionError>((report, segments))
    };
    let ran = run.await;
    if let Some(p) = demo_file {
        let _ = std::fs::remove_file(p); // a leftover temporary file is harmless
    }
    let (report, segments) = match ran {
        Ok(r) => r,
        Err(e) => return usage(&e.to_string()),
    };
    if json {
        println!("{}", report.to_json_pretty());
    } else {
        print!("{report}");
        for (name, r) in &segments {
            println!("\n== {} = {name}", by.as_deref().unwrap_or(""));
            print!("{r}");
        }
    }
    if report.rejected() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// One report per value of a segment dimension, with `GROUP BY`.
async fn by_segment(
    ctx: &SessionContext,
    dim: &str,
    finish: i64,
) -> datafusion::error::Result<Vec<(String, Report)>> {
    if !["channel", "brand", "priority", "team", "agent"].contains(&dim) {
        return Err(datafusion::error::DataFusionError::Plan(format!(
            "--by {dim}: not a segment dimension"
        )));
    }
    let sql = sla_metrics_datafusion::query(sla_metrics_datafusion::SEGMENT_SQL, "events", finish)
        .replace("{dim}", dim);
    let batches = ctx.sql(&sql).await?.collect().await?;
    let mut out = Vec::new();
    for b in &batches {
        let names =
            datafusion::arrow::compute::cast(b.column(0), &datafusion::arrow::datatypes::DataType::Utf8)?;
        let names = datafusion::common::cast::as_string_array(&names)?;
        let reports = datafusion::common::cast::as_binary_array(b.column(1))?;
        for i in 0..b.num_rows() {
            let name = if names.is_null(i) {
                sla_metrics::NO_VALUE
            } else {
                names.value(i)
            };
            let r = Report::from_bytes(reports.value(i))
                .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
            out.push((name.to_owned(), r));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
