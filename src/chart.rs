//! Charts of a report as one hand-written SVG document (no plotting crate): the
//! first-response distribution, the what-if compliance curve (R34) with 1 h and 24 h marked,
//! and first-response compliance per segment (R35). Plain SVG 1.1 elements and attributes only,
//! so browsers and image tools render it alike.

use crate::report::{Metric, Report};
use crate::stats::{Distribution, HISTOGRAM_MAX_S};
use std::fmt::Write;

/// One bar of the distribution chart: samples in `(lo_s, hi_s]` (`[0, hi_s]` for the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Lower bound, seconds.
    pub lo_s: u64,
    /// Upper bound, seconds.
    pub hi_s: u64,
    /// Samples in the bucket.
    pub count: u64,
}

/// One segment's bars in the compliance chart.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentBar {
    /// The segment value.
    pub name: String,
    /// First responses in the segment.
    pub count: u64,
    /// Exact share within 1 h (R34), if counted.
    pub within_1h: Option<f64>,
    /// Exact share within 24 h, if counted.
    pub within_24h: Option<f64>,
}

/// What [`render_svg`] draws; [`ChartData::from_report`] fills it from a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    /// The heading.
    pub title: String,
    /// First-response samples per time bucket, in time order.
    pub distribution: Vec<Bucket>,
    /// What-if points `(threshold_s, share)`, estimated from the histogram.
    pub curve: Vec<(u64, f64)>,
    /// The exact shares at the configured thresholds `(threshold_s, share)`.
    pub exact: Vec<(u64, Option<f64>)>,
    /// The heading of the segment chart.
    pub segments_title: String,
    /// One entry per segment, in display order.
    pub segments: Vec<SegmentBar>,
}

const WIDTH: f64 = 900.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 860.0;
const PANEL: f64 = 260.0;
const BLUE: &str = "#0072B2";
const ORANGE: &str = "#E69F00";
const GREEN: &str = "#009E73";
const GRID: &str = "#dddddd";
/// Segments drawn; the rest are counted in a note.
const MAX_BARS: usize = 25;
const BAR_ROW: f64 = 22.0;

/// Text safe inside an XML element or attribute.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A duration label: `30s`, `5m`, `1h`, `7d`.
fn dur(s: u64) -> String {
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x.clamp(0.0, 1.0))
}

fn text(svg: &mut String, x: f64, y: f64, size: u32, anchor: &str, fill: &str, s: &str) {
    let _ = writeln!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}" font-family="sans-serif" font-size="{size}" text-anchor="{anchor}" fill="{fill}">{}</text>"#,
        esc(s)
    );
}

fn line(svg: &mut String, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str, dashed: bool) {
    let dash = if dashed { r#" stroke-dasharray="5,4""# } else { "" };
    let _ = writeln!(
        svg,
        r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="1"{dash}/>"#
    );
}

fn rect(svg: &mut String, x: f64, y: f64, w: f64, h: f64, fill: &str) {
    let _ = writeln!(
        svg,
        r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}"/>"#,
        w.max(0.0),
        h.max(0.0)
    );
}

/// x position of `secs` on a log axis from 1 minute to 30 days.
fn log_x(secs: u64) -> f64 {
    let (lo, hi) = (60f64.ln(), 2_592_000f64.ln());
    let v = (secs.max(60) as f64).ln().min(hi);
    LEFT + (RIGHT - LEFT) * (v - lo) / (hi - lo)
}

/// The note a panel shows instead of its data when there were no first responses.
fn no_first_responses(svg: &mut String, y0: f64, y1: f64) {
    text(
        svg,
        (LEFT + RIGHT) / 2.0,
        (y0 + y1) / 2.0,
        13,
        "middle",
        "#555",
        "no first responses",
    );
}

