//! Criterion benches: `cargo bench --bench benches` (CI runs `-- --test`: each once).

use criterion::Criterion;

mod engine;

fn main() {
    let mut c = Criterion::default().configure_from_args();
    engine::benches(&mut c);

    c.final_summary();
}
