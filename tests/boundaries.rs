//! SPEC edge cases at their boundaries, through the public API: an instant exactly at a
//! deadline or threshold, a wait cancelled one second too late, a solve with nobody waiting;
//! no-op status moves, internal customer notes, replies with nobody waiting, closes after a
//! solve, touch classes with reopens, response-rate eligibility, the Wilson interval,
//! next-reply instances per wait, exclusion of met instances, a holiday in an overnight
//! schedule, the business twin of every duration. The golden cases cover the common side of
//! each rule; these cover the other side, with every expected value worked out by hand from
//! the SPEC.

use sla_metrics::{
    Author, Config, Engine, ExcludeReason, FinalizedBy, Metric, Outcome, Report, SlaMetric, Summary,
    Timestamp, Touch,
};

/// A Tuesday.
const D: &str = "2024-04-02T";

/// An event line of conversation `conv` at `time` on day [`D`] (or at a full instant when
/// `time` holds a `T`), with the rest of its fields.
fn line(conv: &str, time: &str, rest: &str) -> String {
    format!(r#"{{"conversation":"{conv}","at":"{}",{rest}}}"#, instant(time))
}

fn instant(time: &str) -> String {
    if time.contains('T') {
        format!("{time}Z")
    } else {
        format!("{D}{time}Z")
    }
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
    Timestamp::parse(&instant(time)).expect("instant")
}

/// The summary of the first instance of `conv`.
fn of<'a>(summaries: &'a [Summary], conv: &str) -> &'a Summary {
    summaries
        .iter()
        .find(|s| s.conversation == conv && s.instance == 1)
        .unwrap_or_else(|| panic!("no summary of {conv}"))
}

/// (metric, outcome, deadline) of each SLA instance of a summary, in activation order.
fn sla(s: &Summary) -> Vec<(SlaMetric, Outcome, Timestamp)> {
    s.sla.iter().map(|r| (r.metric, r.outcome, r.deadline)).collect()
}

const DEFAULT: &str = "{}";
const CUSTOMER: &str = r#""type":"message","author":"customer""#;
const CUSTOMER_NOTE: &str = r#""type":"message","author":"customer","visibility":"internal""#;
const AGENT: &str = r#""type":"message","author":"agent","agent":"ann""#;
const AGENT_NOTE: &str = r#""type":"message","author":"agent","agent":"ann","visibility":"internal""#;
const BOT: &str = r#""type":"message","author":"bot""#;
const AUTOMATION: &str = r#""type":"message","author":"automation""#;
const HANDOFF: &str = r#""type":"handoff""#;
const SOLVED: &str = r#""type":"status","status":"solved""#;
const PENDING: &str = r#""type":"status","status":"pending""#;
const ON_HOLD: &str = r#""type":"status","status":"on_hold""#;
const OPEN: &str = r#""type":"status","status":"open""#;
const CLOSED: &str = r#""type":"status","status":"closed""#;
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

