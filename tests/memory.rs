//! SPEC §9 (R39, R40): memory is bounded by open conversations, not by the stream's length.

use sla_metrics::{Config, Engine, Timestamp, Workload};

/// R40: with the watermark advancing, the open conversations, the remembered ids and the
/// engine's other memory (spare table capacity, timers, lists kept for reuse) stay flat once
/// the reopen window and the idle timeout have filled; nothing grows with the length of the
/// stream. (A small version of `examples/soak.rs`.)
#[test]
fn r40_state_stays_flat_as_the_stream_goes_on() {
    let config = Config::from_json(r#"{"reopen_window_s": 86400, "idle_timeout_s": 172800}"#).unwrap();
    let workload = Workload::new(5, 20_000).with_rate_per_hour(20.0); // about six weeks of traffic
    let events: Vec<_> = workload.events().collect();
    let first = events[0].at.as_unix();
    let mut engine = Engine::new(config).unwrap();
    let mut peaks = [(0usize, 0usize, 0usize); 2]; // (open, id memories, table bytes) per half, after a week
    let mut hour = i64::MIN;
    for (i, e) in events.iter().enumerate() {
        let h = e.at.as_unix() / 3600;
        if h != hour {
            engine.advance_to(Timestamp::from_unix(h * 3600 - 3600));
            hour = h;
            let elapsed = e.at.as_unix() - first;
            if elapsed > 7 * 86_400 {
                let half = usize::from(i > events.len() / 2);
                let m = engine.memory();
                peaks[half].0 = peaks[half].0.max(m.open_conversations);
                peaks[half].1 = peaks[half].1.max(m.id_memories);
                peaks[half].2 = peaks[half].2.max(m.table_bytes);
            }
        }
        engine.ingest(e).unwrap();
    }
    let report = engine.finish();
    assert!(report.conversations().total >= 20_000);
    eprintln!("peaks (open, id memories, table bytes) per half: {peaks:?}");
    // Flat: the second half never needs much more than the first.
    assert!(peaks[1].0 <= peaks[0].0 * 3 / 2 + 100, "{peaks:?}");
    assert!(peaks[1].1 <= peaks[0].1 * 3 / 2 + 100, "{peaks:?}");
    assert!(peaks[1].2 <= peaks[0].2 * 3 / 2 + 65_536, "{peaks:?}");
    // Bounded by the traffic of a few days (20 an hour), not by 20 000 conversations.
    assert!(peaks[1].0 < 5_000, "{peaks:?}");
    assert!(peaks[1].1 < 5_000, "{peaks:?}");
    assert_eq!(engine.open_conversations(), 0);
}

/// R39, R40: an idle timeout so long that a conversation's due lies past what the state can
/// hold (the year 19 000) means no timer, not one more timer an event: the timers stay as few
/// as the conversations, however long each goes on. (Measured from the 5 000th event: by then
/// the lists kept for reuse hold one of each size and grow no more.)
#[test]
fn r40_a_due_past_the_state_range_arms_no_timer_per_event() {
    use sla_metrics::{Author, Event};
    let config = Config::from_json(r#"{"idle_timeout_s": 1000000000000}"#).unwrap();
    let mut engine = Engine::new(config).unwrap();
    let t0 = Timestamp::from_unix(1_712_000_000);
    let mut besides_state = Vec::new();
    for n in 0..20_000i64 {
        let author = if n % 2 == 0 {
            Author::Customer
        } else {
            Author::Agent
        };
        engine
            .ingest(&Event::message("c1", t0.add_secs(60 * n), author))
            .unwrap();
        if n == 5_000 || n == 19_999 {
            besides_state.push(engine.memory().table_bytes);
        }
    }
    assert_eq!(
        besides_state[0], besides_state[1],
        "bytes besides the open state grew"
    );
    engine.advance_to(t0.add_secs(86_400 * 365 * 100));
    assert_eq!(
        engine.open_conversations(),
        1,
        "a due past the year 19 000 is never"
    );
}
