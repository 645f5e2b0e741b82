//! A minimal SVG line plot (a score against a sweep parameter, a loss
//! against steps; one line per series), written by hand so reports need no
//! plotting dependency. Both axes carry ticks at round values (or at every
//! value a sweep took), a light grid and their names; a band of one
//! standard deviation never leaves the range the quantity can take (an
//! accuracy is not below 0).

use std::fmt::Write as _;

/// The plot area inside the picture: room for tick labels on the left and
/// below, for the title above.
const W: f64 = 480.0;
const H: f64 = 320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 52.0;
/// Room to the right of the plot for the legend, when lines are named.
const LEGEND_W: f64 = 220.0;
/// Height of one legend entry.
const ROW: f64 = 18.0;
/// At most this many sweep values get a tick each; more get round ticks.
const VALUE_TICKS: usize = 12;
/// Matplotlib's default cycle, so lines stay distinguishable.
const COLORS: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// One point of a line: the mean `y` at `x`, and the standard deviation of
/// what it averages (e.g. over seeds) when there is one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub sd: Option<f64>,
}

/// One line, named in the legend by `label` (empty: no legend entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<Point>,
}

/// What a plot shows: its title, the axes' names, and the values the
/// y quantity can take (a score 0 to 100, a loss 0 or more), which the
/// bands and the axis stay within.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub y_min: Option<f64>,
    pub y_max: Option<f64>,
}

impl Frame<'_> {
    fn clamp(&self, y: f64) -> f64 {
        let y = self.y_min.map_or(y, |m| y.max(m));
        self.y_max.map_or(y, |m| y.min(m))
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Maps data coordinates to the plot area, with the ticks of each axis.
struct Scale {
    x: (f64, f64),
    y: (f64, f64),
    x_ticks: Vec<f64>,
    y_ticks: Vec<f64>,
}

impl Scale {
    fn new(series: &[Series], frame: &Frame) -> Self {
        let points = || series.iter().flat_map(|s| &s.points);
        let lows = points().map(|p| frame.clamp(p.y - p.sd.unwrap_or(0.0)));
        let highs = points().map(|p| frame.clamp(p.y + p.sd.unwrap_or(0.0)));
        let (lo, hi) = bounds(lows.chain(highs));
        // Widened to round ticks, but never past what the quantity can be.
        let y_ticks = nice_ticks(lo, hi);
        let y = (
            frame.clamp(y_ticks.first().copied().unwrap_or(lo)),
            frame.clamp(y_ticks.last().copied().unwrap_or(hi)),
        );
        let y = if y.1 - y.0 < 1e-12 { (lo, hi) } else { y };
        let y_ticks = y_ticks
            .into_iter()
            .filter(|t| *t >= y.0 - 1e-9 && *t <= y.1 + 1e-9)
            .collect();
        let mut xs: Vec<f64> = points().map(|p| p.x).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let x = bounds(xs.iter().copied());
        // A sweep's values are what a reader looks for (ratio = 1 between 0
        // and 2): a tick at each while they are few.
        let x_ticks = if xs.len() > 1 && xs.len() <= VALUE_TICKS {
            xs
        } else {
            nice_ticks(x.0, x.1)
                .into_iter()
                .filter(|t| *t >= x.0 - 1e-9 && *t <= x.1 + 1e-9)
                .collect()
        };
        Scale {
            x,
            y,
            x_ticks,
            y_ticks,
        }
    }

    fn sx(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (W - LEFT - RIGHT)
    }

    fn sy(&self, y: f64) -> f64 {
        H - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (H - TOP - BOTTOM)
    }
}

/// Each series' points sorted by x, joined by a line, with a band of one
/// standard deviation where points have one, ticked and named axes, and a
/// legend when the lines are named.
pub fn line_plot(series: &[Series], frame: &Frame) -> String {
    let mut series = series.to_vec();
    for s in &mut series {
        s.points.sort_by(|a, b| a.x.total_cmp(&b.x));
    }
    let scale = Scale::new(&series, frame);
    let named = series.iter().any(|s| !s.label.is_empty());
    let width = if named { W + LEGEND_W } else { W };
    let height = if named {
        H.max(TOP + ROW * (series.len() as f64 + 1.0))
    } else {
        H
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
    );
    s.push_str(&axes(&scale, frame));
    for (i, line) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        s.push_str(&band(line, &scale, frame, color));
        s.push_str(&polyline(line, &scale, color));
        if named {
            s.push_str(&legend_entry(&line.label, i, color));
        }
    }
    s.push_str("</svg>");
    s
}

