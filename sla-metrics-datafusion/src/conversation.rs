//! The state of `sla_conversation`: every group's lines, kept in flat arrays for all groups of
//! one aggregation (a DataFusion `GroupsAccumulator`), and replayed through an engine per group
//! when the groups are emitted.
//!
//! A row is `(group, line, watermark, raw)`. Gathering (update, merge) only appends rows; the
//! rows of the emitted groups are put in group order with one counting sort, then in line order
//! within each group, so emitting costs O(rows) plus the engine's own work.

use crate::udaf::{
    conversation_fields, external, list_of, rejection_type, segment_type, summary_fields, summary_type,
};
use datafusion::arrow::array::new_null_array;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanArray, Int64Array, ListArray, RecordBatch, StringArray,
    StructArray, UInt64Array,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit, UInt64Type};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Accumulator, EmitTo, GroupsAccumulator};
use datafusion::scalar::ScalarValue;
use sla_metrics::{Config, Engine, Error, SegmentValues, Summary, Timestamp};
use std::sync::Arc;

/// Seconds since the epoch from a timestamp (any unit) or integer column.
fn seconds(a: &ArrayRef) -> Result<ArrayRef> {
    let a = match a.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => Arc::clone(a),
        DataType::Timestamp(_, tz) => cast(a, &DataType::Timestamp(TimeUnit::Second, tz.clone()))?,
        _ => Arc::clone(a),
    };
    Ok(cast(&a, &DataType::Int64)?)
}

fn list(values: ArrayRef, offsets: OffsetBuffer<i32>) -> ArrayRef {
    let field = Arc::new(Field::new_list_field(values.data_type().clone(), true));
    Arc::new(ListArray::new(field, offsets, values, None))
}

/// One list offset per group from the number of elements of each.
fn offsets(lengths: impl IntoIterator<Item = usize>) -> OffsetBuffer<i32> {
    OffsetBuffer::from_lengths(lengths)
}

/// The lines of every group of one `sla_conversation` aggregation.
#[derive(Debug)]
pub(crate) struct Conversations {
    config: Arc<Config>,
    /// Per row: its group, line number and watermark in force (Unix seconds, `None`: none yet).
    group: Vec<u32>,
    line: Vec<u64>,
    watermark: Vec<Option<i64>>,
    /// Per row, the end of its text in `text`.
    end: Vec<usize>,
    text: String,
    /// Per group: the finish instant (Unix seconds) it was given.
    finish: Vec<Option<i64>>,
    /// Whether to return the summaries (`sla_conversation`) or not (`sla_conversation_report`,
    /// which saves their conversion to Arrow).
    summaries: bool,
}

/// The rows of the groups to emit, grouped: `rows[starts[g]..starts[g + 1]]` are group `g`'s
/// row indices.
struct Grouped {
    rows: Vec<usize>,
    starts: Vec<usize>,
}

impl Grouped {
    fn of(&self, g: usize) -> &[usize] {
        &self.rows[self.starts[g]..self.starts[g + 1]]
    }

    /// Group `g`'s rows, sorted by line number (the order the engine must see them in).
    fn in_line_order(&mut self, g: usize, line: &[u64]) -> &[usize] {
        let rows = &mut self.rows[self.starts[g]..self.starts[g + 1]];
        rows.sort_unstable_by_key(|&r| line[r]);
        rows
    }
}

impl Conversations {
    pub(crate) fn new(config: Arc<Config>, summaries: bool) -> Conversations {
        Conversations {
            config,
            summaries,
            group: Vec::new(),
            line: Vec::new(),
            watermark: Vec::new(),
            end: Vec::new(),
            text: String::new(),
            finish: Vec::new(),
        }
    }

    fn raw(&self, row: usize) -> &str {
        let start = if row == 0 { 0 } else { self.end[row - 1] };
        &self.text[start..self.end[row]]
    }

