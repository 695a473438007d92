//! What the DataFusion and Ballista tests share: configurations, a hostile generated stream,
//! the engine's report and the SQL one, and a readable JSON comparison.
#![allow(dead_code)] // each test file uses its part

pub use datafusion::prelude::{SessionConfig, SessionContext};
pub use serde_json::Value;
pub use sla_metrics::{run_jsonl, Config, Workload};
pub use std::path::{Path, PathBuf};

pub const DEFAULT: &str = "{}";
pub const BUSINESS: &str = r#"{
  "schedule": {"tz": "Europe/Paris", "week": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]],
    "wed": [["09:00", "17:00"]], "thu": [["09:00", "17:00"]], "fri": [["09:00", "16:00"]]},
    "holidays": ["2024-05-01"]},
  "policies": [
    {"name": "urgent", "filter": {"priority": ["urgent", "high"]},
     "targets": [{"metric": "first_response", "threshold_s": 1800, "clock": "business"},
                 {"metric": "full_resolution", "threshold_s": 86400, "clock": "calendar"}]},
    {"name": "standard", "targets": [{"metric": "first_response", "threshold_s": 14400, "clock": "business"},
                 {"metric": "next_reply", "threshold_s": 28800, "clock": "business"}]}],
  "within_s": [900, 3600, 86400],
  "segments": {"by": ["brand", "week"], "tz": "Europe/Paris"}
}"#;
pub const REORDER: &str =
    r#"{"allowed_lateness_s": 7200, "reopen_window_s": 259200, "idle_timeout_s": 604800}"#;

pub fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sla-df-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A generated stream made hostile: watermarks that make some later events late, exact
/// redeliveries (R4), unreadable and invalid lines (R42) and blank lines.
pub fn hostile_stream(seed: u64, conversations: u64) -> Vec<u8> {
    let mut clean = Vec::new();
    Workload::new(seed, conversations)
        .write_jsonl(&mut clean)
        .unwrap();
    let mut out = Vec::new();
    for (i, line) in clean.split(|&b| b == b'\n').filter(|l| !l.is_empty()).enumerate() {
        out.extend_from_slice(line);
        out.push(b'\n');
        if i % 97 == 13 {
            out.extend_from_slice(line); // a redelivery
            out.push(b'\n');
        }
        if i % 503 == 7 {
            // A watermark a little behind this event: a few later lines are late.
            let v: Value = serde_json::from_slice(line).unwrap();
            let at: sla_metrics::Timestamp = v["at"].as_str().unwrap().parse().unwrap();
            let wm = at.add_secs(-1800);
            out.extend_from_slice(format!(r#"{{"type":"watermark","at":"{wm}"}}"#).as_bytes());
            out.push(b'\n');
        }
        if i % 1009 == 5 {
            out.extend_from_slice(b"{not json\n\n");
            out.extend_from_slice(
                br#"{"conversation":"x1","at":"2024-04-02T10:00:00","type":"message","author":"customer"}"#,
            );
            out.push(b'\n');
            out.extend_from_slice(
                br#"{"conversation":"x2","at":"2024-04-02T10:00:00Z","type":"csat","score":9}"#,
            );
            out.push(b'\n');
        }
    }
    out
}

/// The paths where two JSON values differ (at most 20), for readable failures.
pub fn diff(a: &Value, b: &Value) -> Vec<String> {
    fn walk(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                    let (u, v) = (x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null));
                    walk(u, v, &format!("{path}.{k}"), out);
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (u, v)) in x.iter().zip(y).enumerate() {
                    walk(u, v, &format!("{path}[{i}]"), out);
                }
            }
            _ if a != b && out.len() < 20 => out.push(format!("{path}: {a} != {b}")),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(a, b, "", &mut out);
    out
}

/// Asserts two reports are equal, naming the differing fields.
pub fn assert_same(got: &Value, expected: &Value, what: &str) {
    let d = diff(got, expected);
    assert!(d.is_empty(), "{what}: SQL != engine at\n{}", d.join("\n"));
}

pub fn context(partitions: usize) -> SessionContext {
    SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions))
}

/// `data` written as `events.jsonl` in a fresh temporary directory `name`: (dir, file).
pub fn write_events(name: &str, data: &[u8]) -> (PathBuf, PathBuf) {
    let dir = temp(name);
    let file = dir.join("events.jsonl");
    std::fs::write(&file, data).unwrap();
    (dir, file)
}

/// Registers the functions for `config` and the events at `path` as table `events` on `ctx`,
/// and runs the standard report: the report and the finish instant.
pub async fn sql_run(ctx: &SessionContext, config: &str, path: &Path) -> (sla_metrics::Report, i64) {
    sla_metrics_datafusion::register(ctx, config).unwrap();
    sla_metrics_datafusion::register_events(ctx, "events", path)
        .await
        .unwrap();
    sla_metrics_datafusion::report(ctx, "events", &Config::from_json(config).unwrap())
        .await
        .unwrap()
}

/// The standard report's JSON on a fresh context with `partitions` target partitions.
pub async fn sql_report(path: &Path, config: &str, partitions: usize) -> (Value, i64) {
    let (report, finish) = sql_run(&context(partitions), config, path).await;
    (serde_json::to_value(&report).unwrap(), finish)
}

pub fn engine_report(data: &[u8], config: &str) -> Value {
    let run = run_jsonl(data, &Config::from_json(config).unwrap(), 1, false).unwrap();
    serde_json::to_value(&run.report).unwrap()
}

pub fn data_file(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SLA_DATA_DIR")?;
    let path = PathBuf::from(dir).join(name);
    assert!(
        path.exists(),
        "SLA_DATA_DIR is set but {} is missing",
        path.display()
    );
    Some(path)
}
