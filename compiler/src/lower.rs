//! A mixture + the checked tasks -> the [`Plan`]: expands sweeps into runs,
//! substitutes `$variables`, selects tasks, computes rates (`lower_rates`)
//! and C4 shares, reads training and model settings (`lower_settings`), and
//! orders the stages.

use std::sync::Arc;

use crate::ast::{
    self, MixEntry, MixtureDecl, ModelDecl, RatesDecl, Selector, Setting, SettingValue, Value,
};
use crate::check_source::escapes;
use crate::diagnostic::{suggestion, Diagnostic};
use crate::ir::Task;
use crate::plan::{self, Init, Plan, RunPlan, StageKind, StagePlan, TaskRate};
use crate::rates;
use crate::source::{Span, Spanned};
use crate::value::{show, to_json};
use indexmap::{IndexMap, IndexSet};

pub struct MixtureInput<'a> {
    pub decl: &'a MixtureDecl,
    /// The mixture's file relative to the project root.
    pub file: String,
    /// Entries after `extends`.
    pub entries: Vec<Spanned<MixEntry>>,
}

/// Lower one mixture. `None` when any error was found (all are in `diags`).
pub fn lower(
    m: &MixtureInput<'_>,
    tasks: &IndexMap<String, Arc<Task>>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Plan> {
    let before = diags.len();
    let sweeps: Vec<(&ast::Name, &Vec<Spanned<Value>>)> = m
        .entries
        .iter()
        .filter_map(|e| match &e.node {
            MixEntry::Sweep { var, values } => Some((var, values)),
            _ => None,
        })
        .collect();
    let sweeps_ok = check_sweeps(&sweeps, diags);
    let grid = sweep_grid(&sweeps, diags);
    let mut used = IndexSet::new();
    let mut runs = Vec::new();
    let mut run_diags: Vec<Diagnostic> = Vec::new();
    let mut model = None;
    let mut selections = Vec::new();
    for point in &grid {
        let mut entries = m.entries.clone();
        substitute(&mut entries, point, &mut used, &mut run_diags);
        let mut cx = Cx {
            tasks,
            diags: Vec::new(),
            decl: m.decl,
            selections: &mut selections,
        };
        let stages = cx.stages(&entries);
        // Each point's own model: a sweep may change it (`d_model $d`). The
        // first point's is the plan's; a run records its own only where it
        // differs, so plans without such sweeps read as before.
        let point_model = cx.model(&entries);
        let own_model = match &model {
            None => {
                model = Some(point_model);
                None
            }
            Some(first) if *first == point_model => None,
            Some(_) => Some(point_model),
        };
        for d in cx.diags {
            if !run_diags.contains(&d) {
                run_diags.push(d);
            }
        }
        runs.push(RunPlan {
            name: run_name(point),
            params: point
                .iter()
                .map(|(k, v)| (k.clone(), to_json(&v.node)))
                .collect(),
            stages,
            model: own_model,
        });
    }
    diags.extend(run_diags);
    // Repeated sweeps and values were reported as such; what is left to
    // collide are values whose text reads like another run's name.
    if sweeps_ok {
        check_run_names(&runs, m.decl.name.span, diags);
    }
    warn_unused_sweeps(&sweeps, &used, diags);
    if diags[before..].iter().any(Diagnostic::is_error) {
        return None;
    }
    let mut used_tasks: Vec<&String> = runs
        .iter()
        .flat_map(|r| r.stages.iter())
        .flat_map(|s| s.tasks.iter())
        .filter_map(|t| tasks.get_key_value(&t.task).map(|(k, _)| k))
        .collect();
    used_tasks.sort();
    used_tasks.dedup();
    let description = m.entries.iter().rev().find_map(|e| match &e.node {
        MixEntry::Description(d) => Some(d.clone()),
        _ => None,
    });
    Some(
        Plan {
            format: plan::FORMAT,
            hash: String::new(),
            mixture: m.decl.name.node.clone(),
            file: m.file.clone(),
            description,
            model: model?,
            tasks: used_tasks
                .into_iter()
                .filter_map(|n| tasks.get(n).map(|t| (n.clone(), Arc::clone(t))))
                .collect(),
            runs,
            overrides: Vec::new(),
        }
        .seal(),
    )
}

/// Every point of the sweep grid: each sweep's values crossed with the
/// others', in the order the sweeps are declared (one empty point when
/// there is no sweep).
fn sweep_grid(
    sweeps: &[(&ast::Name, &Vec<Spanned<Value>>)],
    diags: &mut Vec<Diagnostic>,
) -> Vec<IndexMap<String, Spanned<Value>>> {
    let mut grid: Vec<IndexMap<String, Spanned<Value>>> = vec![IndexMap::new()];
    for (var, values) in sweeps {
        if values.is_empty() {
            diags.push(
                Diagnostic::error(
                    "exc::check::empty_sweep",
                    format!("sweep `{}` has no values", var.node),
                    var.span,
                )
                .label("empty")
                .help("list the values, e.g. `sweep ratio in [0, 1, 2]`"),
            );
        }
        grid = grid
            .into_iter()
            .flat_map(|point| {
                values.iter().map(move |v| {
                    let mut p = point.clone();
                    p.insert(var.node.clone(), v.clone());
                    p
                })
            })
            .collect();
    }
    grid
}

/// A sweep whose variable no setting or selector uses would only repeat
/// the same run.
fn warn_unused_sweeps(
    sweeps: &[(&ast::Name, &Vec<Spanned<Value>>)],
    used: &IndexSet<String>,
    diags: &mut Vec<Diagnostic>,
) {
    for (var, _) in sweeps {
        if !used.contains(&var.node) {
            diags.push(
                Diagnostic::warning(
                    "exc::check::unused_variable",
                    format!("sweep variable `${}` is never used", var.node),
                    var.span,
                )
                .label("unused")
                .help(format!(
                    "use it as `${}` in a setting or selector, or remove the sweep",
                    var.node
                )),
            );
        }
    }
}

/// A run's name, which is also its directory: `main` without sweeps, else
/// each variable's value, `ratio=2,seed=1`.
fn run_name(point: &IndexMap<String, Spanned<Value>>) -> String {
    if point.is_empty() {
        return "main".to_string();
    }
    point
        .iter()
        .map(|(k, v)| format!("{k}={}", sweep_value_text(&v.node)))
        .collect::<Vec<_>>()
        .join(",")
}

/// How a swept value reads in a run's name.
fn sweep_value_text(v: &Value) -> String {
    show(v).trim_matches('"').to_string()
}

/// A variable swept twice would be overwritten by its last sweep, and a
/// value listed twice would make two runs of one name (and one directory):
/// both are errors rather than silently fewer distinct runs. False when
/// one was found.
fn check_sweeps(
    sweeps: &[(&ast::Name, &Vec<Spanned<Value>>)],
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let before = diags.len();
    let mut vars: IndexMap<&str, Span> = IndexMap::new();
    for (var, values) in sweeps {
        if let Some(first) = vars.insert(var.node.as_str(), var.span) {
            diags.push(
                Diagnostic::error(
                    "exc::check::duplicate_sweep",
                    format!("`{}` is swept twice", var.node),
                    var.span,
                )
                .label("second sweep")
                .related(first, "first swept here")
                .help(format!(
                    "sweep `{}` once, with every value in one list: `sweep {} in [ … ]`",
                    var.node, var.node
                )),
            );
        }
        let mut seen: IndexMap<String, Span> = IndexMap::new();
        for v in values.iter() {
            let text = sweep_value_text(&v.node);
            // The value is part of the run's directory name: a separator
            // would nest it (`a=../../x` would even leave the output folder).
            if text.contains(['/', '\\']) || text.chars().any(char::is_control) {
                diags.push(
                    Diagnostic::error(
                        "exc::check::bad_sweep_value",
                        format!("`{text}` cannot name a run directory (`{}={text}`)", var.node),
                        v.span,
                    )
                    .label("has a path separator or control character")
                    .help("a run is named and stored after its sweep values: use a value without `/` or `\\`"),
                );
                continue;
            }
            if let Some(first) = seen.insert(text.clone(), v.span) {
                diags.push(
                    Diagnostic::error(
                        "exc::check::duplicate_sweep_value",
                        format!("`{text}` is listed twice in `sweep {}`", var.node),
                        v.span,
                    )
                    .label("repeated value")
                    .related(first, "first listed here")
                    .help(format!(
                        "each value makes one run, named `{}={text}`: list it once",
                        var.node
                    )),
                );
            }
        }
    }
    diags.len() == before
}

/// Runs are told apart by name (their directories): two of one name would
/// write into one directory.
fn check_run_names(runs: &[RunPlan], at: Span, diags: &mut Vec<Diagnostic>) {
    let mut seen = IndexSet::new();
    for run in runs {
        if !seen.insert(run.name.as_str()) {
            diags.push(
                Diagnostic::error(
                    "exc::check::duplicate_run",
                    format!("two runs are named `{}`", run.name),
                    at,
                )
                .label("in this mixture")
                .help("a run is named after its sweep values: make the values of each sweep read differently"),
            );
            return;
        }
    }
}

fn fix(
    v: &mut Value,
    span: Span,
    point: &IndexMap<String, Spanned<Value>>,
    used: &mut IndexSet<String>,
    diags: &mut Vec<Diagnostic>,
) {
    let Value::Var(name) = v else {
        return;
    };
    match point.get(name.as_str()) {
        Some(val) => {
            used.insert(name.clone());
            *v = val.node.clone();
        }
        None => {
            let d = Diagnostic::error(
                "exc::check::unknown_variable",
                format!("`${name}` is not a sweep variable"),
                span,
            )
            .label("undefined")
            .help(
                suggestion(name, point.keys().map(String::as_str))
                    .unwrap_or_else(|| format!("declare it: `sweep {name} in [ … ]`")),
            );
            if !diags.contains(&d) {
                diags.push(d);
            }
        }
    }
}

/// Replace `$var` with the sweep point's values, reporting unknown variables.
fn substitute(
    entries: &mut [Spanned<MixEntry>],
    point: &IndexMap<String, Spanned<Value>>,
    used: &mut IndexSet<String>,
    diags: &mut Vec<Diagnostic>,
) {
    fn settings(list: &mut [Setting], f: &mut dyn FnMut(&mut Value, Span)) {
        for s in list {
            match &mut s.value {
                SettingValue::Value(v) => f(&mut v.node, v.span),
                SettingValue::Call(c) => {
                    for a in &mut c.args {
                        f(&mut a.value.node, a.value.span);
                    }
                }
            }
        }
    }
    for e in entries.iter_mut() {
        let mut f = |v: &mut Value, s: Span| fix(v, s, point, used, diags);
        match &mut e.node {
            MixEntry::Select(sels) | MixEntry::Exclude(sels) => {
                for s in sels {
                    let sspan = s.span;
                    match &mut s.node {
                        Selector::Collection(v) | Selector::Family(v) => f(v, sspan),
                        Selector::Var(name) => {
                            let mut v = Value::Var(name.clone());
                            f(&mut v, sspan);
                            if let Value::Word(w) | Value::Str(w) = v {
                                s.node = Selector::Glob(w);
                            }
                        }
                        Selector::Glob(_) => {}
                    }
                }
            }
            MixEntry::Subset { count, seed } => {
                f(&mut count.node, count.span);
                f(&mut seed.node, seed.span);
            }
            MixEntry::Train(list) | MixEntry::Model(ModelDecl::Custom { settings: list, .. }) => {
                settings(list, &mut f)
            }
            MixEntry::Setting(s) => settings(std::slice::from_mut(s), &mut f),
            MixEntry::C4(list) => {
                for c in list {
                    if let ast::C4Entry::Setting(s) = &mut c.node {
                        settings(std::slice::from_mut(s), &mut f);
                    }
                }
            }
            MixEntry::Rates(RatesDecl::Policy(c)) => {
                for a in &mut c.args {
                    f(&mut a.value.node, a.value.span);
                }
            }
            MixEntry::Stage(stage) => {
                substitute(&mut stage.entries, point, used, diags);
                continue;
            }
            _ => {}
        }
    }
}

pub(crate) struct Cx<'a> {
    pub(crate) tasks: &'a IndexMap<String, Arc<Task>>,
    pub(crate) diags: Vec<Diagnostic>,
    pub(crate) decl: &'a MixtureDecl,
    /// Selections already made at earlier sweep points of this mixture.
    pub(crate) selections: &'a mut Vec<Selection>,
}