    fn push(&mut self, group: usize, line: u64, watermark: Option<i64>, raw: &str) {
        self.group.push(group as u32);
        self.line.push(line);
        self.watermark.push(watermark);
        self.text.push_str(raw);
        self.end.push(self.text.len());
    }

    fn set_finish(&mut self, group: usize, finish: Option<i64>) {
        if let Some(f) = finish {
            let slot = &mut self.finish[group];
            *slot = Some(slot.map_or(f, |g| g.max(f)));
        }
    }

    fn groups(&mut self, total: usize) -> Result<()> {
        if total > u32::MAX as usize {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "sla_conversation: {total} groups in one aggregation"
            )));
        }
        if self.finish.len() < total {
            self.finish.resize(total, None);
        }
        Ok(())
    }

    /// How many groups `emit_to` emits.
    fn emitted(&self, emit_to: EmitTo) -> usize {
        match emit_to {
            EmitTo::All => self.finish.len(),
            EmitTo::First(n) => n.min(self.finish.len()),
        }
    }

    /// The rows of groups `0..n`, grouped (a counting sort; in arrival order within a group).
    fn grouped(&self, n: usize) -> Grouped {
        let mut starts = vec![0usize; n + 1];
        for &g in &self.group {
            if (g as usize) < n {
                starts[g as usize + 1] += 1;
            }
        }
        for g in 0..n {
            starts[g + 1] += starts[g];
        }
        let mut next = starts.clone();
        let mut rows = vec![0usize; starts[n]];
        for (row, &g) in self.group.iter().enumerate() {
            if (g as usize) < n {
                rows[next[g as usize]] = row;
                next[g as usize] += 1;
            }
        }
        Grouped { rows, starts }
    }

    /// Forgets groups `0..n` and renumbers the rest from 0 (`EmitTo::First(n)`).
    fn drop_groups(&mut self, n: usize) {
        if n >= self.finish.len() {
            *self = Conversations::new(Arc::clone(&self.config), self.summaries);
            return;
        }
        let mut kept = Conversations::new(Arc::clone(&self.config), self.summaries);
        for row in 0..self.group.len() {
            let g = self.group[row] as usize;
            if g >= n {
                kept.push(g - n, self.line[row], self.watermark[row], self.raw(row));
            }
        }
        kept.finish = self.finish.split_off(n);
        *self = kept;
    }

    /// Appends rows from the function's arguments `(line, raw, watermark, finish)`.
    fn add_rows(
        &mut self,
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
        filter: Option<&BooleanArray>,
    ) -> Result<()> {
        let [line, raw, watermark, finish] = values else {
            return Err(DataFusionError::Plan(
                "sla_conversation takes (line, raw, watermark, finish)".into(),
            ));
        };
        let (line, raw) = (cast(line, &DataType::UInt64)?, cast(raw, &DataType::Utf8)?);
        let (watermark, finish) = (seconds(watermark)?, seconds(finish)?);
        let (line, raw) = (line.as_primitive::<UInt64Type>(), raw.as_string::<i32>());
        let (watermark, finish) = (
            watermark.as_primitive::<Int64Type>(),
            finish.as_primitive::<Int64Type>(),
        );
        for i in 0..line.len() {
            if filter.is_some_and(|f| !f.is_valid(i) || !f.value(i)) {
                continue;
            }
            let g = group_of(i);
            self.set_finish(g, finish.is_valid(i).then(|| finish.value(i)));
            if line.is_valid(i) && raw.is_valid(i) {
                let w = watermark.is_valid(i).then(|| watermark.value(i));
                self.push(g, line.value(i), w, raw.value(i));
            }
        }
        Ok(())
    }

    /// The state of groups `0..n` as the four state columns (see `state_fields`).
    fn state_arrays(&self, n: usize) -> Vec<ArrayRef> {
        let grouped = self.grouped(n);
        let lines: UInt64Array = grouped.rows.iter().map(|&r| self.line[r]).collect();
        let watermarks: Int64Array = grouped.rows.iter().map(|&r| self.watermark[r]).collect();
        let raws: StringArray = grouped.rows.iter().map(|&r| Some(self.raw(r))).collect();
        let lengths = || (0..n).map(|g| grouped.of(g).len());
        vec![
            list(Arc::new(lines), offsets(lengths())),
            list(Arc::new(watermarks), offsets(lengths())),
            list(Arc::new(raws), offsets(lengths())),
            Arc::new(Int64Array::from(self.finish[..n].to_vec())),
        ]
    }

    /// Replays each of groups `0..n` through its own engine and builds the result structs.
    fn evaluate_groups(&self, n: usize) -> Result<ArrayRef> {
        let mut grouped = self.grouped(n);
        let mut summaries: Vec<Summary> = Vec::new();
        let mut summary_counts = Vec::with_capacity(n);
        let mut errors: Vec<Error> = Vec::new();
        let mut error_counts = Vec::with_capacity(n);
        let mut reports = BinaryBuilder::new();
        let mut latest = Vec::with_capacity(n);
        let mut segments: Vec<Option<SegmentValues>> = Vec::with_capacity(n);
        for g in 0..n {
            let mut engine = Engine::new((*self.config).clone()).map_err(external)?;
            engine.collect_summaries(true);
            let errors_before = errors.len();
            for &row in grouped.in_line_order(g, &self.line) {
                if let Some(w) = self.watermark[row] {
                    engine.advance_to(Timestamp::from_unix(w));
                }
                if let Err(e) = engine.ingest_line(self.raw(row).as_bytes(), self.line[row]) {
                    errors.push(e);
                }
            }
            let own = engine.watermark().max(engine.latest_event());
            latest.push((own != Timestamp::MIN).then(|| own.as_unix()));
            let report = engine.finish_at(self.finish[g].map_or(own, Timestamp::from_unix));
            reports.append_value(report.to_bytes());
            let (before, mut last) = (summaries.len(), None);
            for s in engine.drain_summaries() {
                if self.summaries {
                    summaries.push(s);
                } else {
                    last = Some(s);
                }
            }
            segments.push(match last {
                Some(s) => Some(s.segment),
                None => summaries[before..].last().map(|s| s.segment.clone()),
            });
            summary_counts.push(summaries.len() - before);
            error_counts.push(errors.len() - errors_before);
        }
        let summaries = if self.summaries {
            list(summary_array(&summaries)?, offsets(summary_counts))
        } else {
            new_null_array(&list_of(summary_type()), n)
        };
        let columns: Vec<ArrayRef> = vec![
            summaries,
            Arc::new(reports.finish()),
            list(rejection_array(&errors), offsets(error_counts)),
            Arc::new(Int64Array::from(latest)),
            segment_array(&segments)?,
        ];
        Ok(Arc::new(StructArray::try_new(
            conversation_fields(),
            columns,
            None,
        )?))
    }
}

