//! The SQL functions: `sla_conversation` (one conversation's lines → summaries, partial report
//! and rejections), `sla_report` (partial reports → one, R36) and `sla_report_json`.

use crate::conversation::{Conversations, OneConversation};
use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, TimeUnit};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, GroupsAccumulator, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use sla_metrics::{Config, Engine, Error, Report};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A core error as a DataFusion error (its message and kind kept as the source).
pub(crate) fn external(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Second, Some("UTC".into()))
}

fn nullable(name: &str, t: DataType) -> Field {
    Field::new(name, t, true)
}

pub(crate) fn list_of(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(t, true)))
}

pub(crate) fn segment_type() -> DataType {
    DataType::Struct(Fields::from(
        ["channel", "brand", "priority", "team", "agent"]
            .map(|n| nullable(n, DataType::Utf8))
            .to_vec(),
    ))
}

pub(crate) fn summary_fields() -> Fields {
    let mut f = vec![
        nullable("conversation", DataType::Utf8),
        nullable("instance", DataType::UInt32),
        nullable("created_at", ts()),
        nullable("initiated_by", DataType::Utf8),
        nullable("excluded", DataType::Utf8),
    ];
    for suffix in ["_s", "_business_s"] {
        f.push(nullable(&format!("first_response{suffix}"), DataType::Int64));
        f.push(nullable(&format!("next_reply{suffix}"), list_of(DataType::Int64)));
        for m in [
            "first_resolution",
            "full_resolution",
            "requester_wait",
            "agent_wait",
            "on_hold",
            "agent_work",
        ] {
            f.push(nullable(&format!("{m}{suffix}"), DataType::Int64));
        }
    }
    f.extend([
        nullable("replies", DataType::UInt32),
        nullable("reopens", DataType::UInt32),
        nullable("solved_without_reply", DataType::Boolean),
        nullable("touch", DataType::Utf8),
        nullable("fcr", DataType::Boolean),
        nullable("csat", DataType::UInt8),
        nullable("finalized_at", ts()),
        nullable("finalized_by", DataType::Utf8),
        nullable(
            "sla",
            list_of(DataType::Struct(Fields::from(vec![
                nullable("policy", DataType::Utf8),
                nullable("metric", DataType::Utf8),
                nullable("threshold_s", DataType::Int64),
                nullable("clock", DataType::Utf8),
                nullable("outcome", DataType::Utf8),
                nullable("deadline", ts()),
            ]))),
        ),
        nullable("segment", segment_type()),
    ]);
    Fields::from(f)
}

/// The type of one SPEC §10 summary as SQL sees it: every §10 field (instants as
/// `Timestamp(s, UTC)`, `_business_s` twins null without a schedule) and `segment`, the
/// instance's channel, brand, priority, team and agent (R35).
///
/// # Example
/// ```
/// let t = sla_metrics_datafusion::summary_type();
/// assert!(matches!(t, datafusion::arrow::datatypes::DataType::Struct(f) if f.find("first_response_s").is_some()));
/// ```
pub fn summary_type() -> DataType {
    DataType::Struct(summary_fields())
}

pub(crate) fn rejection_type() -> DataType {
    DataType::Struct(Fields::from(vec![
        nullable("line", DataType::UInt64),
        nullable("kind", DataType::Utf8),
        nullable("message", DataType::Utf8),
    ]))
}

pub(crate) fn conversation_fields() -> Fields {
    Fields::from(vec![
        nullable("summaries", list_of(summary_type())),
        nullable("report", DataType::Binary),
        nullable("rejections", list_of(rejection_type())),
        nullable("latest", DataType::Int64),
        nullable("segment", segment_type()),
    ])
}

/// What `sla_conversation` returns for one conversation id: `summaries` (one [`summary_type`]
/// per instance, in finalization order), `report` (the id's partial report in the binary
/// encoding, R36, rejections and duplicates included), `rejections` (every rejected line:
/// `line`, `kind`, `message`, R42), `latest` (the later of the engine's watermark and latest
/// accepted event before finishing, Unix seconds: the finish instant it would choose, R38) and
/// `segment` (the last instance's segment values). `sla_conversation_report` returns the same
/// with `summaries` null.
///
/// # Example
/// ```
/// let t = sla_metrics_datafusion::conversation_type();
/// assert!(matches!(t, datafusion::arrow::datatypes::DataType::Struct(f) if f.find("report").is_some()));
/// ```
pub fn conversation_type() -> DataType {
    DataType::Struct(conversation_fields())
}

