//! Property tests: laws of the SPEC that hold on every generated stream (issue: core engine).

mod common;

use proptest::prelude::*;
use serde_json::Value;
use sla_metrics::{run_jsonl, Config, Durations, Engine, Event, Mix, Report, Summary, Timestamp, Workload};

fn workload(seed: u64, n: u64) -> Vec<Event<'static>> {
    let mut w = Workload::new(seed, n);
    w.mix = Mix::Varied;
    w.events().collect()
}

fn config_with_policies() -> Config {
    Config::from_json(
        r#"{"reopen_window_s": 172800, "idle_timeout_s": 432000, "policies": [
        {"name": "vip", "when": {"priority": ["high", "urgent"]}, "targets": [
            {"metric": "first_response", "threshold_s": 900},
            {"metric": "next_reply", "threshold_s": 1800},
            {"metric": "requester_wait", "threshold_s": 14400},
            {"metric": "agent_work", "threshold_s": 7200}]},
        {"name": "email", "when": {"channel": "email"}, "targets": [
            {"metric": "first_response", "threshold_s": 14400},
            {"metric": "first_resolution", "threshold_s": 86400},
            {"metric": "full_resolution", "threshold_s": 172800}]},
        {"name": "rest", "targets": [
            {"metric": "first_response", "threshold_s": 3600},
            {"metric": "first_response", "threshold_s": 86400},
            {"metric": "next_reply", "threshold_s": 3600}]}]}"#,
    )
    .expect("valid config")
}

/// A business schedule (R28) with targets on it and on the calendar clock.
fn config_with_schedule() -> Config {
    Config::from_json(
        r#"{"schedule": {"tz": "Europe/Berlin", "week": {"mon": [["09:00", "12:30"], ["13:00", "17:00"]],
            "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]], "thu": [["09:00", "17:00"]],
            "fri": [["09:00", "15:00"]], "sat": [["10:00", "14:00"]]}, "holidays": ["2024-05-01"]},
        "policies": [{"name": "p", "targets": [
            {"metric": "first_response", "threshold_s": 3600, "clock": "business"},
            {"metric": "first_response", "threshold_s": 86400},
            {"metric": "requester_wait", "threshold_s": 28800, "clock": "business"},
            {"metric": "full_resolution", "threshold_s": 172800, "clock": "business"}]}]}"#,
    )
    .expect("valid config")
}

fn configs() -> impl Strategy<Value = Config> {
    prop_oneof![
        Just(Config::default()),
        Just(config_with_policies()),
        Just(config_with_schedule())
    ]
}

