//! The synthetic workload generator: determinism, ordering, ids, mix, seasonality, behaviours.

use sla_metrics::{Author, Event, EventKind, ExcludeReason, Mix, Status, Timestamp, Visibility, Workload};
use std::collections::{HashMap, HashSet};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

fn lines(w: &Workload) -> Vec<String> {
    w.events().map(|e| e.to_json()).collect()
}

#[test]
fn deterministic_per_seed() {
    let a = lines(&Workload::new(11, 300));
    let b = lines(&Workload::new(11, 300));
    assert_eq!(a, b);
    let c = lines(&Workload::new(12, 300));
    assert_ne!(a, c);
    let v1 = lines(&Workload::new(11, 300).with_mix(Mix::Varied));
    let v2 = lines(&Workload::new(11, 300).with_mix(Mix::Varied));
    assert_eq!(v1, v2);
    assert_ne!(a, v1);
    // JSON Lines output is the same bytes.
    let mut out = Vec::new();
    let n = Workload::new(11, 300).write_jsonl(&mut out).unwrap();
    assert_eq!(n as usize, a.len());
    let mut expected = a.join("\n");
    expected.push('\n');
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn ordered_unique_and_counted() {
    for (w, n) in [
        (Workload::new(1, 2_000), 2_000),
        (Workload::new(2, 500).with_mix(Mix::Varied), 500),
        (Workload::new(3, 1), 1),
    ] {
        let events: Vec<Event<'static>> = w.events().collect();
        // Global order.
        assert!(events.windows(2).all(|p| p[0].at <= p[1].at));
        assert!(events[0].at >= w.start);
        // Unique ids, e1, e2, … in stream order.
        let mut ids = HashSet::new();
        for (i, e) in events.iter().enumerate() {
            let id = e.id.as_deref().unwrap();
            assert_eq!(id, format!("e{}", i + 1));
            assert!(ids.insert(id.to_owned()));
        }
        // Per-conversation order, and conversations counted by their first event.
        let mut last: HashMap<&str, Timestamp> = HashMap::new();
        let mut firsts = Vec::new();
        for e in &events {
            match last.insert(&e.conversation, e.at) {
                Some(prev) => assert!(prev <= e.at),
                None => {
                    // The first event of a conversation is its first message.
                    assert!(matches!(
                        e.kind,
                        EventKind::Message {
                            author: Author::Customer | Author::Agent,
                            ..
                        }
                    ));
                    firsts.push(e.conversation.to_string());
                }
            }
        }
        assert_eq!(firsts.len(), n);
        assert_eq!(firsts, (1..=n).map(|i| format!("c{i}")).collect::<Vec<_>>());
    }
}

#[test]
fn empty_and_unbounded() {
    assert_eq!(Workload::new(1, 0).events().count(), 0);
    // Lazy: the head of a practically endless stream comes at once.
    let head: Vec<_> = Workload::new(1, u64::MAX).events().take(20_000).collect();
    assert_eq!(head.len(), 20_000);
    assert!(head.windows(2).all(|p| p[0].at <= p[1].at));
}

#[test]
fn channel_mix_covers_all_six() {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut brands = HashSet::new();
    for e in Workload::new(5, 3_000).events() {
        match &e.kind {
            EventKind::Message {
                author: Author::Customer | Author::Agent,
                channel: Some(c),
                ..
            } => {
                *counts.entry(c.to_string()).or_default() += 1;
            }
            EventKind::Attributes { brand: Some(b), .. } => {
                brands.insert(b.to_string());
            }
            _ => {}
        }
    }
    for c in Workload::CHANNELS {
        assert!(counts.get(c).copied().unwrap_or(0) > 100, "{c}: {counts:?}");
    }
    assert_eq!(counts.len(), 6, "{counts:?}");
    assert_eq!(brands.len(), Workload::BRANDS.len());
    assert!(counts["email"] > counts["twitter"]);
}

/// Conversation starts per absolute hour, over a week at 100 conversations per hour.
#[test]
fn daily_seasonality_weekend_dip_and_spikes() {
    let w = Workload::new(4, 19_000).with_rate_per_hour(100.0);
    let start = w.start.as_unix();
    let mut seen = HashSet::new();
    let mut per_hour: HashMap<i64, f64> = HashMap::new();
    for e in w.events() {
        if seen.insert(e.conversation.to_string()) {
            *per_hour.entry((e.at.as_unix() - start) / HOUR).or_default() += 1.0;
        }
    }
    let hours = 7 * 24; // Monday 00:00 to Sunday 24:00
    let last_hour = per_hour.keys().copied().max().unwrap();
    assert!(
        last_hour >= hours,
        "the stream must cover a week, covers {last_hour} h"
    );
    let count = |h: i64| per_hour.get(&h).copied().unwrap_or(0.0);
    let counts: Vec<f64> = (0..hours).map(count).collect();
    let max = counts.iter().copied().fold(0.0, f64::max);
    let min = counts.iter().copied().fold(f64::MAX, f64::min);
    assert!(max >= 1.4 * min, "max {max} min {min}");

    // Hour-of-day profile over the weekdays: afternoons ≥ 2× nights.
    let profile = |hod: i64| (0..5).map(|d| count(d * 24 + hod)).sum::<f64>();
    assert!(
        profile(15) >= 2.0 * profile(3),
        "15h {} 3h {}",
        profile(15),
        profile(3)
    );

    // Weekend dip.
    let day = |d: i64| (0..24).map(|h| count(d * 24 + h)).sum::<f64>();
    let weekday_mean = (0..5).map(day).sum::<f64>() / 5.0;
    assert!(day(5) < 0.8 * weekday_mean && day(6) < 0.8 * weekday_mean);

    // Spikes: the model has some this week, and they show in the counts (≥ 1.8× the median
    // of that hour of day over the weekdays).
    let spike_hours: Vec<i64> = (0..5 * 24)
        .filter(|&h| {
            let at = Timestamp::from_unix(start + h * HOUR);
            let others = (0..5)
                .filter(|&d| d != h / 24)
                .map(|d| w.rate_at(Timestamp::from_unix(start + (d * 24 + h % 24) * HOUR)));
            w.rate_at(at) >= 1.9 * others.fold(f64::MAX, f64::min)
        })
        .collect();
    assert!(!spike_hours.is_empty(), "seed 4 has a weekday spike");
    for h in spike_hours {
        let mut same_hour: Vec<f64> = (0..5).map(|d| count(d * 24 + h % 24)).collect();
        same_hour.sort_by(f64::total_cmp);
        assert!(
            count(h) >= 1.8 * same_hour[2],
            "hour {h}: {} vs median {}",
            count(h),
            same_hour[2]
        );
    }
}

#[test]
fn spikes_are_occasional() {
    let w = Workload::new(9, 0);
    let days = 140;
    let spike_days = (0..days)
        .filter(|d| {
            (8..23).any(|h| {
                let at = w.start.add_secs(d * DAY + h * HOUR);
                // Compare with the same hour on the same weekday one week later or earlier.
                let other = at.add_secs(if d % 2 == 0 { 7 * DAY } else { -7 * DAY });
                w.rate_at(at) >= 1.9 * w.rate_at(other)
            })
        })
        .count();
    // About 20 % of days, minus the coincidences with the comparison day.
    assert!(
        (10..=45).contains(&spike_days),
        "{spike_days} spike days out of {days}"
    );
    let mut none = Workload::new(9, 0);
    none.spike_probability = 0.0;
    let t = none.start.add_secs(15 * HOUR);
    assert_eq!(none.rate_at(t), none.rate_at(t.add_secs(DAY)));
}

/// What a stream contains, found by replaying it.
#[derive(Debug, Default)]
struct Found {
    bot: usize,
    handoff: usize,
    automation: usize,
    internal: usize,
    pending: usize,
    on_hold: usize,
    solved: usize,
    closed: usize,
    priority: usize,
    assign: usize,
    tags: usize,
    thanks_reopen: usize,
    late_reopen: usize,
    follow_up: usize,
    outreach: usize,
    csat: usize,
    csat_satisfied: usize,
    excluded: HashMap<ExcludeReason, usize>,
    multi_turn: usize,
    reply_over_24h: usize,
}

fn scan(w: &Workload) -> Found {
    #[derive(Default)]
    struct Conv {
        status: Option<Status>,
        solved_at: i64,
        customer_msgs: usize,
        waiting_since: Option<i64>,
    }
    let mut f = Found::default();
    let mut convs: HashMap<String, Conv> = HashMap::new();
    for e in w.events() {
        let at = e.at.as_unix();
        let new = !convs.contains_key(&*e.conversation);
        let c = convs.entry(e.conversation.to_string()).or_default();
        match &e.kind {
            EventKind::Message {
                author, visibility, ..
            } => match (author, visibility) {
                (Author::Customer, Visibility::Public) => {
                    if c.status == Some(Status::Solved) || c.status == Some(Status::Closed) {
                        let gap = at - c.solved_at;
                        if gap > 28 * DAY || c.status == Some(Status::Closed) {
                            f.follow_up += 1;
                        } else if gap <= 30 * 60 {
                            f.thanks_reopen += 1;
                        } else {
                            f.late_reopen += 1;
                        }
                        c.status = Some(Status::Open);
                    }
                    c.customer_msgs += 1;
                    if c.customer_msgs == 3 {
                        f.multi_turn += 1;
                    }
                    c.waiting_since.get_or_insert(at);
                }
                (Author::Agent, Visibility::Internal) => f.internal += 1,
                (Author::Agent, Visibility::Public) => {
                    if new {
                        f.outreach += 1;
                    }
                    if let Some(since) = c.waiting_since.take() {
                        if at - since > DAY {
                            f.reply_over_24h += 1;
                        }
                    }
                }
                (Author::Bot, _) => f.bot += 1,
                (Author::Automation, _) => f.automation += 1,
                _ => {}
            },
            EventKind::Status(s) => {
                match s {
                    Status::Pending => f.pending += 1,
                    Status::OnHold => f.on_hold += 1,
                    Status::Solved => {
                        f.solved += 1;
                        c.solved_at = at;
                        c.waiting_since = None;
                    }
                    Status::Closed => {
                        f.closed += 1;
                        c.waiting_since = None;
                    }
                    _ => {}
                }
                c.status = Some(*s);
            }
            EventKind::Handoff => f.handoff += 1,
            EventKind::Priority(_) => f.priority += 1,
            EventKind::Assign { .. } => f.assign += 1,
            EventKind::Attributes { tags: Some(_), .. } => f.tags += 1,
            EventKind::Csat { score } => {
                assert!((1..=5).contains(score));
                f.csat += 1;
                f.csat_satisfied += usize::from(*score >= 4);
            }
            EventKind::Exclude { reason } => *f.excluded.entry(*reason).or_default() += 1,
            _ => {}
        }
    }
    f
}

#[test]
fn realistic_stream_has_every_behaviour() {
    let n = 3_000;
    let f = scan(&Workload::new(21, n));
    let share = |x: usize| x as f64 / n as f64;
    for (what, x) in [
        ("bot", f.bot),
        ("handoff", f.handoff),
        ("automation", f.automation),
        ("internal", f.internal),
        ("pending", f.pending),
        ("on_hold", f.on_hold),
        ("closed", f.closed),
        ("priority", f.priority),
        ("assign", f.assign),
        ("tags", f.tags),
        ("thanks_reopen", f.thanks_reopen),
        ("late_reopen", f.late_reopen),
        ("follow_up", f.follow_up),
        ("outreach", f.outreach),
        ("csat", f.csat),
        ("multi_turn", f.multi_turn),
        ("reply_over_24h", f.reply_over_24h),
    ] {
        assert!(x > 0, "no {what}: {f:?}");
    }
    let spam = f.excluded.get(&ExcludeReason::Spam).copied().unwrap_or(0);
    assert!((0.005..0.03).contains(&share(spam)), "spam {spam}");
    assert!(f.excluded.contains_key(&ExcludeReason::Merged), "{f:?}");
    assert!((0.1..0.35).contains(&share(f.csat)), "csat {}", f.csat);
    assert!(f.csat_satisfied as f64 >= 0.6 * f.csat as f64);
    assert!(share(f.solved) > 0.8);
}

#[test]
fn small_varied_stream_has_every_behaviour() {
    for seed in 0..5 {
        let f = scan(&Workload::new(seed, 50).with_mix(Mix::Varied));
        for (what, x) in [
            ("bot", f.bot),
            ("handoff", f.handoff),
            ("automation", f.automation),
            ("internal", f.internal),
            ("pending", f.pending),
            ("on_hold", f.on_hold),
            ("closed", f.closed),
            ("thanks_reopen", f.thanks_reopen),
            ("late_reopen", f.late_reopen),
            ("follow_up", f.follow_up),
            ("outreach", f.outreach),
            ("csat", f.csat),
            ("reply_over_24h", f.reply_over_24h),
        ] {
            assert!(x > 0, "seed {seed}: no {what}: {f:?}");
        }
        for r in ExcludeReason::ALL {
            assert!(f.excluded.contains_key(&r), "seed {seed}: no {r:?}");
        }
    }
}

#[test]
fn duplicates_are_redeliveries() {
    let base = lines(&Workload::new(8, 200));
    let mut w = Workload::new(8, 200);
    w.duplicate_rate = 0.1;
    let with_dups: Vec<Event<'static>> = w.events().collect();
    let mut deduped: Vec<String> = Vec::new();
    let mut dups = 0;
    for (i, e) in with_dups.iter().enumerate() {
        if i > 0 && with_dups[i - 1] == *e {
            dups += 1;
        } else {
            deduped.push(e.to_json());
        }
    }
    assert!(dups > base.len() / 20, "{dups}");
    assert_eq!(deduped, base);
}

/// Generation speed and shape; run with
/// `cargo test --release --test generator -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    for (name, w) in [
        ("realistic", Workload::new(1, 1_000_000)),
        ("varied", Workload::new(1, 1_000_000).with_mix(Mix::Varied)),
    ] {
        let t = std::time::Instant::now();
        let mut n = 0u64;
        let mut bytes = 0usize;
        let (mut first, mut last) = (Timestamp::MAX, Timestamp::MIN);
        for e in w.events() {
            n += 1;
            bytes += e.conversation.len();
            first = first.min(e.at);
            last = last.max(e.at);
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "{name}: {n} events, {} conversations ({:.2}/conversation), {s:.2} s: \
             {:.2} M events/s; {first} .. {last} ({bytes} id bytes)",
            w.conversations,
            n as f64 / w.conversations as f64,
            n as f64 / s / 1e6
        );
    }
    let t = std::time::Instant::now();
    let lines = Workload::new(1, 200_000).write_jsonl(std::io::sink()).unwrap();
    let s = t.elapsed().as_secs_f64();
    println!(
        "write_jsonl: {lines} lines in {s:.2} s: {:.2} M lines/s",
        lines as f64 / s / 1e6
    );
}
