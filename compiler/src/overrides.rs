//! Settings from the command line: `exc run MIXTURE --set train.lr=rsqrt(peak=0.005)
//! --set model.dropout_rate=0 --set c4.ratio=4`.
//!
//! Each `--set` is `[STAGE.]BLOCK.KEY=VALUE`, where BLOCK is `train`, `c4`
//! or `model` and VALUE is written as it would stand after the key in that
//! block of the `.exmix` file (parsed by the grammar's `set_value`). The
//! argument becomes a source of its own, named `--set #N`, so that every
//! diagnostic about it (syntax, type, range, unknown key) points into the
//! argument, as one about the file points into the file.
//!
//! [`apply`] appends each override to the mixture's entries (after
//! `extends`, before lowering) as the last setting of its key, so it wins
//! over the file's: `train.KEY` and `c4.KEY` go to the mixture's block and
//! to every stage's (a stage's own setting would otherwise shadow them),
//! `STAGE.train.KEY` to that stage only, and `model.KEY` to the model (a
//! named model becomes `model custom NAME { KEY VALUE }`). Lowering then
//! checks each value with the file's own rules (`lower_settings`, `range`).

use crate::ast::{C4Entry, MixEntry, MixtureDecl, ModelDecl, Name, Setting};
use crate::diagnostic::{suggestion, Diagnostic};
use crate::lower_settings::{C4_KEYS, MODEL_KEYS, TRAIN_KEYS};
use crate::source::{SourceMap, Span, Spanned};
use std::path::PathBuf;

/// The blocks a `--set` may reach, with their keys.
const BLOCKS: &[(&str, &[&str])] = &[
    ("train", TRAIN_KEYS),
    ("c4", C4_KEYS),
    ("model", MODEL_KEYS),
];

const FORM_HELP: &str =
    "write `--set BLOCK.KEY=VALUE` (BLOCK: train, c4 or model; `STAGE.train.KEY=VALUE` for one \
     stage), the value as in the mixture file: `--set train.steps=1000`, \
     `--set train.lr=rsqrt(peak=0.01,warmup=1000)`";

/// One parsed `--set`.
#[derive(Debug, Clone)]
pub struct Override {
    /// The argument as given, without surrounding spaces: what the plan records.
    pub text: String,
    /// `STAGE.` when the override is for one stage.
    stage: Option<Name>,
    block: Name,
    setting: Setting,
    /// The whole argument.
    span: Span,
}

/// Parses every `--set` argument into a source of its own in `sources`
/// (`--set #1`, …); the ones that do not parse are reported and left out.
pub fn parse(
    sources: &mut SourceMap,
    args: &[String],
    diags: &mut Vec<Diagnostic>,
) -> Vec<Override> {
    let mut out = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let text = arg.trim().to_string();
        let file = sources.add(PathBuf::from(format!("--set #{}", i + 1)), text.clone());
        let whole = Span::new(file, 0, text.len());
        let Some((path, value)) = text.split_once('=') else {
            diags.push(
                Diagnostic::error(
                    "exc::set::form",
                    format!("`--set {text}` gives no value"),
                    whole,
                )
                .label("expected `BLOCK.KEY=VALUE`")
                .help(FORM_HELP),
            );
            continue;
        };
        let Some(names) = path_names(path, file, diags) else {
            continue;
        };
        let value = match crate::syntax::parse_setting_value(file, path.len() + 1, value) {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let (stage, block, key) = match names.as_slice() {
            [block, key] => (None, block.clone(), key.clone()),
            [stage, block, key] => (Some(stage.clone()), block.clone(), key.clone()),
            _ => {
                diags.push(
                    Diagnostic::error(
                        "exc::set::form",
                        format!("`{path}` is not `BLOCK.KEY` or `STAGE.BLOCK.KEY`"),
                        Span::new(file, 0, path.len()),
                    )
                    .label(format!("{} names", names.len()))
                    .help(FORM_HELP),
                );
                continue;
            }
        };
        out.push(Override {
            text,
            stage,
            block,
            setting: Setting { key, value },
            span: whole,
        });
    }
    out
}

