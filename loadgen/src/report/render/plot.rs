//! SVG charts (plotters' SVG backend, no system fonts): lines over x, on a linear or a
//! logarithmic scale, optionally with a second y axis, bounds drawn across (an SLO) and marks
//! drawn up (the knee of a capacity search), spans shaded (faults over time); latency by
//! percentile; and two runs drawn over each other (same colour per metric, the second dashed).
//!
//! Every chart goes through [`Chart::draw`], so a run's page and a capacity search's page look
//! alike. A logarithmic axis is drawn as a linear one over `log10` of the values with its ticks
//! chosen here and labelled with the values themselves: one coordinate type for every chart.

use hdrhistogram::Histogram;
use plotters::coord::ranged1d::{
    DefaultFormatting, KeyPointHint, LightPoints, Ranged, ValueFormatter,
};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

/// Named lines of `(x, y)` points.
pub type Lines = Vec<(String, Vec<(f64, f64)>)>;

/// One line of a chart: its colour is an index into [`COLORS`], and a dashed line is the
/// second of two runs drawn over each other (see [`paired`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend's text.
    pub name: String,
    /// `(x, y)` points.
    pub points: Vec<(f64, f64)>,
    /// Index into [`COLORS`] (taken modulo its length).
    pub color: usize,
    /// Drawn dashed.
    pub dashed: bool,
}

/// `lines` as solid series, each in the next colour: what [`line_chart`] draws.
pub fn solid(lines: Lines) -> Vec<Series> {
    lines
        .into_iter()
        .enumerate()
        .map(|(color, (name, points))| Series {
            name,
            points,
            color,
            dashed: false,
        })
        .collect()
}

/// Two runs over each other, metric by metric: each metric in a colour of its own, run A solid
/// and run B dashed in the same colour, so a reader follows one metric and sees the runs apart.
/// A metric missing from a run (`None`) has no line for it.
///
/// ```
/// use loadgen::report::render::plot::paired;
/// let s = paired("memory", "redis", vec![("vote_ack".into(), Some(vec![(0.0, 1.0)]), Some(vec![(0.0, 2.0)]))]);
/// assert_eq!((s[0].color, s[0].dashed, s[1].color, s[1].dashed), (0, false, 0, true));
/// assert_eq!(s[1].name, "vote_ack · redis");
/// ```
pub fn paired(label_a: &str, label_b: &str, metrics: PairedLines) -> Vec<Series> {
    let mut out = Vec::new();
    for (color, (name, a, b)) in metrics.into_iter().enumerate() {
        for (label, points, dashed) in [(label_a, a, false), (label_b, b, true)] {
            if let Some(points) = points {
                out.push(Series {
                    name: format!("{name} · {label}"),
                    points,
                    color,
                    dashed,
                });
            }
        }
    }
    out
}

/// Per metric, its points in run A and in run B (see [`paired`]).
pub type PairedLines = Vec<(String, Option<Vec<(f64, f64)>>, Option<Vec<(f64, f64)>>)>;

/// A span of the x axis to shade and name (a fault, on a time axis).
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Where it starts and ends, in x units.
    pub from: f64,
    /// See `from`.
    pub to: f64,
    /// Its name, written at its start.
    pub label: String,
}

/// The series' colours, in order.
pub const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Bold ticks on an axis at most: more labels than this overlap at 900 px.
const MAX_TICKS: usize = 12;

/// How an axis places its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// From 0 up, evenly.
    #[default]
    Linear,
    /// Powers of ten evenly apart, for quantities over orders of magnitude (voters from 1,000 to
    /// 100,000, latency from 1 ms to 10 s). Values ≤ 0 have no place on it and are left out.
    Log,
}

/// A line across a chart at one value, drawn dashed with its label in the legend: a bound
/// (an SLO, across) or a mark (the knee, up).
#[derive(Debug, Clone)]
pub struct Rule {
    /// In the legend.
    pub label: String,
    /// Where, in the axis's values.
    pub at: f64,
    /// Its colour.
    pub color: RGBColor,
}

