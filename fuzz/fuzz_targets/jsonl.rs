//! Fuzzes the JSON Lines reader and the engine behind it (R42): any bytes, as a stream of
//! lines with watermarks, under a config with a schedule, policies, live tracking and a reorder
//! buffer and every segment breakdown. Never a panic; every rejection a typed error; every line
//! accounted for; the state reached checkpoints and restores to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sla_metrics::{Config, Engine};

fuzz_target!(|data: &[u8]| {
    let config = Config::from_json(
        r#"{"reopen_window_s": 3600, "idle_timeout_s": 7200, "allowed_lateness_s": 60,
        "segments": {"by": ["channel", "priority", "team", "agent", "brand", "policy", "day", "week", "month"],
                     "tz": "Asia/Kolkata", "max_segments": 3},
        "schedule": {"tz": "America/New_York", "week": {"mon": [["09:00", "17:00"]], "sun": [["00:00", "24:00"]]}},
        "policies": [{"name": "vip", "when": {"priority": ["urgent"]}, "targets": [
            {"metric": "first_response", "threshold_s": 60, "clock": "business"},
            {"metric": "requester_wait", "threshold_s": 120}, {"metric": "agent_work", "threshold_s": 90, "clock": "business"},
            {"metric": "full_resolution", "threshold_s": 300}, {"metric": "next_reply", "threshold_s": 30}]},
          {"name": "all", "targets": [{"metric": "first_response", "threshold_s": 3600}, {"metric": "first_resolution", "threshold_s": 600}]}]}"#,
    )
    .expect("valid config");
    let mut engine = Engine::new(config.clone()).expect("valid engine");
    engine.track_sla(true);
    engine.collect_summaries(true);
    let stats = engine
        .ingest_jsonl(data, |e| {
            assert!(["invalid", "late", "out_of_order"].contains(&e.code()))
        })
        .expect("reading from memory cannot fail");
    let _ = engine.at_risk(86_400, 10);
    let mut summaries: Vec<_> = engine.drain_summaries().collect();
    let _ = engine.drain_sla_events().count();
    let saved = engine.checkpoint().expect("nothing pending");
    let mut engine = Engine::restore(config, &saved).expect("own checkpoint restores");
    assert_eq!(engine.checkpoint().expect("nothing pending"), saved);
    let report = engine.finish();
    assert_eq!(report.rejected(), stats.rejected);
    let bytes = report.to_bytes();
    assert_eq!(
        sla_metrics::Report::from_bytes(&bytes).expect("round trip"),
        report
    );
    let _ = report.to_json_pretty();
    summaries.extend(engine.drain_summaries());
    for s in summaries {
        assert_eq!(
            s.calendar.requester_wait_s,
            s.calendar.agent_work_s + s.calendar.on_hold_s
        );
    }
    let _ = engine.drain_sla_events().count();
});