/// Runs events through one engine (plus watermarks where `Some(t)`), then `finish`.
fn run(config: &Config, input: &[Result<&Event<'_>, Timestamp>]) -> (Report, Vec<Summary>) {
    let mut engine = Engine::new(config.clone()).expect("engine");
    engine.collect_summaries(true);
    for item in input {
        match item {
            Ok(e) => {
                engine.ingest(e).expect("generated events are accepted");
            }
            Err(t) => engine.advance_to(*t),
        }
    }
    let report = engine.finish();
    let mut summaries: Vec<Summary> = engine.drain_summaries().collect();
    summaries.sort_by(|a, b| (&a.conversation, a.instance).cmp(&(&b.conversation, b.instance)));
    (report, summaries)
}

fn events_only<'a>(events: &'a [Event<'static>]) -> Vec<Result<&'a Event<'static>, Timestamp>> {
    events.iter().map(Ok).collect()
}

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(48)))]

    /// R33, R37: the report's counts and sums are the fold of the emitted summaries.
    #[test]
    fn r37_report_is_the_fold_of_the_summaries(seed in any::<u64>(), n in 1u64..40, config in configs()) {
        let events = workload(seed, n);
        let (report, summaries) = run(&config, &events_only(&events));
        let r = serde_json::to_value(&report).unwrap();
        let live: Vec<&Summary> = summaries.iter().filter(|s| s.excluded.is_none()).collect();
        prop_assert_eq!(get(&r, "conversations.total").as_u64(), Some(summaries.len() as u64));
        prop_assert_eq!(get(&r, "conversations.excluded").as_u64(), Some((summaries.len() - live.len()) as u64));
        let resolved = live.iter().filter(|s| s.touch.is_some()).count() as u64;
        prop_assert_eq!(get(&r, "conversations.resolved").as_u64(), Some(resolved));
        prop_assert_eq!(get(&r, "conversations.reopened").as_u64(), Some(live.iter().filter(|s| s.reopens > 0).count() as u64));
        prop_assert_eq!(get(&r, "fcr.fcr").as_u64(), Some(live.iter().filter(|s| s.fcr).count() as u64));
        let check = |metric: &str, values: Vec<i64>| -> Result<(), TestCaseError> {
            prop_assert_eq!(get(&r, &format!("{metric}.count")).as_u64(), Some(values.len() as u64), "{} count", metric);
            prop_assert_eq!(get(&r, &format!("{metric}.sum_s")).as_i64(), Some(values.iter().sum::<i64>()), "{} sum", metric);
            prop_assert_eq!(get(&r, &format!("{metric}.max_s")).as_i64(), values.iter().copied().max(), "{} max", metric);
            let within = values.iter().filter(|&&v| v <= 3600).count() as f64 / values.len().max(1) as f64;
            if !values.is_empty() {
                let got = get(&r, &format!("{metric}.within.3600")).as_f64().unwrap();
                prop_assert!((got - within).abs() < 1e-12, "{} within", metric);
            }
            Ok(())
        };
        // R31: with a schedule, every metric on the business clock too.
        let business = config.schedule.is_some();
        prop_assert_eq!(r.get("first_response_business").is_some(), business);
        let mut clocks: Vec<(&str, Vec<Durations>)> = vec![("", live.iter().map(|s| s.calendar.clone()).collect())];
        if business {
            clocks.push(("_business", live.iter().map(|s| s.business.clone().expect("business durations")).collect()));
        }
        for (suffix, d) in clocks {
            check(&format!("first_response{suffix}"), d.iter().filter_map(|d| d.first_response_s).collect())?;
            check(&format!("next_reply{suffix}"), d.iter().flat_map(|d| d.next_reply_s.clone()).collect())?;
            check(&format!("first_resolution{suffix}"), d.iter().filter_map(|d| d.first_resolution_s).collect())?;
            check(&format!("full_resolution{suffix}"), d.iter().filter_map(|d| d.full_resolution_s).collect())?;
            check(&format!("requester_wait{suffix}"), d.iter().map(|d| d.requester_wait_s).collect())?;
            check(&format!("agent_wait{suffix}"), d.iter().map(|d| d.agent_wait_s).collect())?;
            check(&format!("on_hold{suffix}"), d.iter().map(|d| d.on_hold_s).collect())?;
            check(&format!("agent_work{suffix}"), d.iter().map(|d| d.agent_work_s).collect())?;
        }
        let rated: Vec<u8> = live.iter().filter_map(|s| s.csat).collect();
        prop_assert_eq!(get(&r, "csat.rated").as_u64(), Some(rated.len() as u64));
        for entry in report.sla() {
            let outcomes: Vec<&str> = summaries
                .iter()
                .flat_map(|s| s.sla.iter())
                .filter(|i| i.policy == entry.policy && i.metric == entry.metric && i.threshold_s == entry.threshold_s && i.clock == entry.clock)
                .map(|i| i.outcome.as_str())
                .collect();
            let count = |o: &str| outcomes.iter().filter(|&&x| x == o).count() as u64;
            prop_assert_eq!((entry.met, entry.breached, entry.active, entry.cancelled),
                (count("met"), count("breached"), count("active"), count("cancelled")));
        }
    }

    /// R15: requester wait = agent work + on hold; R17: touch classes sum to resolved.
    #[test]
    fn r15_r17_summary_identities(seed in any::<u64>(), n in 1u64..40) {
        let events = workload(seed, n);
        let (report, summaries) = run(&Config::default(), &events_only(&events));
        for s in &summaries {
            prop_assert_eq!(s.calendar.requester_wait_s, s.calendar.agent_work_s + s.calendar.on_hold_s);
            prop_assert!(s.calendar.first_response_s.unwrap_or(0) >= 0);
            prop_assert_eq!(s.touch.is_some(), s.calendar.full_resolution_s.is_some());
            prop_assert!(!s.fcr || s.touch.is_some());
        }
        let f = report.fcr();
        prop_assert_eq!(f.touch.iter().sum::<u64>(), f.resolved);
    }

    /// R3: any interleaving of conversations, order kept within each, gives the same report.
    #[test]
    fn r3_interleaving_changes_nothing(seed in any::<u64>(), n in 1u64..30, mix_seed in any::<u64>(), config in configs()) {
        let events = workload(seed, n);
        let (want_report, want) = run(&config, &events_only(&events));
        // Group by conversation id, keep order within each, then merge the groups at random.
        let mut groups: Vec<(String, Vec<&Event<'static>>)> = Vec::new();
        for e in &events {
            match groups.iter_mut().find(|g| g.0 == e.conversation) {
                Some(g) => g.1.push(e),
                None => groups.push((e.conversation.to_string(), vec![e])),
            }
        }
        let mut rng = mix_seed | 1;
        let mut next = || { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; rng };
        let mut cursors = vec![0usize; groups.len()];
        let mut shuffled = Vec::with_capacity(events.len());
        while shuffled.len() < events.len() {
            let open: Vec<usize> = (0..groups.len()).filter(|&g| cursors[g] < groups[g].1.len()).collect();
            let g = open[(next() % open.len() as u64) as usize];
            shuffled.push(Ok(groups[g].1[cursors[g]]));
            cursors[g] += 1;
        }
        let (report, got) = run(&config, &shuffled);
        prop_assert_eq!(got, want);
        prop_assert_eq!(report, want_report);
    }

    /// R21, R38: watermarks (none later than the next event) change no summary and no report.
    #[test]
    fn r38_watermarks_change_nothing(seed in any::<u64>(), n in 1u64..40, every in 1usize..6, config in configs()) {
        let events = workload(seed, n);
        let (want_report, want) = run(&config, &events_only(&events));
        let mut with = Vec::new();
        for (i, e) in events.iter().enumerate() {
            if i % every == 0 {
                // The stream is in time order: a watermark at the next event's instant (or a
                // little before) makes nothing late.
                with.push(Err(e.at.add_secs(-((i as i64 * 7919) % 5000))));
            }
            with.push(Ok(e));
        }
        let (report, got) = run(&config, &with);
        prop_assert_eq!(got, want);
        prop_assert_eq!(report, want_report);
    }

    /// R4, R43: every event delivered twice in a row changes nothing but `duplicates` and
    /// `ignored_after_final`, whose increase together is the event count.
    #[test]
    fn r4_redelivery_changes_only_duplicate_counts(seed in any::<u64>(), n in 1u64..40, config in configs()) {
        let events = workload(seed, n);
        let (want_report, want) = run(&config, &events_only(&events));
        let twice: Vec<_> = events.iter().flat_map(|e| [Ok(e), Ok(e)]).collect();
        let (report, got) = run(&config, &twice);
        prop_assert_eq!(got, want);
        let mut a = serde_json::to_value(&want_report).unwrap();
        let mut b = serde_json::to_value(&report).unwrap();
        let dup = b["duplicates"].as_u64().unwrap() - a["duplicates"].as_u64().unwrap();
        let ign = b["conversations"]["ignored_after_final"].as_u64().unwrap() - a["conversations"]["ignored_after_final"].as_u64().unwrap();
        prop_assert_eq!(dup + ign, events.len() as u64);
        for v in [&mut a, &mut b] {
            v["duplicates"] = Value::Null;
            v["conversations"]["ignored_after_final"] = Value::Null;
        }
        prop_assert_eq!(a, b);
    }

    /// R42: a rejected event changes no state: late, out-of-order and invalid events mixed in
    /// leave every summary and every count but `rejected` as they were.
    #[test]
    fn r42_rejections_change_nothing(seed in any::<u64>(), n in 1u64..30, config in configs()) {
        let events = workload(seed, n);
        let (want_report, want) = run(&config, &events_only(&events));
        let mut engine = Engine::new(config.clone()).unwrap();
        engine.collect_summaries(true);
        let mut rejected = 0u64;
        for (i, e) in events.iter().enumerate() {
            engine.ingest(e).unwrap();
            if i % 3 == 0 {
                // Older than this conversation's last event: out of order (R3).
                let mut bad = e.clone();
                bad.at = e.at.add_secs(-1);
                bad.id = None;
                prop_assert_eq!(engine.ingest(&bad).unwrap_err().code(), "out_of_order");
                rejected += 1;
            }
            if i % 5 == 0 {
                let mut bad = e.clone();
                bad.kind = sla_metrics::EventKind::Csat { score: 9 };
                prop_assert!(engine.ingest(&bad).is_err());
                rejected += 1;
            }
        }
        let report = engine.finish();
        let mut got: Vec<Summary> = engine.drain_summaries().collect();
        got.sort_by(|a, b| (&a.conversation, a.instance).cmp(&(&b.conversation, b.instance)));
        prop_assert_eq!(got, want);
        prop_assert_eq!(report.rejected(), rejected);
        let mut a = serde_json::to_value(&want_report).unwrap();
        let mut b = serde_json::to_value(&report).unwrap();
        a["rejected"] = Value::Null;
        b["rejected"] = Value::Null;
        prop_assert_eq!(a, b);
    }

    /// R36, §12: `--shards N` equals `--shards 1` whatever the JSON's form: fields in another
    /// order, a nested object with decoy `conversation` and `type` keys, escaped names and
    /// values, watermarks written with an escape. (Routing reads only part of a line.)
    #[test]
    fn r36_shards_equal_one_engine_on_any_json_form(seed in any::<u64>(), n in 1u64..30, shards in 2usize..4) {
        let mut with = String::new();
        for (i, line) in varied_jsonl(seed, n).lines().enumerate() {
            let k = seed.wrapping_add(i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 59;
            if i % 5 == 2 {
                let at = at_of(line);
                let kind = if k % 2 == 0 { "watermark" } else { "\\u0077atermark" };
                with.push_str(&format!("{{\"at\":\"{at}\",\"type\":\"{kind}\",\"conversation\":\"ignored\"}}\n"));
            }
            with.push_str(&disguise(line, k));
            with.push('\n');
        }
        shards_agree(with.as_bytes(), &Config::default(), shards)?;
    }

    /// R36, R42: with random bytes changed, inserted or removed, `--shards N` still equals
    /// `--shards 1`: every line, valid or not, is routed as the engine reads it, and every
    /// rejection is reported once.
    #[test]
    fn r36_shards_equal_one_engine_on_damaged_lines(
        seed in any::<u64>(), n in 1u64..20, shards in 2usize..4,
        edits in prop::collection::vec((any::<usize>(), 0u8..3, prop::sample::select(b"{}[]\",:\\ wcu0-9".to_vec())), 1..12),
    ) {
        let mut data = Vec::new();
        Workload::new(seed, n).write_jsonl(&mut data).unwrap();
        for (at, op, b) in edits {
            let i = at % (data.len() + 1);
            match op {
                0 if i < data.len() => data[i] = b,
                1 => data.insert(i, b),
                _ if i < data.len() => { data.remove(i); }
                _ => data.push(b),
            }
        }
        shards_agree(&data, &Config::default(), shards)?;
    }

    /// R36, §12: `--shards N` equals `--shards 1`.
    #[test]
    fn r36_shards_equal_one_engine(seed in any::<u64>(), n in 1u64..60, shards in 2usize..5, config in configs()) {
        // Watermark lines too: they must reach every shard.
        let mut with = String::new();
        for (i, line) in varied_jsonl(seed, n).lines().enumerate() {
            if i % 7 == 3 {
                let at = at_of(line);
                with.push_str(&format!("{{\"type\":\"watermark\",\"at\":\"{at}\"}}\n"));
            }
            with.push_str(line);
            with.push('\n');
        }
        shards_agree(with.as_bytes(), &config, shards)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(32)))]

    /// R41: with a reorder buffer, a stream delivered out of order within the allowed lateness
    /// (watermarks included) gives the same summaries and report as the sorted stream.
    #[test]
    fn r41_reorder_buffer_restores_time_order(seed in any::<u64>(), n in 1u64..40, lateness in 1i64..7200, salt in any::<u64>()) {
        let events = workload(seed, n);
        let mut config = config_with_policies();
        config.allowed_lateness_s = lateness;
        let (want_report, want) = run(&config, &events_only(&events));
        // Each event arrives up to `lateness` after its time; events of one conversation at
        // the same second keep their order (same delay).
        let delay = |e: &Event<'_>| {
            let mut h = salt ^ e.at.as_unix() as u64;
            for b in e.conversation.bytes() {
                h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
            }
            (h % (lateness as u64 + 1)) as i64
        };
        let mut arrivals: Vec<(Timestamp, &Event<'static>)> = events.iter().map(|e| (e.at.add_secs(delay(e)), e)).collect();
        arrivals.sort_by_key(|a| a.0);
        let mut input = Vec::new();
        let mut last = None;
        for (arrive, e) in arrivals {
            if let Some(w) = last {
                input.push(Err(w)); // the caller's watermark: everything up to the last arrival
            }
            input.push(Ok(e));
            last = Some(arrive);
        }
        let (report, got) = run(&config, &input);
        prop_assert_eq!(got, want);
        prop_assert_eq!(report, want_report);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(24)))]

    /// R36: the binary encoding round-trips every report, and shard reports shipped as bytes
    /// merge into the single-engine report; any cut or flipped byte is an error, never a panic.
    #[test]
    fn r36_binary_encoding_round_trips_and_merges(seed in any::<u64>(), n in 1u64..40, shards in 2usize..4, cut in any::<usize>(), flip in any::<usize>()) {
        let mut config = config_with_policies();
        config.schedule = Some(sla_metrics::Schedule::from_json(&serde_json::json!({"tz": "Europe/Paris", "week": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]]}})).unwrap());
        let events = workload(seed, n);
        let (whole, _) = run(&config, &events_only(&events));
        let bytes = whole.to_bytes();
        prop_assert_eq!(&Report::from_bytes(&bytes).unwrap(), &whole);
        // Shards by conversation, each finished at the whole stream's finish instant (R38).
        let fin = events.iter().map(|e| e.at).max().unwrap();
        let mut engines: Vec<Engine> = (0..shards).map(|_| Engine::new(config.clone()).unwrap()).collect();
        for e in &events {
            let k = e.conversation.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % shards;
            engines[k].ingest(e).unwrap();
        }
        let mut merged: Option<Report> = None;
        for mut e in engines {
            let shipped = Report::from_bytes(&e.finish_at(fin).to_bytes()).unwrap();
            match &mut merged {
                None => merged = Some(shipped),
                Some(m) => m.merge(&shipped).unwrap(),
            }
        }
        prop_assert_eq!(merged.unwrap(), whole);
        let cut = cut % bytes.len();
        prop_assert!(Report::from_bytes(&bytes[..cut]).is_err());
        let mut flipped = bytes.clone();
        flipped[flip % bytes.len()] ^= 0x5a;
        let _ = Report::from_bytes(&flipped); // may decode to a different report; must not panic
    }
}