/// One axis: its scale, its range and ticks in drawn units (`log10` of the values on a
/// logarithmic axis).
struct Axis {
    scale: Scale,
    lo: f64,
    hi: f64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Axis {
    /// An axis that holds `values`: a linear one from 0 to `max` (or the values' largest ×
    /// `pad`), a logarithmic one around the positive values; with `ticks` (values) as its
    /// labelled ticks when given.
    fn new(
        scale: Scale,
        values: impl Iterator<Item = f64>,
        max: Option<f64>,
        pad: f64,
        ticks: &[f64],
    ) -> Axis {
        let values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
        match scale {
            Scale::Linear => {
                let hi = max
                    .filter(|m| m.is_finite() && *m > 0.0)
                    .unwrap_or_else(|| values.iter().copied().fold(0.0, f64::max).max(1.0) * pad);
                let coord = RangedCoordf64::from(0.0..hi);
                let bold = if ticks.is_empty() {
                    coord.key_points(10)
                } else {
                    thin(
                        ticks
                            .iter()
                            .copied()
                            .filter(|t| (0.0..=hi).contains(t))
                            .collect(),
                    )
                };
                Axis {
                    scale,
                    lo: 0.0,
                    hi,
                    bold,
                    light: coord.key_points(LightPoints::new(10, 100)),
                }
            }
            Scale::Log => {
                let positive = values.iter().copied().filter(|v| *v > 0.0);
                let min = positive.clone().fold(f64::INFINITY, f64::min);
                let top = positive.fold(0.0, f64::max);
                let (min, top) = if top > 0.0 { (min, top) } else { (1.0, 10.0) };
                let top = max.filter(|m| *m > min).unwrap_or(top);
                // A little room on both sides: a quarter of a decade's tenth.
                let (lo, hi) = (min.log10() - 0.1, top.log10() + 0.1);
                let bold = if ticks.is_empty() {
                    decades(
                        lo,
                        hi,
                        if hi - lo > 4.0 {
                            &[1.0]
                        } else {
                            &[1.0, 2.0, 5.0]
                        },
                    )
                } else {
                    thin(
                        ticks
                            .iter()
                            .filter(|t| **t > 0.0)
                            .map(|t| t.log10())
                            .filter(|t| (lo..=hi).contains(t))
                            .collect(),
                    )
                };
                Axis {
                    scale,
                    lo,
                    hi,
                    bold,
                    light: decades(lo, hi, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]),
                }
            }
        }
    }

    /// Where value `v` is drawn; `None` for a value a logarithmic axis cannot show.
    fn pos(&self, v: f64) -> Option<f64> {
        match self.scale {
            Scale::Linear => v.is_finite().then_some(v),
            Scale::Log => (v > 0.0 && v.is_finite()).then(|| v.log10()),
        }
    }

    /// The label of the tick drawn at `drawn`.
    fn label(&self, drawn: f64) -> String {
        match self.scale {
            Scale::Linear if drawn.abs() >= 1e4 => short(drawn),
            Scale::Linear => <RangedCoordf64 as ValueFormatter<f64>>::format(&drawn),
            Scale::Log => short(10f64.powf(drawn)),
        }
    }

    /// The coordinate plotters draws on.
    fn coord(&self) -> Ticked {
        Ticked {
            inner: RangedCoordf64::from(self.lo..self.hi),
            bold: self.bold.clone(),
            light: self.light.clone(),
        }
    }

    /// `points` in drawn units, leaving out what the axes cannot show.
    fn place(x: &Axis, y: &Axis, points: &[(f64, f64)]) -> Vec<(f64, f64)> {
        points
            .iter()
            .filter_map(|(a, b)| Some((x.pos(*a)?, y.pos(*b)?)))
            .collect()
    }
}

/// A linear coordinate in drawn units with the ticks an [`Axis`] chose; its labels come from
/// the axis (`x_label_formatter`), so it asks plotters for no formatting of its own.
struct Ticked {
    inner: RangedCoordf64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for Ticked {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// At most [`MAX_TICKS`] of `ticks`, evenly picked, the first and the last kept.
fn thin(ticks: Vec<f64>) -> Vec<f64> {
    if ticks.len() <= MAX_TICKS {
        return ticks;
    }
    let every = ticks.len().div_ceil(MAX_TICKS);
    let last = ticks.len() - 1;
    ticks
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0 && last - i >= every / 2 || *i == last)
        .map(|(_, t)| t)
        .collect()
}

/// `log10` of `m × 10^k` for each multiplier `m` and every decade between `lo` and `hi`
/// (`log10` units).
fn decades(lo: f64, hi: f64, multipliers: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    let mut k = lo.floor() as i32;
    while f64::from(k) <= hi {
        for m in multipliers {
            let v = (m * 10f64.powi(k)).log10();
            if (lo..=hi).contains(&v) {
                out.push(v);
            }
        }
        k += 1;
    }
    out
}

/// A number in a few characters: `0.5`, `20`, `1500`, `64k`, `2.5M`.
///
/// ```
/// use loadgen::report::render::plot::short;
/// assert_eq!(short(0.25), "0.25");
/// assert_eq!(short(4000.0), "4000");
/// assert_eq!(short(64_000.0), "64k");
/// assert_eq!(short(2_500_000.0), "2.5M");
/// ```
pub fn short(v: f64) -> String {
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    let a = v.abs();
    if a >= 1e6 {
        trim(format!("{:.1}", v / 1e6)) + "M"
    } else if a >= 1e4 {
        trim(format!("{:.1}", v / 1e3)) + "k"
    } else if a >= 10.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        trim(format!("{v:.1}"))
    } else {
        trim(format!("{v:.3}"))
    }
}

