//! sla-metrics as SQL on [Apache DataFusion](https://datafusion.apache.org) (and so on
//! Ballista): the same summaries and reports as the streaming engine, from the query engine a
//! helpdesk already runs over its event history.
//!
//! * [`register`] adds the SQL functions to a `SessionContext`, with one configuration (the
//!   SPEC §11 JSON): `sla_conversation(line, raw, watermark, finish)`, an aggregate that
//!   replays one conversation's lines in line order through an [`Engine`](sla_metrics::Engine)
//!   and returns its summaries, its partial report and its rejected lines;
//!   `sla_conversation_report`, the same without the summaries (a quarter faster, for the
//!   report queries); `sla_report(report)`, an aggregate that merges partial reports (R36)
//!   into one; and `sla_report_json(report)`, a scalar that renders one.
//! * [`register_events`] makes a JSON Lines file or directory (or Parquet files with the same
//!   columns, see [`write_parquet`]) a table of [`events_schema`].
//! * [`report`] runs the standard query and returns the [`Report`] that `sla_report` computes
//!   for the same input.
//!
//! # Why the result equals the streaming engine's
//! A sharded run (R36) gives each shard its own conversations' lines, in input order, and every
//! watermark; every shard finishes at the whole stream's finish instant (R38). Here a group is
//! one conversation id: its lines are replayed in line order, each after the watermark in force
//! when it was read (the `watermark` column), and the group finishes at the `finish` argument.
//! Since outcomes never depend on how often the watermark moves (R21, R38), that is a shard of
//! one conversation, and the merged partial reports equal the single-engine report: counts,
//! sums and shares exactly, percentiles within histogram precision.
//!
//! Lines without a conversation (watermarks, unreadable lines) form the `NULL` group: its
//! rejections are counted like any other, so no bad line is lost.
//!
//! # Cost
//! `sla_conversation` is a DataFusion `GroupsAccumulator`: the lines of all groups of a
//! partition sit in flat arrays, and emitting sorts them by group and line in O(rows) and
//! replays each group through a fresh engine. A one-conversation partial report is small
//! (a distribution keeps its first 16 samples without a histogram), so merging hundreds of
//! thousands of them in `sla_report` is cheap.
//!
//! # Ballista
//! Register the functions on every node's session state (scheduler, executors) and on the
//! client context, and read the events from Parquet ([`write_parquet`]) so executors scan the
//! files themselves. With Ballista 55, remove the optimizer rule `extract_leaf_expressions`
//! from the client context (`ctx.remove_optimizer_rule("extract_leaf_expressions")`): the plan
//! it produces for `c['report']` below an aggregate does not decode on the scheduler. The
//! crate's `tests/ballista.rs` runs a scheduler and two executors as processes this way.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod conversation;
mod events;
mod udaf;

pub use events::{events_schema, read_jsonl, register_events, write_parquet};
pub use udaf::{conversation_type, register, summary_type};

use datafusion::arrow::array::Array;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use sla_metrics::{Config, Report};

/// The standard query: one partial report per conversation id, merged into one (R36).
/// `{finish}` is the finish instant in Unix seconds (R38), `{table}` the events table.
pub const REPORT_SQL: &str = "\
WITH conversations AS (
  SELECT sla_conversation_report(line, raw, watermark, {finish}) AS c
  FROM {table}
  GROUP BY conversation)
SELECT sla_report(c['report']) AS report, max(c['latest']) AS latest
FROM conversations";

/// One report per value of a segment dimension `{dim}` (`channel`, `brand`, `priority`, `team`
/// or `agent`; R35). An id is filed under its last instance's value, with its duplicates,
/// rejected lines and ignored events (which the engine's breakdowns keep at stream level
/// only); the lines without a conversation are in the `NULL` row.
pub const SEGMENT_SQL: &str = "\
WITH conversations AS (
  SELECT sla_conversation_report(line, raw, watermark, {finish}) AS c
  FROM {table}
  GROUP BY conversation)
SELECT c['segment']['{dim}'] AS segment, sla_report(c['report']) AS report
FROM conversations
GROUP BY 1";

/// Every rejected line with its line number, kind and message (R42), in line order.
pub const REJECTIONS_SQL: &str = "\
WITH conversations AS (
  SELECT sla_conversation_report(line, raw, watermark, {finish}) AS c
  FROM {table}
  GROUP BY conversation),