/// Runs `input` through one engine with summaries and live SLA tracking, checkpointing and
/// restoring at every index in `cuts` (summaries and SLA events drained first, as the API asks);
/// returns the report, the sorted summaries and the SLA event log.
fn run_resumed(
    config: &Config,
    input: &[Result<&Event<'_>, Timestamp>],
    cuts: &[usize],
) -> (Report, Vec<Summary>, Vec<String>) {
    let start = || {
        let mut engine = Engine::new(config.clone()).expect("engine");
        engine.collect_summaries(true);
        engine.track_sla(true);
        engine
    };
    let mut engine = start();
    let (mut summaries, mut log) = (Vec::new(), Vec::new());
    let mut drain = |engine: &mut Engine| {
        summaries.extend(engine.drain_summaries());
        log.extend(engine.drain_sla_events().map(|e| format!("{e:?}")));
    };
    for (i, item) in input.iter().enumerate() {
        if cuts.contains(&i) {
            drain(&mut engine);
            let saved = engine.checkpoint().expect("nothing pending");
            engine = Engine::restore(config.clone(), &saved).expect("restores");
            assert_eq!(
                engine.checkpoint().unwrap(),
                saved,
                "restore(checkpoint) is the same state"
            );
        }
        match item {
            Ok(e) => {
                engine.ingest(e).expect("accepted");
            }
            Err(t) => engine.advance_to(*t),
        }
    }
    let report = engine.finish();
    drain(&mut engine);
    summaries.sort_by(|a, b| (&a.conversation, a.instance).cmp(&(&b.conversation, b.instance)));
    (report, summaries, log)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(32)))]

    /// R36 (checkpoint and resume lose nothing): checkpointing and restoring at random points
    /// of a stream with watermarks, a reorder buffer (R41), a business schedule and live SLA
    /// tracking gives the same summaries, report and SLA event log as the uninterrupted run.
    #[test]
    fn r36_checkpoint_and_resume_equal_the_uninterrupted_run(
        seed in any::<u64>(), n in 1u64..40, lateness in 0i64..3600,
        cuts in proptest::collection::vec(any::<usize>(), 1..4),
    ) {
        // Segment breakdowns with a small cap, so `(none)` and `(other)` are in the state too.
        let mut config = config_with_segments(&["brand", "agent", "day"]);
        config.segments.max_segments = 2;
        config.allowed_lateness_s = lateness;
        config.schedule = Some(sla_metrics::Schedule::from_json(&serde_json::json!({"tz": "Europe/Paris", "week": {"mon": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]]}})).unwrap());
        let events = workload(seed, n);
        let mut input = Vec::new();
        for (i, e) in events.iter().enumerate() {
            if i % 3 == 0 {
                input.push(Err(e.at)); // a watermark at the next event: nothing late
            }
            input.push(Ok(e));
        }
        let cuts: Vec<usize> = cuts.iter().map(|c| c % input.len()).collect();
        let want = run_resumed(&config, &input, &[]);
        let got = run_resumed(&config, &input, &cuts);
        prop_assert_eq!(got.0, want.0);
        prop_assert_eq!(got.1, want.1);
        prop_assert_eq!(got.2, want.2);
    }

    /// A checkpoint restores only under its own configuration, and any cut or flipped byte is
    /// an encoding error, never a panic or a silently different engine.
    #[test]
    fn checkpoint_rejects_corruption_and_other_configs(seed in any::<u64>(), n in 1u64..30, cut in any::<usize>(), flip in any::<usize>(), bit in 0u8..8) {
        let config = config_with_policies();
        let events = workload(seed, n);
        let mut engine = Engine::new(config.clone()).unwrap();
        for e in &events[..events.len() / 2] {
            engine.ingest(e).unwrap();
        }
        let saved = engine.checkpoint().unwrap();
        let is_encoding = |r: Result<Engine, sla_metrics::Error>| matches!(r.map(|_| ()).unwrap_err().kind(), sla_metrics::ErrorKind::Encoding { .. });
        prop_assert!(is_encoding(Engine::restore(Config::default(), &saved)));
        prop_assert!(is_encoding(Engine::restore(config.clone(), &saved[..cut % saved.len()])));
        let mut flipped = saved.clone();
        flipped[flip % saved.len()] ^= 1 << bit;
        prop_assert!(is_encoding(Engine::restore(config.clone(), &flipped)));
    }
}