/// The mean ± one standard deviation, shaded, under the line; clamped to
/// what the quantity can be.
fn band(line: &Series, scale: &Scale, frame: &Frame, color: &str) -> String {
    if line.points.len() < 2 || line.points.iter().all(|p| p.sd.is_none()) {
        return String::new();
    }
    let edge = |p: &Point, sign: f64| {
        let y = frame.clamp(p.y + sign * p.sd.unwrap_or(0.0));
        format!("{:.1},{:.1}", scale.sx(p.x), scale.sy(y))
    };
    let upper = line.points.iter().map(|p| edge(p, 1.0));
    let lower = line.points.iter().rev().map(|p| edge(p, -1.0));
    let outline: Vec<String> = upper.chain(lower).collect();
    format!(
        "<polygon class=\"band\" fill=\"{color}\" fill-opacity=\"0.15\" stroke=\"none\" points=\"{}\"/>",
        outline.join(" ")
    )
}

/// The line and its points, each with a tooltip of its value.
fn polyline(line: &Series, scale: &Scale, color: &str) -> String {
    let path: Vec<String> = line
        .points
        .iter()
        .map(|p| format!("{:.1},{:.1}", scale.sx(p.x), scale.sy(p.y)))
        .collect();
    let mut s = format!(
        "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
        path.join(" ")
    );
    let name = if line.label.is_empty() {
        String::new()
    } else {
        format!("{}, ", esc(&line.label))
    };
    // Many points (a loss over steps) read as a line; markers would hide it.
    let radius = if line.points.len() > 30 { 0 } else { 3 };
    for p in &line.points {
        let sd = p.sd.map_or_else(String::new, |sd| format!(" ± {sd:.2}"));
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{radius}\" fill=\"{color}\"><title>{name}{}: {:.2}{sd}</title></circle>",
            scale.sx(p.x),
            scale.sy(p.y),
            tick_text(p.x),
            p.y
        );
    }
    s
}

/// The `i`-th legend entry, to the right of the plot.
fn legend_entry(label: &str, i: usize, color: &str) -> String {
    let y = TOP + ROW * i as f64 + 6.0;
    let x = W + 8.0;
    format!(
        "<line x1=\"{x}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"2\"/>\
         <text x=\"{tx}\" y=\"{ty}\">{}</text>",
        esc(label),
        x2 = x + 20.0,
        tx = x + 26.0,
        ty = y + 4.0
    )
}

/// The frame: grid lines and ticks with their values on both axes, the
/// axes' names, and the title.
fn axes(scale: &Scale, frame: &Frame) -> String {
    let (left, right, top, bottom) = (LEFT, W - RIGHT, TOP, H - BOTTOM);
    let mut s = String::new();
    for &t in &scale.y_ticks {
        let y = scale.sy(t);
        let _ = write!(
            s,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{right}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/>\
             <line x1=\"{l}\" y1=\"{y:.1}\" x2=\"{left}\" y2=\"{y:.1}\" stroke=\"black\"/>\
             <text class=\"y-tick\" x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{}</text>",
            tick_text(t),
            l = left - 4.0,
            tx = left - 7.0,
            ty = y + 4.0
        );
    }
    for &t in &scale.x_ticks {
        let x = scale.sx(t);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{bottom}\" stroke=\"#e5e5e5\"/>\
             <line x1=\"{x:.1}\" y1=\"{bottom}\" x2=\"{x:.1}\" y2=\"{b}\" stroke=\"black\"/>\
             <text class=\"x-tick\" x=\"{x:.1}\" y=\"{ty}\" text-anchor=\"middle\">{}</text>",
            tick_text(t),
            b = bottom + 4.0,
            ty = bottom + 18.0
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"black\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{bottom}\" stroke=\"black\"/>\
         <text x=\"{cx}\" y=\"{xl}\" text-anchor=\"middle\">{x_label}</text>\
         <text x=\"0\" y=\"0\" text-anchor=\"middle\" transform=\"translate(14,{cy}) rotate(-90)\">{y_label}</text>\
         <text x=\"{cx}\" y=\"22\" text-anchor=\"middle\" font-weight=\"bold\">{title}</text>",
        cx = (left + right) / 2.0,
        cy = (top + bottom) / 2.0,
        xl = H - 12.0,
        x_label = esc(frame.x_label),
        y_label = esc(frame.y_label),
        title = esc(frame.title),
    );
    s
}

