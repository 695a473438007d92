//! Engine benches: typed ingest, JSON Lines end to end, report generation.

use criterion::{black_box, BatchSize, Criterion, Throughput};
use sla_metrics::{parse_line, run_jsonl, Config, Engine, Event, Workload};

/// Conversations in the benchmark streams (about 9 events each).
const CONVERSATIONS: u64 = 20_000;

fn events() -> Vec<Event<'static>> {
    Workload::new(7, CONVERSATIONS).events().collect()
}

fn jsonl() -> Vec<u8> {
    let mut data = Vec::new();
    Workload::new(7, CONVERSATIONS)
        .write_jsonl(&mut data)
        .expect("write to memory");
    data
}

pub fn benches(c: &mut Criterion) {
    let events = events();
    let data = jsonl();
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64;

    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.sample_size(10);
    g.bench_function("ingest_typed", |b| {
        b.iter_batched(
            || Engine::new(Config::default()).expect("default config"),
            |mut engine| {
                for e in &events {
                    black_box(engine.ingest(e).is_ok());
                }
                let report = engine.finish();
                assert_eq!(report.rejected(), 0);
                report
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("jsonl");
    g.throughput(Throughput::Elements(lines));
    g.sample_size(10);
    g.bench_function("parse_only", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for line in data.split(|&b| b == b'\n') {
                if let Ok(Some(_)) = parse_line(line) {
                    n += 1;
                }
            }
            assert_eq!(n, lines);
            n
        })
    });
    // The yardstick, plain serde_json parsing alone, beside the library on the same
    // lines (examples/common/yardstick.rs).
    g.bench_function("serde_json_plain", |b| {
        b.iter(|| {
            let n = crate::yardstick::serde_json_plain(&data);
            assert_eq!(n, lines);
            n
        })
    });
    for shards in [1usize, 2] {
        g.bench_function(format!("end_to_end_{shards}_shards"), |b| {
            b.iter(|| {
                let run = run_jsonl(&data[..], &Config::default(), shards, false).expect("run");
                let json = run.report.to_json_pretty();
                assert!(run.rejections.is_empty() && json.len() > 100);
                json.len()
            })
        });
    }
    g.finish();

    // Report generation is independent of the events processed: same cost after 2k or 20k.
    let mut g = c.benchmark_group("report");
    for n in [2_000u64, 20_000] {
        let mut engine = Engine::new(Config::default()).expect("default config");
        for e in Workload::new(3, n).events() {
            engine.ingest(&e).expect("generated events are valid");
        }
        let report = engine.finish();
        g.bench_function(format!("json_after_{n}_conversations"), |b| {
            b.iter(|| {
                let json = report.to_json_pretty();
                assert!(json.contains("first_response"));
                json.len()
            })
        });
    }
    g.finish();
}
