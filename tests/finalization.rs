//! SPEC §9 and R43: what happens at and after a conversation's finalization instant, through
//! the public API, beyond the golden cases (which cover the reopen-window boundary and the
//! events ignored after a close).

use sla_metrics::{Config, Engine, FinalizedBy, Ingested, Outcome, Report, Summary};

const D: &str = "2024-04-02T";

fn line(conv: &str, time: &str, rest: &str) -> String {
    format!(r#"{{"conversation":"{conv}","at":"{D}{time}Z",{rest}}}"#)
}

fn engine(config: &str) -> Engine {
    let mut engine = Engine::new(Config::from_json(config).expect("config")).expect("engine");
    engine.collect_summaries(true);
    engine
}

/// Feeds lines that must all be accepted, and returns what each did.
fn feed(engine: &mut Engine, lines: &[String]) -> Vec<Option<Ingested>> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            engine
                .ingest_line(l.as_bytes(), i as u64 + 1)
                .unwrap_or_else(|e| panic!("line {} rejected: {e}", i + 1))
        })
        .collect()
}

fn finish(mut engine: Engine) -> (Report, Vec<Summary>) {
    let report = engine.finish();
    (report, engine.drain_summaries().collect())
}

/// (conversation, instance, created_at time of day, finalized_by) of each summary, in order.
fn shape(summaries: &[Summary]) -> Vec<(String, u32, String, FinalizedBy)> {
    summaries
        .iter()
        .map(|s| {
            let created = s.created_at.to_string();
            (
                s.conversation.clone(),
                s.instance,
                created[11..19].to_string(),
                s.finalized_by,
            )
        })
        .collect()
}

fn row(conv: &str, instance: u32, created: &str, by: FinalizedBy) -> (String, u32, String, FinalizedBy) {
    (conv.to_string(), instance, created.to_string(), by)
}

const CUSTOMER: &str = r#""type":"message","author":"customer""#;
const AGENT: &str = r#""type":"message","author":"agent""#;
const CLOSED: &str = r#""type":"status","status":"closed""#;
/// An event that is neither a message nor a close: ignored after finalization (R6).
const PRIORITY: &str = r#""type":"priority","priority":"high""#;

/// R43: an event after a `closed` event is after finalization even at the same instant: an
/// agent message is ignored, a customer message starts instance 2 (R6).
#[test]
fn r43_an_event_after_a_close_at_the_same_instant_is_after_finalization() {
    let mut e = engine("{}");
    let did = feed(
        &mut e,
        &[
            line("c", "09:00:00", CUSTOMER),
            line("c", "09:10:00", CLOSED),
            line("c", "09:10:00", AGENT),
            line("c", "09:10:00", CUSTOMER),
        ],
    );
    assert_eq!(did[2], Some(Ingested::IgnoredAfterFinal));
    assert_eq!(did[3], Some(Ingested::Applied));
    let (report, summaries) = finish(e);
    assert_eq!(
        shape(&summaries),
        [
            row("c", 1, "09:00:00", FinalizedBy::Closed),
            row("c", 2, "09:10:00", FinalizedBy::Finish)
        ]
    );
    assert_eq!(
        summaries[0].replies, 0,
        "the agent message after the close is not a reply"
    );
    assert_eq!(report.conversations().ignored_after_final, 1);
    assert_eq!(report.conversations().total, 2);
}

/// R43, R3: an event ignored after finalization still moves the id's last event time, so an
/// older event of that id is then out of order, and the rejection changes nothing (R42).
#[test]
fn r43_an_ignored_event_moves_the_ids_last_event_time() {
    let mut e = engine("{}");
    feed(
        &mut e,
        &[
            line("c", "09:00:00", CUSTOMER),
            line("c", "09:10:00", CLOSED),
            line("c", "09:30:00", PRIORITY),
        ],
    );
    let err = e
        .ingest_line(line("c", "09:20:00", CUSTOMER).as_bytes(), 4)
        .expect_err("older than the ignored event");
    assert_eq!(err.code(), "out_of_order");
    assert_eq!(err.line(), Some(4));
    assert_eq!(err.conversation(), Some("c"));
    let (report, summaries) = finish(e);
    assert_eq!(shape(&summaries), [row("c", 1, "09:00:00", FinalizedBy::Closed)]);
    assert_eq!(report.rejected(), 1);
    assert_eq!(report.conversations().ignored_after_final, 1);
}

