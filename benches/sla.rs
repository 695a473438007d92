//! Live SLA benches (R21, R27) on one million running instances: breaching k instances by
//! advancing the watermark costs O(k · log n), and the at-risk query reads the 100 soonest.

use criterion::{black_box, BenchmarkId, Criterion};
use sla_metrics::{Author, Config, Engine, Event, Timestamp};
use std::time::{Duration, Instant};

const CONVERSATIONS: i64 = 500_000; // two default targets each: 1 M running instances
const T0: i64 = 1_711_929_600; // 2024-04-01T00:00:00Z

/// One customer message per second: deadlines one second apart, 1 h and 24 h after.
fn engine() -> Engine {
    let mut engine = Engine::new(Config::default()).expect("default config");
    engine.track_sla(true);
    for i in 0..CONVERSATIONS {
        let e = Event::message(format!("c{i}"), Timestamp::from_unix(T0 + i), Author::Customer);
        engine.ingest(&e).expect("valid");
    }
    engine.drain_sla_events().for_each(drop);
    engine
}

pub fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("sla");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    let mut e = engine();
    e.advance_to(Timestamp::from_unix(T0 + 3600)); // nothing due yet
    g.bench_function("at_risk_100_of_1m", |b| {
        b.iter(|| {
            let r = e.at_risk(black_box(86_400), 100);
            assert_eq!(r.len(), 100);
            r
        })
    });
    for k in [100i64, 1_000, 10_000] {
        let mut e = engine();
        let mut w = T0 + 3600;
        g.bench_with_input(BenchmarkId::new("advance_breaching", k), &k, |b, &k| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if w + k >= T0 + 86_400 {
                        e = engine(); // 24 h deadlines would come due too: start again (not timed)
                        w = T0 + 3600;
                    }
                    w += k;
                    let t = Instant::now();
                    e.advance_to(Timestamp::from_unix(w));
                    let breached = e.drain_sla_events().count();
                    total += t.elapsed();
                    assert_eq!(breached as i64, k);
                }
                total
            })
        });
    }
    g.finish();
}
