//! R42: no input makes the library panic; every rejection is a typed error that changes nothing.

mod common;

use proptest::prelude::*;
use sla_metrics::{
    parse_line, Author, Config, Engine, Event, EventKind, ExcludeReason, Mix, Priority, Status, Timestamp,
    Visibility, Workload,
};

fn engine(policies: bool) -> Engine {
    let mut e = Engine::new(config(policies)).unwrap();
    e.collect_summaries(true);
    e.track_sla(true);
    e
}

fn config(policies: bool) -> Config {
    if policies {
        Config::from_json(
            r#"{"reopen_window_s": 3600, "idle_timeout_s": 7200,
            "schedule": {"tz": "Europe/London", "week": {"mon": [["09:00", "17:00"]], "sat": [["22:00", "24:00"]], "sun": [["00:00", "02:00"]]}},
            "policies": [{"name": "vip", "when": {"priority": ["urgent"], "tags": ["x"]}, "targets": [
              {"metric": "first_response", "threshold_s": 60, "clock": "business"},
              {"metric": "requester_wait", "threshold_s": 120, "clock": "business"},
              {"metric": "agent_work", "threshold_s": 90}, {"metric": "full_resolution", "threshold_s": 300}]},
             {"name": "all", "targets": [{"metric": "next_reply", "threshold_s": 30}, {"metric": "first_resolution", "threshold_s": 600}]}]}"#,
        )
        .unwrap()
    } else {
        Config::default()
    }
}

fn kind() -> impl Strategy<Value = EventKind<'static>> {
    prop_oneof![
        (0usize..5, any::<bool>(), 0usize..3).prop_map(|(a, internal, ch)| EventKind::Message {
            author: [
                Author::Customer,
                Author::Agent,
                Author::Bot,
                Author::Automation,
                Author::System
            ][a],
            visibility: if internal {
                Visibility::Internal
            } else {
                Visibility::Public
            },
            agent: None,
            channel: [None, Some("email".into()), Some("chat".into())][ch].clone(),
        }),
        (0usize..6).prop_map(|s| EventKind::Status(
            [
                Status::New,
                Status::Open,
                Status::Pending,
                Status::OnHold,
                Status::Solved,
                Status::Closed
            ][s]
        )),
        (0usize..4).prop_map(|p| EventKind::Priority(
            [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent][p]
        )),
        Just(EventKind::Handoff),
        any::<bool>().prop_map(|x| EventKind::Attributes {
            channel: None,
            brand: Some("b".into()),
            tags: Some(if x { vec!["x".into()] } else { vec![] }),
        }),
        (0u8..8).prop_map(|score| EventKind::Csat { score }),
        (0usize..3).prop_map(|r| EventKind::Exclude {
            reason: ExcludeReason::ALL[r]
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(256)))]

    /// R42: arbitrary bytes never panic the reader; rejections are `invalid`.
    #[test]
    fn r42_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut e = engine(false);
        if let Err(err) = e.ingest_line(&bytes, 1) {
            prop_assert_eq!(err.code(), "invalid");
            prop_assert_eq!(err.line(), Some(1));
        }
        let _ = parse_line(&bytes);
        // Neither decoder panics on arbitrary bytes; a checkpoint also needs its checksum.
        prop_assert!(Engine::restore(Config::default(), &bytes).is_err());
        let _ = sla_metrics::Report::from_bytes(&bytes);
        e.finish();
    }

    /// R42: real lines with random bytes changed never panic, and the rest of the stream still
    /// goes through.
    #[test]
    fn r42_mutated_lines_never_panic(seed in any::<u64>(), edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let mut data = Vec::new();
        Workload::new(seed, 5).write_jsonl(&mut data).unwrap();
        for (at, b) in edits {
            let i = at % data.len();
            data[i] = b;
        }
        let mut e = engine(true);
        let stats = e.ingest_jsonl(&data[..], |err| assert!(["invalid", "late", "out_of_order"].contains(&err.code()))).unwrap();
        // Every line is an event, a watermark, a rejection or blank: nothing is dropped silently.
        let blank = data.split(|&b| b == b'\n').take(stats.lines as usize).filter(|l| l.iter().all(u8::is_ascii_whitespace)).count() as u64;
        prop_assert_eq!(stats.events + stats.watermarks + stats.rejected + blank, stats.lines);
        let report = e.finish();
        prop_assert_eq!(report.rejected(), stats.rejected);
    }

    /// R42: arbitrary event sequences (out of order, late, duplicated, any kind) never panic;
    /// every error is one of the R37 kinds; the report's rejections count them all.
    #[test]
    fn r42_arbitrary_event_sequences_never_panic(
        policies in any::<bool>(),
        steps in proptest::collection::vec((0usize..3, -5_000i64..50_000, kind(), proptest::option::of(0u8..20), proptest::option::of(-5_000i64..50_000)), 1..60),
    ) {
        let mut e = engine(policies);
        let mut rejected = 0;
        for (conv, at, kind, id, watermark) in steps {
            let base = 1_711_929_600; // a Monday
            if let Some(w) = watermark {
                e.advance_to(Timestamp::from_unix(base + w));
            }
            let mut ev = Event::new(["a", "b", "c"][conv], Timestamp::from_unix(base + at), kind);
            ev.id = id.map(|i| format!("e{i}").into());
            if let Err(err) = e.ingest(&ev) {
                prop_assert!(["invalid", "late", "out_of_order"].contains(&err.code()), "{}", err);
                rejected += 1;
            }
            let _ = e.at_risk(3600, 5);
            let _ = e.drain_sla_events().count();
        }
        // Whatever state these steps left, a checkpoint restores to the same state.
        let mut summaries: Vec<_> = e.drain_summaries().collect();
        let saved = e.checkpoint().unwrap();
        let restored = Engine::restore(config(policies), &saved).unwrap();
        prop_assert_eq!(restored.checkpoint().unwrap(), saved);
        let report = e.finish();
        prop_assert_eq!(report.rejected(), rejected);
        let _ = report.to_string();
        let _ = report.to_json_pretty();
        summaries.extend(e.drain_summaries());
        for s in summaries {
            prop_assert_eq!(s.calendar.requester_wait_s, s.calendar.agent_work_s + s.calendar.on_hold_s);
            let b = s.business.as_ref().unwrap_or(&s.calendar);
            prop_assert!(b.requester_wait_s <= s.calendar.requester_wait_s);
        }
    }
}