/// Summaries as rows of `summary_type`, through their serde form.
fn summary_array(summaries: &[Summary]) -> Result<ArrayRef> {
    let schema = Arc::new(Schema::new(summary_fields()));
    let mut decoder = datafusion::arrow::json::ReaderBuilder::new(Arc::clone(&schema)).build_decoder()?;
    decoder.serialize(summaries)?;
    let batch = decoder.flush()?.unwrap_or_else(|| RecordBatch::new_empty(schema));
    Ok(Arc::new(StructArray::from(batch)))
}

/// Each group's last instance's segment values (null for a group without instances).
fn segment_array(segments: &[Option<SegmentValues>]) -> Result<ArrayRef> {
    let column = |f: fn(&SegmentValues) -> Option<&str>| -> ArrayRef {
        Arc::new(
            segments
                .iter()
                .map(|s| s.as_ref().and_then(f))
                .collect::<StringArray>(),
        )
    };
    let DataType::Struct(fields) = segment_type() else {
        unreachable!("segment_type is a struct")
    };
    let valid = NullBuffer::from(segments.iter().map(Option::is_some).collect::<Vec<_>>());
    Ok(Arc::new(StructArray::try_new(
        fields,
        vec![
            column(|s| s.channel.as_deref()),
            column(|s| s.brand.as_deref()),
            column(|s| Some(s.priority.as_str())),
            column(|s| s.team.as_deref()),
            column(|s| s.agent.as_deref()),
        ],
        Some(valid),
    )?))
}