/// R5: `solved` → `solved` is a no-op (the last move into solved stays the first one), and a
/// customer's internal message neither reopens nor starts a wait. A customer message moves
/// `pending` to `open` without a reopen; a `status` event out of `solved` is a reopen.
#[test]
fn r5_only_moves_out_of_solved_reopen() {
    let (report, summaries) = run(
        DEFAULT,
        &[
            line("c", "09:00:00", CUSTOMER),
            line("c", "09:10:00", AGENT),
            line("c", "09:20:00", SOLVED),
            line("c", "09:30:00", SOLVED),
            line("c", "09:40:00", CUSTOMER_NOTE),
            line("d", "09:00:00", CUSTOMER),
            line("d", "09:05:00", AGENT),
            line("d", "09:10:00", PENDING),
            line("d", "09:20:00", CUSTOMER),
            line("d", "09:30:00", SOLVED),
            line("d", "09:40:00", PENDING),
            line("d", "09:50:00", SOLVED),
        ],
    );
    let c = of(&summaries, "c");
    assert_eq!(c.reopens, 0);
    assert_eq!(c.calendar.first_resolution_s, Some(1200));
    assert_eq!(c.calendar.full_resolution_s, Some(1200), "09:30 moved nothing");
    assert_eq!(
        c.calendar.requester_wait_s, 1200,
        "solved time counts in no bucket"
    );
    assert!(
        c.calendar.next_reply_s.is_empty(),
        "an internal note starts no wait"
    );
    assert!(c.fcr);

    let d = of(&summaries, "d");
    assert_eq!(
        d.reopens, 1,
        "pending → open is no reopen; solved → pending is one"
    );
    assert_eq!(d.calendar.first_resolution_s, Some(1800));
    assert_eq!(d.calendar.full_resolution_s, Some(3000));
    assert_eq!(d.calendar.agent_wait_s, 1200);
    assert_eq!(d.calendar.requester_wait_s, 1200);
    assert!(!d.fcr);
    assert_eq!(report.conversations().reopened, 1);
    assert_eq!(report.conversations().resolved, 2);
}

/// R8: only a customer's public message starts the wait, and later ones do not move it.
#[test]
fn r8_only_public_customer_messages_start_the_wait() {
    let (_, summaries) = run(
        DEFAULT,
        &[
            line("c", "09:00:00", CUSTOMER_NOTE),
            line("c", "09:30:00", CUSTOMER),
            line("c", "09:45:00", CUSTOMER),
            line("c", "10:00:00", AGENT),
        ],
    );
    let c = of(&summaries, "c");
    assert_eq!(c.calendar.first_response_s, Some(1800));
    assert_eq!(
        c.initiated_by,
        Some(Author::Customer),
        "the first message of any visibility"
    );
}

/// R9, R16: a reply while nobody waits makes no sample, yet counts as a reply.
#[test]
fn r9_a_reply_with_nobody_waiting_makes_no_sample() {
    let (report, summaries) = run(
        DEFAULT,
        &[
            line("c", "09:00:00", CUSTOMER),
            line("c", "09:10:00", AGENT),
            line("c", "09:20:00", AGENT),
            line("c", "09:30:00", CUSTOMER),
            line("c", "10:30:00", AGENT),
            line("c", "10:40:00", AGENT),
        ],
    );
    let c = of(&summaries, "c");
    assert_eq!(c.calendar.first_response_s, Some(600));
    assert_eq!(c.calendar.next_reply_s, [3600]);
    assert_eq!(c.replies, 4);
    let next = report.distribution(Metric::NextReply, false).expect("calendar");
    assert_eq!((next.count(), next.sum_s()), (1, 3600));
}

/// R13, R14: a close after a solve resolves at the solve; a close from `on_hold` resolves at
/// the close, and ends the wait without a sample (R11).
#[test]
fn r13_a_close_resolves_only_when_not_solved() {
    let (report, summaries) = run(
        DEFAULT,
        &[
            line("a", "09:00:00", CUSTOMER),
            line("a", "09:10:00", AGENT),
            line("a", "10:00:00", SOLVED),
            line("a", "11:00:00", CLOSED),
            line("b", "09:00:00", CUSTOMER),
            line("b", "09:30:00", ON_HOLD),
            line("b", "10:00:00", CLOSED),
        ],
    );
    let a = of(&summaries, "a");
    assert_eq!(a.calendar.first_resolution_s, Some(3600));
    assert_eq!(a.calendar.full_resolution_s, Some(3600));
    assert_eq!(
        (a.finalized_by, a.finalized_at),
        (FinalizedBy::Closed, at("11:00:00"))
    );
    assert_eq!(a.calendar.requester_wait_s, 3600);

    let b = of(&summaries, "b");
    assert_eq!(b.calendar.first_resolution_s, Some(3600));
    assert_eq!(b.calendar.full_resolution_s, Some(3600));
    assert_eq!(b.calendar.on_hold_s, 1800);
    assert_eq!(b.calendar.requester_wait_s, 3600);
    assert_eq!(b.calendar.agent_work_s, 1800);
    assert_eq!(b.calendar.first_response_s, None);
    assert!(b.solved_without_reply);
    assert_eq!(b.touch, Some(Touch::Zero));
    // The close cancelled both first-response instances, at or before their deadlines.
    assert!(b.sla.iter().all(|r| r.outcome == Outcome::Cancelled));
    assert_eq!(report.conversations().resolved, 2);
}

