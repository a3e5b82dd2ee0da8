//! SVG charts (plotters' SVG backend, no system fonts): lines over x, a chart with a second y
//! axis, latency by percentile, and two runs drawn over each other (same colour per metric,
//! the second run dashed).

use hdrhistogram::Histogram;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

/// Named lines of `(x, y)` points.
pub type Lines = Vec<(String, Vec<(f64, f64)>)>;

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

/// Shades each mark over the whole height and writes its label at the top.
fn draw_marks<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    marks: &[Mark],
    ymax: f64,
) -> Result<(), String> {
    let shade = RGBColor(214, 39, 40);
    for m in marks {
        let to = m.to.max(m.from + 0.2);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(m.from, 0.0), (to, ymax)],
                shade.mix(0.15).filled(),
            )))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(std::iter::once(Text::new(
                m.label.clone(),
                (m.from, ymax * 0.97),
                ("sans-serif", 12).into_font().color(&shade),
            )))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
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

fn max_of<'a>(points: impl Iterator<Item = &'a (f64, f64)>, pick: fn(&(f64, f64)) -> f64) -> f64 {
    points.map(pick).fold(0.0, f64::max)
}

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

/// A line chart; the x range is `0..xmax` (or the data's), the y range the data's + 10 %.
pub fn line_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    xmax: Option<f64>,
    height: u32,
    lines: Lines,
) -> String {
    series_chart(title, x_desc, y_desc, xmax, height, &solid(lines))
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
    marked_series_chart(title, x_desc, y_desc, xmax, height, &solid(lines), marks)
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
    marked_series_chart(title, x_desc, y_desc, xmax, height, series, &[])
}

/// [`series_chart`] with spans of the x axis shaded and named.
pub fn marked_series_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    xmax: Option<f64>,
    height: u32,
    series: &[Series],
    marks: &[Mark],
) -> String {
    let mut out = String::new();
    let drawn = (|| -> Result<(), String> {
        let all = || series.iter().flat_map(|s| s.points.iter());
        let xmax = xmax.unwrap_or_else(|| max_of(all(), |p| p.0).max(1.0));
        let ymax = max_of(all(), |p| p.1).max(1.0) * 1.1;
        let root = SVGBackend::with_string(&mut out, (900, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(65)
            .build_cartesian_2d(0f64..xmax, 0f64..ymax)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(|e| e.to_string())?;
        draw_marks(&mut chart, marks, ymax)?;
        for s in series {
            let c = COLORS[s.color % COLORS.len()];
            let style = c.stroke_width(2);
            let pts = s.points.iter().copied();
            if s.dashed {
                chart
                    .draw_series(DashedLineSeries::new(pts, 6, 3, style))
                    .map_err(|e| e.to_string())?
                    .label(&s.name)
                    .legend(move |(x, y)| {
                        DashedPathElement::new(vec![(x, y), (x + 18, y)], 6, 3, style)
                    });
            } else {
                chart
                    .draw_series(LineSeries::new(pts, style))
                    .map_err(|e| e.to_string())?
                    .label(&s.name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())
    })();
    match drawn {
        Ok(()) => out,
        Err(e) => format!("<p>{title}: no plot ({e})</p>"),
    }
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
    let mut out = String::new();
    let drawn = (|| -> Result<(), String> {
        let points = |l: &Lines| l.iter().flat_map(|(_, p)| p.clone()).collect::<Vec<_>>();
        let (lp, rp) = (points(&left), points(&right));
        let xmax = max_of(lp.iter().chain(rp.iter()), |p| p.0).max(1.0);
        let (lmax, rmax) = (
            max_of(lp.iter(), |p| p.1).max(1.0) * 1.1,
            max_of(rp.iter(), |p| p.1).max(1.0) * 1.1,
        );
        let root = SVGBackend::with_string(&mut out, (900, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(65)
            .right_y_label_area_size(65)
            .build_cartesian_2d(0f64..xmax, 0f64..lmax)
            .map_err(|e| e.to_string())?
            .set_secondary_coord(0f64..xmax, 0f64..rmax);
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(left_desc)
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .configure_secondary_axes()
            .y_desc(right_desc)
            .draw()
            .map_err(|e| e.to_string())?;
        draw_marks(&mut chart, marks, lmax)?;
        for (i, (name, pts)) in left.iter().enumerate() {
            let c = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(format!("{name} (left)"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], c));
        }
        for (i, (name, pts)) in right.iter().enumerate() {
            let c = COLORS[(left.len() + i) % COLORS.len()];
            chart
                .draw_secondary_series(DashedLineSeries::new(
                    pts.iter().copied(),
                    6,
                    3,
                    c.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?
                .label(format!("{name} (right)"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], c));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())
    })();
    match drawn {
        Ok(()) => out,
        Err(e) => format!("<p>{title}: no plot ({e})</p>"),
    }
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
