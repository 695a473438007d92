//! Criterion benches: `cargo bench --bench benches` (CI runs `-- --test`: each once).

use criterion::Criterion;

mod engine;
mod schedule;

fn main() {
    let mut c = Criterion::default().configure_from_args();
    engine::benches(&mut c);
    schedule::benches(&mut c);

    c.final_summary();
}
