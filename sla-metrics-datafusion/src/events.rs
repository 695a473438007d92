//! The events table: JSON Lines (SPEC §1) read into Arrow with each line's number, the
//! watermark in force when it was read, and the line itself, so SQL can group and filter while
//! the engine still judges every line exactly as the streaming reader does.

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringBuilder, TimestampSecondBuilder, UInt64Builder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use sla_metrics::{parse_line, EventKind, Record};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per record batch.
const BATCH_ROWS: usize = 64 * 1024;

/// The events table's columns, for JSON Lines and Parquet alike:
///
/// | column | type | |
/// |---|---|---|
/// | `line` | UInt64 | the line number, counted across files in name order (blank lines count) |
/// | `conversation` | Utf8, null | the id; null for watermarks and lines whose id cannot be read |
/// | `type` | Utf8, null | the event type, or `watermark`; null for an invalid line |
/// | `at` | Timestamp(s, UTC), null | the event's or watermark's instant; null for an invalid line |
/// | `watermark` | Timestamp(s, UTC), null | the latest watermark read before this line (R38) |
/// | `error` | Utf8, null | why the line is invalid (R42), as the engine will report it |
/// | `raw` | Utf8 | the line itself, which `sla_conversation` replays |
///
/// # Example
/// ```
/// let schema = sla_metrics_datafusion::events_schema();
/// assert_eq!(schema.field(0).name(), "line");
/// assert_eq!(schema.fields().len(), 7);
/// ```
pub fn events_schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Second, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("line", DataType::UInt64, false),
        Field::new("conversation", DataType::Utf8, true),
        Field::new("type", DataType::Utf8, true),
        Field::new("at", ts.clone(), true),
        Field::new("watermark", ts, true),
        Field::new("error", DataType::Utf8, true),
        Field::new("raw", DataType::Utf8, false),
    ]))
}

fn kind_name(kind: &EventKind<'_>) -> &'static str {
    match kind {
        EventKind::Message { .. } => "message",
        EventKind::Status(_) => "status",
        EventKind::Priority(_) => "priority",
        EventKind::Assign { .. } => "assign",
        EventKind::Handoff => "handoff",
        EventKind::Attributes { .. } => "attributes",
        EventKind::Csat { .. } => "csat",
        EventKind::Exclude { .. } => "exclude",
        _ => "unknown",
    }
}

struct Builders {
    line: UInt64Builder,
    conversation: StringBuilder,
    kind: StringBuilder,
    at: TimestampSecondBuilder,
    watermark: TimestampSecondBuilder,
    error: StringBuilder,
    raw: StringBuilder,
    rows: usize,
}

impl Builders {
    fn new() -> Builders {
        Builders {
            line: UInt64Builder::with_capacity(BATCH_ROWS),
            conversation: StringBuilder::new(),
            kind: StringBuilder::new(),
            at: TimestampSecondBuilder::with_capacity(BATCH_ROWS),
            watermark: TimestampSecondBuilder::with_capacity(BATCH_ROWS),
            error: StringBuilder::new(),
            raw: StringBuilder::new(),
            rows: 0,
        }
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        self.rows = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.line.finish()),
            Arc::new(self.conversation.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.at.finish().with_timezone("UTC")),
            Arc::new(self.watermark.finish().with_timezone("UTC")),
            Arc::new(self.error.finish()),
            Arc::new(self.raw.finish()),
        ];
        Ok(RecordBatch::try_new(events_schema(), columns)?)
    }
}

/// The files of `path`: the file itself, or a directory's files with `ext` extensions (any
/// file when `ext` is empty), in name order.
fn files(path: &Path, ext: &[&str]) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let p = entry?.path();
        let e = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if p.is_file() && (ext.is_empty() || ext.contains(&e)) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Reads JSON Lines from a file, or from a directory's `.jsonl`/`.ndjson`/`.json` files in