/// The distribution panel at `top`: one bar per bucket, evenly spaced, labelled by bounds.
fn distribution(svg: &mut String, top: f64, buckets: &[Bucket]) {
    text(
        svg,
        LEFT,
        top + 20.0,
        15,
        "start",
        "#000",
        "First-response time distribution",
    );
    let (y0, y1) = (top + 40.0, top + PANEL - 40.0);
    let max = buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1) as f64;
    for i in 0..=4 {
        let y = y1 - (y1 - y0) * f64::from(i) / 4.0;
        line(svg, (LEFT, y), (RIGHT, y), GRID, false);
        text(
            svg,
            LEFT - 6.0,
            y + 4.0,
            11,
            "end",
            "#555",
            &format!("{:.0}", max * f64::from(i) / 4.0),
        );
    }
    if buckets.is_empty() {
        no_first_responses(svg, y0, y1);
        return;
    }
    let slot = (RIGHT - LEFT) / buckets.len() as f64;
    for (i, b) in buckets.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        let h = (y1 - y0) * b.count as f64 / max;
        let fill = if b.hi_s <= 3600 {
            BLUE
        } else if b.hi_s <= 86_400 {
            ORANGE
        } else {
            "#999999"
        };
        rect(svg, x + 3.0, y1 - h, slot - 6.0, h, fill);
        let label = if b.hi_s >= HISTOGRAM_MAX_S {
            format!(">{}", dur(b.lo_s))
        } else {
            format!("≤{}", dur(b.hi_s))
        };
        text(svg, x + slot / 2.0, y1 + 16.0, 11, "middle", "#333", &label);
        if b.hi_s == 3600 || b.hi_s == 86_400 {
            let mx = x + slot;
            line(svg, (mx, y0 - 8.0), (mx, y1), "#000", true);
            text(
                svg,
                mx + 4.0,
                y0 - 2.0,
                11,
                "start",
                "#000",
                if b.hi_s == 3600 { "1 h" } else { "24 h" },
            );
        }
    }
    text(
        svg,
        LEFT,
        y1 + 34.0,
        11,
        "start",
        "#555",
        "conversations per wait bucket (estimated from the histogram); blue within 1 h, orange within 24 h",
    );
}

/// The what-if panel at `top`: share within T on a log time axis, exact shares as filled dots.
fn curve(svg: &mut String, top: f64, points: &[(u64, f64)], exact: &[(u64, Option<f64>)]) {
    text(
        svg,
        LEFT,
        top + 20.0,
        15,
        "start",
        "#000",
        "What-if: share answered within T",
    );
    text(
        svg,
        RIGHT,
        top + 20.0,
        11,
        "end",
        "#555",
        "curve: histogram precision; dots: exact configured thresholds",
    );
    let (y0, y1) = (top + 40.0, top + PANEL - 40.0);
    let y = |share: f64| y1 - (y1 - y0) * share.clamp(0.0, 1.0);
    for i in 0..=4 {
        let s = f64::from(i) / 4.0;
        line(svg, (LEFT, y(s)), (RIGHT, y(s)), GRID, false);
        text(
            svg,
            LEFT - 6.0,
            y(s) + 4.0,
            11,
            "end",
            "#555",
            &format!("{:.0} %", s * 100.0),
        );
    }
    for t in [60, 300, 900, 3600, 14_400, 86_400, 604_800, 2_592_000] {
        line(svg, (log_x(t), y1), (log_x(t), y1 + 4.0), "#555", false);
        text(svg, log_x(t), y1 + 16.0, 11, "middle", "#333", &dur(t));
    }
    for (t, label) in [(3600, "1 h"), (86_400, "24 h")] {
        line(svg, (log_x(t), y0 - 8.0), (log_x(t), y1), "#000", true);
        text(svg, log_x(t) + 4.0, y0 - 2.0, 11, "start", "#000", label);
    }
    if points.is_empty() {
        no_first_responses(svg, y0, y1);
    } else {
        let pts: Vec<String> = points
            .iter()
            .map(|&(t, s)| format!("{:.1},{:.1}", log_x(t), y(s)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{BLUE}" stroke-width="2"/>"#,
            pts.join(" ")
        );
        for &(t, s) in points {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{BLUE}"/>"#,
                log_x(t),
                y(s)
            );
        }
    }
    for &(t, share) in exact {
        if let Some(s) = share {
            let (cx, cy) = (log_x(t), y(s));
            let _ = writeln!(
                svg,
                r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="5" fill="{ORANGE}" stroke="#000" stroke-width="1"/>"##
            );
            let within = if t % 3600 == 0 && t <= 86_400 {
                format!("{} h", t / 3600)
            } else {
                dur(t)
            };
            text(
                svg,
                cx - 8.0,
                cy - 9.0,
                12,
                "end",
                "#000",
                &format!("{} within {within}", pct(s)),
            );
        }
    }
}

