//! SPEC §6 (R20–R27): policies and SLA instances through the public API, beyond the golden
//! cases.

use sla_metrics::{Config, Engine, Summary};

fn run(config: &str, lines: &[&str]) -> Vec<Summary> {
    let mut engine = Engine::new(Config::from_json(config).expect("config")).expect("engine");
    engine.collect_summaries(true);
    for (i, l) in lines.iter().enumerate() {
        engine.ingest_line(l.as_bytes(), i as u64 + 1).expect("accepted");
    }
    engine.finish();
    engine.drain_summaries().collect()
}

fn ev(conv: &str, at: &str, rest: &str) -> String {
    format!(r#"{{"conversation":"{conv}","at":"{at}",{rest}}}"#)
}

/// R23, R24: re-targeting a requester-wait instance onto a named schedule counts the time
/// already used on that schedule, not on the calendar.
#[test]
fn r23_retarget_onto_a_named_schedule_counts_its_own_time() {
    let config = r#"{"schedules": {"support": {"tz": "UTC", "week": {"mon": [["09:00", "17:00"]]}}},
        "policies": [
          {"name": "urgent", "when": {"priority": "urgent"}, "targets": [{"metric": "requester_wait", "threshold_s": 7200, "clock": "support"}]},
          {"name": "normal", "targets": [{"metric": "requester_wait", "threshold_s": 28800}]}]}"#;
    let lines = [
        ev(
            "c1",
            "2024-04-01T08:00:00Z",
            r#""type":"message","author":"customer""#,
        ),
        ev(
            "c1",
            "2024-04-01T10:00:00Z",
            r#""type":"priority","priority":"urgent""#,
        ),
        ev(
            "c1",
            "2024-04-01T10:30:00Z",
            r#""type":"message","author":"agent""#,
        ),
        ev(
            "c1",
            "2024-04-01T10:45:00Z",
            r#""type":"status","status":"solved""#,
        ),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let s = &run(config, &lines)[0];
    assert_eq!(s.sla.len(), 1);
    let i = &s.sla[0];
    assert_eq!((i.policy.as_str(), i.clock.as_str()), ("urgent", "support"));
    // One business hour used (09:00–10:00) of two: the deadline is 11:00.
    assert_eq!(i.deadline.to_string(), "2024-04-01T11:00:00Z");
    assert_eq!(i.outcome.as_str(), "met");
}

/// R23: a filter change that leaves no matching policy cancels running instances; met ones
/// keep their outcome.
#[test]
fn r23_no_matching_policy_cancels_running_instances() {
    let config = r#"{"policies": [{"name": "email", "when": {"channel": "email"}, "targets": [
        {"metric": "first_response", "threshold_s": 3600}, {"metric": "first_resolution", "threshold_s": 86400}]}]}"#;
    let lines = [
        ev(
            "c1",
            "2024-04-01T08:00:00Z",
            r#""type":"message","author":"customer","channel":"email""#,
        ),
        ev(
            "c1",
            "2024-04-01T08:10:00Z",
            r#""type":"message","author":"agent""#,
        ),
        ev(
            "c1",
            "2024-04-01T09:00:00Z",
            r#""type":"attributes","channel":"chat""#,
        ),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let s = &run(config, &lines)[0];
    let outcomes: Vec<&str> = s.sla.iter().map(|i| i.outcome.as_str()).collect();
    assert_eq!(outcomes, ["met", "cancelled"]);
}

/// R24: pausing and resuming at the same instant changes nothing.
#[test]
fn r24_pause_and_resume_at_once_changes_nothing() {
    let config =
        r#"{"policies": [{"name": "p", "targets": [{"metric": "agent_work", "threshold_s": 3600}]}]}"#;
    let base = [
        ev(
            "c1",
            "2024-04-01T08:00:00Z",
            r#""type":"message","author":"customer""#,
        ),
        ev(
            "c1",
            "2024-04-01T08:50:00Z",
            r#""type":"status","status":"solved""#,
        ),
    ];
    let paused = [
        base[0].clone(),
        ev(
            "c1",
            "2024-04-01T08:20:00Z",
            r#""type":"status","status":"pending""#,
        ),
        ev("c1", "2024-04-01T08:20:00Z", r#""type":"status","status":"open""#),
        base[1].clone(),
    ];
    let a = run(config, &base.iter().map(String::as_str).collect::<Vec<_>>());
    let b = run(config, &paused.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(a[0].sla, b[0].sla);
    assert_eq!(a[0].sla[0].deadline.to_string(), "2024-04-01T09:00:00Z");
}

/// §6: an unknown metric or clock, a business clock without schedule, a non-positive
/// threshold are config errors.
#[test]
fn s6_config_errors() {
    for bad in [
        r#"{"policies": [{"name": "p", "targets": [{"metric": "speed", "threshold_s": 60}]}]}"#,
        r#"{"policies": [{"name": "p", "targets": [{"metric": "first_response", "threshold_s": 60, "clock": "mars"}]}]}"#,
        r#"{"policies": [{"name": "p", "targets": [{"metric": "first_response", "threshold_s": 60, "clock": "business"}]}]}"#,
        r#"{"policies": [{"name": "p", "targets": [{"metric": "first_response", "threshold_s": 0}]}]}"#,
    ] {
        let err = Config::from_json(bad).unwrap_err();
        assert_eq!(err.code(), "config", "{bad}");
    }
    let none = Config::from_json(r#"{"policies": []}"#).unwrap();
    assert!(none.policies.is_empty());
}