/// name order as one stream (like `cat`), into record batches of [`events_schema`]. Every
/// line is parsed once by the engine's own parser (R42): a valid one gets its id, type and
/// instant; an invalid one its `error`; none is dropped. Blank lines are counted, not kept. A
/// byte-order mark at the start of a file is skipped, as the engine's readers skip one at the
/// start of their input.
///
/// # Errors
/// A file that cannot be read.
///
/// # Example
/// ```
/// let path = std::env::temp_dir().join("sla-df-read-jsonl-doc.jsonl");
/// std::fs::write(&path, concat!(
///     r#"{"conversation":"c1","at":"2024-04-02T10:00:00Z","type":"message","author":"customer"}"#, "\n",
///     r#"{"type":"watermark","at":"2024-04-02T11:00:00Z"}"#, "\n",
///     "not json\n",
/// ))?;
/// let batches = sla_metrics_datafusion::read_jsonl(&path)?;
/// std::fs::remove_file(&path)?;
/// assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_jsonl(path: impl AsRef<Path>) -> Result<Vec<RecordBatch>> {
    let mut batches = Vec::new();
    let mut b = Builders::new();
    let mut line_no = 0u64;
    let mut watermark: Option<i64> = None;
    let mut buf = Vec::new();
    for file in files(path.as_ref(), &["jsonl", "ndjson", "json"])? {
        let mut reader = BufReader::with_capacity(1 << 20, std::fs::File::open(&file)?);
        let mut first = true;
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            line_no += 1;
            let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
            let line = if std::mem::take(&mut first) {
                line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line)
            } else {
                line
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let parsed = parse_line(line);
            let (conversation, kind, at, error) = match &parsed {
                Ok(None) => continue, // blank (R42)
                Ok(Some(Record::Watermark(t))) => (None, Some("watermark"), Some(t.as_unix()), None),
                Ok(Some(Record::Event(e))) => (
                    Some(e.conversation.as_ref()),
                    Some(kind_name(&e.kind)),
                    Some(e.at.as_unix()),
                    None,
                ),
                Err(e) => (e.conversation(), None, None, Some(e.to_string())),
            };
            b.line.append_value(line_no);
            b.conversation.append_option(conversation);
            b.kind.append_option(kind);
            b.at.append_option(at);
            b.watermark.append_option(watermark);
            b.error.append_option(error);
            b.raw.append_value(String::from_utf8_lossy(line));
            b.rows += 1;
            if let Ok(Some(Record::Watermark(t))) = parsed {
                watermark = Some(watermark.map_or(t.as_unix(), |w| w.max(t.as_unix())));
            }
            if b.rows == BATCH_ROWS {
                batches.push(b.finish()?);
            }
        }
    }
    if b.rows > 0 || batches.is_empty() {
        batches.push(b.finish()?);
    }
    Ok(batches)
}

/// Registers `path` as table `name` of [`events_schema`]: a `.parquet` file or a directory of
/// them is read by DataFusion's own Parquet scan (so Ballista executors read it themselves);
/// anything else is read as JSON Lines ([`read_jsonl`]) into memory, spread over the
/// context's target partitions.
///
/// # Errors
/// A file that cannot be read, or Parquet without the events columns.
pub async fn register_events(ctx: &SessionContext, name: &str, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let parquet = files(path, &[])?
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "parquet"));
    if parquet {
        let text = path
            .to_str()
            .ok_or_else(|| DataFusionError::Plan(format!("not a UTF-8 path: {}", path.display())))?;
        return ctx
            .register_parquet(name, text, ParquetReadOptions::default().schema(&events_schema()))
            .await;
    }
    let batches = read_jsonl(path)?;
    let parts = ctx.copied_config().target_partitions().max(1);
    let mut partitions = vec![Vec::new(); parts];
    for (i, batch) in batches.into_iter().enumerate() {
        partitions[i % parts].push(batch);
    }
    let table = MemTable::try_new(events_schema(), partitions)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// Converts JSON Lines (a file or directory, as [`read_jsonl`]) to one Parquet file with the
/// events columns, for engines that read Parquet natively (Ballista's executors).
///
/// # Errors
/// A file that cannot be read or written.
pub fn write_parquet(jsonl: impl AsRef<Path>, parquet: impl AsRef<Path>) -> Result<()> {
    let file = std::fs::File::create(parquet)?;
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(file, events_schema(), None)?;
    for batch in read_jsonl(jsonl)? {
        writer.write(&batch)?;
    }
    writer.close()?;
    Ok(())
}
