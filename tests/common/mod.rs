//! What the integration tests share.

/// How many cases a property test runs: `base`, times `SLA_PROPTEST_SCALE` when that is set,
/// for a deeper sweep than `cargo test` makes (`SLA_PROPTEST_SCALE=20 cargo test --release`).
/// The blocks set their counts in code, which proptest's own `PROPTEST_CASES` does not
/// override; a scale keeps their proportions. A value that is not a whole number from 1 up
/// fails the test rather than silently running the usual sweep.
pub fn cases(base: u32) -> u32 {
    match std::env::var("SLA_PROPTEST_SCALE") {
        Err(_) => base,
        Ok(v) => match v.parse::<u32>() {
            Ok(scale) if scale >= 1 => base.saturating_mul(scale),
            _ => panic!("SLA_PROPTEST_SCALE must be a whole number from 1 up, not {v:?}"),
        },
    }
}