/// R16, R7: outreach before the first customer message, internal notes, bots and automations
/// are not replies.
#[test]
fn r16_outreach_notes_bots_and_automations_are_not_replies() {
    let (report, summaries) = run(
        DEFAULT,
        &[
            line("c", "09:00:00", AGENT),
            line("c", "09:05:00", CUSTOMER),
            line("c", "09:10:00", AGENT_NOTE),
            line("c", "09:15:00", BOT),
            line("c", "09:20:00", AUTOMATION),
            line("c", "09:30:00", AGENT),
        ],
    );
    let c = of(&summaries, "c");
    assert_eq!(c.replies, 1);
    assert_eq!(c.calendar.first_response_s, Some(1500));
    assert_eq!(c.initiated_by, Some(Author::Agent));
    let rate = report.response_rate();
    assert_eq!((rate.eligible, rate.replied), (1, 1));
}

/// R17: touch classes of resolved conversations, FCR, and the one-touch variant that ignores
/// a reopen nobody replied to.
#[test]
fn r17_touch_classes_fcr_and_one_touch() {
    let mut lines = Vec::new();
    let mut conv = |id: &str, events: &[&str]| {
        for (k, e) in events.iter().enumerate() {
            lines.push(line(id, &format!("09:{:02}:00", 10 * k), e));
        }
    };
    conv("zero", &[CUSTOMER, SOLVED]);
    conv("fcr", &[CUSTOMER, AGENT, SOLVED]);
    conv("two", &[CUSTOMER, AGENT, CUSTOMER, AGENT, SOLVED]);
    conv("multi", &[CUSTOMER, AGENT, AGENT, AGENT, SOLVED]);
    conv(
        "reopen_replied",
        &[CUSTOMER, AGENT, SOLVED, CUSTOMER, AGENT, SOLVED],
    );
    conv("reopen_unreplied", &[CUSTOMER, AGENT, SOLVED, OPEN, SOLVED]);
    conv("unresolved", &[CUSTOMER, AGENT]);
    let (report, summaries) = run(DEFAULT, &lines);
    let touch = |id| of(&summaries, id).touch;
    assert_eq!(touch("zero"), Some(Touch::Zero));
    assert_eq!(touch("fcr"), Some(Touch::One));
    assert_eq!(touch("two"), Some(Touch::Two));
    assert_eq!(touch("multi"), Some(Touch::Multi));
    assert_eq!(touch("reopen_replied"), Some(Touch::Two));
    assert_eq!(touch("reopen_unreplied"), Some(Touch::One));
    assert_eq!(touch("unresolved"), None, "not resolved: no touch class (R37)");
    let fcr: Vec<_> = summaries
        .iter()
        .filter(|s| s.fcr)
        .map(|s| s.conversation.as_str())
        .collect();
    assert_eq!(fcr, ["fcr"]);
    let f = report.fcr();
    assert_eq!(f.resolved, 6);
    assert_eq!(f.touch, [1, 2, 2, 1]);
    assert_eq!(f.fcr, 1);
    assert_eq!(f.one_touch, 2, "fcr and reopen_unreplied");
    assert_eq!(f.rate(), Some(1.0 / 6.0));
}

