//! The machine-speed yardstick the performance issue names: plain serde_json parsing of the
//! event lines alone ("~5.5 M lines/s on this machine" when the targets were set), into a
//! `#[derive(Deserialize)]` struct of `&str` fields. It validates nothing the SPEC asks (no
//! RFC 3339 check, no enum values) and applies nothing: it is there to be measured beside the
//! library on the same lines, so that a rate can be read against the machine's speed of the
//! hour. `&str` rather than `String` or `Cow` makes it the fastest plain reader (no
//! allocation, no escape handling: a line with an escaped string fails, and the generated
//! lines have none; callers check the count), so rates read against it are not flattered.
//! Shared by the `throughput` example and the criterion benches.

/// One event line as a plain serde reader sees it: every field of SPEC §1 as text.
#[derive(serde::Deserialize)]
#[allow(dead_code)] // parsed to be measured, never read
struct PlainLine<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    conversation: Option<&'a str>,
    at: &'a str,
    id: Option<&'a str>,
    author: Option<&'a str>,
    visibility: Option<&'a str>,
    agent: Option<&'a str>,
    team: Option<&'a str>,
    channel: Option<&'a str>,
    brand: Option<&'a str>,
    tags: Option<Vec<&'a str>>,
    status: Option<&'a str>,
    priority: Option<&'a str>,
    reason: Option<&'a str>,
    score: Option<i64>,
}

/// Parses every non-blank line of `data` with serde_json into [`PlainLine`]; returns how many
/// parsed. The caller checks the count against the number of lines.
pub fn serde_json_plain(data: &[u8]) -> u64 {
    let mut parsed = 0;
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if serde_json::from_slice::<PlainLine<'_>>(line).is_ok() {
            parsed += 1;
        }
    }
    parsed
}