/// R43, R38: an event ignored after finalization moves the finish instant, so another
/// conversation still open is finalized at it, and its 1 h target is breached there.
#[test]
fn r43_an_ignored_event_moves_the_finish_instant() {
    let mut e = engine("{}");
    feed(
        &mut e,
        &[
            line("c", "09:00:00", CUSTOMER),
            line("c", "09:10:00", CLOSED),
            line("d", "09:00:00", CUSTOMER),
            line("c", "12:00:00", PRIORITY),
        ],
    );
    let (_, summaries) = finish(e);
    let d = summaries.iter().find(|s| s.conversation == "d").expect("d");
    assert_eq!(d.finalized_by, FinalizedBy::Finish);
    assert_eq!(d.finalized_at.to_string(), "2024-04-02T12:00:00Z");
    let outcomes: Vec<_> = d.sla.iter().map(|r| (r.threshold_s, r.outcome)).collect();
    assert_eq!(outcomes, [(3_600, Outcome::Breached), (86_400, Outcome::Active)]);
}

/// R6, R43: the engine remembers a finalized id until `reopen_window` after its finalization
/// instant: within it a customer message starts the next instance, later than it the id is
/// new again (instance 1).
#[test]
fn r6_the_id_memory_lasts_reopen_window_after_finalization() {
    let mut e = engine(r#"{"reopen_window_s": 3600}"#);
    feed(
        &mut e,
        &[
            line("c", "09:00:00", CUSTOMER),
            line("c", "09:10:00", CLOSED),
            line("c", "10:10:00", CUSTOMER), // exactly one window after: remembered
            line("c", "10:10:00", CLOSED),
            line("c", "11:10:01", CUSTOMER), // one second past the window: forgotten
        ],
    );
    let (_, summaries) = finish(e);
    assert_eq!(
        shape(&summaries),
        [
            row("c", 1, "09:00:00", FinalizedBy::Closed),
            row("c", 2, "10:10:00", FinalizedBy::Closed),
            row("c", 1, "11:10:01", FinalizedBy::Finish),
        ]
    );
}

/// R43, R4: duplicate detection covers the live instance only; after finalization a
/// redelivered event is judged like any other: a redelivered `closed` is ignored, a
/// redelivered customer message starts a follow-up.
#[test]
fn r43_a_redelivery_after_finalization_is_judged_like_any_other_event() {
    let mut e = engine("{}");
    let m1 = format!(r#""id":"m1",{CUSTOMER}"#);
    let s1 = format!(r#""id":"s1",{CLOSED}"#);
    let did = feed(
        &mut e,
        &[
            line("c", "09:00:00", &m1),
            line("c", "09:10:00", &s1),
            line("c", "09:10:00", &s1),
            line("c", "09:10:00", &m1),
        ],
    );
    assert_eq!(did[2], Some(Ingested::IgnoredAfterFinal));
    assert_eq!(did[3], Some(Ingested::Applied));
    let (report, summaries) = finish(e);
    assert_eq!(
        shape(&summaries),
        [
            row("c", 1, "09:00:00", FinalizedBy::Closed),
            row("c", 2, "09:10:00", FinalizedBy::Finish)
        ]
    );
    assert_eq!(report.duplicates(), 0);
    assert_eq!(report.conversations().ignored_after_final, 1);
}

/// R42: checks run in the order invalid → duplicate → late → out of order. A redelivery older
/// than the watermark is a duplicate, not late; a new event older than both the watermark and
/// its conversation's last event is late; an invalid event with a known id is invalid.
#[test]
fn r42_checks_run_invalid_then_duplicate_then_late_then_out_of_order() {
    let mut e = engine("{}");
    feed(
        &mut e,
        &[
            line("c", "09:00:00", &format!(r#""id":"m1",{CUSTOMER}"#)),
            line("c", "09:20:00", &format!(r#""id":"m2",{AGENT}"#)),
            format!(r#"{{"type":"watermark","at":"{D}09:30:00Z"}}"#),
        ],
    );
    let redelivered = line("c", "09:00:00", &format!(r#""id":"m1",{CUSTOMER}"#));
    assert_eq!(
        e.ingest_line(redelivered.as_bytes(), 4).expect("a duplicate"),
        Some(Ingested::Duplicate)
    );
    let older = line("c", "09:10:00", &format!(r#""id":"m3",{CUSTOMER}"#));
    assert_eq!(
        e.ingest_line(older.as_bytes(), 5).expect_err("late").code(),
        "late"
    );
    let invalid = line("c", "09:40:00", r#""id":"m1","type":"message","author":"nobody""#);
    assert_eq!(
        e.ingest_line(invalid.as_bytes(), 6).expect_err("invalid").code(),
        "invalid"
    );
    let (report, summaries) = finish(e);
    assert_eq!(report.duplicates(), 1);
    assert_eq!(report.rejected(), 2);
    assert_eq!(summaries[0].calendar.first_response_s, Some(1_200));
}

const SOLVED: &str = r#""type":"status","status":"solved""#;
const NOTE: &str = r#""type":"message","author":"agent","visibility":"internal""#;

/// The instant `time` of day on the test's date.
fn at(time: &str) -> sla_metrics::Timestamp {
    format!("{D}{time}Z").parse().expect("instant")
}

/// (conversation, finalized_at time of day, finalized_by) of each summary drained so far.
fn finalized(engine: &mut Engine) -> Vec<(String, String, FinalizedBy)> {
    engine
        .drain_summaries()
        .map(|s| {
            (
                s.conversation,
                s.finalized_at.to_string()[11..19].to_string(),
                s.finalized_by,
            )
        })
        .collect()
}

/// R39 through the watermark: a solve brings a conversation's finalization earlier (the
/// reopen window), events while solved leave it there, a reopen moves it back to the idle
/// timeout after the last event, and each fires exactly when the watermark passes it.
#[test]
fn r39_the_due_moves_earlier_on_a_solve_and_later_on_a_reopen() {
    let mut engine = engine(r#"{"reopen_window_s": 3600, "idle_timeout_s": 36000}"#);
    feed(
        &mut engine,
        &[
            line("solved", "00:00:00", CUSTOMER),
            line("solved", "00:10:00", AGENT),
            line("solved", "00:20:00", SOLVED),
            line("solved", "00:50:00", NOTE), // while solved: the window stands
            line("reopened", "00:00:00", CUSTOMER),
            line("reopened", "00:20:00", SOLVED),
            line("reopened", "00:40:00", CUSTOMER), // reopens: idle after this event
        ],
    );
    engine.advance_to(at("01:20:00"));
    assert!(finalized(&mut engine).is_empty(), "nothing due before 01:20");
    engine.advance_to(at("01:20:01"));
    assert_eq!(
        finalized(&mut engine),
        [(
            "solved".to_string(),
            "01:20:00".to_string(),
            FinalizedBy::ReopenWindow
        )]
    );
    engine.advance_to(at("10:40:00"));
    assert!(finalized(&mut engine).is_empty(), "reopened: due at 10:40 (idle)");
    engine.advance_to(at("10:40:01"));
    assert_eq!(
        finalized(&mut engine),
        [("reopened".to_string(), "10:40:00".to_string(), FinalizedBy::Idle)]
    );
}

/// R39 without a watermark: an event that comes after its conversation's due finalizes the
/// instance at the due first, solved (reopen window) or idle, then counts as an event after
/// finalization (R6: a customer message starts instance 2).
#[test]
fn r39_an_event_after_the_due_finalizes_first_without_a_watermark() {
    let mut engine = engine(r#"{"reopen_window_s": 3600, "idle_timeout_s": 7200}"#);
    let done = feed(
        &mut engine,
        &[
            line("idle", "00:00:00", CUSTOMER),
            line("idle", "01:00:00", AGENT),
            line("solved", "00:00:00", CUSTOMER),
            line("solved", "00:30:00", SOLVED),
            line("solved", "01:30:00", NOTE), // exactly at the window's end: not after it
            line("idle", "03:00:01", CUSTOMER),
            line("solved", "02:00:00", CUSTOMER), // within the id memory (R6)
        ],
    );
    assert!(done.iter().all(|d| *d == Some(Ingested::Applied)), "{done:?}");
    assert_eq!(
        finalized(&mut engine),
        [
            ("idle".to_string(), "03:00:00".to_string(), FinalizedBy::Idle),
            (
                "solved".to_string(),
                "01:30:00".to_string(),
                FinalizedBy::ReopenWindow
            ),
        ]
    );
    let (_, rest) = finish(engine);
    assert_eq!(rest.iter().map(|s| s.instance).collect::<Vec<_>>(), [2, 2]);
}