/// R18: eligible are conversations with a customer public message, replied those with a
/// qualifying reply (not outreach before it); excluded ones are in neither.
#[test]
fn r18_response_rate_eligibility() {
    let (report, _) = run(
        DEFAULT,
        &[
            line("replied", "09:00:00", CUSTOMER),
            line("replied", "09:10:00", AGENT),
            line("unanswered", "09:00:00", CUSTOMER),
            line("outreach_only", "09:00:00", AGENT),
            line("excluded", "09:00:00", CUSTOMER),
            line("excluded", "09:10:00", AGENT),
            line("excluded", "09:20:00", r#""type":"exclude","reason":"spam""#),
            line("outreach_first", "09:00:00", AGENT),
            line("outreach_first", "09:10:00", CUSTOMER),
        ],
    );
    let rate = report.response_rate();
    assert_eq!((rate.eligible, rate.replied), (3, 1));
    assert_eq!(rate.rate(), Some(1.0 / 3.0));
}

/// R22: compliance = met / (met + breached) with a 95 % Wilson interval (z of R43); cancelled
/// and active instances are in neither; none decided: `None`.
#[test]
fn r22_compliance_and_its_wilson_interval() {
    const ONE_HOUR: &str = r#"{"policies":[{"name":"p","targets":[
        {"metric":"first_response","threshold_s":3600,"clock":"calendar"}]}]}"#;
    let mut lines = Vec::new();
    for (id, reply) in [
        ("m1", "09:10:00"),
        ("m2", "09:59:59"),
        ("m3", "10:00:00"),
        ("b1", "10:00:01"),
    ] {
        lines.push(line(id, "09:00:00", CUSTOMER));
        lines.push(line(id, reply, AGENT));
    }
    lines.push(line("cancelled", "09:00:00", CUSTOMER));
    lines.push(line("cancelled", "09:30:00", SOLVED));
    lines.push(line("active", "10:00:00", CUSTOMER));
    let (report, _) = run(ONE_HOUR, &lines);
    let counts = &report.sla()[0];
    assert_eq!(
        (counts.met, counts.breached, counts.cancelled, counts.active),
        (3, 1, 1, 1)
    );
    assert_eq!(counts.compliance(), Some(0.75));
    let (z, n, p) = (1.959963984540054_f64, 4.0_f64, 0.75_f64);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    let (lo, hi) = counts.ci95().expect("decided instances");
    assert!((lo - (centre - half)).abs() < 1e-12 && (hi - (centre + half)).abs() < 1e-12);
    assert!(lo > 0.0 && hi < 1.0 && lo < 0.75 && 0.75 < hi);

    let (undecided, _) = run(ONE_HOUR, &[line("active", "10:00:00", CUSTOMER)]);
    assert_eq!(undecided.sla()[0].compliance(), None);
    assert_eq!(undecided.sla()[0].ci95(), None);
}

/// R25: a `next_reply` target has one instance per next-reply wait (none for the first
/// response's wait), each met, breached or still active on its own.
#[test]
fn r25_next_reply_has_one_instance_per_wait() {
    const NEXT_REPLY: &str = r#"{"policies":[{"name":"p","targets":[
        {"metric":"next_reply","threshold_s":600,"clock":"calendar"}]}]}"#;
    let (report, summaries) = run(
        NEXT_REPLY,
        &[
            line("c", "09:00:00", CUSTOMER),
            line("c", "09:05:00", AGENT),
            line("c", "09:10:00", CUSTOMER),
            line("c", "09:15:00", AGENT),
            line("c", "09:30:00", CUSTOMER),
            line("c", "09:50:00", AGENT),
            line("c", "10:00:00", CUSTOMER),
        ],
    );
    assert_eq!(
        sla(of(&summaries, "c")),
        [
            (SlaMetric::NextReply, Outcome::Met, at("09:20:00")),
            (SlaMetric::NextReply, Outcome::Breached, at("09:40:00")),
            (SlaMetric::NextReply, Outcome::Active, at("10:10:00")),
        ]
    );
    let counts = &report.sla()[0];
    assert_eq!((counts.met, counts.breached, counts.active), (1, 1, 1));
}