/// The counters of a report that segments partition (R35): everything but the event-level
/// counts (duplicates, rejections, events ignored after finalization), as JSON.
fn partitioned(r: &Report) -> Value {
    let mut v = serde_json::to_value(r).unwrap();
    let o = v.as_object_mut().unwrap();
    for key in ["duplicates", "rejected", "what_if", "segments"] {
        o.remove(key);
    }
    o["conversations"]
        .as_object_mut()
        .unwrap()
        .remove("ignored_after_final");
    // Percentiles, means and within shares follow from the raw counters compared here.
    for (_, m) in o.iter_mut() {
        if let Some(d) = m.as_object_mut().filter(|d| d.contains_key("p50_s")) {
            for k in ["mean_s", "p50_s", "p90_s", "p95_s", "p99_s", "within"] {
                d.remove(k);
            }
        }
    }
    v
}

fn config_with_segments(by: &[&str]) -> Config {
    let mut config = config_with_policies();
    let by: Vec<String> = by.iter().map(|s| format!("\"{s}\"")).collect();
    config.segments = Config::from_json(&format!(
        r#"{{"segments": {{"by": [{}], "tz": "America/New_York", "max_segments": 6}}}}"#,
        by.join(",")
    ))
    .unwrap()
    .segments;
    config
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(32)))]

    /// R35: for every dimension, the segment reports merged together equal the overall report
    /// in every partitioned counter (conversations, distributions' counts, sums, min, max and
    /// exact within counts, FCR, response rate, CSAT, SLA outcomes), even with values beyond
    /// the segment cap folded into `(other)`.
    #[test]
    fn r35_segments_merged_equal_the_overall_report(seed in any::<u64>(), n in 1u64..60) {
        let all = ["channel", "priority", "team", "agent", "brand", "policy", "day", "week", "month"];
        let config = config_with_segments(&all);
        let events = workload(seed, n);
        let (report, summaries) = run(&config, &events_only(&events));
        prop_assert_eq!(report.breakdowns().len(), all.len());
        // Breaking down by team and agent interns them and keeps each reply's agent (R35);
        // the overall figures and every summary are those of the run without breakdowns.
        let (plain, plain_summaries) = run(&config_with_policies(), &events_only(&events));
        prop_assert_eq!(partitioned(&report), partitioned(&plain));
        // (Only the segment values differ: team and agent are interned for breakdowns only.)
        let mut summaries = summaries;
        for s in &mut summaries {
            s.segment.team = None;
            s.segment.agent = None;
        }
        prop_assert_eq!(summaries, plain_summaries);
        for b in report.breakdowns() {
            let segments = b.segments();
            prop_assert!(segments.len() <= b.max_segments() + 2, "{:?}: {} segments", b.by(), segments.len());
            let mut merged = segments[0].report.clone();
            for s in &segments[1..] {
                merged.merge(&s.report).unwrap();
            }
            prop_assert_eq!(partitioned(&merged), partitioned(&report), "by {:?}", b.by());
        }
    }

    /// R35, R36: with breakdowns, shard reports merged equal the single-engine report,
    /// segments included (with or without the segment cap reached), and the binary encoding
    /// carries them.
    #[test]
    fn r36_segment_reports_merge_across_shards(seed in any::<u64>(), n in 1u64..40, shards in 2usize..4, cap in prop::sample::select(vec![1usize, 3, 1000])) {
        let mut config = config_with_segments(&["brand", "agent", "week", "policy"]);
        config.segments.max_segments = cap;
        let events = workload(seed, n);
        let (whole, _) = run(&config, &events_only(&events));
        let fin = events.iter().map(|e| e.at).max().unwrap();
        let mut engines: Vec<Engine> = (0..shards).map(|_| Engine::new(config.clone()).unwrap()).collect();
        for e in &events {
            let k = e.conversation.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % shards;
            engines[k].ingest(e).unwrap();
        }
        let mut merged: Option<Report> = None;
        for mut e in engines {
            let shipped = Report::from_bytes(&e.finish_at(fin).to_bytes()).unwrap();
            match &mut merged {
                None => merged = Some(shipped),
                Some(m) => m.merge(&shipped).unwrap(),
            }
        }
        let merged = merged.unwrap();
        prop_assert_eq!(serde_json::to_value(&merged).unwrap(), serde_json::to_value(&whole).unwrap());
        prop_assert_eq!(merged, whole);
    }
}