fn rejection_array(errors: &[Error]) -> ArrayRef {
    let line: UInt64Array = errors.iter().map(Error::line).collect();
    let kind: StringArray = errors.iter().map(|e| Some(e.code())).collect();
    let message: StringArray = errors.iter().map(|e| Some(e.to_string())).collect();
    let DataType::Struct(fields) = rejection_type() else {
        unreachable!("rejection_type is a struct")
    };
    Arc::new(StructArray::new(
        fields,
        vec![Arc::new(line), Arc::new(kind), Arc::new(message)],
        None,
    ))
}

impl GroupsAccumulator for Conversations {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups(total_num_groups)?;
        self.add_rows(values, |i| group_indices[i], opt_filter)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let n = self.emitted(emit_to);
        let out = self.evaluate_groups(n)?;
        self.drop_groups(n);
        Ok(out)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let n = self.emitted(emit_to);
        let out = self.state_arrays(n);
        self.drop_groups(n);
        Ok(out)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups(total_num_groups)?;
        let [lines, watermarks, raws, finish] = values else {
            return Err(DataFusionError::Internal(
                "sla_conversation has four state columns".into(),
            ));
        };
        let (lines, watermarks, raws) = (
            lines.as_list::<i32>(),
            watermarks.as_list::<i32>(),
            raws.as_list::<i32>(),
        );
        let finish = finish.as_primitive::<Int64Type>();
        for (i, &g) in group_indices.iter().enumerate() {
            self.set_finish(g, finish.is_valid(i).then(|| finish.value(i)));
            if !lines.is_valid(i) {
                continue;
            }
            let (l, w, r) = (lines.value(i), watermarks.value(i), raws.value(i));
            let (l, w, r) = (
                l.as_primitive::<UInt64Type>(),
                w.as_primitive::<Int64Type>(),
                r.as_string::<i32>(),
            );
            for j in 0..l.len() {
                self.push(g, l.value(j), w.is_valid(j).then(|| w.value(j)), r.value(j));
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // Each input row is a group of its own: one line (none where filtered out or null).
        let mut one = Conversations::new(Arc::clone(&self.config), self.summaries);
        let rows = values.first().map_or(0, |v| v.len());
        one.groups(rows)?;
        one.add_rows(values, |i| i, opt_filter)?;
        Ok(one.state_arrays(rows))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.group.capacity() * 4
            + self.line.capacity() * 8
            + self.watermark.capacity() * 16
            + self.end.capacity() * 8
            + self.text.capacity()
            + self.finish.capacity() * 16
    }
}

/// The same state for one group, where DataFusion asks for a plain `Accumulator` (no
/// `GROUP BY`, window frames): group 0 of a [`Conversations`].
#[derive(Debug)]
pub(crate) struct OneConversation(pub(crate) Conversations);

impl OneConversation {
    pub(crate) fn new(config: Arc<Config>, summaries: bool) -> OneConversation {
        let mut c = Conversations::new(config, summaries);
        c.finish.push(None);
        OneConversation(c)
    }
}

impl Accumulator for OneConversation {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.0.add_rows(values, |_| 0, None)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let rows = states.first().map_or(0, |s| s.len());
        self.0.merge_batch(states, &vec![0; rows], 1)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.0
            .state_arrays(1)
            .iter()
            .map(|a| ScalarValue::try_from_array(a, 0))
            .collect()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        ScalarValue::try_from_array(&self.0.evaluate_groups(1)?, 0)
    }