rejected AS (SELECT unnest(c['rejections']) AS r FROM conversations)
SELECT r['line'] AS line, r['kind'] AS kind, r['message'] AS message
FROM rejected
ORDER BY line";

/// The finish-instant query (R38): the latest valid event or effective watermark. A valid
/// event can still be a duplicate (R4), which does not move the finish instant, so [`report`]
/// checks the result against the engines' own and runs again in that rare case.
pub const FINISH_SQL: &str = "\
SELECT max(CASE WHEN type = 'watermark' THEN arrow_cast(at, 'Int64') - {lateness}
                ELSE arrow_cast(at, 'Int64') END) AS finish
FROM {table}
WHERE error IS NULL";

/// One of this crate's query templates ([`REPORT_SQL`], [`SEGMENT_SQL`], [`REJECTIONS_SQL`])
/// for `table` and the finish instant `finish` (Unix seconds, as [`report`] returns it).
/// [`SEGMENT_SQL`] still needs its `{dim}`.
///
/// # Example
/// ```
/// let sql = sla_metrics_datafusion::query(sla_metrics_datafusion::REJECTIONS_SQL, "events", 1712052000);
/// assert!(sql.contains("FROM events") && sql.contains("1712052000"));
/// ```
pub fn query(template: &str, table: &str, finish: i64) -> String {
    template
        .replace("{table}", table)
        .replace("{finish}", &finish.to_string())
}

/// Runs [`REPORT_SQL`] on `table` (registered with [`register_events`]) with the functions
/// [`register`]ed for `config`, and decodes the merged report. The finish instant is computed
/// first ([`FINISH_SQL`]); the result equals `sla_report --json` on the same lines. Returns
/// the report and the finish instant (Unix seconds), for the other queries to use.
///
/// # Errors
/// A failed query, or a report that does not decode.
pub async fn report(ctx: &SessionContext, table: &str, config: &Config) -> Result<(Report, i64)> {
    let fin_sql = FINISH_SQL
        .replace("{table}", table)
        .replace("{lateness}", &config.allowed_lateness_s.to_string());
    let fin = scalar_i64(ctx, &fin_sql).await?;
    let Some(mut finish) = fin else {
        // No valid line at all: every line is a rejection; any finish instant will do.
        return run_report(ctx, table, config, 0).await.map(|(r, _)| (r, 0));
    };
    loop {
        let (report, latest) = run_report(ctx, table, config, finish).await?;
        match latest {
            // The engines' own finish instant is earlier (a duplicate was the latest line):
            // finish again there, as a single engine would.
            Some(l) if l < finish => finish = l,
            _ => return Ok((report, finish)),
        }
    }
}

async fn run_report(
    ctx: &SessionContext,
    table: &str,
    config: &Config,
    finish: i64,
) -> Result<(Report, Option<i64>)> {
    let sql = query(REPORT_SQL, table, finish);
    let batches = ctx.sql(&sql).await?.collect().await?;
    let batch = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .ok_or_else(|| DataFusionError::Execution("the report query returned no row".into()))?;
    let bytes = datafusion::common::cast::as_binary_array(batch.column(0))?;
    let report = if bytes.is_null(0) {
        None
    } else {
        Some(Report::from_bytes(bytes.value(0)).map_err(|e| DataFusionError::External(Box::new(e)))?)
    };
    let latest =
        datafusion::arrow::compute::cast(batch.column(1), &datafusion::arrow::datatypes::DataType::Int64)?;
    let latest = datafusion::common::cast::as_int64_array(&latest)?;
    let latest = (!latest.is_null(0)).then(|| latest.value(0));
    match report {
        Some(r) => Ok((r, latest)),
        // No line at all: the report of an engine that saw nothing.
        None => {
            let mut engine = sla_metrics::Engine::new(config.clone())
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            Ok((engine.finish(), None))
        }
    }
}

async fn scalar_i64(ctx: &SessionContext, sql: &str) -> Result<Option<i64>> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let col =
        datafusion::arrow::compute::cast(batch.column(0), &datafusion::arrow::datatypes::DataType::Int64)?;
    let col = datafusion::common::cast::as_int64_array(&col)?;
    Ok((!col.is_null(0)).then(|| col.value(0)))
}
