//! Streaming support-SLA metrics: first response, next reply, resolution, first-contact
//! resolution, CSAT and SLA compliance from conversation event streams, exactly as the
//! project's semantics contract (SPEC rules R1–R43) defines them.
//!
//! Feed an [`Engine`] [`Event`]s (per conversation in time order), move its watermark with
//! [`Engine::advance_to`], and read the [`Report`]: exact counts, sums and "within 1 h / 24 h"
//! shares, HdrHistogram percentiles, SLA outcomes with Wilson intervals. The engine never reads
//! the wall clock; every rejected input is a typed [`Error`] that changes no state.
//!
//! ```
//! use sla_metrics::{Author, Config, Engine, Event, EventKind, Metric, Status, Timestamp};
//!
//! let mut engine = Engine::new(Config::default())?;
//! let t0: Timestamp = "2024-04-02T10:00:00Z".parse()?;
//! engine.ingest(&Event::message("c1", t0, Author::Customer))?;
//! engine.ingest(&Event::message("c1", t0.add_secs(90), Author::Bot))?; // bots are not replies (R7)
//! engine.ingest(&Event::message("c1", t0.add_secs(600), Author::Agent))?;
//! engine.ingest(&Event::new("c1", t0.add_secs(900), EventKind::Status(Status::Solved)))?;
//! let report = engine.finish();
//! assert_eq!(report.distribution(Metric::FirstResponse, false).unwrap().max_s(), Some(600));
//! assert_eq!(report.fcr().fcr, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The main types: [`Event`] (SPEC §1), [`Config`] with [`Policy`] and [`Schedule`] (§6, §7),
//! [`Engine`] (§9), [`Summary`] (§10), [`Report`] (§8). [`parse_line`] and [`run_jsonl`] read the
//! JSON Lines format; [`Workload`] generates realistic synthetic traffic.
//!
//! # Crate features
//! None: the crate has no optional parts yet.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]

mod adapters;
mod chart;
mod clock;
mod config;
mod conversation;
mod encoding;
mod engine;
mod error;
mod event;
mod generator;
mod intern;
mod json;
mod jsonl;
mod live;
mod report;
mod schedule;
mod segment;
mod shard;
mod sla;
mod stats;
mod summary;
mod table;
mod time;

pub use crate::adapters::{helpdesk_events, twcs_events, twcs_threads, Adapted, UnusableRow};
pub use crate::chart::{render_svg, Bucket, ChartData, SegmentBar};
pub use crate::config::{Config, Filter, Policy, SlaMetric, Target};
pub use crate::conversation::FinalizedBy;
pub use crate::engine::{Engine, Ingested, MemoryUsage};
pub use crate::error::{Error, ErrorKind, Result};
pub use crate::event::{Author, Event, EventKind, ExcludeReason, Priority, Status, Visibility};
pub use crate::generator::{Events, Mix, Workload};
pub use crate::jsonl::{parse_line, JsonlStats, Record};
pub use crate::live::{AtRisk, SlaEvent, SlaEventKind};
pub use crate::report::{
    Conversations, Csat, Fcr, Metric, Rejection, Report, ResponseRate, SlaCounts, WHAT_IF_THRESHOLDS_S,
};
pub use crate::schedule::Schedule;
pub use crate::segment::{Breakdown, Dimension, Segment, Segments, NO_VALUE, OVERFLOW};
pub use crate::shard::{run_jsonl, Run};
pub use crate::sla::Outcome;
pub use crate::stats::{wilson_interval, Distribution, HISTOGRAM_MAX_S};
pub use crate::summary::{Durations, SegmentValues, SlaRecord, Summary, Touch};
pub use crate::time::Timestamp;

/// The README's examples compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