/// The segment panel at `top`: per segment, a bar for within 1 h and a lighter one behind it
/// for within 24 h. Returns its height.
fn segments(svg: &mut String, top: f64, title: &str, bars: &[SegmentBar]) -> f64 {
    text(svg, LEFT, top + 20.0, 15, "start", "#000", title);
    if bars.is_empty() {
        text(
            svg,
            LEFT,
            top + 50.0,
            13,
            "start",
            "#555",
            "no segments configured (sla_report --by brand,week)",
        );
        return 80.0;
    }
    let label_w = 180.0;
    let (x0, x1) = (LEFT + label_w, RIGHT - 130.0);
    let y0 = top + 40.0;
    for i in 0..=4 {
        let x = x0 + (x1 - x0) * f64::from(i) / 4.0;
        line(
            svg,
            (x, y0 - 4.0),
            (x, y0 + BAR_ROW * bars.len().min(MAX_BARS) as f64),
            GRID,
            false,
        );
        text(svg, x, y0 - 8.0, 11, "middle", "#555", &format!("{} %", i * 25));
    }
    for (i, b) in bars.iter().take(MAX_BARS).enumerate() {
        let y = y0 + BAR_ROW * i as f64;
        let name: String = b.name.chars().take(26).collect();
        text(svg, x0 - 8.0, y + 15.0, 12, "end", "#000", &name);
        let w = |s: f64| (x1 - x0) * s.clamp(0.0, 1.0);
        if let Some(s) = b.within_24h {
            rect(svg, x0, y + 3.0, w(s), BAR_ROW - 6.0, "#9ecae1");
        }
        match b.within_1h {
            Some(s) => {
                rect(svg, x0, y + 3.0, w(s), BAR_ROW - 6.0, GREEN);
                let day = b.within_24h.map_or(String::new(), |d| format!(" / {}", pct(d)));
                text(
                    svg,
                    x1 + 6.0,
                    y + 15.0,
                    11,
                    "start",
                    "#000",
                    &format!("{}{day}  n={}", pct(s), b.count),
                );
            }
            None => text(
                svg,
                x0 + 4.0,
                y + 15.0,
                11,
                "start",
                "#555",
                &format!("n/a  n={}", b.count),
            ),
        }
    }
    let mut h = 50.0 + BAR_ROW * bars.len().min(MAX_BARS) as f64;
    if bars.len() > MAX_BARS {
        text(
            svg,
            x0,
            top + h + 6.0,
            11,
            "start",
            "#555",
            &format!("+ {} more segments", bars.len() - MAX_BARS),
        );
        h += 16.0;
    }
    text(
        svg,
        x0,
        top + h + 10.0,
        11,
        "start",
        "#555",
        "green: within 1 h; light blue: within 24 h (exact shares of first responses)",
    );
    h + 30.0
}

