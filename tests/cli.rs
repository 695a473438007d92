//! §12: the `sla_report` example run as a user runs it: fixture input on stdin or in a file,
//! stdout, stderr and exit status checked, error paths included.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The example binary cargo builds next to this test's binary (target/<profile>/examples).
fn example(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop(); // deps
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} not built: run `cargo test` (it builds examples)",
        path.display()
    );
    path
}

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(example("sla_report"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sla_report");
    // A command that fails early (a usage error) may exit before reading: a closed pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

const GOOD: &str = r#"{"conversation":"c1","at":"2024-04-02T10:00:00Z","type":"message","author":"customer"}
{"conversation":"c1","at":"2024-04-02T10:05:00Z","type":"message","author":"agent","agent":"a"}
{"conversation":"c2","at":"2024-04-02T10:00:00Z","type":"message","author":"customer"}
{"conversation":"c2","at":"2024-04-02T12:00:00Z","type":"message","author":"agent","agent":"b"}
"#;

/// §12 `--json`: the R37 report on stdout, exit 0 when nothing was rejected.
#[test]
fn r37_json_report_from_stdin() {
    let out = run(&["-", "--json"], GOOD);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(v["conversations"]["total"], 2);
    assert_eq!(v["first_response"]["count"], 2);
    assert_eq!(v["first_response"]["within"]["3600"], 0.5);
    assert_eq!(v["sla"][0]["policy"], "default");
    assert_eq!(v["rejected"]["count"], 0);
    assert!(out.stderr.is_empty());
}

/// R42, §12: rejected lines go to stderr with line number and reason; the report is still
/// printed and the exit status is 1.
#[test]
fn r42_rejects_on_stderr_exit_1() {
    let input = format!("{GOOD}not json\n{{\"conversation\":\"c1\",\"at\":\"2024-04-02T10:01:00Z\",\"type\":\"message\",\"author\":\"customer\"}}\n");
    let out = run(&["--json"], &input);
    let stdin_out = run(&["-", "--json"], &input);
    assert_eq!(
        out.status.code(),
        Some(0),
        "no file argument means the demo data, not stdin"
    );
    assert_eq!(stdin_out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&stdin_out.stderr);
    assert!(err.contains("line 5: invalid"), "{err}");
    assert!(
        err.contains("line 6: conversation c1: out of order (R3)"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&stdin_out.stdout).unwrap();
    assert_eq!(v["rejected"]["count"], 2);
    assert_eq!(v["rejected"]["first"][0]["line"], 5);
    assert_eq!(v["rejected"]["first"][1]["kind"], "out_of_order");
}

/// §12 `--summaries`: one §10 summary per line.
#[test]
fn s10_summaries_lines() {
    let out = run(&["-", "--summaries"], GOOD);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let c2 = lines.iter().find(|s| s["conversation"] == "c2").unwrap();
    assert_eq!(c2["first_response_s"], 7200);
    assert_eq!(c2["sla"][0]["outcome"], "breached");
}

/// §12 `--shards N` equals `--shards 1`; `--config` is read.
#[test]
fn r36_shards_and_config() {
    let dir = std::env::temp_dir().join(format!("sla-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("events.jsonl");
    let config = dir.join("config.json");
    std::fs::write(&events, GOOD).unwrap();
    std::fs::write(&config, r#"{"within_s": [600], "policies": [{"name": "fast", "targets": [{"metric": "first_response", "threshold_s": 600}]}]}"#).unwrap();
    let ev = events.to_str().unwrap();
    let cf = config.to_str().unwrap();
    let one = run(&[ev, "--json", "--config", cf], "");
    let two = run(&[ev, "--json", "--config", cf, "--shards", "2"], "");
    assert_eq!(one.status.code(), Some(0));
    assert_eq!(one.stdout, two.stdout);
    let v: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(v["first_response"]["within"]["600"], 0.5);
    assert_eq!(v["sla"][0]["policy"], "fast");
    let bad = run(&[ev, "--config", ev], "");
    assert_eq!(bad.status.code(), Some(3), "a bad config is a usage error");
    std::fs::remove_dir_all(&dir).ok();
}

/// §12: without a file, a readable report on the built-in demo data.
#[test]
fn demo_report_is_readable() {
    let out = run(&[], "");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("demo: "), "{text}");
    for needle in [
        "first_response",
        "next_reply",
        "response rate",
        "default",
        "95% CI",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

/// The CI gate: `--fail-under` names every target that fell short and exits with 2.
#[test]
fn fail_under_gate() {
    let ok = run(
        &[
            "-",
            "--json",
            "--fail-under",
            "first_response.within.86400=1",
            "--fail-under",
            "sla.default.first_response.86400=0.99",
        ],
        GOOD,
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out = run(
        &[
            "-",
            "--fail-under",
            "first_response.within.3600=0.9",
            "--fail-under",
            "sla.default.first_response.3600=0.95",
            "--fail-under",
            "next_reply.mean_s=1",
        ],
        GOOD,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("first_response.within.3600 = 0.5000 is below 0.9"),
        "{err}"
    );
    assert!(
        err.contains("sla.default.first_response.3600 = 0.5000 is below 0.95"),
        "{err}"
    );
    assert!(err.contains("next_reply.mean_s has no value"), "{err}");
    let usage = run(&["-", "--fail-under", "nonsense"], GOOD);
    assert_eq!(usage.status.code(), Some(3));
}

/// R35 from the command line: `--by agent,day` breaks the JSON report down (reply samples by
/// the agent who replied), an unknown dimension is a usage error.
#[test]
fn r35_segments_from_the_command_line() {
    let out = run(&["-", "--json", "--by", "agent,day", "--tz", "Asia/Tokyo"], GOOD);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["segments"]["agent"]["a"]["first_response"]["count"], 1);
    assert_eq!(v["segments"]["agent"]["b"]["first_response"]["max_s"], 7200);
    assert_eq!(v["segments"]["day"]["2024-04-02"]["conversations"]["total"], 2); // 19:00 in Tokyo
    assert_eq!(v["what_if"]["first_response"][4], 0.5); // within 1 h, from the histogram
    let bad = run(&["-", "--by", "colour"], GOOD);
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown dimension"));
}

/// The chart in the README is what `sla_report --by brand,week --svg` draws on the demo data
/// today (regenerate `examples/report.svg` with that command when the charts change).
#[test]
fn readme_chart_is_current() {
    let path = std::env::temp_dir().join(format!("sla_report_chart_{}.svg", std::process::id()));
    let out = run(&["--by", "brand,week", "--svg", path.to_str().unwrap()], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let drawn = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let committed = include_str!("../examples/report.svg");
    assert!(drawn.contains("First response within 1 h / 24 h by brand"));
    assert!(
        drawn == committed,
        "examples/report.svg is stale: regenerate it with `cargo run --release --example sla_report -- --by brand,week --svg examples/report.svg`"
    );
}

/// The performance example runs every measurement it prints, on a small workload: typed
/// ingest, state, checkpoint, JSON Lines in memory and from the file it writes, and the
/// yardstick beside typed ingest and JSON Lines.
#[test]
fn throughput_example_runs_every_measurement() {
    let file = std::env::temp_dir().join(format!("sla-throughput-{}.jsonl", std::process::id()));
    let out = Command::new(example("throughput"))
        .args(["300", "--write", file.to_str().unwrap()])
        .output()
        .expect("run throughput");
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for line in [
        "typed ingest, 1 core",
        "typed is",
        "end to end is",
        "state per open conversation",
        "checkpoint of",
        "1 shard(s):",
        "2 shard(s):",
        "1 shard(s), from",
        "2 shard(s), from",
    ] {
        assert!(stdout.contains(line), "no `{line}` in:\n{stdout}");
    }
}