/// Registers `sla_conversation`, `sla_conversation_report`, `sla_report` and
/// `sla_report_json` on `ctx`, compiled for
/// `config` (the SPEC §11 JSON configuration; `{}` is the default).
///
/// # Errors
/// An invalid configuration, as [`Config::from_json`] reports it.
///
/// # Example
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> datafusion::error::Result<()> {
/// use datafusion::execution::FunctionRegistry;
/// use datafusion::prelude::SessionContext;
/// let ctx = SessionContext::new();
/// sla_metrics_datafusion::register(&ctx, r#"{"within_s": [3600, 86400]}"#)?;
/// assert!(ctx.udaf("sla_conversation").is_ok() && ctx.udaf("sla_report").is_ok());
/// # Ok(())
/// # }
/// ```
pub fn register(ctx: &SessionContext, config_json: &str) -> Result<()> {
    let config = Arc::new(Config::from_json(config_json).map_err(external)?);
    Engine::new((*config).clone()).map_err(external)?;
    let text: Arc<str> = config_json.into();
    for (name, summaries) in [("sla_conversation", true), ("sla_conversation_report", false)] {
        ctx.register_udaf(AggregateUDF::from(SlaConversation {
            name,
            summaries,
            config: Arc::clone(&config),
            text: Arc::clone(&text),
            signature: Signature::any(4, Volatility::Immutable),
        }));
    }
    ctx.register_udaf(AggregateUDF::from(SlaReport {
        text: Arc::clone(&text),
        signature: Signature::exact(vec![DataType::Binary], Volatility::Immutable),
    }));
    ctx.register_udf(ScalarUDF::from(SlaReportJson {
        signature: Signature::exact(vec![DataType::Binary], Volatility::Immutable),
    }));
    Ok(())
}

/// `sla_conversation(line, raw, watermark, finish)`.
#[derive(Debug)]
struct SlaConversation {
    name: &'static str,
    /// Whether the result carries the summaries (`sla_conversation_report` leaves them null).
    summaries: bool,
    config: Arc<Config>,
    /// The configuration as given: the function's identity.
    text: Arc<str>,
    signature: Signature,
}

impl PartialEq for SlaConversation {
    fn eq(&self, other: &Self) -> bool {
        (self.name, &self.text) == (other.name, &other.text)
    }
}
impl Eq for SlaConversation {}
impl Hash for SlaConversation {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.name, &self.text).hash(state);
    }
}

impl AggregateUDFImpl for SlaConversation {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(conversation_type())
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(OneConversation::new(
            Arc::clone(&self.config),
            self.summaries,
        )))
    }
    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(Conversations::new(
            Arc::clone(&self.config),
            self.summaries,
        )))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let name = |s: &str| format!("{}[{s}]", args.name);
        Ok(vec![
            Arc::new(nullable(&name("lines"), list_of(DataType::UInt64))),
            Arc::new(nullable(&name("watermarks"), list_of(DataType::Int64))),
            Arc::new(nullable(&name("raws"), list_of(DataType::Utf8))),
            Arc::new(nullable(&name("finish"), DataType::Int64)),
        ])
    }
}

/// `sla_report(report)`: merges partial reports (R36).
#[derive(Debug)]
struct SlaReport {
    text: Arc<str>,
    signature: Signature,
}

impl PartialEq for SlaReport {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}
impl Eq for SlaReport {}
impl Hash for SlaReport {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl AggregateUDFImpl for SlaReport {
    fn name(&self) -> &str {
        "sla_report"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(ReportAcc::default()))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(nullable(
            &format!("{}[report]", args.name),
            DataType::Binary,
        ))])
    }
}

/// The merged report so far.
#[derive(Debug, Default)]
struct ReportAcc {
    report: Option<Report>,
    /// The longest encoded input: a cheap stand-in for the report's memory, which DataFusion
    /// asks for after every batch.
    largest: usize,
}

impl ReportAcc {
    fn add(&mut self, reports: &ArrayRef) -> Result<()> {
        for bytes in reports.as_binary::<i32>().iter().flatten() {
            self.largest = self.largest.max(bytes.len());
            let r = Report::from_bytes(bytes).map_err(external)?;
            match &mut self.report {
                Some(acc) => acc.merge(&r).map_err(external)?,
                None => self.report = Some(r),
            }
        }
        Ok(())
    }

    fn bytes(&self) -> ScalarValue {
        ScalarValue::Binary(self.report.as_ref().map(Report::to_bytes))
    }
}

impl Accumulator for ReportAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(&values[0])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.add(&states[0])
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.bytes()])
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.bytes())
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.largest
    }
}

/// `sla_report_json(report)`: a report as its JSON (R37).
#[derive(Debug, PartialEq, Eq, Hash)]
struct SlaReportJson {
    signature: Signature,
}

impl ScalarUDFImpl for SlaReportJson {
    fn name(&self) -> &str {
        "sla_report_json"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let reports = args.args[0].to_array(args.number_rows)?;
        let json = reports
            .as_binary::<i32>()
            .iter()
            .map(|b| {
                b.map(|b| Report::from_bytes(b).map(|r| serde_json::to_string(&r).unwrap_or_default()))
                    .transpose()
            })
            .collect::<std::result::Result<StringArray, Error>>()
            .map_err(external)?;
        Ok(ColumnarValue::Array(Arc::new(json)))
    }
}