/// A chart of named lines over one x axis; set it up with its methods, then [`Chart::draw`].
///
/// ```
/// use loadgen::report::render::plot::{Chart, Scale};
/// let svg = Chart::new("Vote ack by voters", "voters", "ms")
///     .scales(Scale::Log, Scale::Log)
///     .x_ticks(&[1000.0, 2000.0, 4000.0])
///     .markers()
///     .bound("SLO vote_ack.p99<500ms", 500.0)
///     .mark("knee", 2000.0)
///     .draw(vec![("p99".into(), vec![(1000.0, 12.0), (2000.0, 40.0), (4000.0, 900.0)])]);
/// assert!(svg.starts_with("<svg") && svg.contains("knee") && svg.contains("4000"));
/// ```
pub struct Chart<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    height: u32,
    xmax: Option<f64>,
    scales: (Scale, Scale),
    x_ticks: Vec<f64>,
    markers: bool,
    bounds: Vec<Rule>,
    marks: Vec<Rule>,
    spans: Vec<Mark>,
    right: Option<(&'a str, Lines)>,
    legend: SeriesLabelPosition,
}

impl<'a> Chart<'a> {
    /// A linear chart 320 px high, x from 0 to the data's largest.
    pub fn new(title: &'a str, x_desc: &'a str, y_desc: &'a str) -> Chart<'a> {
        Chart {
            title,
            x_desc,
            y_desc,
            height: 320,
            xmax: None,
            scales: (Scale::Linear, Scale::Linear),
            x_ticks: Vec::new(),
            markers: false,
            bounds: Vec::new(),
            marks: Vec::new(),
            spans: Vec::new(),
            right: None,
            legend: SeriesLabelPosition::UpperRight,
        }
    }

    /// Where the legend goes (upper right unless told): where the lines are not.
    pub fn legend(mut self, at: SeriesLabelPosition) -> Self {
        self.legend = at;
        self
    }

    /// Its height in px (it is 900 px wide).
    pub fn height(mut self, height: u32) -> Self {
        self.height = height;
        self
    }

    /// The end of the x axis, instead of the data's largest x.
    pub fn xmax(mut self, xmax: Option<f64>) -> Self {
        self.xmax = xmax;
        self
    }

    /// The scales of x and of the (left) y axis.
    pub fn scales(mut self, x: Scale, y: Scale) -> Self {
        self.scales = (x, y);
        self
    }

    /// The x values to label (e.g. the steps of a search), instead of round numbers.
    pub fn x_ticks(mut self, ticks: &[f64]) -> Self {
        self.x_ticks = ticks.to_vec();
        self
    }

    /// A dot at every point, for lines of a few points.
    pub fn markers(mut self) -> Self {
        self.markers = true;
        self
    }

    /// A bound across the chart at `y` (on the left axis), e.g. an SLO; the y axis reaches it.
    pub fn bound(mut self, label: impl Into<String>, y: f64) -> Self {
        let color = BOUND_COLORS[self.bounds.len() % BOUND_COLORS.len()];
        self.bounds.push(Rule {
            label: label.into(),
            at: y,
            color,
        });
        self
    }

    /// A mark up the chart at `x`, e.g. the knee of a search.
    pub fn mark(self, label: impl Into<String>, x: f64) -> Self {
        let color = MARK_COLORS[self.marks.len() % MARK_COLORS.len()];
        self.mark_in(label, x, color)
    }

    /// A mark up the chart at `x` in `color`.
    pub fn mark_in(mut self, label: impl Into<String>, x: f64, color: RGBColor) -> Self {
        self.marks.push(Rule {
            label: label.into(),
            at: x,
            color,
        });
        self
    }

    /// Spans of the x axis shaded over the whole height and named at the top (faults over
    /// time).
    pub fn spans(mut self, spans: &[Mark]) -> Self {
        self.spans.extend_from_slice(spans);
        self
    }

    /// Lines on a second y axis on the right (linear, drawn dashed), for a quantity of another
    /// size over the same x, so a small one is not a flat line under a large one.
    pub fn right_axis(mut self, desc: &'a str, lines: Lines) -> Self {
        self.right = Some((desc, lines));
        self
    }

    /// The chart of `lines` (each in the next colour, solid) as an SVG document, or a paragraph
    /// saying why there is none.
    pub fn draw(self, lines: Lines) -> String {
        self.draw_series(&solid(lines))
    }

    /// The chart of `series` (each in its colour, solid or dashed) as an SVG document, or a
    /// paragraph saying why there is none.
    pub fn draw_series(self, series: &[Series]) -> String {
        let mut out = String::new();
        let drawn = self.draw_into(&mut out, series);
        match drawn {
            Ok(()) => out,
            Err(e) => format!("<p>{}: no plot ({e})</p>", self.title),
        }
    }

    fn draw_into(&self, out: &mut String, lines: &[Series]) -> Result<(), String> {
        let err = |e: &dyn std::fmt::Display| e.to_string();
        let right = self.right.as_ref().map(|(_, l)| l);
        let left_points: Vec<(f64, f64)> = lines
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .collect();
        let right_points: Vec<(f64, f64)> = right
            .into_iter()
            .flat_map(|l| l.iter().flat_map(|(_, p)| p.iter().copied()))
            .collect();
        let xs = left_points
            .iter()
            .chain(&right_points)
            .map(|p| p.0)
            .chain(self.marks.iter().map(|m| m.at));
        let x = Axis::new(self.scales.0, xs, self.xmax, 1.0, &self.x_ticks);
        let ys = left_points
            .iter()
            .map(|p| p.1)
            .chain(self.bounds.iter().map(|b| b.at));
        let y = Axis::new(self.scales.1, ys, None, 1.1, &[]);
        let ry = Axis::new(
            Scale::Linear,
            right_points.iter().map(|p| p.1),
            None,
            1.1,
            &[],
        );
        let root = SVGBackend::with_string(out, (900, self.height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(self.title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(65);
        if right.is_some() {
            builder.right_y_label_area_size(65);
        }
        let mut chart = builder
            .build_cartesian_2d(x.coord(), y.coord())
            .map_err(|e| err(&e))?
            .set_secondary_coord(x.coord(), ry.coord());
        chart
            .configure_mesh()
            .x_desc(self.x_desc)
            .y_desc(self.y_desc)
            .x_label_formatter(&|v| x.label(*v))
            .y_label_formatter(&|v| y.label(*v))
            .draw()
            .map_err(|e| err(&e))?;
        if let Some((desc, _)) = &self.right {
            chart
                .configure_secondary_axes()
                .y_desc(*desc)
                .y_label_formatter(&|v| ry.label(*v))
                .draw()
                .map_err(|e| err(&e))?;
        }
        let shade = RGBColor(214, 39, 40);
        for m in &self.spans {
            let (Some(from), Some(to)) = (x.pos(m.from), x.pos(m.to.max(m.from + 0.2))) else {
                continue;
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(from, y.lo), (to, y.hi)],
                    shade.mix(0.15).filled(),
                )))
                .map_err(|e| err(&e))?;
            chart
                .draw_series(std::iter::once(Text::new(
                    m.label.clone(),
                    (from, y.hi),
                    ("sans-serif", 12).into_font().color(&shade),
                )))
                .map_err(|e| err(&e))?;
        }
        let suffix = if right.is_some() { " (left)" } else { "" };
        for s in lines {
            let c = COLORS[s.color % COLORS.len()];
            let style = c.stroke_width(2);
            let pts = Axis::place(&x, &y, &s.points);
            if self.markers {
                chart
                    .draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled())))
                    .map_err(|e| err(&e))?;
            }
            let label = format!("{}{suffix}", s.name);
            if s.dashed {
                chart
                    .draw_series(DashedLineSeries::new(pts, 6, 3, style))
                    .map_err(|e| err(&e))?
                    .label(label)
                    .legend(move |(x, y)| {
                        DashedPathElement::new(vec![(x, y), (x + 18, y)], 6, 3, style)
                    });
            } else {
                chart
                    .draw_series(LineSeries::new(pts, style))
                    .map_err(|e| err(&e))?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            }
        }
        for (i, (name, pts)) in right.into_iter().flatten().enumerate() {
            let c =
                COLORS[(lines.iter().map(|s| s.color + 1).max().unwrap_or(0) + i) % COLORS.len()];
            let pts = Axis::place(&x, &ry, pts);
            if self.markers {
                chart
                    .draw_secondary_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled())))
                    .map_err(|e| err(&e))?;
            }
            chart
                .draw_secondary_series(DashedLineSeries::new(pts, 6, 3, c.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(format!("{name} (right)"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], c));
        }
        let rules = self
            .bounds
            .iter()
            .filter_map(|b| Some((b, vec![(x.lo, y.pos(b.at)?), (x.hi, y.pos(b.at)?)])))
            .chain(
                self.marks
                    .iter()
                    .filter_map(|m| Some((m, vec![(x.pos(m.at)?, y.lo), (x.pos(m.at)?, y.hi)]))),
            );
        for (rule, ends) in rules {
            let c = rule.color;
            chart
                .draw_series(DashedLineSeries::new(ends, 8, 4, c.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(&rule.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], c));
        }
        chart
            .configure_series_labels()
            .position(self.legend.clone())
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))
    }
}