/// A tick's value as a reader writes it: `2`, `0.5`, `1e-4`, `12,000`
/// steps without the separator (`12000`).
fn tick_text(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() < 1e-3 || v.abs() >= 1e6 {
        return format!("{v:e}");
    }
    let text = format!("{v:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}

/// Round ticks (steps of 1, 2 or 5 times a power of ten) covering `lo` to
/// `hi`, about five of them: the first at or below `lo`, the last at or
/// above `hi`.
fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = hi - lo;
    if !span.is_finite() || span <= 0.0 {
        return vec![lo, hi];
    }
    let raw = span / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    // Multiples of the step, not sums of it: no 0.30000000000000004.
    (first as i64..=last as i64)
        .map(|i| i as f64 * step)
        .collect()
}

/// Min and max, widened when they coincide so the scale is defined.
fn bounds(it: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = it.fold((f64::INFINITY, f64::NEG_INFINITY), |a, v| {
        (a.0.min(v), a.1.max(v))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if (hi - lo).abs() < 1e-12 {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(y_min: Option<f64>, y_max: Option<f64>) -> Frame<'static> {
        Frame {
            title: "glue_rte/validation/accuracy",
            x_label: "ratio",
            y_label: "accuracy",
            y_min,
            y_max,
        }
    }

    fn point(x: f64, y: f64, sd: f64) -> Point {
        Point { x, y, sd: Some(sd) }
    }

    /// The values of the tick labels of one axis, in order.
    fn ticks(svg: &str, class: &str) -> Vec<String> {
        svg.split(&format!("<text class=\"{class}\""))
            .skip(1)
            .filter_map(|t| Some(t.split_once('>')?.1.split_once('<')?.0.to_string()))
            .collect()
    }

    #[test]
    fn every_sweep_value_has_a_tick_and_the_score_axis_round_ones() {
        let s = Series {
            label: String::new(),
            points: vec![
                point(0.0, 52.0, 1.0),
                point(1.0, 61.0, 2.0),
                point(2.0, 58.0, 1.5),
            ],
        };
        let svg = line_plot(&[s], &frame(Some(0.0), Some(100.0)));
        assert_eq!(ticks(&svg, "x-tick"), ["0", "1", "2"]);
        assert_eq!(ticks(&svg, "y-tick"), ["50", "55", "60", "65"]);
        assert!(svg.contains(">accuracy</text>"), "{svg}");
        assert!(
            svg.contains(">glue_rte/validation/accuracy</text>"),
            "{svg}"
        );
    }

    #[test]
    fn a_band_stays_within_what_the_quantity_can_be() {
        // An accuracy of 2 ± 6 over seeds: the band would reach -4.
        let s = Series {
            label: "x".into(),
            points: vec![
                point(0.0, 2.0, 6.0),
                point(1.0, 1.0, 3.0),
                point(2.0, 97.0, 6.0),
            ],
        };
        let svg = line_plot(&[s], &frame(Some(0.0), Some(100.0)));
        let y = ticks(&svg, "y-tick");
        assert_eq!(y.first().map(String::as_str), Some("0"), "{y:?}");
        assert_eq!(y.last().map(String::as_str), Some("100"), "{y:?}");
        // Every corner of the band lies inside the plot area.
        let band = svg.split("class=\"band\"").nth(1).unwrap();
        let points = band
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        for p in points.split(' ') {
            let (_, y) = p.split_once(',').unwrap();
            let y: f64 = y.parse().unwrap();
            assert!((TOP..=H - BOTTOM).contains(&y), "{p} leaves the plot");
        }
        // Unbounded, the same band does go below 0.
        let s = Series {
            label: "x".into(),
            points: vec![point(0.0, 2.0, 6.0), point(1.0, 1.0, 3.0)],
        };
        let svg = line_plot(&[s], &frame(None, None));
        assert_eq!(
            ticks(&svg, "y-tick").first().map(String::as_str),
            Some("-5")
        );
    }

    #[test]
    fn many_steps_get_round_ticks() {
        let s = Series {
            label: String::new(),
            points: (1..=40)
                .map(|i| Point {
                    x: f64::from(i) * 250.0,
                    y: 10.0 / f64::from(i),
                    sd: None,
                })
                .collect(),
        };
        let svg = line_plot(&[s], &frame(Some(0.0), None));
        assert_eq!(
            ticks(&svg, "x-tick"),
            ["2000", "4000", "6000", "8000", "10000"]
        );
        assert_eq!(ticks(&svg, "y-tick"), ["0", "2", "4", "6", "8", "10"]);
        // A line of 40 points draws no markers over itself.
        assert!(svg.contains("r=\"0\""), "{svg}");
    }

    #[test]
    fn tick_values_read_as_written() {
        assert_eq!(
            nice_ticks(0.0, 1.0),
            [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(tick_text(0.6000000000000001), "0.6");
        assert_eq!(tick_text(1e-4), "1e-4");
        assert_eq!(tick_text(-2.5), "-2.5");
        assert_eq!(tick_text(12000.0), "12000");
    }
}