/// R1, R42: a typed event's `at` must be an instant RFC 3339 can write (years 0000–9999); one
/// outside is `invalid` and changes nothing, while the extremes of that range are accepted.
#[test]
fn r1_typed_events_outside_rfc3339_years_are_invalid() {
    let mut e = engine(false);
    for secs in [
        i64::MIN,
        -62_167_219_200 - 2 * 86_400,
        253_402_300_800 + 2 * 86_400,
        i64::MAX,
    ] {
        let ev = Event::message("c1", Timestamp::from_unix(secs), Author::Customer);
        let err = e.ingest(&ev).unwrap_err();
        assert!(
            matches!(err.kind(), sla_metrics::ErrorKind::Invalid { .. }),
            "{err}"
        );
    }
    assert_eq!(e.open_conversations(), 0);
    let first = Timestamp::parse("0000-01-01T00:00:00+23:59").unwrap();
    let last = Timestamp::parse("9999-12-31T23:59:59-23:59").unwrap();
    for (id, at) in [("early", first), ("late", last)] {
        assert!(
            e.ingest(&Event::message(id, at, Author::Customer)).is_ok(),
            "{at}"
        );
    }
    assert_eq!(e.open_conversations(), 2);
}

/// R4: every redelivered id of a long conversation is a duplicate, also once the ids outnumber
/// the bits of the engine's id filter, and also after a checkpoint and restore (which rebuild
/// the filter from the remembered ids).
#[test]
fn r4_every_redelivered_id_is_a_duplicate_before_and_after_restore() {
    use sla_metrics::Ingested;
    let start = Timestamp::parse("2024-04-02T10:00:00Z").unwrap();
    let event = |i: i64| {
        let author = if i % 2 == 0 {
            Author::Customer
        } else {
            Author::Agent
        };
        Event::message("c1", Timestamp::from_unix(start.as_unix() + 60 * i), author).with_id(format!("m{i}"))
    };
    let mut e = Engine::new(config(false)).unwrap();
    for i in 0..200 {
        assert_eq!(e.ingest(&event(i)).unwrap(), Ingested::Applied);
    }
    let redeliver_all = |e: &mut Engine| {
        for i in 0..200 {
            assert_eq!(e.ingest(&event(i)).unwrap(), Ingested::Duplicate, "m{i}");
        }
    };
    redeliver_all(&mut e);
    let mut restored = Engine::restore(config(false), &e.checkpoint().unwrap()).unwrap();
    redeliver_all(&mut restored);
    assert_eq!(restored.report().duplicates(), 400);
}

/// R36: a checkpoint of format version 2 (status time in 32-bit seconds; version 3 keeps 64)
/// still restores, to the state the current version reaches at the same point, and the run
/// goes on exactly as one never interrupted. The fixture holds 43 open conversations of a
/// varied workload, half of it ingested, under policies with a tag filter and business-hours
/// targets, so conversations carry tags and status time on a second clock.
#[test]
fn r36_a_version_2_checkpoint_restores_and_continues_exactly() {
    let config = || {
        Config::from_json(
            r#"{"schedule": {"tz": "America/New_York", "week": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]], "thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]}},
 "policies": [{"name": "refunds", "when": {"tags": ["refund"]}, "targets": [
   {"metric": "first_response", "threshold_s": 3600, "clock": "business"},
   {"metric": "requester_wait", "threshold_s": 14400, "clock": "business"},
   {"metric": "agent_work", "threshold_s": 7200}]},
  {"name": "all", "targets": [{"metric": "first_response", "threshold_s": 3600}, {"metric": "next_reply", "threshold_s": 7200},
   {"metric": "requester_wait", "threshold_s": 28800, "clock": "business"}]}]}"#,
        )
        .unwrap()
    };
    let new_engine = || {
        let mut e = Engine::new(config()).unwrap();
        e.collect_summaries(true);
        e.track_sla(true);
        e
    };
    let events: Vec<_> = Workload::new(36, 50).with_mix(Mix::Varied).events().collect();
    let (first, rest) = events.split_at(events.len() / 2);
    let saved = include_bytes!("fixtures/checkpoint_v2.bin");
    assert_eq!(&saved[..8], b"SLACKP\x02\x00", "a version 2 checkpoint");

    let mut whole = new_engine();
    for e in first {
        let _ = whole.ingest(e);
    }
    let _ = (whole.drain_summaries().count(), whole.drain_sla_events().count());
    let mut restored = Engine::restore(config(), saved).unwrap();
    restored.collect_summaries(true);
    restored.track_sla(true);
    assert_eq!(restored.open_conversations(), 43);
    assert_eq!(restored.checkpoint().unwrap(), whole.checkpoint().unwrap());

    for e in rest {
        assert_eq!(
            format!("{:?}", restored.ingest(e)),
            format!("{:?}", whole.ingest(e))
        );
    }
    let (a, b) = (restored.finish(), whole.finish());
    assert_eq!(a.to_json_pretty(), b.to_json_pretty());
    assert!(restored.drain_summaries().eq(whole.drain_summaries()));
}