/// The dot-separated names of `path` (at the start of `file`), each an
/// identifier; reported and `None` otherwise.
fn path_names(
    path: &str,
    file: crate::source::FileId,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<Name>> {
    let mut names = Vec::new();
    let mut start = 0;
    for part in path.split('.') {
        let span = Span::new(file, start, start + part.len());
        let ident = part
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident {
            let shown = if part.is_empty() {
                "an empty name".to_string()
            } else {
                format!("`{part}`")
            };
            diags.push(
                Diagnostic::error(
                    "exc::set::form",
                    format!("{shown} is not a block or setting name"),
                    Span::new(file, start, start + part.len().max(1)),
                )
                .label("expected a name")
                .help(FORM_HELP),
            );
            return None;
        }
        names.push(Spanned::new(part.to_string(), span));
        start += part.len() + 1;
    }
    Some(names)
}

/// A stage's name as lowering names it: its own, else its kind.
fn stage_name(s: &crate::ast::StageDecl) -> &str {
    s.name
        .as_ref()
        .map_or(s.kind.node.as_str(), |n| n.node.as_str())
}

/// Appends the overrides to mixture `m`'s `entries` (see the module doc).
/// An override for a block, key or stage the mixture does not have is
/// reported and left out.
pub fn apply(
    overrides: &[Override],
    m: &MixtureDecl,
    entries: &mut Vec<Spanned<MixEntry>>,
    diags: &mut Vec<Diagnostic>,
) {
    for o in overrides {
        if !known(o, m, entries, diags) {
            continue;
        }
        let setting = o.setting.clone();
        let entry = match o.block.node.as_str() {
            "train" => MixEntry::Train(vec![setting]),
            "c4" => MixEntry::C4(vec![Spanned::new(C4Entry::Setting(setting), o.span)]),
            _ => {
                model(o, entries, diags);
                continue;
            }
        };
        let stages = entries.iter_mut().filter_map(|e| match &mut e.node {
            MixEntry::Stage(s) => Some(s),
            _ => None,
        });
        match &o.stage {
            Some(name) => {
                for s in stages.filter(|s| stage_name(s) == name.node) {
                    s.entries.push(Spanned::new(entry.clone(), o.span));
                }
            }
            None => {
                for s in stages {
                    s.entries.push(Spanned::new(entry.clone(), o.span));
                }
                entries.push(Spanned::new(entry, o.span));
            }
        }
    }
}

/// Whether the override's stage, block and key exist (reported if not).
fn known(
    o: &Override,
    m: &MixtureDecl,
    entries: &[Spanned<MixEntry>],
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let stages: Vec<&crate::ast::StageDecl> = entries
        .iter()
        .filter_map(|e| match &e.node {
            MixEntry::Stage(s) => Some(s),
            _ => None,
        })
        .collect();
    let block = o.block.node.as_str();
    let Some((_, keys)) = BLOCKS.iter().find(|(b, _)| *b == block) else {
        // `pretrain.steps`: a stage named where a block belongs.
        let stage = stages.iter().any(|s| stage_name(s) == block);
        let help = if stage {
            format!(
                "a stage's settings are in its blocks: `{block}.train.{}=…`",
                o.setting.key.node
            )
        } else {
            suggestion(block, BLOCKS.iter().map(|(b, _)| *b))
                .unwrap_or_else(|| "the blocks are `train`, `c4` and `model`".into())
        };
        diags.push(
            Diagnostic::error(
                "exc::set::unknown_block",
                format!("`{block}` is not a block of a mixture"),
                o.block.span,
            )
            .label("unknown block")
            .help(help),
        );
        return false;
    };
    if let Some(name) = &o.stage {
        let Some(stage) = stages.iter().find(|s| stage_name(s) == name.node) else {
            let names: Vec<&str> = stages.iter().map(|s| stage_name(s)).collect();
            let help = suggestion(&name.node, names.iter().copied()).unwrap_or_else(|| {
                if names.is_empty() {
                    format!(
                        "mixture `{}` declares no stages: leave out `{}.`",
                        m.name.node, name.node
                    )
                } else {
                    format!("the stages of `{}` are: {}", m.name.node, names.join(", "))
                }
            });
            diags.push(
                Diagnostic::error(
                    "exc::set::unknown_stage",
                    format!("mixture `{}` has no stage `{}`", m.name.node, name.node),
                    name.span,
                )
                .label("unknown stage")
                .help(help),
            );
            return false;
        };
        let why = match (block, stage.kind.node.as_str()) {
            ("model", _) => Some("the model is the mixture's, not a stage's: leave out the stage"),
            ("c4", "finetune" | "evaluate") => Some("only a pretrain stage mixes in C4"),
            ("train", "evaluate") => Some("an evaluate stage trains nothing"),
            _ => None,
        };
        if let Some(why) = why {
            diags.push(
                Diagnostic::error(
                    "exc::set::wrong_stage",
                    format!("stage `{}` has no `{block}` settings", name.node),
                    o.block.span,
                )
                .label(format!("a {} stage", stage.kind.node))
                .related(stage.kind.span, "declared here")
                .help(why),
            );
            return false;
        }
    }
    let key = &o.setting.key;
    if !keys.contains(&key.node.as_str()) {
        diags.push(
            Diagnostic::error(
                "exc::check::unknown_setting",
                format!("`{}` is not a setting of `{block}`", key.node),
                key.span,
            )
            .label("unknown setting")
            .help(
                suggestion(&key.node, keys.iter().copied()).unwrap_or_else(|| {
                    format!("the settings of `{block}` are: {}", keys.join(", "))
                }),
            ),
        );
        return false;
    }
    true
}

/// `model.KEY=VALUE`: the setting added to the mixture's model, a named
/// (or the default) model turned into `model custom NAME { KEY VALUE }`.
fn model(o: &Override, entries: &mut Vec<Spanned<MixEntry>>, diags: &mut Vec<Diagnostic>) {
    let current = entries.iter().rev().find_map(|e| match &e.node {
        MixEntry::Model(m) => Some((m.clone(), e.span)),
        _ => None,
    });
    let decl = match current {
        None => ModelDecl::Custom {
            base: Some(Spanned::new("t5.1.1-base".into(), o.span)),
            settings: vec![o.setting.clone()],
        },
        Some((ModelDecl::Named(n), _)) => ModelDecl::Custom {
            base: Some(n),
            settings: vec![o.setting.clone()],
        },
        Some((ModelDecl::Custom { base, mut settings }, _)) => {
            settings.push(o.setting.clone());
            ModelDecl::Custom { base, settings }
        }
        Some((ModelDecl::Hf(dir), at)) => {
            diags.push(
                Diagnostic::error(
                    "exc::set::hf_model",
                    format!("`{}` is read from `model hf \"{}\"`'s own config.json", o.block.node.clone() + "." + &o.setting.key.node, dir.node),
                    o.setting.key.span,
                )
                .label("not a setting of this model")
                .related(at, "the mixture's model")
                .help("`--set model.KEY` changes a built-in or `model custom` model; a checkpoint's shape is its own"),
            );
            return;
        }
    };
    entries.push(Spanned::new(MixEntry::Model(decl), o.span));
}

/// The texts of `overrides`, as a plan records them.
pub fn texts(overrides: &[Override]) -> Vec<String> {
    overrides.iter().map(|o| o.text.clone()).collect()
}
