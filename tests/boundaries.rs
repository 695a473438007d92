//! SPEC edge cases at their boundaries, through the public API: an instant exactly at a
//! deadline or threshold, a wait cancelled one second too late, a solve with nobody waiting.
//! The golden cases cover the common side of each rule; these cover the other side.

use sla_metrics::{Config, Engine, Metric, Outcome, Report, SlaMetric, Summary, Timestamp};

const D: &str = "2024-04-02T";

fn line(conv: &str, time: &str, rest: &str) -> String {
    format!(r#"{{"conversation":"{conv}","at":"{D}{time}Z",{rest}}}"#)
}

/// Feeds lines that must all be accepted, then finishes: the report and the summaries.
fn run(config: &str, lines: &[String]) -> (Report, Vec<Summary>) {
    let mut engine = Engine::new(Config::from_json(config).expect("config")).expect("engine");
    engine.collect_summaries(true);
    for (i, l) in lines.iter().enumerate() {
        if let Err(e) = engine.ingest_line(l.as_bytes(), i as u64 + 1) {
            panic!("line {} rejected: {e}", i + 1);
        }
    }
    let report = engine.finish();
    let summaries = engine.drain_summaries().collect();
    (report, summaries)
}

fn at(time: &str) -> Timestamp {
    Timestamp::parse(&format!("{D}{time}Z")).expect("instant")
}

/// (metric, outcome, deadline) of each SLA instance of a summary, in activation order.
fn sla(s: &Summary) -> Vec<(SlaMetric, Outcome, Timestamp)> {
    s.sla.iter().map(|r| (r.metric, r.outcome, r.deadline)).collect()
}

const CUSTOMER: &str = r#""type":"message","author":"customer""#;
const AGENT: &str = r#""type":"message","author":"agent","agent":"ann""#;
const HANDOFF: &str = r#""type":"handoff""#;
const SOLVED: &str = r#""type":"status","status":"solved""#;
const FIRST_RESPONSE_1H: &str = r#"{"policies":[{"name":"p","targets":[
    {"metric":"first_response","threshold_s":3600,"clock":"calendar"}]}]}"#;

/// R10: a handoff at exactly the deadline restarts the instance (its deadline does not lie
/// before the handoff); one second later it finds the instance breached, and only the wait
/// restarts.
#[test]
fn r10_a_handoff_at_the_deadline_restarts_and_one_after_it_breaches() {
    let (_, at_deadline) = run(
        FIRST_RESPONSE_1H,
        &[
            line("c", "09:00:00", CUSTOMER),
            line("c", "10:00:00", HANDOFF),
            line("c", "10:40:00", AGENT),
        ],
    );
    assert_eq!(at_deadline[0].calendar.first_response_s, Some(2400));
    assert_eq!(
        sla(&at_deadline[0]),
        [(SlaMetric::FirstResponse, Outcome::Met, at("11:00:00"))]
    );

    let (_, after) = run(
        FIRST_RESPONSE_1H,
        &[
            line("c", "09:00:00", CUSTOMER),
            line("c", "10:00:01", HANDOFF),
            line("c", "10:40:00", AGENT),
        ],
    );
    assert_eq!(after[0].calendar.first_response_s, Some(2399));
    assert_eq!(
        sla(&after[0]),
        [(SlaMetric::FirstResponse, Outcome::Breached, at("10:00:00"))]
    );
}

/// R21 with R11 and R25: a solve cancels the wait it ends, and so the running `next_reply`
/// instance, only at or before its deadline; a solve after it finds the instance breached.
#[test]
fn r21_a_solve_cancels_a_reply_instance_only_up_to_its_deadline() {
    let config = r#"{"policies":[{"name":"p","targets":[
        {"metric":"next_reply","threshold_s":1800,"clock":"calendar"}]}]}"#;
    let lines = |solve: &str| {
        vec![
            line("c", "09:00:00", CUSTOMER),
            line("c", "09:10:00", AGENT),
            line("c", "09:20:00", CUSTOMER),
            line("c", solve, SOLVED),
        ]
    };
    let (report, at_deadline) = run(config, &lines("09:50:00"));
    assert_eq!(
        sla(&at_deadline[0]),
        [(SlaMetric::NextReply, Outcome::Cancelled, at("09:50:00"))]
    );
    assert_eq!(at_deadline[0].calendar.next_reply_s, Vec::<i64>::new());
    assert_eq!(
        (report.sla()[0].cancelled, report.sla()[0].compliance()),
        (1, None)
    );

    let (report, after) = run(config, &lines("09:50:01"));
    assert_eq!(
        sla(&after[0]),
        [(SlaMetric::NextReply, Outcome::Breached, at("09:50:00"))]
    );
    assert_eq!(after[0].calendar.next_reply_s, Vec::<i64>::new());
    assert_eq!(
        (report.sla()[0].breached, report.sla()[0].compliance()),
        (1, Some(0.0))
    );
}

