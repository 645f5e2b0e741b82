//! A minimal SVG line plot (score against a sweep parameter, one line per
//! combination of the other parameters), written by hand so reports need
//! no plotting dependency.

use std::fmt::Write as _;

const W: f64 = 480.0;
const H: f64 = 320.0;
const M: f64 = 48.0;
/// Room to the right of the plot for the legend, when lines are named.
const LEGEND_W: f64 = 200.0;
/// Height of one legend entry.
const ROW: f64 = 18.0;
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

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Maps data coordinates to the plot area.
struct Scale {
    x: (f64, f64),
    y: (f64, f64),
}

impl Scale {
    fn new(series: &[Series]) -> Self {
        let points = || series.iter().flat_map(|s| &s.points);
        let lows = points().map(|p| p.y - p.sd.unwrap_or(0.0));
        let highs = points().map(|p| p.y + p.sd.unwrap_or(0.0));
        Scale {
            x: bounds(points().map(|p| p.x)),
            y: bounds(lows.chain(highs)),
        }
    }

    fn sx(&self, x: f64) -> f64 {
        M + (x - self.x.0) / (self.x.1 - self.x.0) * (W - 2.0 * M)
    }

    fn sy(&self, y: f64) -> f64 {
        H - M - (y - self.y.0) / (self.y.1 - self.y.0) * (H - 2.0 * M)
    }
}

/// Each series' points sorted by x, joined by a line, with a band of one
/// standard deviation where points have one, axis ranges labelled, and a
/// legend when the lines are named.
pub fn line_plot(series: &[Series], x_label: &str, y_label: &str) -> String {
    let mut series = series.to_vec();
    for s in &mut series {
        s.points.sort_by(|a, b| a.x.total_cmp(&b.x));
    }
    let scale = Scale::new(&series);
    let named = series.iter().any(|s| !s.label.is_empty());
    let width = if named { W + LEGEND_W } else { W };
    let height = if named {
        H.max(M + ROW * series.len() as f64)
    } else {
        H
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <line x1=\"{M}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"black\"/>\
         <line x1=\"{M}\" y1=\"{M}\" x2=\"{M}\" y2=\"{b}\" stroke=\"black\"/>",
        b = H - M,
        r = W - M
    );
    for (i, line) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        s.push_str(&band(line, &scale, color));
        s.push_str(&polyline(line, &scale, color));
        if named {
            s.push_str(&legend_entry(&line.label, i, color));
        }
    }
    s.push_str(&axis_labels(&scale, x_label, y_label));
    s.push_str("</svg>");
    s
}

/// The mean ± one standard deviation, shaded, under the line.
fn band(line: &Series, scale: &Scale, color: &str) -> String {
    if line.points.len() < 2 || line.points.iter().all(|p| p.sd.is_none()) {
        return String::new();
    }
    let edge = |p: &Point, sign: f64| {
        let y = p.y + sign * p.sd.unwrap_or(0.0);
        format!("{:.1},{:.1}", scale.sx(p.x), scale.sy(y))
    };
    let upper = line.points.iter().map(|p| edge(p, 1.0));
    let lower = line.points.iter().rev().map(|p| edge(p, -1.0));
    let outline: Vec<String> = upper.chain(lower).collect();
    format!(
        "<polygon fill=\"{color}\" fill-opacity=\"0.15\" stroke=\"none\" points=\"{}\"/>",
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
    for p in &line.points {
        let sd = p.sd.map_or_else(String::new, |sd| format!(" ± {sd:.2}"));
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"><title>{name}{}: {:.2}{sd}</title></circle>",
            scale.sx(p.x),
            scale.sy(p.y),
            p.x,
            p.y
        );
    }
    s
}

/// The `i`-th legend entry, to the right of the plot.
fn legend_entry(label: &str, i: usize, color: &str) -> String {
    let y = M + ROW * i as f64;
    let x = W - M / 2.0;
    format!(
        "<line x1=\"{x}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"2\"/>\
         <text x=\"{tx}\" y=\"{ty}\">{}</text>",
        esc(label),
        x2 = x + 20.0,
        tx = x + 26.0,
        ty = y + 4.0
    )
}

fn axis_labels(scale: &Scale, x_label: &str, y_label: &str) -> String {
    format!(
        "<text x=\"{M}\" y=\"{ty}\">{x0}</text><text x=\"{r}\" y=\"{ty}\" text-anchor=\"end\">{x1}</text>\
         <text x=\"{cx}\" y=\"{ly}\" text-anchor=\"middle\">{xl}</text>\
         <text x=\"4\" y=\"{b}\">{y0:.1}</text><text x=\"4\" y=\"{M}\">{y1:.1}</text>\
         <text x=\"{cx}\" y=\"24\" text-anchor=\"middle\">{yl}</text>",
        x0 = scale.x.0,
        x1 = scale.x.1,
        y0 = scale.y.0,
        y1 = scale.y.1,
        ty = H - M + 16.0,
        r = W - M,
        cx = W / 2.0,
        ly = H - 8.0,
        b = H - M,
        xl = esc(x_label),
        yl = esc(y_label)
    )
}

/// Min and max, widened when they coincide so the scale is defined.
fn bounds(it: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = it.fold((f64::INFINITY, f64::NEG_INFINITY), |a, v| {
        (a.0.min(v), a.1.max(v))
    });
    if (hi - lo).abs() < 1e-12 {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    }
}