/// The three charts as one standalone SVG document, 900 px wide.
///
/// # Example
/// ```
/// use sla_metrics::{render_svg, Bucket, ChartData, SegmentBar};
/// let data = ChartData {
///     title: "demo".into(),
///     distribution: vec![Bucket { lo_s: 0, hi_s: 3600, count: 7 }],
///     curve: vec![(60, 0.2), (3600, 0.7), (86_400, 0.95)],
///     exact: vec![(3600, Some(0.7))],
///     segments_title: "by brand".into(),
///     segments: vec![SegmentBar { name: "A&B <co>".into(), count: 10, within_1h: Some(0.7), within_24h: None }],
/// };
/// let svg = render_svg(&data);
/// assert!(svg.starts_with("<svg") && svg.contains("A&amp;B &lt;co&gt;") && !svg.contains("NaN"));
/// ```
pub fn render_svg(data: &ChartData) -> String {
    let mut body = String::new();
    text(&mut body, LEFT, 30.0, 18, "start", "#000", &data.title);
    distribution(&mut body, 45.0, &data.distribution);
    curve(&mut body, 45.0 + PANEL, &data.curve, &data.exact);
    let h = segments(
        &mut body,
        45.0 + 2.0 * PANEL,
        &data.segments_title,
        &data.segments,
    );
    let height = 45.0 + 2.0 * PANEL + h;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH:.0} {height:.0}\">\n\
         <rect x=\"0\" y=\"0\" width=\"{WIDTH:.0}\" height=\"{height:.0}\" fill=\"#ffffff\"/>\n{body}</svg>\n"
    )
}

