//! The DataFusion result equals the streaming engine's (`sla_report --json`, R36): on generated
//! streams with watermarks, duplicates, bad lines and blank lines, under several configurations,
//! read from JSON Lines and from Parquet; on `../shared/data` when `SLA_DATA_DIR` is set.

mod common;

use common::*;

#[tokio::test]
async fn r36_sql_report_equals_the_engine_on_generated_streams() {
    for (name, config, seed) in [
        ("default", DEFAULT, 1),
        ("business", BUSINESS, 2),
        ("reorder", REORDER, 3),
    ] {
        let data = hostile_stream(seed, 1500);
        let (dir, file) = write_events(name, &data);
        let expected = engine_report(&data, config);
        assert!(
            expected["rejected"]["count"].as_u64().unwrap() > 0,
            "{name}: the stream has bad lines"
        );
        assert!(
            expected["duplicates"].as_u64().unwrap() > 0,
            "{name}: the stream has duplicates"
        );
        for partitions in [1, 2, 4] {
            let (got, _) = sql_report(&file, config, partitions).await;
            assert_same(&got, &expected, &format!("{name}, {partitions} partitions"));
        }
        // The same lines as Parquet with the events columns.
        let parquet = dir.join("events.parquet");
        sla_metrics_datafusion::write_parquet(&file, &parquet).unwrap();
        let (got, _) = sql_report(&parquet, config, 2).await;
        assert_same(&got, &expected, &format!("{name}, Parquet"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[tokio::test]
async fn a_directory_reads_as_one_stream_in_name_order() {
    let data = hostile_stream(4, 800);
    let dir = temp("dir");
    let cut = data.len() / 2 + data[data.len() / 2..].iter().position(|&b| b == b'\n').unwrap() + 1;
    std::fs::write(dir.join("a.jsonl"), &data[..cut]).unwrap();
    std::fs::write(dir.join("b.jsonl"), &data[cut..]).unwrap();
    std::fs::write(dir.join("notes.txt"), "not events").unwrap();
    let (got, _) = sql_report(&dir, DEFAULT, 2).await;
    assert_eq!(got, engine_report(&data, DEFAULT));
    std::fs::remove_dir_all(dir).unwrap();
}

/// A byte-order mark at the start of each file is skipped, as `sla_report` skips one at the
/// start of its input; one at the start of a later line makes that line malformed, in both.
#[tokio::test]
async fn a_byte_order_mark_starting_a_file_is_skipped() {
    let data = hostile_stream(7, 400);
    let dir = temp("bom");
    let cut = data.len() / 2 + data[data.len() / 2..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let bom = b"\xef\xbb\xbf";
    std::fs::write(dir.join("a.jsonl"), [&bom[..], &data[..cut]].concat()).unwrap();
    std::fs::write(dir.join("b.jsonl"), [&bom[..], &data[cut..]].concat()).unwrap();
    let (got, _) = sql_report(&dir, DEFAULT, 2).await;
    assert_eq!(got, engine_report(&data, DEFAULT));
    std::fs::remove_dir_all(&dir).unwrap();
    // One file with a mark on its first line and another on its third.
    let lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
    let marked = [&bom[..], lines[0], lines[1], bom, &lines[2..].concat()].concat();
    let (dir, file) = write_events("bom-inside", &marked);
    let (got, _) = sql_report(&file, DEFAULT, 2).await;
    let expected = engine_report(&marked, DEFAULT);
    assert_eq!(got, expected);
    assert_eq!(
        expected["rejected"]["count"].as_u64(),
        engine_report(&data, DEFAULT)["rejected"]["count"]
            .as_u64()
            .map(|n| n + 1)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// R42: every bad line is in the result with its line number and reason, as the engine
/// reports it; none fails the query.
#[tokio::test]
async fn r42_rejected_lines_are_listed_with_their_errors() {
    let data = hostile_stream(5, 600);
    let (dir, file) = write_events("rejections", &data);
    let ctx = context(2);
    let (_, finish) = sql_run(&ctx, DEFAULT, &file).await;
    let sql = sla_metrics_datafusion::query(sla_metrics_datafusion::REJECTIONS_SQL, "events", finish);
    let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    let mut got = Vec::new();
    for b in &batches {
        let lines = datafusion::common::cast::as_uint64_array(b.column(0)).unwrap();
        let messages = datafusion::common::cast::as_string_array(b.column(2)).unwrap();
        for i in 0..b.num_rows() {
            got.push((lines.value(i), messages.value(i).to_owned()));
        }
    }
    let run = run_jsonl(&data[..], &Config::default(), 1, false).unwrap();
    let expected: Vec<(u64, String)> = run
        .rejections
        .iter()
        .map(|e| (e.line().unwrap(), e.to_string()))
        .collect();
    assert!(expected.len() > 10);
    assert_eq!(got, expected);
    std::fs::remove_dir_all(dir).unwrap();
}

/// §10: `unnest` of the summaries gives one row per instance, as `sla_report --summaries`.
#[tokio::test]
async fn summaries_are_the_engines() {
    let data = hostile_stream(6, 500);
    let (dir, file) = write_events("summaries", &data);
    let ctx = context(2);
    let (_, finish) = sql_run(&ctx, BUSINESS, &file).await;
    let sql = format!(
        "WITH c AS (SELECT sla_conversation(line, raw, watermark, {finish}) AS c FROM events GROUP BY conversation),
         s AS (SELECT unnest(c['summaries']) AS s FROM c)
         SELECT s['conversation'], s['instance'], s['first_response_business_s'], s['finalized_by'],
                s['segment']['brand'], array_length(s['sla'])
         FROM s ORDER BY 1, 2"
    );
    let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    let text = |b: &datafusion::arrow::array::RecordBatch, c: usize, i: usize| {
        datafusion::arrow::util::display::array_value_to_string(b.column(c), i).unwrap()
    };
    let mut got = Vec::new();
    for b in &batches {
        for i in 0..b.num_rows() {
            got.push((0..6).map(|c| text(b, c, i)).collect::<Vec<_>>());
        }
    }
    let run = run_jsonl(&data[..], &Config::from_json(BUSINESS).unwrap(), 1, true).unwrap();
    let mut expected: Vec<Vec<String>> = run
        .summaries
        .iter()
        .map(|s| {
            let v = serde_json::to_value(s).unwrap();
            let opt = |x: &Value| {
                if x.is_null() {
                    String::new()
                } else {
                    x.to_string().trim_matches('"').to_owned()
                }
            };
            vec![
                s.conversation.clone(),
                s.instance.to_string(),
                opt(&v["first_response_business_s"]),
                opt(&v["finalized_by"]),
                s.segment.brand.clone().unwrap_or_default(),
                s.sla.len().to_string(),
            ]
        })
        .collect();
    expected
        .sort_by(|a, b| (&a[0], a[1].parse::<u32>().unwrap()).cmp(&(&b[0], b[1].parse::<u32>().unwrap())));
    got.sort_by(|a, b| (&a[0], a[1].parse::<u32>().unwrap()).cmp(&(&b[0], b[1].parse::<u32>().unwrap())));
    assert!(expected.len() >= 500);
    assert_eq!(got, expected);
    std::fs::remove_dir_all(dir).unwrap();
}

/// `../shared/data`, both files converted to events: the SQL report equals the engine's.
#[tokio::test]
async fn real_data_equals_the_engine() {
    let files = [("twcs_head.csv", true), ("helpdesk.csv", false)];
    let mut ran = false;
    for (name, twcs) in files {
        let Some(path) = data_file(name) else { continue };
        ran = true;
        let input = std::fs::File::open(path).unwrap();
        let adapted = if twcs {
            sla_metrics::twcs_events(input)
        } else {
            sla_metrics::helpdesk_events(input)
        }
        .unwrap();
        let mut data = Vec::new();
        for e in &adapted.events {
            data.extend_from_slice(e.to_json().as_bytes());
            data.push(b'\n');
        }
        let (dir, file) = write_events(name, &data);
        for config in [DEFAULT, BUSINESS] {
            let expected = engine_report(&data, config);
            assert!(expected["conversations"]["total"].as_u64().unwrap() > 100);
            let (got, _) = sql_report(&file, config, 2).await;
            assert_same(&got, &expected, name);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
    if !ran {
        eprintln!("SLA_DATA_DIR not set: real-data test not run");
    }
}

/// R35: `GROUP BY` a segment dimension gives one report per value, each id filed under its
/// last instance's value: the instance counts per brand are the engine's summaries grouped
/// that way, and the `NULL` row holds the rejected lines.
#[tokio::test]
async fn r35_group_by_brand_files_each_id_under_its_last_instance() {
    use datafusion::arrow::array::Array;
    use std::collections::BTreeMap;
    let data = hostile_stream(7, 600);
    let (dir, file) = write_events("segments", &data);
    let ctx = context(2);
    let (whole, finish) = sql_run(&ctx, DEFAULT, &file).await;
    let sql = sla_metrics_datafusion::query(sla_metrics_datafusion::SEGMENT_SQL, "events", finish)
        .replace("{dim}", "brand");
    let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    let mut got = BTreeMap::new();
    let mut rejected = 0;
    for b in &batches {
        let names = datafusion::common::cast::as_string_array(b.column(0)).unwrap();
        let reports = datafusion::common::cast::as_binary_array(b.column(1)).unwrap();
        for i in 0..b.num_rows() {
            let r = sla_metrics::Report::from_bytes(reports.value(i)).unwrap();
            rejected += r.rejected();
            let name = (!names.is_null(i)).then(|| names.value(i).to_owned());
            *got.entry(name).or_insert(0) += r.conversations().total;
        }
    }
    // The engine's instances, each id under its last instance's brand.
    let run = run_jsonl(&data[..], &Config::default(), 1, true).unwrap();
    let mut last = BTreeMap::new();
    for s in &run.summaries {
        let e = last.entry(s.conversation.clone()).or_insert((0, None, 0));
        e.0 += 1;
        if s.instance >= e.2 {
            (e.1, e.2) = (s.segment.brand.clone(), s.instance);
        }
    }
    let mut expected = BTreeMap::new();
    for (count, brand, _) in last.values() {
        *expected.entry(brand.clone()).or_insert(0) += count;
    }
    // Lines without a conversation are a group of their own, in the `NULL` row.
    expected.entry(None).or_insert(0);
    assert!(expected.len() >= 4, "{expected:?}");
    assert_eq!(got, expected);
    assert_eq!(rejected, whole.rejected());
    assert!(rejected > 0);
    std::fs::remove_dir_all(dir).unwrap();
}