/// R26, R43: an exclusion cancels instances already met too, and takes the conversation out
/// of every distribution and rate, while its summary keeps what was measured.
#[test]
fn r26_exclusion_cancels_met_instances_and_leaves_every_distribution() {
    let (report, summaries) = run(
        DEFAULT,
        &[
            line("c", "09:00:00", CUSTOMER),
            line("c", "09:10:00", AGENT),
            line("c", "09:20:00", r#""type":"csat","score":5"#),
            line("c", "09:30:00", r#""type":"exclude","reason":"merged""#),
        ],
    );
    let c = of(&summaries, "c");
    assert_eq!(c.excluded, Some(ExcludeReason::Merged));
    assert_eq!(c.calendar.first_response_s, Some(600));
    assert_eq!(c.finalized_by, FinalizedBy::Excluded);
    assert!(c.sla.len() == 2 && c.sla.iter().all(|r| r.outcome == Outcome::Cancelled));
    let n = report.conversations();
    assert_eq!((n.total, n.excluded, n.excluded_by_reason), (1, 1, [0, 1, 0]));
    assert_eq!(n.resolved, 0);
    for metric in Metric::ALL {
        assert_eq!(
            report.distribution(metric, false).map(|d| d.count()),
            Some(0),
            "{metric:?}"
        );
    }
    assert_eq!(report.csat().rated, 0);
    assert_eq!(report.response_rate().eligible, 0);
    assert!(report.sla().iter().all(|s| (s.met, s.cancelled) == (0, 1)));
}

/// R28, R30: a shift over midnight written as two intervals, with `24:00`; a holiday closes
/// its day, so a deadline that would fall in its hours moves to the next opening.
#[test]
fn r28_overnight_shift_and_a_holiday_in_it() {
    const NIGHTS: &str = r#"{
        "schedule": {"tz": "UTC", "week": {"mon": [["22:00", "24:00"]], "tue": [["00:00", "06:00"]]},
                     "holidays": ["2024-04-02"]},
        "policies": [{"name": "p", "targets": [
            {"metric": "first_response", "threshold_s": 10800, "clock": "business"}]}]
    }"#;
    let (_, summaries) = run(
        NIGHTS,
        &[
            line("c", "2024-04-01T23:00:00", CUSTOMER),
            line("c", "01:00:00", AGENT),
        ],
    );
    let c = of(&summaries, "c");
    assert_eq!(c.calendar.first_response_s, Some(7200));
    let business = c.business.as_ref().expect("a schedule is configured");
    assert_eq!(business.first_response_s, Some(3600), "Monday 23:00–24:00 only");
    // One business hour on the 1st, none on the holiday, two more on Monday the 8th.
    assert_eq!(
        sla(c),
        [(SlaMetric::FirstResponse, Outcome::Met, at("2024-04-09T00:00:00"))]
    );
}

/// R31: with a schedule, every duration metric is recorded on the calendar and the business
/// clock, in the summary and in the report's histograms.
#[test]
fn r31_every_duration_on_both_clocks() {
    const OFFICE: &str = r#"{"schedule": {"tz": "UTC", "week": {
        "mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]],
        "thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]}}}"#;
    let (report, summaries) = run(
        OFFICE,
        &[
            line("c", "2024-04-01T16:00:00", CUSTOMER),
            line("c", "10:00:00", AGENT),
            line("c", "10:30:00", CUSTOMER),
            line("c", "10:40:00", AGENT),
            line("c", "11:00:00", SOLVED),
        ],
    );
    let c = of(&summaries, "c");
    let b = c.business.as_ref().expect("business twin");
    assert_eq!(
        (c.calendar.first_response_s, b.first_response_s),
        (Some(18 * 3600), Some(2 * 3600))
    );
    assert_eq!(
        (&c.calendar.next_reply_s, &b.next_reply_s),
        (&vec![600], &vec![600])
    );
    assert_eq!(
        (c.calendar.first_resolution_s, b.first_resolution_s),
        (Some(19 * 3600), Some(3 * 3600))
    );
    assert_eq!(c.calendar.full_resolution_s, Some(19 * 3600));
    assert_eq!(b.full_resolution_s, Some(3 * 3600));
    assert_eq!(
        (c.calendar.requester_wait_s, b.requester_wait_s),
        (19 * 3600, 3 * 3600)
    );
    assert_eq!((c.calendar.agent_work_s, b.agent_work_s), (19 * 3600, 3 * 3600));
    assert!(report.has_business_clock());
    for metric in Metric::ALL {
        let calendar = report.distribution(metric, false).expect("calendar").count();
        let business = report.distribution(metric, true).expect("business").count();
        assert_eq!(calendar, business, "{metric:?}");
    }
    let frt = report
        .distribution(Metric::FirstResponse, true)
        .expect("business");
    assert_eq!(frt.sum_s(), 7200);
    let json: serde_json::Value = serde_json::from_str(&report.to_json_pretty()).expect("JSON");
    assert_eq!(json["first_response_business"]["count"], 1);
    assert_eq!(json["requester_wait_business"]["max_s"], 3 * 3600);
}

/// R34: "within T" shares count `duration <= T` exactly, for each configured threshold.
#[test]
fn r34_within_shares_are_exact_and_inclusive() {
    const WITHIN: &str = r#"{"within_s": [600, 3600]}"#;
    let mut lines = Vec::new();
    for (id, reply) in [
        ("a", "09:10:00"),
        ("b", "09:10:01"),
        ("c", "10:00:00"),
        ("d", "10:00:01"),
    ] {
        lines.push(line(id, "09:00:00", CUSTOMER));
        lines.push(line(id, reply, AGENT));
    }
    let (report, _) = run(WITHIN, &lines);
    let frt = report
        .distribution(Metric::FirstResponse, false)
        .expect("calendar");
    assert_eq!(frt.within_count(600), Some(1));
    assert_eq!(frt.within_count(3600), Some(3));
    assert_eq!(report.value("first_response.within.600"), Some(0.25));
    assert_eq!(report.value("first_response.within.3600"), Some(0.75));
    assert_eq!(
        report.value("first_response.within.86400"),
        None,
        "not configured"
    );
}

/// R37: a report's numbers by dotted path, as the golden cases of §11 name them: list elements
/// by position (`sla.0.breached`, `sla.1.ci95.0`), next to a target's compliance by name.
#[test]
fn r37_report_values_by_path_reach_list_elements_by_position() {
    let lines = [
        line("a", "09:00:00", CUSTOMER),
        line("a", "10:06:40", AGENT), // 4 000 s: the 1 h target breached, the 24 h one met
        line("b", "09:00:00", CUSTOMER),
        line("b", "09:10:00", AGENT),
    ];
    let (report, _) = run("{}", &lines);
    assert_eq!(report.value("sla.0.threshold_s"), Some(3600.0));
    assert_eq!(report.value("sla.0.met"), Some(1.0));
    assert_eq!(report.value("sla.0.breached"), Some(1.0));
    assert_eq!(report.value("sla.1.met"), Some(2.0));
    assert_eq!(report.value("sla.default.first_response.3600"), Some(0.5));
    assert_eq!(
        report.value("sla.default.first_response.86400.calendar"),
        Some(1.0)
    );
    // Four steps that name no target are a path into the list: the interval's bounds.
    let (low, high) = (report.value("sla.0.ci95.0"), report.value("sla.0.ci95.1"));
    assert!(low
        .zip(high)
        .is_some_and(|(l, h)| 0.0 < l && l < 0.5 && 0.5 < h && h < 1.0));
    assert_eq!(report.value("sla.2.met"), None, "no third target");
    assert_eq!(report.value("sla.first.met"), None, "not a position");
    assert_eq!(
        report.value("sla.default.first_response.7200"),
        None,
        "no such target"
    );
}
