//! `exc report`'s grids over pairs of sweep parameters: a cell is the mean
//! score over every run with the row's and column's values, on the column's
//! task family when the values are families; a square grid of families is
//! the paper's Table 2, with its transfer measure.

use std::fmt::Write;

use super::report_runs::{fmt, mean, param_names, task_scores, RunScores};

/// Whether `value` is a task family of the run's plan.
pub(super) fn is_family(r: &RunScores, value: &str) -> bool {
    r.families.values().any(|f| f == value)
}

/// The mean score of a run over its evaluated tasks of `family` (each task
/// scored as `task_scores` says), as the paper averages families. When
/// `family` is not a family of the run's plan at all (the column is some
/// other parameter), the mean over all its tasks. Tasks whose score is
/// undefined are left out; `None` when none of the family is left (never
/// another family's score in its place).
pub(super) fn family_mean(r: &RunScores, family: &str) -> Option<f64> {
    let of_plan = is_family(r, family);
    let scores: Vec<f64> = task_scores(r)
        .into_iter()
        .filter(|(t, _)| !of_plan || r.families.get(*t).is_some_and(|f| f == family))
        .filter_map(|(_, s)| s)
        .collect();
    mean(&scores)
}

pub(super) fn value_text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// A run's value of parameter `p`, as text (how grids compare values).
pub(super) fn param_text(r: &RunScores, p: &str) -> Option<String> {
    r.params.get(p).map(value_text)
}

/// One grid cell: the mean over every run with the row's and column's
/// values (so over the other parameters, e.g. seeds).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Cell {
    pub(super) mean: Option<f64>,
    /// Runs whose score is defined (the ones averaged).
    pub(super) defined: usize,
    /// Runs with the row's and column's values.
    pub(super) runs: usize,
}

impl Cell {
    /// The mean, and how many runs it averages when more than one (or when
    /// some had no defined score).
    pub(super) fn text(&self) -> String {
        match (self.runs, self.defined) {
            (0, _) => "no run".into(),
            (n, d) if d == n && n > 1 => format!("{} (n={n})", fmt(self.mean)),
            (n, d) if d < n && d > 0 => format!("{} (n={d} of {n})", fmt(self.mean)),
            _ => fmt(self.mean),
        }
    }
}

/// The two parameters of a grid and their values, in the runs' order.
pub(super) struct Grid<'a> {
    pub(super) a: &'a str,
    pub(super) b: &'a str,
    pub(super) rows: Vec<String>,
    pub(super) cols: Vec<String>,
    /// The runs with both parameters.
    pub(super) runs: Vec<&'a RunScores>,
}

impl<'a> Grid<'a> {
    pub(super) fn new(all: &'a [RunScores], a: &'a str, b: &'a str) -> Self {
        let mut g = Grid {
            a,
            b,
            rows: Vec::new(),
            cols: Vec::new(),
            runs: Vec::new(),
        };
        for r in all {
            let (Some(x), Some(y)) = (r.params.get(a), r.params.get(b)) else {
                continue;
            };
            let (x, y) = (value_text(x), value_text(y));
            if !g.rows.contains(&x) {
                g.rows.push(x);
            }
            if !g.cols.contains(&y) {
                g.cols.push(y);
            }
            g.runs.push(r);
        }
        g
    }

    pub(super) fn cell(&self, x: &str, y: &str) -> Cell {
        let here: Vec<&&RunScores> = self
            .runs
            .iter()
            .filter(|r| {
                param_text(r, self.a).as_deref() == Some(x)
                    && param_text(r, self.b).as_deref() == Some(y)
            })
            .collect();
        let scores: Vec<f64> = here.iter().filter_map(|r| family_mean(r, y)).collect();
        Cell {
            mean: mean(&scores),
            defined: scores.len(),
            runs: here.len(),
        }
    }

    /// How many of the runs have their column's value as a family of
    /// their plan (scored on that family's tasks) rather than not (scored
    /// on all their tasks).
    pub(super) fn by_family(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| param_text(r, self.b).is_some_and(|y| is_family(r, &y)))
            .count()
    }

    /// Rows and columns take the same values: Table 2's shape.
    pub(super) fn square(&self) -> bool {
        self.rows.iter().all(|x| self.cols.contains(x))
            && self.cols.iter().all(|y| self.rows.contains(y))
    }
}

/// For each pair of sweep parameters, a matrix with one row per value of
/// the first and one column per value of the second; each cell the mean
/// over the runs with those values (`Cell`). A run's score is its mean on
/// the tasks of the column's family when the column's value is a family of
/// its plan (the paper's Table 2: family b's score when co-trained with
/// family a), else on all its tasks. A square grid of families is shown as
/// Table 2 (`transfer_table`).
pub(super) fn grids(runs: &[RunScores]) -> String {
    let params = param_names(runs);
    let mut md = String::new();
    for (i, a) in params.iter().enumerate() {
        for b in &params[i + 1..] {
            let g = Grid::new(runs, a, b);
            if g.rows.len() < 2 && g.cols.len() < 2 {
                continue;
            }
            let families = g.by_family();
            if g.square() && families == g.runs.len() {
                md.push_str(&transfer_table(&g));
            } else {
                md.push_str(&mean_table(&g, families));
            }
            md.push_str(&averaged_note(&g, &params));
        }
    }
    if !md.is_empty() {
        md.insert_str(
            0,
            "\n## Grids\n\nA run's score on a set of tasks: per task, the mean of its \
             metrics on its `validation` split (its first split by name when it has \
             none), then the mean over the tasks; undefined scores are left out.\n",
        );
    }
    md
}

