//! SPEC §6 (R20–R27): policies and SLA instances through the public API, beyond the golden
//! cases.

mod common;

use sla_metrics::{Config, Engine, Summary};

fn run<S: AsRef<str>>(config: &str, lines: &[S]) -> Vec<Summary> {
    let mut engine = Engine::new(Config::from_json(config).expect("config")).expect("engine");
    engine.collect_summaries(true);
    for (i, l) in lines.iter().enumerate() {
        engine
            .ingest_line(l.as_ref().as_bytes(), i as u64 + 1)
            .expect("accepted");
    }
    engine.finish();
    engine.drain_summaries().collect()
}

fn ev(conv: &str, at: &str, rest: &str) -> String {
    format!(r#"{{"conversation":"{conv}","at":"{at}",{rest}}}"#)
}

/// Lines of conversation `c1` from `(at, the rest of the object)` pairs.
fn c1(events: &[(&str, &str)]) -> Vec<String> {
    events.iter().map(|(at, rest)| ev("c1", at, rest)).collect()
}

/// R23, R24: re-targeting a requester-wait instance onto a named schedule counts the time
/// already used on that schedule, not on the calendar.
#[test]
fn r23_retarget_onto_a_named_schedule_counts_its_own_time() {
    let config = r#"{"schedules": {"support": {"tz": "UTC", "week": {"mon": [["09:00", "17:00"]]}}},
        "policies": [
          {"name": "urgent", "when": {"priority": "urgent"}, "targets": [{"metric": "requester_wait", "threshold_s": 7200, "clock": "support"}]},
          {"name": "normal", "targets": [{"metric": "requester_wait", "threshold_s": 28800}]}]}"#;
    let lines = c1(&[
        ("2024-04-01T08:00:00Z", r#""type":"message","author":"customer""#),
        ("2024-04-01T10:00:00Z", r#""type":"priority","priority":"urgent""#),
        ("2024-04-01T10:30:00Z", r#""type":"message","author":"agent""#),
        ("2024-04-01T10:45:00Z", r#""type":"status","status":"solved""#),
    ]);
    let s = &run(config, &lines)[0];
    assert_eq!(s.sla.len(), 1);
    let i = &s.sla[0];
    assert_eq!((i.policy.as_str(), i.clock.as_str()), ("urgent", "support"));
    // One business hour used (09:00–10:00) of two: the deadline is 11:00.
    assert_eq!(i.deadline.to_string(), "2024-04-01T11:00:00Z");
    assert_eq!(i.outcome.as_str(), "met");
}

/// R23, R24: re-targeting a pausing instance while solved keeps the seconds its clock used
/// before the solve and dates its deadline from the solve, as if the new threshold had
/// applied from the start; one already over the new threshold is breached.
#[test]
fn r23_r24_retarget_while_solved_dates_the_deadline_from_the_solve() {
    let config = r#"{"policies": [
          {"name": "urgent", "when": {"priority": "urgent"}, "targets": [
            {"metric": "requester_wait", "threshold_s": 3600}, {"metric": "agent_work", "threshold_s": 1200},
            {"metric": "agent_work", "threshold_s": 300}]},
          {"name": "normal", "targets": [
            {"metric": "requester_wait", "threshold_s": 28800}, {"metric": "agent_work", "threshold_s": 28800}]}]}"#;
    let lines = c1(&[
        ("2024-04-01T08:00:00Z", r#""type":"message","author":"customer""#),
        ("2024-04-01T08:10:00Z", r#""type":"status","status":"on_hold""#),
        ("2024-04-01T08:30:00Z", r#""type":"status","status":"solved""#),
        ("2024-04-01T09:00:00Z", r#""type":"priority","priority":"urgent""#),
    ]);
    let s = &run(config, &lines)[0];
    let got: Vec<_> = s
        .sla
        .iter()
        .map(|i| (i.metric.as_str(), i.outcome.as_str(), i.deadline.to_string()))
        .collect();
    // requester_wait used 30 min (new, on_hold) of 60: 30 min left at the 08:30 solve.
    // agent_work used 10 min (new) of 20: 10 min left at the solve. The unpaired second
    // agent_work target activates from creation, 10 min used of 5: breached when re-targeted.
    assert_eq!(
        got,
        [
            ("requester_wait", "met", "2024-04-01T09:00:00Z".to_string()),
            ("agent_work", "met", "2024-04-01T08:40:00Z".to_string()),
            ("agent_work", "breached", "2024-04-01T09:00:00Z".to_string()),
        ]
    );
}

/// R20, R26: targets whose clock starts at creation start before the first event's own
/// effect. A first event that solves meets `first_resolution` (0 s) as it fulfils
/// `full_resolution`; a first event that excludes cancels them, as it would a moment later.
#[test]
fn r20_r26_a_first_event_that_resolves_or_excludes_acts_on_the_instances_it_starts() {
    let config = r#"{"policies": [{"name": "p", "targets": [
        {"metric": "first_resolution", "threshold_s": 3600}, {"metric": "full_resolution", "threshold_s": 7200}]}]}"#;
    let outcomes = |first: &str| -> Vec<(String, String, String)> {
        let lines = [ev("c1", "2024-04-01T08:00:00Z", first)];
        run(config, &lines)[0]
            .sla
            .iter()
            .map(|i| {
                (
                    i.metric.as_str().to_string(),
                    i.outcome.as_str().to_string(),
                    i.deadline.to_string(),
                )
            })
            .collect()
    };
    let instances = |o: &str| {
        vec![
            (
                "first_resolution".to_string(),
                o.to_string(),
                "2024-04-01T09:00:00Z".to_string(),
            ),
            (
                "full_resolution".to_string(),
                o.to_string(),
                "2024-04-01T10:00:00Z".to_string(),
            ),
        ]
    };
    assert_eq!(outcomes(r#""type":"status","status":"solved""#), instances("met"));
    assert_eq!(outcomes(r#""type":"status","status":"closed""#), instances("met"));
    assert_eq!(
        outcomes(r#""type":"exclude","reason":"spam""#),
        instances("cancelled")
    );
    assert_eq!(
        outcomes(r#""type":"priority","priority":"high""#),
        instances("active")
    );
}

/// R23: a filter change that leaves no matching policy cancels running instances; met ones
/// keep their outcome.
#[test]
fn r23_no_matching_policy_cancels_running_instances() {
    let config = r#"{"policies": [{"name": "email", "when": {"channel": "email"}, "targets": [
        {"metric": "first_response", "threshold_s": 3600}, {"metric": "first_resolution", "threshold_s": 86400}]}]}"#;
    let lines = c1(&[
        (
            "2024-04-01T08:00:00Z",
            r#""type":"message","author":"customer","channel":"email""#,
        ),
        ("2024-04-01T08:10:00Z", r#""type":"message","author":"agent""#),
        ("2024-04-01T09:00:00Z", r#""type":"attributes","channel":"chat""#),
    ]);
    let s = &run(config, &lines)[0];
    let outcomes: Vec<&str> = s.sla.iter().map(|i| i.outcome.as_str()).collect();
    assert_eq!(outcomes, ["met", "cancelled"]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(common::cases(256)))]

    /// R24: pausing (pending or on hold) and resuming at the same instant changes nothing, at
    /// any point of a conversation and for any thresholds.
    #[test]
    fn r24_pause_and_resume_at_once_changes_nothing_anywhere(
        reply in 1i64..20_000, pause_at in 0i64..40_000, solve_after in 1i64..40_000,
        rw in 1i64..30_000, aw in 1i64..30_000, on_hold in proptest::bool::ANY,
    ) {
        let config = format!(r#"{{"policies": [{{"name": "p", "targets": [
            {{"metric": "requester_wait", "threshold_s": {rw}}}, {{"metric": "agent_work", "threshold_s": {aw}}},
            {{"metric": "first_response", "threshold_s": {rw}}}]}}]}}"#);
        let at = |s: i64| sla_metrics::Timestamp::from_unix(1_711_929_600 + s).to_string();
        let solve = reply.max(pause_at) + solve_after;
        let mut base = vec![
            (0, ev("c1", &at(0), r#""type":"message","author":"customer""#)),
            (reply, ev("c1", &at(reply), r#""type":"message","author":"agent""#)),
            (solve, ev("c1", &at(solve), r#""type":"status","status":"solved""#)),
        ];
        let mut paused = base.clone();
        let hold = if on_hold { "on_hold" } else { "pending" };
        paused.push((pause_at, ev("c1", &at(pause_at), &format!(r#""type":"status","status":"{hold}""#))));
        paused.push((pause_at, ev("c1", &at(pause_at), r#""type":"status","status":"open""#)));
        base.sort_by_key(|e| e.0);
        paused.sort_by_key(|e| e.0); // stable: the pair stays after same-instant events, in order
        let a = run(&config, &base.iter().map(|e| e.1.as_str()).collect::<Vec<_>>());
        let b = run(&config, &paused.iter().map(|e| e.1.as_str()).collect::<Vec<_>>());
        proptest::prop_assert_eq!(&a[0].sla, &b[0].sla);
        proptest::prop_assert_eq!(&a[0].calendar, &b[0].calendar);
    }
}

/// R24: pausing and resuming at the same instant changes nothing.
#[test]
fn r24_pause_and_resume_at_once_changes_nothing() {
    let config =
        r#"{"policies": [{"name": "p", "targets": [{"metric": "agent_work", "threshold_s": 3600}]}]}"#;
    let start = ("2024-04-01T08:00:00Z", r#""type":"message","author":"customer""#);
    let solve = ("2024-04-01T08:50:00Z", r#""type":"status","status":"solved""#);
    let base = c1(&[start, solve]);
    let paused = c1(&[
        start,
        ("2024-04-01T08:20:00Z", r#""type":"status","status":"pending""#),
        ("2024-04-01T08:20:00Z", r#""type":"status","status":"open""#),
        solve,
    ]);
    let a = run(config, &base);
    let b = run(config, &paused);
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

/// §6: policies may name up to 65 534 distinct channels (each keeps its own interned id, which a
/// conversation stores in 16 bits); one more is a config error, never a silently shared id.
#[test]
fn s6_policies_name_at_most_65534_channels() {
    use sla_metrics::{Author, Event, EventKind, Timestamp};
    let config = |n: usize| {
        let channels: Vec<String> = (0..n).map(|i| format!("ch{i}")).collect();
        let json = serde_json::json!({"policies": [
            {"name": "many", "when": {"channel": channels}, "targets": [{"metric": "first_response", "threshold_s": 60}]},
            {"name": "rest", "targets": [{"metric": "first_response", "threshold_s": 7200}]}]});
        Config::from_json(&json.to_string()).unwrap()
    };
    let err = Engine::new(config(65_535)).unwrap_err();
    assert_eq!(err.code(), "config");
    let mut engine = Engine::new(config(65_534)).unwrap();
    engine.collect_summaries(true);
    let t0: Timestamp = "2024-04-02T10:00:00Z".parse().unwrap();
    for (id, channel) in [("last", "ch65533"), ("unnamed", "elsewhere")] {
        let mut e = Event::message(id, t0, Author::Customer);
        if let EventKind::Message { channel: c, .. } = &mut e.kind {
            *c = Some(channel.into());
        }
        engine.ingest(&e).unwrap();
    }
    engine.finish();
    let mut policies: Vec<_> = engine
        .drain_summaries()
        .map(|s| (s.conversation.clone(), s.sla[0].policy.clone()))
        .collect();
    policies.sort();
    assert_eq!(
        policies,
        [("last".into(), "many".into()), ("unnamed".into(), "rest".into())]
    );
}

mod live {
    use proptest::prelude::*;
    use sla_metrics::{Config, Engine, Event, Mix, SlaEvent, SlaEventKind, SlaMetric, Summary, Workload};
    use std::collections::HashMap;

    fn config() -> Config {
        Config::from_json(
            r#"{"reopen_window_s": 172800, "policies": [
            {"name": "vip", "when": {"priority": ["high", "urgent"]}, "targets": [
                {"metric": "first_response", "threshold_s": 900}, {"metric": "next_reply", "threshold_s": 1800},
                {"metric": "requester_wait", "threshold_s": 14400}, {"metric": "agent_work", "threshold_s": 7200},
                {"metric": "full_resolution", "threshold_s": 86400}]},
            {"name": "rest", "targets": [
                {"metric": "first_response", "threshold_s": 3600}, {"metric": "first_resolution", "threshold_s": 86400},
                {"metric": "next_reply", "threshold_s": 3600}]}]}"#,
        )
        .unwrap()
    }

    fn events(seed: u64, n: u64) -> Vec<Event<'static>> {
        Workload::new(seed, n).with_mix(Mix::Varied).events().collect()
    }

    type Log = Vec<(String, u32, u32, String, String)>;

    fn key(e: &SlaEvent) -> (String, u32, u32, String, String) {
        (
            e.conversation.clone(),
            e.instance,
            e.index,
            format!("{:?}", e.kind),
            e.at.to_string(),
        )
    }

    /// Runs with live tracking; watermarks at every `every`-th event (0: none).
    fn run(events: &[Event<'static>], every: usize) -> (Vec<Summary>, Log) {
        let mut engine = Engine::new(config()).unwrap();
        engine.track_sla(true);
        engine.collect_summaries(true);
        for (i, e) in events.iter().enumerate() {
            if every > 0 && i % every == 0 {
                engine.advance_to(e.at);
            }
            engine.ingest(e).unwrap();
        }
        engine.finish();
        let mut summaries: Vec<Summary> = engine.drain_summaries().collect();
        summaries.sort_by(|a, b| (&a.conversation, a.instance).cmp(&(&b.conversation, b.instance)));
        let mut log: Log = engine.drain_sla_events().map(|e| key(&e)).collect();
        log.sort();
        (summaries, log)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::common::cases(32)))]

        /// R21: outcomes and the logged events are the same whether the watermark moves in one
        /// step or in many; breaches are only found earlier.
        #[test]
        fn r21_outcomes_do_not_depend_on_watermark_cadence(seed in any::<u64>(), n in 1u64..30, every in 1usize..5) {
            let events = events(seed, n);
            let (a, log_a) = run(&events, 0);
            let (b, log_b) = run(&events, every);
            prop_assert_eq!(a, b);
            prop_assert_eq!(log_a, log_b);
        }

        /// R21, R23, R26: once breached, or met for a metric that cannot resume, an instance
        /// never changes again, re-targeting included; only an exclusion still cancels it.
        #[test]
        fn r23_final_outcomes_never_change(seed in any::<u64>(), n in 1u64..30, every in 0usize..4) {
            let events = events(seed, n);
            let mut engine = Engine::new(config()).unwrap();
            engine.track_sla(true);
            for (i, e) in events.iter().enumerate() {
                if every > 0 && i % every == 0 {
                    engine.advance_to(e.at);
                }
                engine.ingest(e).unwrap();
            }
            engine.finish();
            let mut done: HashMap<(String, u32, sla_metrics::Timestamp, u32), SlaEventKind> = HashMap::new();
            for e in engine.drain_sla_events() {
                let id = (e.conversation.clone(), e.instance, e.created_at, e.index);
                let after = done.get(&id).copied();
                let allowed = match after {
                    None => true,
                    Some(SlaEventKind::Cancel) => false,
                    Some(_) => e.kind == SlaEventKind::Cancel, // exclusion (R26)
                };
                prop_assert!(allowed, "{:?} after {:?}", e, after);
                let resumable = matches!(e.metric, SlaMetric::FullResolution | SlaMetric::RequesterWait | SlaMetric::AgentWork);
                if e.kind == SlaEventKind::Breach || e.kind == SlaEventKind::Cancel || (e.kind == SlaEventKind::Fulfill && !resumable) {
                    done.insert(id, e.kind);
                }
            }
        }

        /// R27: the at-risk list equals a brute-force filter over every running instance,
        /// rebuilt from the event log.
        #[test]
        fn r27_at_risk_equals_brute_force(seed in any::<u64>(), n in 1u64..40, horizon in 0i64..200_000, stop in 0usize..400) {
            let events = events(seed, n);
            let stop = stop.min(events.len());
            let mut engine = Engine::new(config()).unwrap();
            engine.track_sla(true);
            engine.collect_summaries(true);
            // Keyed by instance *and* creation: an id idle past its memory starts instance 1
            // again (R6), and the old instance's summary may come after the new one's events.
            let mut running: HashMap<(String, u32, sla_metrics::Timestamp, u32), sla_metrics::Timestamp> = HashMap::new();
            for e in &events[..stop] {
                engine.advance_to(e.at);
                engine.ingest(e).unwrap();
                for ev in engine.drain_sla_events() {
                    let id = (ev.conversation.clone(), ev.instance, ev.created_at, ev.index);
                    match ev.kind {
                        SlaEventKind::Activate | SlaEventKind::Resume | SlaEventKind::Update => { running.insert(id, ev.deadline); }
                        _ => { running.remove(&id); }
                    }
                }
                for s in engine.drain_summaries() {
                    running.retain(|(c, i, created, _), _| !(*c == s.conversation && *i == s.instance && *created == s.created_at));
                }
            }
            let now = events[..stop].iter().map(|e| e.at).max();
            let got: Vec<(String, u32, sla_metrics::Timestamp)> =
                engine.at_risk(horizon, usize::MAX).into_iter().map(|r| (r.conversation, r.index, r.deadline)).collect();
            let mut want: Vec<(sla_metrics::Timestamp, String, u32)> = running
                .iter()
                .filter(|(_, d)| now.is_some_and(|t| **d <= t.add_secs(horizon)))
                .map(|((c, _, _, i), d)| (*d, c.clone(), *i))
                .collect();
            want.sort();
            let want: Vec<(String, u32, sla_metrics::Timestamp)> = want.into_iter().map(|(d, c, i)| (c, i, d)).collect();
            prop_assert_eq!(got, want);
        }
    }
}

/// R35: the `segments` config: dimensions by name, a time zone, a cap; bad values are config
/// errors that name the problem.
#[test]
fn r35_segments_config() {
    use sla_metrics::{Config, Dimension};
    let c = Config::from_json(r#"{"segments": {"by": "agent", "max_segments": 5}}"#).unwrap();
    assert_eq!(
        (c.segments.by.as_slice(), c.segments.max_segments),
        ([Dimension::Agent].as_slice(), 5)
    );
    assert!(Config::from_json(r#"{"segments": {"by": []}}"#)
        .unwrap()
        .segments
        .by
        .is_empty());
    for (bad, says) in [
        (r#"{"segments": {"by": ["colour"]}}"#, "unknown dimension"),
        (r#"{"segments": {"by": ["week", "week"]}}"#, "twice"),
        (r#"{"segments": {"by": [1]}}"#, "list of dimension names"),
        (
            r#"{"segments": {"by": ["day"], "tz": "Mars/Base"}}"#,
            "unknown time zone",
        ),
        (
            r#"{"segments": {"by": ["day"], "max_segments": 0}}"#,
            "max_segments",
        ),
        (r#"{"segments": {"dims": ["day"]}}"#, "unknown key"),
    ] {
        let err = Config::from_json(bad).unwrap_err().to_string();
        assert!(err.contains(says), "{bad}: {err}");
    }
}

/// A conversation `id` of `brand` opened by the customer at `at`.
fn branded(engine: &mut sla_metrics::Engine, id: &str, brand: &str, at: sla_metrics::Timestamp) {
    use sla_metrics::{Author, Event, EventKind};
    let attrs = EventKind::Attributes {
        channel: None,
        brand: Some(brand.into()),
        tags: None,
    };
    engine.ingest(&Event::new(id, at, attrs)).unwrap();
    engine.ingest(&Event::message(id, at, Author::Customer)).unwrap();
}

/// R35: values beyond `max_segments` share the `(other)` segment; conversations without a
/// value share `(none)`; nothing is lost.
#[test]
fn r35_segment_cap_folds_into_other() {
    use sla_metrics::{Author, Config, Dimension, Engine, Event};
    let mut engine =
        Engine::new(Config::from_json(r#"{"segments": {"by": ["brand"], "max_segments": 2}}"#).unwrap())
            .unwrap();
    let t0: sla_metrics::Timestamp = "2024-04-02T10:00:00Z".parse().unwrap();
    for (i, brand) in ["a", "b", "c", "d", "a"].iter().enumerate() {
        branded(&mut engine, &format!("c{i}"), brand, t0);
    }
    engine
        .ingest(&Event::message("no-brand", t0, Author::Customer))
        .unwrap();
    let report = engine.finish();
    let b = report.breakdown(Dimension::Brand).unwrap();
    let total = |name: &str| b.get(name).map(|r| r.conversations().total);
    // Finalized at finish in created_at then id order: c0 (a), c1 (b) get their own segments.
    assert_eq!(
        (total("a"), total("b"), total("(other)"), total("(none)")),
        (Some(2), Some(1), Some(2), Some(1))
    );
    assert_eq!(total("c"), None);
}

/// R35, R36: the values kept under the cap are the smallest by name whatever the arrival
/// order (a later, smaller value evicts the largest into `(other)`), so two shards' breakdowns
/// merge into the single engine's.
#[test]
fn r35_segment_cap_keeps_the_smallest_values_in_any_order() {
    use sla_metrics::{Config, Dimension, Engine, Report};
    let config = Config::from_json(r#"{"segments": {"by": ["brand"], "max_segments": 2}}"#).unwrap();
    let t0: sla_metrics::Timestamp = "2024-04-02T10:00:00Z".parse().unwrap();
    let brands = ["d", "c", "d", "b", "a", "c", "e"];
    let feed = |engine: &mut Engine, keep: &dyn Fn(usize) -> bool| {
        for (i, brand) in brands.iter().enumerate().filter(|(i, _)| keep(*i)) {
            let at = t0.add_secs(i as i64 * 401 * 86_400);
            branded(engine, &format!("c{i}"), brand, at);
            // Finalize each conversation before the next arrives: the arrival order is the
            // order its brand is first filed in.
            engine.advance_to(at.add_secs(400 * 86_400));
        }
    };
    let fin = t0.add_secs(4_000 * 86_400);
    let mut whole = Engine::new(config.clone()).unwrap();
    feed(&mut whole, &|_| true);
    let whole = whole.finish_at(fin);
    let b = whole.breakdown(Dimension::Brand).unwrap();
    let total = |name: &str| b.get(name).map(|r| r.conversations().total);
    assert_eq!(
        (total("a"), total("b"), total("(other)"), total("c"), total("d")),
        (Some(1), Some(1), Some(5), None, None)
    );
    let (mut odd, mut even) = (Engine::new(config.clone()).unwrap(), Engine::new(config).unwrap());
    feed(&mut odd, &|i| i % 2 == 1);
    feed(&mut even, &|i| i % 2 == 0);
    let (odd, even) = (odd.finish_at(fin), even.finish_at(fin));
    for (x, y) in [(&odd, &even), (&even, &odd)] {
        let mut merged = Report::from_bytes(&x.to_bytes()).unwrap();
        merged.merge(y).unwrap();
        assert_eq!(merged, whole);
    }
}

/// §6: a policy may have up to 256 targets (an SLA instance keeps its target's index in a
/// byte); one more is a config error. With 256, the last target still activates and reports.
#[test]
fn s6_a_policy_has_at_most_256_targets() {
    use sla_metrics::{Author, Event, Timestamp};
    let json = |n: i64| {
        let targets: Vec<_> = (1..=n)
            .map(|k| serde_json::json!({"metric": "first_response", "threshold_s": k}))
            .collect();
        serde_json::json!({"policies": [{"name": "many", "targets": targets}]}).to_string()
    };
    let config = |n: i64| Config::from_json(&json(n));
    let err = config(257).unwrap_err();
    assert_eq!(err.code(), "config");
    assert!(err.to_string().contains("at most 256 targets"), "{err}");
    // The same through the typed API.
    let mut typed = config(256).unwrap();
    let extra = typed.policies[0].targets[0].clone();
    typed.policies[0].targets.push(extra);
    assert_eq!(Engine::new(typed).unwrap_err().code(), "config");
    let mut engine = Engine::new(config(256).unwrap()).unwrap();
    engine.collect_summaries(true);
    let t0: Timestamp = "2024-04-02T10:00:00Z".parse().unwrap();
    engine
        .ingest(&Event::message("c1", t0, Author::Customer))
        .unwrap();
    engine
        .ingest(&Event::message("c1", t0.add_secs(200), Author::Agent))
        .unwrap();
    let report = engine.finish();
    let summary = engine.drain_summaries().next().unwrap();
    assert_eq!(summary.sla.len(), 256);
    let last = &report.sla()[255];
    assert_eq!((last.threshold_s, last.met, last.breached), (256, 1, 0));
    // A reply at the deadline meets it (R21): thresholds 1–199 s breached, 200–256 s met.
    assert_eq!((report.sla()[198].breached, report.sla()[199].met), (1, 1));
}
