//! Criterion benches: `cargo bench --bench benches` (CI runs `-- --test`: each once).

use criterion::Criterion;

mod engine;
mod schedule;
mod sla;

// The per-conversation lists are many small, short-lived allocations; mimalloc serves them
// faster than the system allocator (README, Performance). `--features system-allocator` to compare.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut c = Criterion::default().configure_from_args();
    engine::benches(&mut c);
    schedule::benches(&mut c);
    sla::benches(&mut c);

    c.final_summary();
}