    fn size(&self) -> usize {
        GroupsAccumulator::size(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(rows: &[(u64, &str)]) -> Vec<ArrayRef> {
        vec![
            Arc::new(UInt64Array::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
            Arc::new(StringArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(vec![None::<i64>; rows.len()])),
            Arc::new(Int64Array::from(vec![Some(1_712_052_000i64); rows.len()])),
        ]
    }

    const ASK: &str =
        r#"{"conversation":"a","at":"2024-04-02T10:00:00Z","type":"message","author":"customer"}"#;
    const REPLY: &str =
        r#"{"conversation":"a","at":"2024-04-02T10:20:00Z","type":"message","author":"agent"}"#;
    const OTHER: &str =
        r#"{"conversation":"b","at":"2024-04-02T10:05:00Z","type":"message","author":"customer"}"#;

    /// Emitting the first groups keeps the others, renumbered, with their lines (R36: nothing
    /// is lost when DataFusion emits early).
    #[test]
    fn r36_emit_first_keeps_the_rest() {
        let mut acc = Conversations::new(Arc::new(Config::default()), true);
        // Rows out of line order, two groups interleaved.
        acc.update_batch(&args(&[(3, REPLY), (2, OTHER), (1, ASK)]), &[0, 1, 0], None, 2)
            .unwrap();
        let first = acc.evaluate(EmitTo::First(1)).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(
            (acc.group.as_slice(), acc.line.as_slice()),
            (&[0u32][..], &[2u64][..])
        );
        let rest = acc.evaluate(EmitTo::All).unwrap();
        assert_eq!(rest.len(), 1);
        let summaries = |a: &ArrayRef| a.as_struct().column(0).as_list::<i32>().value(0);
        let fr = |a: &ArrayRef| {
            summaries(a)
                .as_struct()
                .column_by_name("first_response_s")
                .unwrap()
                .as_primitive::<Int64Type>()
                .value(0)
        };
        // Replayed in line order: the customer asked, the agent replied 20 minutes later.
        assert_eq!(fr(&first), 1200);
        assert!(summaries(&rest)
            .as_struct()
            .column_by_name("first_response_s")
            .unwrap()
            .is_null(0));
    }

    /// The state of a partial aggregation merges into the same result as the rows themselves.
    #[test]
    fn r36_state_merges_like_rows() {
        let config = Arc::new(Config::default());
        let mut direct = Conversations::new(Arc::clone(&config), true);
        direct
            .update_batch(&args(&[(1, ASK), (3, REPLY)]), &[0, 0], None, 1)
            .unwrap();
        let mut partial = Conversations::new(Arc::clone(&config), true);
        partial.update_batch(&args(&[(3, REPLY)]), &[0], None, 1).unwrap();
        let state = partial.state(EmitTo::All).unwrap();
        let converted = direct.convert_to_state(&args(&[(1, ASK)]), None).unwrap();
        let mut merged = Conversations::new(config, true);
        merged.merge_batch(&state, &[0], 1).unwrap();
        merged.merge_batch(&converted, &[0], 1).unwrap();
        assert_eq!(
            merged.evaluate(EmitTo::All).unwrap().as_ref(),
            direct.evaluate(EmitTo::All).unwrap().as_ref()
        );
    }

    /// `sla_conversation_report` returns what `sla_conversation` does, summaries aside.
    #[test]
    fn the_report_variant_differs_only_by_its_null_summaries() {
        let rows = args(&[(1, ASK), (2, OTHER), (3, REPLY)]);
        let run = |summaries: bool| {
            let mut acc = Conversations::new(Arc::new(Config::default()), summaries);
            acc.update_batch(&rows, &[0, 1, 0], None, 2).unwrap();
            acc.evaluate(EmitTo::All).unwrap()
        };
        let (full, lite) = (run(true), run(false));
        let (full, lite) = (full.as_struct(), lite.as_struct());
        assert_eq!(full.column(0).null_count(), 0);
        assert_eq!(lite.column(0).null_count(), 2);
        for c in 1..full.num_columns() {
            assert_eq!(full.column(c).as_ref(), lite.column(c).as_ref(), "column {c}");
        }
    }
}