/// The JSON Lines of a varied workload.
fn varied_jsonl(seed: u64, n: u64) -> String {
    let mut w = Workload::new(seed, n);
    w.mix = Mix::Varied;
    let mut data = Vec::new();
    w.write_jsonl(&mut data).unwrap();
    String::from_utf8(data).unwrap()
}

/// The `at` value of a generated event line (written as `YYYY-MM-DDTHH:MM:SSZ`).
fn at_of(line: &str) -> &str {
    &line[line.find("\"at\":\"").unwrap() + 6..][..20]
}

/// The same event line in another JSON form, chosen by `k` (0..32): fields in sorted order
/// rather than as written, a leading nested object with decoy keys, the first letter of every
/// string value or key escaped.
fn disguise(line: &str, k: u64) -> String {
    let Value::Object(fields) = serde_json::from_str::<Value>(line).unwrap() else {
        unreachable!("event lines are objects")
    };
    let escape = |s: &str, on: bool| -> String {
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if on && i == 0 && c.is_ascii() {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&serde_json::to_string(&c.to_string()).unwrap()[1..][..c.len_utf8()]);
            }
        }
        format!("\"{out}\"")
    };
    let mut parts = Vec::new();
    if k & 1 != 0 {
        parts.push(
            r#""meta":{"conversation":"decoy","type":"watermark","at":"2000-01-01T00:00:00Z"}"#.to_owned(),
        );
    }
    for (key, value) in &fields {
        let v = match value {
            Value::String(s) => escape(s, k & 2 != 0),
            other => other.to_string(),
        };
        parts.push(format!("{}:{v}", escape(key, k & 4 != 0)));
    }
    if k & 8 != 0 {
        parts.reverse();
    }
    format!("{{{}}}", parts.join(if k & 16 != 0 { " , " } else { "," }))
}

/// R36, §12: `run_jsonl` on `shards` shards gives what one engine gives: the same report, line
/// counts, summaries (in any order) and rejected lines with their kinds.
fn shards_agree(input: &[u8], config: &Config, shards: usize) -> Result<(), TestCaseError> {
    let one = run_jsonl(input, config, 1, true).unwrap();
    let many = run_jsonl(input, config, shards, true).unwrap();
    prop_assert_eq!(&one.report, &many.report);
    prop_assert_eq!(one.stats, many.stats);
    let sort = |mut v: Vec<Summary>| {
        v.sort_by(|a, b| (&a.conversation, a.instance).cmp(&(&b.conversation, b.instance)));
        v
    };
    prop_assert_eq!(sort(one.summaries), sort(many.summaries));
    let lines = |v: &[sla_metrics::Error]| v.iter().map(|e| (e.line(), e.code())).collect::<Vec<_>>();
    prop_assert_eq!(lines(&one.rejections), lines(&many.rejections));
    Ok(())
}