/// R21 and R34: a wait of exactly the threshold is met and within it; one second more is
/// breached and not; a zero wait is a real sample (R33).
#[test]
fn r21_r34_a_wait_of_exactly_the_threshold_is_met_and_within() {
    let (report, summaries) = run(
        "{}",
        &[
            line("zero", "09:00:00", CUSTOMER),
            line("zero", "09:00:00", AGENT),
            line("exact", "09:00:00", CUSTOMER),
            line("exact", "10:00:00", AGENT),
            line("over", "09:00:00", CUSTOMER),
            line("over", "10:00:01", AGENT),
        ],
    );
    let by_id = |id: &str| summaries.iter().find(|s| s.conversation == id).expect(id);
    let one_hour = |id: &str| sla(by_id(id))[0].1;
    assert_eq!(by_id("zero").calendar.first_response_s, Some(0));
    assert_eq!(one_hour("zero"), Outcome::Met);
    assert_eq!(one_hour("exact"), Outcome::Met);
    assert_eq!(one_hour("over"), Outcome::Breached);

    let frt = report
        .distribution(Metric::FirstResponse, false)
        .expect("calendar first response");
    assert_eq!(frt.count(), 3);
    assert_eq!(frt.within_count(3600), Some(2));
    assert_eq!(frt.within_count(86_400), Some(3));
    assert_eq!(report.sla()[0].met, 2);
    assert_eq!(report.sla()[0].breached, 1);
}

/// R11: `solved_without_reply` is set by a solve that ends a wait; a solve while nobody waits
/// (after agent outreach, R12, R16) does not set it, and a later customer message reopens the
/// conversation (R5) and starts the wait the next solve cancels.
#[test]
fn r11_solved_without_reply_needs_a_wait_to_end() {
    let (report, nobody_waiting) = run(
        "{}",
        &[line("c", "08:00:00", AGENT), line("c", "08:10:00", SOLVED)],
    );
    let s = &nobody_waiting[0];
    assert!(!s.solved_without_reply);
    assert_eq!((s.replies, s.calendar.first_resolution_s), (0, Some(600)));
    assert_eq!(report.response_rate().eligible, 0);

    let (report, reopened) = run(
        "{}",
        &[
            line("c", "08:00:00", AGENT),
            line("c", "08:10:00", SOLVED),
            line("c", "09:00:00", CUSTOMER),
            line("c", "09:30:00", SOLVED),
        ],
    );
    let s = &reopened[0];
    assert!(s.solved_without_reply);
    assert_eq!((s.replies, s.reopens, s.fcr), (0, 1, false));
    assert_eq!(s.calendar.first_response_s, None);
    assert_eq!(
        (s.calendar.first_resolution_s, s.calendar.full_resolution_s),
        (Some(600), Some(5400))
    );
    // The wait from 09:00 activated both default instances; the solve cancelled them.
    assert!(s.sla.iter().all(|r| r.outcome == Outcome::Cancelled));
    assert_eq!(
        (report.response_rate().eligible, report.response_rate().replied),
        (1, 0)
    );
}

