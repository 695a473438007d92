//! Criterion benches: `cargo bench --bench benches` (CI runs `-- --test`: each once).

use criterion::Criterion;

#[path = "../examples/common/allocator.rs"]
mod allocator;
mod engine;
mod schedule;
mod sla;
#[path = "../examples/common/yardstick.rs"]
mod yardstick;

fn main() {
    let mut c = Criterion::default().configure_from_args();
    engine::benches(&mut c);
    schedule::benches(&mut c);
    sla::benches(&mut c);

    c.final_summary();
}
