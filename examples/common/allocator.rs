//! The global allocator of the command-line examples and the benches (not of the library, which
//! allocates through whatever allocator the embedding program uses). The per-conversation lists
//! are many small, short-lived allocations, and at 300 k open conversations mimalloc serves them
//! faster than the system allocator (README, Performance). `--features system-allocator`
//! builds with the system allocator instead, to compare.

#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