/// The grid's cells as they are, titled by what a run is scored on.
pub(super) fn mean_table(g: &Grid, families: usize) -> String {
    let title = if families == g.runs.len() {
        "Mean score on the column's tasks"
    } else if families == 0 {
        "Mean score over all tasks"
    } else {
        "Mean score on the column's tasks (over all tasks where the column's value \
         is not a family of the run's plan)"
    };
    let mut t = format!("\n### {title}, by {}\n\n", axes(g));
    t.push_str(&header(g, &g.cols, false));
    for x in &g.rows {
        let _ = write!(t, "| {x} |");
        for y in &g.cols {
            let _ = write!(t, " {} |", g.cell(x, y).text());
        }
        t.push('\n');
    }
    t
}

/// Which parameter the rows and the columns range over, for a title.
fn axes(g: &Grid) -> String {
    format!("`{}` (rows) and `{}` (columns)", g.a, g.b)
}

/// The header row: its corner names the two parameters (as `ratio (rows)
/// / seed (columns)`: a `$` would start a formula where markdown has them).
pub(super) fn header(g: &Grid, cols: &[String], delta: bool) -> String {
    let mut t = format!("| {} (rows) / {} (columns) |", g.a, g.b);
    for c in cols {
        let _ = write!(t, " {c} |");
    }
    if delta {
        t.push_str(" Δavg |");
    }
    t.push_str("\n| --- |");
    t.push_str(&" ---: |".repeat(cols.len() + usize::from(delta)));
    t.push('\n');
    t
}

/// The paper's Table 2 of a square grid of families: the cells T_ij (row
/// family i co-trained with column family j, scored on j), a row AVG∖diag
/// and a column Δavg (`transfer`).
pub(super) fn transfer_table(g: &Grid) -> String {
    // Rows in the columns' order, so the diagonal is the diagonal.
    let order = &g.cols;
    let cells: Vec<Vec<Cell>> = order
        .iter()
        .map(|x| order.iter().map(|y| g.cell(x, y)).collect())
        .collect();
    let means: Vec<Vec<Option<f64>>> = cells
        .iter()
        .map(|row| row.iter().map(|c| c.mean).collect())
        .collect();
    let (avg, delta) = transfer(&means);
    let mut t = format!(
        "\n### Transfer between task families, as the paper's Table 2, by {}\n\n",
        axes(g)
    );
    t.push_str(&header(g, order, true));
    for ((x, row), d) in order.iter().zip(&cells).zip(&delta) {
        let _ = write!(t, "| {x} |");
        for c in row {
            let _ = write!(t, " {} |", c.text());
        }
        let _ = writeln!(
            t,
            " {} |",
            d.map_or_else(|| "n/a".into(), |d| format!("{d:+.1}%"))
        );
    }
    t.push_str("| AVG∖diag |");
    for a in &avg {
        let _ = write!(t, " {} |", fmt(*a));
    }
    t.push_str(" |\n");
    t.push_str(
        "\nT_ij (row i, column j): the mean score on family j's tasks of the model \
         co-trained on families i and j (the diagonal: j alone). AVG∖diag_j: the mean of \
         T_ij over rows i ≠ j. Δavg_i: the mean over columns j ≠ i of (T_ij − AVG∖diag_j) \
         / AVG∖diag_j, in percent, the gain family i gives the others. Undefined cells are \
         left out of the means (n/a where nothing is left).\n",
    );
    t
}

/// Table 2's AVG∖diag of a square grid `t[i][j]`: per column j, the mean
/// of t_ij over rows i ≠ j, undefined cells left out.
pub(super) fn off_diagonal_means(t: &[Vec<Option<f64>>]) -> Vec<Option<f64>> {
    (0..t.len())
        .map(|j| {
            let column: Vec<f64> = t
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != j)
                .filter_map(|(_, row)| row.get(j).copied().flatten())
                .collect();
            mean(&column)
        })
        .collect()
}

/// Table 2's Δavg: per row i, the mean over columns j ≠ i of
/// (t_ij − avg_j) / avg_j in percent. Undefined cells, and columns whose
/// average is undefined or zero, are left out.
pub(super) fn relative_gains(t: &[Vec<Option<f64>>], avg: &[Option<f64>]) -> Vec<Option<f64>> {
    t.iter()
        .enumerate()
        .map(|(i, row)| {
            let gains: Vec<f64> = row
                .iter()
                .zip(avg)
                .enumerate()
                .filter(|(j, _)| *j != i)
                .filter_map(|(_, (x, a))| {
                    let (x, a) = ((*x)?, (*a)?);
                    (a != 0.0).then(|| (x - a) / a * 100.0)
                })
                .collect();
            mean(&gains)
        })
        .collect()
}

/// Table 2's summaries of a square grid: (AVG∖diag, Δavg).
pub(super) fn transfer(t: &[Vec<Option<f64>>]) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let avg = off_diagonal_means(t);
    let delta = relative_gains(t, &avg);
    (avg, delta)
}

/// Which parameters a grid's cells average over, when some cell averages
/// more than one run.
pub(super) fn averaged_note(g: &Grid, params: &[String]) -> String {
    let cells: Vec<Cell> = g
        .rows
        .iter()
        .flat_map(|x| g.cols.iter().map(move |y| g.cell(x, y)))
        .collect();
    if !cells.iter().any(|c| c.runs > 1) {
        return String::new();
    }
    let over: Vec<String> = params
        .iter()
        .filter(|p| *p != g.a && *p != g.b)
        .map(|p| format!("`{p}`"))
        .collect();
    let over = if over.is_empty() {
        "runs with the same values".to_string()
    } else {
        over.join(", ")
    };
    let partial = if cells.iter().any(|c| c.defined < c.runs && c.defined > 0) {
        "; (n=d of k): only d of them have a defined score"
    } else {
        ""
    };
    format!("\n(n=k): the cell is the mean of k runs, over {over}{partial}.\n")
}