/// Colours of bounds: dark, apart from the lines'.
const BOUND_COLORS: [RGBColor; 3] = [
    RGBColor(90, 0, 0),
    RGBColor(60, 60, 60),
    RGBColor(0, 70, 90),
];

/// Colours of marks.
const MARK_COLORS: [RGBColor; 2] = [RGBColor(0, 120, 0), RGBColor(200, 0, 0)];

/// A line chart; the x range is `0..xmax` (or the data's), the y range the data's + 10 %.
pub fn line_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    xmax: Option<f64>,
    height: u32,
    lines: Lines,
) -> String {
    marked_line_chart(title, x_desc, y_desc, xmax, height, lines, &[])
}

/// [`line_chart`] with spans of the x axis shaded and named (faults on a time axis).
pub fn marked_line_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    xmax: Option<f64>,
    height: u32,
    lines: Lines,
    marks: &[Mark],
) -> String {
    Chart::new(title, x_desc, y_desc)
        .xmax(xmax)
        .height(height)
        .spans(marks)
        .draw(lines)
}

/// A chart of [`Series`], solid or dashed; ranges as in [`line_chart`].
pub fn series_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    xmax: Option<f64>,
    height: u32,
    series: &[Series],
) -> String {
    Chart::new(title, x_desc, y_desc)
        .xmax(xmax)
        .height(height)
        .draw_series(series)
}