/// What a stage's `select` and `exclude` entries (after substitution)
/// chose, before any `subset`, and what choosing reported (`None`: there
/// was no `select`). The sweep points of a mixture with a long `exclude`
/// list (18 random subsets in the paper's experiments) made the same
/// choice once per point and stage, most of `exc check`'s time over the
/// catalog; a point whose entries are equal reuses it.
pub(crate) struct Selection {
    entries: Vec<Spanned<MixEntry>>,
    names: Option<Vec<String>>,
    diags: Vec<Diagnostic>,
}

/// Entries in force for a stage: the mixture's, then the stage's own on top.
fn effective<'a>(
    global: &'a [Spanned<MixEntry>],
    own: &'a [Spanned<MixEntry>],
) -> Vec<&'a Spanned<MixEntry>> {
    let key = |e: &MixEntry| std::mem::discriminant(e);
    let mut out: Vec<&Spanned<MixEntry>> = global
        .iter()
        .filter(|g| !matches!(g.node, MixEntry::Train(_) | MixEntry::C4(_)))
        .filter(|g| !own.iter().any(|o| key(&o.node) == key(&g.node)))
        .collect();
    // `train` and `c4` merge key by key, so they keep both.
    out.extend(
        global
            .iter()
            .filter(|g| matches!(g.node, MixEntry::Train(_) | MixEntry::C4(_))),
    );
    out.extend(own.iter());
    out
}