/// R14 and R15: a conversation never solved runs its status time to the finalization instant
/// (here `finish`, set by the latest event of the stream, R38) and has no full resolution; a
/// `closed` from `pending` after a reopen is its full resolution instant, and time while
/// solved counts in no bucket.
#[test]
fn r14_r15_status_time_runs_to_finalization_or_to_the_last_resolution() {
    let status = |s: &str| format!(r#""type":"status","status":"{s}""#);
    let (_, summaries) = run(
        "{}",
        &[
            line("c", "09:00:00", CUSTOMER),
            line("c", "09:10:00", &status("pending")),
            line("c", "09:40:00", &status("on_hold")),
            line("c", "10:00:00", &status("open")),
            line("later", "12:00:00", CUSTOMER),
        ],
    );
    let c = &summaries
        .iter()
        .find(|s| s.conversation == "c")
        .expect("c")
        .calendar;
    // new 600 + on_hold 1200 + open 7200; pending 1800.
    assert_eq!(
        (c.requester_wait_s, c.agent_wait_s, c.on_hold_s, c.agent_work_s),
        (9000, 1800, 1200, 7800)
    );
    assert_eq!(c.full_resolution_s, None);

    let (report, summaries) = run(
        "{}",
        &[
            line("c", "09:00:00", CUSTOMER),
            line("c", "09:10:00", AGENT),
            line("c", "09:20:00", SOLVED),
            line("c", "09:30:00", &status("pending")),
            line("c", "10:00:00", &status("closed")),
        ],
    );
    let s = &summaries[0];
    assert_eq!(
        (s.calendar.first_resolution_s, s.calendar.full_resolution_s),
        (Some(1200), Some(3600))
    );
    // new 600 + open 600; 09:20-09:30 solved counts nowhere; pending 1800.
    assert_eq!(
        (s.calendar.requester_wait_s, s.calendar.agent_wait_s),
        (1200, 1800)
    );
    // Resolved with one reply and a reopen that got no reply: not FCR, but `one_touch` (R17).
    assert_eq!((s.reopens, s.fcr), (1, false));
    assert_eq!((report.fcr().fcr, report.fcr().one_touch), (0, 1));
}

/// R1, R40: the widest spans R1 allows keep their exact seconds through the engine's compact
/// state: a wait from the first second of year 0000 to the last of year 9999, replies more
/// than 68 years after creation or after their wait's start (stored in the long form), and SLA
/// deadlines at both ends of the range, and status time (R15) across the whole range.
#[test]
fn r1_r40_spans_across_ten_thousand_years_are_exact() {
    let t = |s: &str| Timestamp::parse(s).expect("instant");
    let first = t("0000-01-01T00:00:00Z");
    let last = t("9999-12-31T23:59:59Z");
    let l =
        |conv: &str, at: Timestamp, rest: &str| format!(r#"{{"conversation":"{conv}","at":"{at}",{rest}}}"#);
    let config = r#"{"idle_timeout_s": 400000000000, "reopen_window_s": 400000000000, "policies": [{"name": "p", "targets": [
        {"metric": "first_response", "threshold_s": 3600}, {"metric": "requester_wait", "threshold_s": 3153600000},
        {"metric": "full_resolution", "threshold_s": 315569520000}]}]}"#;
    let century = t("2100-01-01T00:00:00Z");
    let lines = [
        l("wide", first, CUSTOMER),
        l("wide", last, AGENT),
        l("wide", last, SOLVED),
        l("long", t("2000-01-01T00:00:00Z"), CUSTOMER),
        l("long", t("2000-01-01T00:10:00Z"), AGENT),
        l("long", t("2000-01-01T00:20:00Z"), CUSTOMER),
        l("long", century, AGENT),
        l("long", century.add_secs(60), CUSTOMER),
        l("long", century.add_secs(90), AGENT),
        l("long", century.add_secs(100), SOLVED),
    ];
    let (_, summaries) = run(config, &lines);
    let get = |id: &str| summaries.iter().find(|s| s.conversation == id).expect(id);
    let wide = get("wide");
    let span = last.secs_since(first);
    assert_eq!(span, 315_569_519_999);
    assert_eq!(wide.created_at, first);
    assert_eq!(wide.calendar.first_response_s, Some(span));
    assert_eq!(wide.calendar.first_resolution_s, Some(span));
    // `new` from the first second to the reply: all of it in the requester's wait (R15).
    assert_eq!(wide.calendar.requester_wait_s, span);
    assert_eq!(wide.calendar.agent_work_s, span);
    assert_eq!(
        sla(wide),
        [
            (SlaMetric::FirstResponse, Outcome::Breached, first.add_secs(3600)),
            (
                SlaMetric::RequesterWait,
                Outcome::Breached,
                first.add_secs(3_153_600_000)
            ),
            (SlaMetric::FullResolution, Outcome::Met, last.add_secs(1)),
        ]
    );
    let long = get("long");
    let start = t("2000-01-01T00:00:00Z");
    let wait = century.secs_since(start.add_secs(1200));
    assert_eq!(long.calendar.first_response_s, Some(600));
    assert_eq!(long.calendar.next_reply_s, [wait, 30]);
    // Open from the first reply to the solve: the requester's clock never paused (R15).
    assert_eq!(long.calendar.requester_wait_s, century.secs_since(start) + 100);
    assert_eq!(long.replies, 3);
    assert_eq!(
        sla(long)[..2],
        [
            (SlaMetric::FirstResponse, Outcome::Met, start.add_secs(3600)),
            (
                SlaMetric::RequesterWait,
                Outcome::Breached,
                start.add_secs(3_153_600_000)
            ),
        ]
    );
}