impl ChartData {
    /// The charts of a report: its first-response distribution (estimated from the histogram
    /// over log-spaced buckets), the first-response what-if curve with the exact configured
    /// shares (R34), and first response within 1 h and 24 h for each segment of the report's
    /// first breakdown (R35; largest first, cohorts in time order).
    ///
    /// # Example
    /// ```
    /// use sla_metrics::{render_svg, Author, ChartData, Config, Engine, Event};
    /// let mut engine = Engine::new(Config::default())?;
    /// let t0: sla_metrics::Timestamp = "2024-04-02T10:00:00Z".parse()?;
    /// engine.ingest(&Event::message("c1", t0, Author::Customer))?;
    /// engine.ingest(&Event::message("c1", t0.add_secs(600), Author::Agent))?;
    /// let data = ChartData::from_report(&engine.finish());
    /// assert_eq!(data.distribution.iter().map(|b| b.count).sum::<u64>(), 1);
    /// assert!(render_svg(&data).contains("<svg"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_report(report: &Report) -> ChartData {
        const EDGES: [u64; 14] = [
            0,
            60,
            300,
            900,
            1800,
            3600,
            7200,
            14_400,
            28_800,
            86_400,
            172_800,
            604_800,
            2_592_000,
            HISTOGRAM_MAX_S,
        ];
        let frt = report.distribution(Metric::FirstResponse, false);
        let within = |d: Option<&Distribution>, t: u64| d.map_or(0, |d| d.estimated_count_within(t));
        let distribution = EDGES
            .windows(2)
            .map(|w| Bucket {
                lo_s: w[0],
                hi_s: w[1],
                count: if w[0] == 0 {
                    within(frt, w[1])
                } else {
                    within(frt, w[1]).saturating_sub(within(frt, w[0]))
                },
            })
            .collect();
        let curve = report
            .what_if(Metric::FirstResponse, false)
            .into_iter()
            .filter_map(|(t, share)| Some((t, share?)))
            .collect();
        let exact = frt.map_or_else(Vec::new, |d| {
            d.within().iter().map(|&(t, _)| (t, d.within_share(t))).collect()
        });
        let (segments_title, segments) = match report.breakdowns().first() {
            None => (
                String::from("First response within 1 h / 24 h by segment"),
                Vec::new(),
            ),
            Some(b) => {
                let bars = b
                    .display_order()
                    .iter()
                    .map(|s| {
                        let d = s.report.distribution(Metric::FirstResponse, false);
                        SegmentBar {
                            name: s.name.clone(),
                            count: d.map_or(0, Distribution::count),
                            within_1h: d.and_then(|d| d.within_share(3600)),
                            within_24h: d.and_then(|d| d.within_share(86_400)),
                        }
                    })
                    .collect();
                (
                    format!("First response within 1 h / 24 h by {}", b.by().as_str()),
                    bars,
                )
            }
        };
        ChartData {
            title: format!(
                "sla-metrics report: {} conversations, {} first responses",
                report.conversations().total,
                frt.map_or(0, Distribution::count)
            ),
            distribution,
            curve,
            exact,
            segments_title,
            segments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element is closed in order: the document is well-formed XML (no attribute or
    /// text contains a raw `<`, since text is escaped).
    fn well_formed(svg: &str) -> bool {
        let mut open: Vec<&str> = Vec::new();
        for tag in svg.split('<').skip(1) {
            let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
            if let Some(name) = tag.strip_prefix('/') {
                if open.pop() != Some(name) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                open.push(tag.split_whitespace().next().unwrap_or(""));
            }
        }
        open.is_empty()
    }

    fn data(bars: Vec<SegmentBar>) -> ChartData {
        ChartData {
            title: "t".into(),
            distribution: vec![
                Bucket {
                    lo_s: 0,
                    hi_s: 3600,
                    count: 3,
                },
                Bucket {
                    lo_s: 3600,
                    hi_s: 86_400,
                    count: 1,
                },
            ],
            curve: vec![(60, 0.1), (3600, 0.75), (86_400, 1.0)],
            exact: vec![(3600, Some(0.75)), (86_400, None)],
            segments_title: "by brand".into(),
            segments: bars,
        }
    }

    #[test]
    fn r35_svg_is_well_formed_and_escapes_segment_names() {
        let bar = |name: &str| SegmentBar {
            name: name.into(),
            count: 4,
            within_1h: Some(0.75),
            within_24h: Some(1.0),
        };
        let svg = render_svg(&data(vec![bar("A&B <\"co\">"), bar("plain")]));
        assert!(well_formed(&svg), "{svg}");
        assert!(svg.contains("A&amp;B &lt;&quot;co&quot;&gt;"));
        for needle in [
            "First-response time distribution",
            "What-if",
            "by brand",
            ">1 h<",
            ">24 h<",
            "75.0 % within 1 h",
        ] {
            assert!(svg.contains(needle), "{needle}");
        }
    }

    #[test]
    fn empty_and_degenerate_inputs_give_a_valid_svg() {
        let none = SegmentBar {
            name: "x".into(),
            count: 0,
            within_1h: None,
            within_24h: None,
        };
        let many: Vec<SegmentBar> = (0..40)
            .map(|i| SegmentBar {
                name: format!("s{i}"),
                ..none.clone()
            })
            .collect();
        let empty = ChartData {
            distribution: Vec::new(),
            curve: Vec::new(),
            exact: Vec::new(),
            ..data(Vec::new())
        };
        for d in [empty, data(vec![none.clone()]), data(many)] {
            let svg = render_svg(&d);
            assert!(well_formed(&svg), "{svg}");
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        }
        assert!(render_svg(&data(
            (0..40)
                .map(|i| SegmentBar {
                    name: format!("s{i}"),
                    ..none.clone()
                })
                .collect()
        ))
        .contains("+ 15 more segments"));
        let zero = ChartData {
            distribution: vec![Bucket {
                lo_s: 0,
                hi_s: 60,
                count: 0,
            }],
            ..data(Vec::new())
        };
        assert!(!render_svg(&zero).contains("NaN"));
    }

    #[test]
    fn from_report_counts_every_first_response_once() {
        use crate::{Author, Config, Engine, Event};
        let mut engine =
            Engine::new(Config::from_json(r#"{"segments": {"by": ["channel"]}}"#).unwrap()).unwrap();
        let t0: crate::Timestamp = "2024-04-02T10:00:00Z".parse().unwrap();
        for (i, wait) in [30, 600, 5000, 90_000, 2_000_000].into_iter().enumerate() {
            let id = format!("c{i}");
            engine
                .ingest(&Event::message(id.as_str(), t0, Author::Customer))
                .unwrap();
            engine
                .ingest(&Event::message(id.as_str(), t0.add_secs(wait), Author::Agent))
                .unwrap();
        }
        let data = ChartData::from_report(&engine.finish());
        assert_eq!(data.distribution.iter().map(|b| b.count).sum::<u64>(), 5);
        assert_eq!(data.exact, vec![(3600, Some(0.4)), (86_400, Some(0.6))]);
        assert_eq!(data.segments.len(), 1);
        assert_eq!(data.segments[0].within_1h, Some(0.4));
    }
}