impl Cx<'_> {
    fn stages(&mut self, entries: &[Spanned<MixEntry>]) -> Vec<StagePlan> {
        let declared: Vec<&ast::StageDecl> = entries
            .iter()
            .filter_map(|e| match &e.node {
                MixEntry::Stage(s) => Some(s),
                _ => None,
            })
            .collect();
        let implicit = ast::StageDecl {
            kind: Spanned::new("pretrain".into(), self.decl.name.span),
            name: None,
            entries: Vec::new(),
        };
        let list: Vec<&ast::StageDecl> = if declared.is_empty() {
            vec![&implicit]
        } else {
            declared
        };
        let mut out: Vec<StagePlan> = Vec::new();
        for s in list {
            let kind = match s.kind.node.as_str() {
                "finetune" => StageKind::Finetune,
                "evaluate" => StageKind::Evaluate,
                _ => StageKind::Pretrain,
            };
            let name = s
                .name
                .as_ref()
                .map_or_else(|| kind.name().to_string(), |n| n.node.clone());
            if out.iter().any(|o| o.name == name) {
                self.diags.push(
                    Diagnostic::error(
                        "exc::check::duplicate_stage",
                        format!("two stages are named `{name}`"),
                        s.kind.span,
                    )
                    .label("repeated name")
                    .help("name stages: `finetune glue { … }`"),
                );
            }
            let eff = effective(entries, &s.entries);
            let stage = self.stage(kind, name, &eff, &out, s.kind.span);
            out.push(stage);
        }
        out
    }

    fn stage(
        &mut self,
        kind: StageKind,
        name: String,
        eff: &[&Spanned<MixEntry>],
        earlier: &[StagePlan],
        at: Span,
    ) -> StagePlan {
        for e in eff {
            if let MixEntry::Setting(s) = &e.node {
                self.diags.push(
                    Diagnostic::error("exc::check::unknown_setting", format!("`{}` is not an entry of a stage", s.key.node), s.key.span)
                        .label("unknown entry")
                        .help("a stage takes `from`, `select`, `exclude`, `subset`, `rates`, `c4`, `train { … }`, `splits`, `per_task` and `last_checkpoint`; training settings go inside `train { … }`"),
                );
            }
        }
        let names = self.select(eff, at);
        let training = kind != StageKind::Evaluate;
        let c4 = if kind == StageKind::Pretrain {
            self.c4(eff)
        } else {
            None
        };
        let ratio = c4.as_ref().map_or(0.0, |c| c.ratio);
        let (rates_text, shares, policy) = if training {
            self.rates(eff, &names)
        } else {
            ("none".into(), vec![0.0; names.len()], None)
        };
        let train = training.then(|| self.train(kind, eff, at));
        let supervised = 1.0 / (1.0 + ratio);
        // In f64: a fuzzed batch near u64::MAX overflowed the product.
        let total_examples = train.as_ref().map(|t| t.steps as f64 * t.batch as f64);
        let tasks = names
            .iter()
            .zip(shares)
            .map(|(n, share)| {
                let examples = self.tasks.get(n).and_then(|t| t.examples);
                let rate = share * supervised;
                TaskRate {
                    task: n.clone(),
                    examples,
                    capped: examples
                        .zip(policy.as_ref())
                        .and_then(|(e, p)| rates::mixed_size(e, p)),
                    rate,
                    epochs: match (examples, total_examples) {
                        (Some(e), Some(tot)) if e > 0 && training => Some(tot * rate / e as f64),
                        _ => None,
                    },
                }
            })
            .collect();
        let c4 = c4.map(|mut c| {
            c.rate = c.ratio / (1.0 + c.ratio);
            c
        });
        let from = self.from(kind, eff, earlier);
        let last_checkpoint = self.last_checkpoint(kind, eff);
        let splits = eff
            .iter()
            .rev()
            .find_map(|e| match &e.node {
                MixEntry::Splits(s) => Some(s.iter().map(|n| n.node.clone()).collect()),
                _ => None,
            })
            .unwrap_or_else(|| {
                if kind == StageKind::Pretrain || last_checkpoint {
                    Vec::new()
                } else {
                    vec!["validation".to_string()]
                }
            });
        StagePlan {
            kind,
            name,
            from,
            tasks,
            rates: rates_text,
            c4,
            train,
            splits,
            per_task: eff.iter().any(|e| matches!(e.node, MixEntry::PerTask)),
            last_checkpoint,
        }
    }

    /// Whether a stage says `last_checkpoint`, which only a fine-tune stage
    /// without `splits` can: its `splits` are where it selects.
    fn last_checkpoint(&mut self, kind: StageKind, eff: &[&Spanned<MixEntry>]) -> bool {
        let Some(at) = eff
            .iter()
            .find(|e| matches!(e.node, MixEntry::LastCheckpoint))
            .map(|e| e.span)
        else {
            return false;
        };
        if kind != StageKind::Finetune {
            self.diags.push(
                Diagnostic::error("exc::check::last_checkpoint", "`last_checkpoint` belongs in a fine-tune stage", at)
                    .label("not a fine-tune stage")
                    .help("only a `finetune` stage chooses among its checkpoints; pre-training always ends with its last one, and an evaluate stage trains nothing"),
            );
            return false;
        }
        if let Some(splits) = eff.iter().find(|e| matches!(e.node, MixEntry::Splits(_))) {
            self.diags.push(
                Diagnostic::error("exc::check::last_checkpoint", "`splits` and `last_checkpoint` contradict each other", splits.span)
                    .label("the split this stage would select checkpoints on")
                    .help("a fine-tune stage's `splits` is where each checkpoint is scored to choose the best one; `last_checkpoint` turns that choice off: keep one of the two"),
            );
        }
        true
    }

    fn from(
        &mut self,
        kind: StageKind,
        eff: &[&Spanned<MixEntry>],
        earlier: &[StagePlan],
    ) -> Option<Init> {
        let explicit = eff.iter().rev().find_map(|e| match &e.node {
            MixEntry::From(f) => Some((f, e.span)),
            _ => None,
        });
        match explicit {
            Some((f, span)) => {
                if let Some(s) = earlier.iter().find(|s| s.name == f.node) {
                    return Some(Init::Stage(s.name.clone()));
                }
                let looks_like_path =
                    f.node.contains(['/', '.', '\\']) || std::path::Path::new(&f.node).exists();
                if !looks_like_path {
                    let names: Vec<&str> = earlier.iter().map(|s| s.name.as_str()).collect();
                    self.diags.push(
                        Diagnostic::error("exc::check::unknown_stage", format!("no earlier stage is named `{}`", f.node), span)
                            .label("unknown stage")
                            .help(suggestion(&f.node, names.iter().copied()).unwrap_or_else(|| {
                                "name an earlier stage, or give a checkpoint directory as a string: `from \"ckpt/dir\"`".into()
                            })),
                    );
                    return None;
                }
                if escapes(&f.node) {
                    self.diags.push(
                        Diagnostic::error(
                            "exc::check::path_escapes_root",
                            format!("`{}` points outside the project root", f.node),
                            span,
                        )
                        .label("escapes with `..`")
                        .help("use a path inside the project, or an absolute path"),
                    );
                }
                Some(Init::Path(f.node.clone()))
            }
            None if kind != StageKind::Pretrain => earlier
                .iter()
                .rev()
                .find(|s| s.kind != StageKind::Evaluate)
                .map(|s| Init::Stage(s.name.clone())),
            None => None,
        }
    }

    fn chosen(&mut self, eff: &[&Spanned<MixEntry>], at: Span) -> Option<Vec<String>> {
        let entries: Vec<Spanned<MixEntry>> = eff
            .iter()
            .filter(|e| matches!(e.node, MixEntry::Select(_) | MixEntry::Exclude(_)))
            .map(|e| (*e).clone())
            .collect();
        // Without a `select` the error points at the stage: not shared.
        if !entries
            .iter()
            .any(|e| matches!(e.node, MixEntry::Select(_)))
        {
            return self.chosen_anew(eff, at);
        }
        if let Some(done) = self.selections.iter().find(|s| s.entries == entries) {
            self.diags.extend(done.diags.iter().cloned());
            return done.names.clone();
        }
        let before = self.diags.len();
        let names = self.chosen_anew(eff, at);
        let diags = self.diags[before..].to_vec();
        self.selections.push(Selection {
            entries,
            names: names.clone(),
            diags,
        });
        names
    }

    fn chosen_anew(&mut self, eff: &[&Spanned<MixEntry>], at: Span) -> Option<Vec<String>> {
        let universe: Vec<&Task> = self
            .tasks
            .values()
            .map(|t| &**t)
            .filter(|t| !t.is_abstract)
            .collect();
        let mut chosen: IndexSet<String> = IndexSet::new();
        let mut any_select = false;
        for e in eff {
            if let MixEntry::Select(sels) = &e.node {
                any_select = true;
                for s in sels {
                    let hits = self.matching(&universe, s);
                    chosen.extend(hits);
                }
            }
        }
        if !any_select {
            self.diags.push(
                Diagnostic::error(
                    "exc::check::empty_selection",
                    format!("mixture `{}` selects no tasks", self.decl.name.node),
                    at,
                )
                .label("no `select`")
                .help("add e.g. `select collection glue, family nli, squad_*`"),
            );
            return None;
        }
        for e in eff {
            if let MixEntry::Exclude(sels) = &e.node {
                for s in sels {
                    for hit in self.matching(&universe, s) {
                        chosen.shift_remove(&hit);
                    }
                }
            }
        }
        let mut names: Vec<String> = chosen.into_iter().collect();
        names.sort();
        Some(names)
    }

    fn select(&mut self, eff: &[&Spanned<MixEntry>], at: Span) -> Vec<String> {
        let errors_before = self.diags.len();
        let Some(mut names) = self.chosen(eff, at) else {
            return Vec::new();
        };
        if let Some((count, seed, span)) = eff.iter().rev().find_map(|e| match &e.node {
            MixEntry::Subset { count, seed } => Some((count, seed, e.span)),
            _ => None,
        }) {
            match (whole(&count.node), whole(&seed.node)) {
                (Some(k), Some(seed)) => {
                    if k as usize > names.len() {
                        self.diags.push(
                            Diagnostic::error(
                                "exc::check::subset_too_large",
                                format!(
                                    "`subset {k}` asks for more tasks than the {} selected",
                                    names.len()
                                ),
                                span,
                            )
                            .label("too many")
                            .help("lower the count or select more tasks"),
                        );
                    }
                    names = rates::subset(names.len(), k as usize, seed)
                        .into_iter()
                        .filter_map(|i| names.get(i).cloned())
                        .collect();
                }
                _ => self.diags.push(
                    Diagnostic::error(
                        "exc::check::bad_setting",
                        "`subset` takes a whole count and a whole seed",
                        span,
                    )
                    .label("here")
                    .help("e.g. `subset 30 seed 1`"),
                ),
            }
        }
        // A selector that matched nothing was reported already.
        if names.is_empty() && self.diags.len() == errors_before {
            let span = eff
                .iter()
                .find(|e| matches!(e.node, MixEntry::Select(_)))
                .map_or(at, |e| e.span);
            self.diags.push(
                Diagnostic::error(
                    "exc::check::empty_selection",
                    "the selection is empty after exclusions",
                    span,
                )
                .label("selects nothing")
                .help("check the `exclude` entries"),
            );
        }
        names
    }

    fn matching(&mut self, universe: &[&Task], s: &Spanned<Selector>) -> Vec<String> {
        // The names to suggest from are gathered only when nothing matched:
        // a mixture with a long `exclude` list over a hundred tasks, swept
        // 64 times (Table 2), would otherwise copy every name per selector.
        fn attr(t: &Task, is_coll: bool) -> Option<&str> {
            if is_coll {
                t.collection.as_deref()
            } else {
                t.family.as_deref()
            }
        }
        // `collection X` / `family X` (which tag, the value wanted), a plain
        // task name, or a pattern.
        let keyed = match &s.node {
            Selector::Var(_) => return Vec::new(),
            Selector::Collection(v) | Selector::Family(v) => Some((
                matches!(s.node, Selector::Collection(_)),
                match v {
                    Value::Word(w) | Value::Str(w) => w.clone(),
                    other => show(other),
                },
            )),
            Selector::Glob(_) => None,
        };
        let hits: Vec<String> = match (&s.node, &keyed) {
            (_, Some((is_coll, want))) => universe
                .iter()
                .filter(|t| attr(t, *is_coll) == Some(want.as_str()))
                .map(|t| t.name.clone())
                .collect(),
            // A plain name is looked up, not matched against every task: the
            // 64 points of Table 2 exclude 65 names each.
            (Selector::Glob(g), None) if !g.contains(['*', '?']) => self
                .tasks
                .get(g)
                .filter(|t| !t.is_abstract)
                .map(|t| t.name.clone())
                .into_iter()
                .collect(),
            (Selector::Glob(g), None) => universe
                .iter()
                .filter(|t| glob(g, &t.name))
                .map(|t| t.name.clone())
                .collect(),
            // Only a glob has no `keyed`, and a variable returned above.
            (_, None) => Vec::new(),
        };
        if !hits.is_empty() {
            return hits;
        }
        let word = match &s.node {
            Selector::Glob(g) => g.clone(),
            Selector::Collection(v) | Selector::Family(v) => show(v),
            Selector::Var(v) => v.clone(),
        };
        let (what, pool): (String, Vec<String>) = match &keyed {
            Some((is_coll, want)) => (
                format!(
                    "no task is in {} `{want}`",
                    if *is_coll { "collection" } else { "family" }
                ),
                universe
                    .iter()
                    .filter_map(|t| attr(t, *is_coll))
                    .collect::<IndexSet<_>>()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            ),
            None => (
                format!("no task matches `{word}`"),
                universe.iter().map(|t| t.name.clone()).collect(),
            ),
        };
        let code = if matches!(&s.node, Selector::Glob(g) if !g.contains(['*', '?'])) {
            "exc::check::unknown_task"
        } else {
            "exc::check::selector_matches_nothing"
        };
        self.diags.push(
            Diagnostic::error(code, what, s.span)
                .label("matches nothing")
                .help(suggestion(&word, pool.iter().map(String::as_str)).unwrap_or_else(|| {
                    "is the task loaded? `use \"path/to/tasks\"` names where tasks come from".into()
                })),
        );
        hits
    }
}

