//! Business clock benches (R29, R30): queries on a warm 10-year index, and building a year.

use chrono::Weekday::{self, *};
use criterion::{black_box, Criterion};
use sla_metrics::{Schedule, Timestamp};

fn new_york(holidays: &[&str]) -> Schedule {
    let open: Vec<(Weekday, &str, &str)> = [Mon, Tue, Wed, Thu, Fri]
        .iter()
        .flat_map(|&d| [(d, "08:00", "12:00"), (d, "13:00", "18:00")])
        .collect();
    Schedule::new("America/New_York", &open, holidays).expect("valid")
}

/// Instants spread over ten years from 2024, from a fixed sequence.
fn instants(n: usize) -> Vec<Timestamp> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Timestamp::from_unix(1_704_067_200 + (x % (10 * 365 * 86_400)) as i64)
        })
        .collect()
}

pub fn benches(c: &mut Criterion) {
    let s = new_york(&["2024-12-25", "2025-01-01", "2025-07-04"]);
    let points = instants(4096);
    // Warm the index over the whole horizon.
    assert!(s.business_seconds(points[0], Timestamp::from_unix(1_704_067_200 + 11 * 365 * 86_400)) > 0);
    let mut g = c.benchmark_group("schedule");
    let mut i = 0;
    g.bench_function("business_seconds_10y", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            let (a, z) = (points[i], points[(i + 1) & 4095]);
            let (a, z) = if a <= z { (a, z) } else { (z, a) };
            let x = s.business_seconds(black_box(a), black_box(z));
            assert!(x >= 0);
            x
        })
    });
    g.bench_function("deadline_10y", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            let d = s.deadline(black_box(points[i]), black_box(3 * 3600 + (i as i64) * 97));
            assert!(d > points[i]);
            d
        })
    });
    g.bench_function("build_year", |b| {
        b.iter(|| {
            let fresh = new_york(&[]); // no holidays: nothing built at construction
            let x = fresh.business_seconds(
                Timestamp::from_unix(1_735_689_600), // 2025-01-01
                Timestamp::from_unix(1_767_225_599),
            );
            assert!(x > 2000 * 3600);
            x
        })
    });
    g.finish();
}
