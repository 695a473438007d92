//! The Twitter customer-support adapter on the repository's synthetic sample (always runs).

use sla_metrics::{twcs_events, Author, Config, Engine, EventKind, Summary};

fn sample() -> sla_metrics::Adapted {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/twcs_sample.csv");
    twcs_events(std::fs::File::open(path).unwrap()).unwrap()
}

fn summaries(adapted: &sla_metrics::Adapted) -> Vec<Summary> {
    let mut engine = Engine::new(Config::default()).unwrap();
    engine.collect_summaries(true);
    for e in &adapted.events {
        engine.ingest(e).unwrap();
    }
    engine.finish();
    engine.drain_summaries().collect()
}

/// R42: unusable rows are reported with their line numbers, never dropped silently; a bare
/// carriage return inside a tweet does not split its row.
#[test]
fn r42_unusable_rows_have_line_numbers() {
    let a = sample();
    let lines: Vec<(u64, &str)> = a.unusable.iter().map(|u| (u.line, u.reason.as_str())).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0].0, 15);
    assert!(lines[0].1.contains("not in the file"));
    assert_eq!(lines[1].0, 16);
    assert!(lines[1].1.contains("not a tweet time"));
    assert_eq!(a.conversations, 5);
}

/// R7: brand tweets are agent replies; R9: the first response runs from the customer's tweet.
#[test]
fn r7_brand_tweets_are_agent_replies() {
    let a = sample();
    let brand_tweet = a.events.iter().find(|e| e.id.as_deref() == Some("tw2")).unwrap();
    assert!(
        matches!(&brand_tweet.kind, EventKind::Message { author: Author::Agent, agent: Some(b), .. } if b == "AcmeHelp")
    );
    let s = summaries(&a);
    let frt = |c: &str| {
        s.iter()
            .find(|x| x.conversation == c)
            .unwrap()
            .calendar
            .first_response_s
    };
    assert_eq!(frt("t1"), Some(12 * 60));
    assert_eq!(frt("t5"), Some(210 * 60));
    assert_eq!(frt("t7"), None); // never answered
    assert_eq!(frt("t11"), Some(26 * 3600)); // a two-line tweet (quoted newline) is one row
}

/// R12, R16: a thread the brand starts is outreach: initiated by the agent, its replies count
/// only after the customer's first message.
#[test]
fn r12_brand_started_thread_measures_from_the_customer() {
    let s = summaries(&sample());
    let t8 = s.iter().find(|x| x.conversation == "t8").unwrap();
    assert_eq!(t8.initiated_by, Some(Author::Agent));
    assert_eq!(t8.calendar.first_response_s, Some(60));
    assert_eq!(t8.replies, 1);
}

/// Every thread gets channel `twitter` and the first replying brand as attributes, in order.
#[test]
fn threads_carry_brand_and_channel() {
    let a = sample();
    let attrs: Vec<(&str, Option<&str>)> = a
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Attributes { brand, channel, .. } => {
                assert_eq!(channel.as_deref(), Some("twitter"));
                Some((&*e.conversation, brand.as_deref()))
            }
            _ => None,
        })
        .collect();
    assert!(attrs.contains(&("t1", Some("AcmeHelp"))));
    assert!(attrs.contains(&("t7", None)));
    assert!(a.events.windows(2).all(|w| w[0].at <= w[1].at));
}

/// The helpdesk log's activity mapping on the synthetic sample: the case opens the customer's
/// wait, "Take in charge ticket" is the first response, Wait is pending, Resolve is solved,
/// other activities are internal notes (R7), a bad time is an unusable row with its line.
#[test]
fn helpdesk_mapping_on_the_sample() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/helpdesk_sample.csv");
    let a = sla_metrics::helpdesk_events(std::fs::File::open(path).unwrap()).unwrap();
    assert_eq!(a.conversations, 3);
    assert_eq!(a.unusable.len(), 1);
    assert_eq!(a.unusable[0].line, 13);
    let s = summaries(&a);
    let case = |c: &str| s.iter().find(|x| x.conversation == c).unwrap();
    assert_eq!(case("Case 1").calendar.first_response_s, Some(1800));
    // Pending from Oct 9 15:25:17 to the resolve on Oct 11 10:00:00 (both CEST).
    assert_eq!(case("Case 1").calendar.agent_wait_s, 153_283);
    assert_eq!(case("Case 2").calendar.first_response_s, Some(26 * 3600));
    assert_eq!(case("Case 2").replies, 1); // "Require upgrade" is a note, not a reply
    assert!(case("Case 3").solved_without_reply);
    assert_eq!(case("Case 3").calendar.full_resolution_s, Some(1800));
}