fn whole(v: &Value) -> Option<u64> {
    match v {
        Value::Num(n) if n.value >= 0.0 && n.value.fract() == 0.0 => Some(n.value as u64),
        _ => None,
    }
}

/// `*` and `?` wildcards over a whole name. Allocation-free: checking the
/// catalog matches thousands of (selector, task) pairs.
pub fn glob(pattern: &str, name: &str) -> bool {
    // Iterative, backtracking only to the last `*`: linear stack and at most
    // pattern x name steps, for any pattern (a recursive matcher took
    // exponential time on many `*`s and overflowed on a long pattern).
    // Byte searches (memchr) keep a long plain name cheap against every task.
    let bytes = pattern.as_bytes();
    if !bytes.contains(&b'*') && !bytes.contains(&b'?') {
        return pattern == name;
    }
    if pattern.is_ascii() && name.is_ascii() {
        return wildcard(bytes, name.as_bytes(), b'*', b'?');
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    wildcard(&p, &n, '*', '?')
}

/// `glob` over units: bytes when both sides are ASCII (no allocation),
/// characters otherwise (`?` is one character, not one byte).
fn wildcard<T: Copy + Eq>(p: &[T], n: &[T], any: T, one: T) -> bool {
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = n.get(ni) {
        match p.get(pi) {
            Some(&q) if q == any => {
                star = Some((pi + 1, ni));
                pi += 1;
            }
            Some(&q) if q == one || q == c => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    star = Some((sp, sn + 1));
                    (pi, ni) = (sp, sn + 1);
                }
                None => return false,
            },
        }
    }
    p.get(pi..).unwrap_or(&[]).iter().all(|c| *c == any)
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_whole_names() {
        assert!(glob("glue_rte", "glue_rte"));
        assert!(!glob("glue_rt", "glue_rte"));
        assert!(glob("glue_*", "glue_rte"));
        assert!(glob("glue_*", "glue_"));
        assert!(!glob("glue_*", "super_glue_rte"));
        assert!(glob("*_rte", "super_glue_rte"));
        assert!(glob("*glue*", "super_glue_rte"));
        assert!(glob("glue_?te", "glue_rte"));
        assert!(!glob("glue_?te", "glue_te"));
        assert!(glob("*", ""));
        assert!(glob("t\u{e9}?k*", "t\u{e9}\u{e0}k_1"));
        assert!(!glob("a*b", "acbc"));
        assert!(glob("a*b*c", "axxbyyc"));
    }
}
