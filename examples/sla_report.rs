//! The SLA report command line of SPEC §12.
//!
//! ```text
//! cargo run --release --example sla_report -- [FILE.jsonl|-] [--config CONFIG.json] [--json]
//!     [--summaries] [--shards N] [--by DIM,DIM...] [--tz ZONE] [--svg FILE.svg]
//!     [--fail-under PATH=MIN]...
//! ```
//! Without a file it reports on built-in synthetic demo data. Rejected lines go to stderr with
//! their line number and reason. On a terminal, progress (lines, rate) shows on stderr.
//!
//! `--by` breaks the report down by segments and cohorts (R35: channel, priority, team, agent,
//! brand, policy, day, week, month; it replaces the config's `segments.by`), `--tz` sets the
//! cohorts' time zone, and `--svg` writes charts: the first-response distribution, the what-if
//! compliance curve with 1 h and 24 h marked, and compliance per segment of the first `--by`.
//!
//! `--fail-under PATH=MIN` (repeatable) is a CI gate: PATH is a dotted path into the `--json`
//! report (`first_response.within.3600`, `fcr.rate`) or `sla.POLICY.METRIC.THRESHOLD` for a
//! target's compliance; every target below MIN (or without a value) is named on stderr.
//!
//! Exit status: 0 all good; 1 some line was rejected (the report is still printed); 2 a
//! `--fail-under` target fell short (takes precedence over 1); 3 a usage, config or input error.

#[path = "common/allocator.rs"]
mod allocator;
#[path = "common/progress.rs"]
mod progress;

use sla_metrics::{run_jsonl, ChartData, Config, Dimension, Workload};
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: sla_report [FILE.jsonl|-] [--config CONFIG.json] [--json] [--summaries] \
                     [--shards N] [--by DIM,DIM...] [--tz ZONE] [--svg FILE.svg] [--fail-under PATH=MIN]...";

/// Exit status for a usage, config or input error.
const USAGE_ERROR: u8 = 3;
/// Exit status when a `--fail-under` target fell short.
const GATE_FAILED: u8 = 2;

struct Args {
    file: Option<String>,
    config: Option<String>,
    json: bool,
    summaries: bool,
    shards: usize,
    by: Option<Vec<Dimension>>,
    tz: Option<String>,
    svg: Option<String>,
    gates: Vec<(String, f64)>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        file: None,
        config: None,
        json: false,
        summaries: false,
        shards: 1,
        by: None,
        tz: None,
        svg: None,
        gates: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" => args.config = Some(it.next().ok_or("--config needs a file")?),
            "--json" => args.json = true,
            "--summaries" => args.summaries = true,
            "--shards" => {
                let n = it.next().ok_or("--shards needs a number")?;
                args.shards = n
                    .parse()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or(format!("--shards: not a positive number: {n}"))?;
            }
            "--by" => {
                let list = it.next().ok_or("--by needs dimensions, e.g. brand,week")?;
                let dims = list
                    .split(',')
                    .map(|d| Dimension::from_name(d.trim()).ok_or(format!("--by: unknown dimension {d}")))
                    .collect::<Result<_, _>>()?;
                args.by = Some(dims);
            }
            "--tz" => args.tz = Some(it.next().ok_or("--tz needs a time zone name")?),
            "--svg" => args.svg = Some(it.next().ok_or("--svg needs a file name")?),
            "--fail-under" => {
                let spec = it.next().ok_or("--fail-under needs PATH=MIN")?;
                let (path, min) = spec
                    .split_once('=')
                    .ok_or(format!("--fail-under {spec}: expected PATH=MIN"))?;
                let min: f64 = min
                    .parse()
                    .map_err(|_| format!("--fail-under {spec}: MIN is not a number"))?;
                args.gates.push((path.to_owned(), min));
            }
            "-h" | "--help" => return Err(USAGE.into()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}\n{USAGE}")),
            s => {
                if args.file.replace(s.to_owned()).is_some() {
                    return Err(format!("more than one input file\n{USAGE}"));
                }
            }
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let mut config = match &args.config {
        None => Config::default(),
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| Config::from_json(&t).map_err(|e| e.to_string()))
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("sla_report: config {path}: {e}");
                return ExitCode::from(USAGE_ERROR);
            }
        },
    };
    if let Some(by) = &args.by {
        config.segments.by = by.clone();
    }
    if let Some(tz) = &args.tz {
        match tz.parse() {
            Ok(tz) => config.segments.tz = tz,
            Err(_) => {
                eprintln!("sla_report: --tz: unknown time zone {tz}");
                return ExitCode::from(USAGE_ERROR);
            }
        }
    }
    if let Err(e) = config.validate() {
        eprintln!("sla_report: {e}");
        return ExitCode::from(USAGE_ERROR);
    }
    let run = match args.file.as_deref() {
        Some("-") => run_jsonl(
            progress::Progress::new(std::io::stdin().lock(), "lines"),
            &config,
            args.shards,
            args.summaries,
        ),
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => run_jsonl(
                progress::Progress::new(f, "lines"),
                &config,
                args.shards,
                args.summaries,
            ),
            Err(e) => {
                eprintln!("sla_report: {path}: {e}");
                return ExitCode::from(USAGE_ERROR);
            }
        },
        None => {
            let demo = Workload::new(42, 20_000);
            let mut data = Vec::new();
            if let Err(e) = demo.write_jsonl(&mut data) {
                eprintln!("sla_report: demo data: {e}");
                return ExitCode::from(USAGE_ERROR);
            }
            if !args.json && !args.summaries {
                println!(
                    "demo: {} synthetic conversations (seed 42), {} events; pass a JSON Lines file to report on your own data\n",
                    demo.conversations,
                    data.iter().filter(|&&b| b == b'\n').count()
                );
            }
            run_jsonl(&data[..], &config, args.shards, args.summaries)
        }
    };
    let run = match run {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sla_report: {e}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    for e in &run.rejections {
        eprintln!("{e}");
    }
    if let Some(path) = &args.svg {
        let svg = sla_metrics::render_svg(&ChartData::from_report(&run.report));
        if let Err(e) = std::fs::write(path, svg) {
            eprintln!("sla_report: {path}: {e}");
            return ExitCode::from(USAGE_ERROR);
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = if args.summaries {
        run.summaries
            .iter()
            .try_for_each(|s| writeln!(out, "{}", s.to_json()))
    } else if args.json {
        writeln!(out, "{}", run.report.to_json_pretty())
    } else {
        write!(out, "{}", run.report)
    };
    if written.and_then(|()| out.flush()).is_err() {
        return ExitCode::from(USAGE_ERROR);
    }
    let mut failed = false;
    for (path, min) in &args.gates {
        match run.report.value(path) {
            Some(v) if v >= *min => {}
            Some(v) => {
                eprintln!("fail-under: {path} = {v:.4} is below {min}");
                failed = true;
            }
            None => {
                eprintln!("fail-under: {path} has no value (unknown path, or no samples)");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(GATE_FAILED)
    } else if run.rejections.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