/// Two quantities of different size over the same x: `left` on the left axis, `right` on its
/// own axis on the right (drawn dashed), so a small one is not a flat line under a large one.
pub fn dual_axis_chart(
    title: &str,
    x_desc: &str,
    left: (&str, Lines),
    right: (&str, Lines),
) -> String {
    marked_dual_axis_chart(title, x_desc, left, right, &[])
}

/// [`dual_axis_chart`] with spans of the x axis shaded and named.
pub fn marked_dual_axis_chart(
    title: &str,
    x_desc: &str,
    (left_desc, left): (&str, Lines),
    (right_desc, right): (&str, Lines),
    marks: &[Mark],
) -> String {
    Chart::new(title, x_desc, left_desc)
        .right_axis(right_desc, right)
        .spans(marks)
        .draw(left)
}

/// A histogram's latency by percentile (ms), x in "nines": −log10(1−q), so p50 = 0.3,
/// p90 = 1, p99 = 2, p99.9 = 3.
pub fn by_percentile(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    (0..=40)
        .map(|i| {
            let nines = f64::from(i) * 0.1;
            let q = (1.0 - 10f64.powf(-nines)).min(1.0);
            (nines, h.value_at_quantile(q) as f64 / 1000.0)
        })
        .collect()
}

/// A latency-by-percentile chart of `lines` (from [`by_percentile`]).
pub fn percentile_chart(title: &str, lines: Lines) -> String {
    percentile_series_chart(title, &solid(lines))
}

/// A latency-by-percentile chart of [`Series`] (e.g. two runs from [`paired`]).
pub fn percentile_series_chart(title: &str, series: &[Series]) -> String {
    series_chart(
        &format!("{title} (x: 1 = p90, 2 = p99, 3 = p99.9)"),
        "nines",
        "ms",
        Some(4.0),
        400,
        series,
    )
}
