//! A minimal SVG line plot (score against a sweep parameter), written by
//! hand so reports need no plotting dependency.

use std::fmt::Write as _;

const W: f64 = 480.0;
const H: f64 = 320.0;
const M: f64 = 48.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Points sorted by x, joined by a line, with axis ranges labelled.
pub fn line_plot(points: &[(f64, f64)], x_label: &str, y_label: &str) -> String {
    let mut pts = points.to_vec();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (x0, x1) = bounds(pts.iter().map(|p| p.0));
    let (y0, y1) = bounds(pts.iter().map(|p| p.1));
    let sx = |x: f64| M + (x - x0) / (x1 - x0) * (W - 2.0 * M);
    let sy = |y: f64| H - M - (y - y0) / (y1 - y0) * (H - 2.0 * M);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <line x1=\"{M}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"black\"/>\
         <line x1=\"{M}\" y1=\"{M}\" x2=\"{M}\" y2=\"{b}\" stroke=\"black\"/>",
        b = H - M,
        r = W - M
    );
    let path: Vec<String> = pts
        .iter()
        .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
        .collect();
    let _ = write!(
        s,
        "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{}\"/>",
        path.join(" ")
    );
    for &(x, y) in &pts {
        let _ = write!(s, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#1f77b4\"><title>{x}: {y:.2}</title></circle>", sx(x), sy(y));
    }
    let _ = write!(
        s,
        "<text x=\"{M}\" y=\"{ty}\">{x0}</text><text x=\"{r}\" y=\"{ty}\" text-anchor=\"end\">{x1}</text>\
         <text x=\"{cx}\" y=\"{ly}\" text-anchor=\"middle\">{xl}</text>\
         <text x=\"4\" y=\"{b}\">{y0:.1}</text><text x=\"4\" y=\"{M}\">{y1:.1}</text>\
         <text x=\"{cx}\" y=\"24\" text-anchor=\"middle\">{yl}</text></svg>",
        ty = H - M + 16.0,
        r = W - M,
        cx = W / 2.0,
        ly = H - 8.0,
        b = H - M,
        xl = esc(x_label),
        yl = esc(y_label)
    );
    s
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
