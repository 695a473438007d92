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
