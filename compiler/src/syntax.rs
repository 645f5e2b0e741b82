//! Text -> spanned AST. pest types never leave this module,
//! [`crate::grammar`] and [`crate::syntax_error`]: callers get an
//! [`ast::File`] or a [`Diagnostic`].

use crate::ast::*;
use crate::diagnostic::Diagnostic;
pub use crate::grammar::MAX_NESTING;
use crate::grammar::{Grammar, Rule};
use crate::source::{FileId, Span, Spanned};
use crate::syntax_error::{syntax_error, too_deep};
use pest::iterators::{Pair, Pairs};
use pest::Parser as _;

/// Parse one file. A syntax error stops the file (pest cannot recover), but
/// the rest of the project is still checked.
pub fn parse(file: FileId, text: &str) -> Result<File, Diagnostic> {
    let pairs = Grammar::parse(Rule::file, text).map_err(|e| syntax_error(file, text, &e))?;
    let cx = Cx { file, offset: 0 };
    cx.nesting(&pairs)?;
    let mut items = Vec::new();
    for pair in pairs.flat_map(|p| p.into_inner()) {
        match pair.as_rule() {
            Rule::include => {
                let s = first(pair);
                items.push(Item::Include(cx.string(s)));
            }
            Rule::task => items.push(Item::Task(cx.task(pair))),
            Rule::mixture => items.push(Item::Mixture(cx.mixture(pair))),
            _ => {}
        }
    }
    Ok(File { items })
}

fn first(pair: Pair<'_, Rule>) -> Pair<'_, Rule> {
    let span = pair.clone();
    pair.into_inner().next().unwrap_or(span)
}

struct Cx {
    file: FileId,
    /// Added to every span: where the parsed text starts in its file.
    offset: usize,
}

/// Parse one hole of a `map('…')` template (`values | join(', ')`, or a
/// conditional), whose
/// text starts at byte `offset` of `file`.
pub fn parse_hole(file: FileId, offset: usize, text: &str) -> Result<TemplatePart, Diagnostic> {
    let mut pairs = Grammar::parse(Rule::map_hole, text).map_err(|e| {
        let mut d = syntax_error(file, text, &e);
        d.span = d
            .span
            .map(|s| Span::new(file, s.start + offset, s.end + offset));
        d.help = Some("a hole is a field path and functions: `{values | join(', ')}`".into());
        d
    })?;
    let cx = Cx { file, offset };
    cx.nesting(&pairs)?;
    match pairs.next().and_then(|p| p.into_inner().next()) {
        Some(c) if c.as_rule() == Rule::cond => Ok(TemplatePart::Cond(Box::new(cx.cond(c)))),
        Some(e) => Ok(TemplatePart::Hole(cx.expr(e))),
        None => Err(Diagnostic::error(
            "exc::syntax::unexpected",
            "expected a field path",
            Span::new(file, offset, offset + text.len()),
        )),
    }
}

/// Parse the value of one setting written on the command line (`exc run
/// --set train.lr=VALUE`): `VALUE` as it would stand after the key in a
/// `train { }` block, starting at byte `offset` of `file`.
pub fn parse_setting_value(
    file: FileId,
    offset: usize,
    text: &str,
) -> Result<SettingValue, Diagnostic> {
    let mut pairs = Grammar::parse(Rule::set_value, text).map_err(|e| {
        let mut d = syntax_error(file, text, &e);
        d.span = d
            .span
            .map(|s| Span::new(file, s.start + offset, s.end + offset));
        d.help = Some(
            "write the value as in the mixture's block: `train.steps=1000`, \
             `train.lr=rsqrt(peak=0.01,warmup=1000)`, `model.feed_forward_proj=relu`"
                .into(),
        );
        d
    })?;
    let cx = Cx { file, offset };
    cx.nesting(&pairs)?;
    let at = Span::new(file, offset, offset + text.len());
    let Some(v) = pairs.next().and_then(|p| p.into_inner().next()) else {
        return Err(Diagnostic::error(
            "exc::syntax::unexpected",
            "expected a value",
            at,
        ));
    };
    Ok(if v.as_rule() == Rule::call_value {
        SettingValue::Call(cx.call(v))
    } else {
        SettingValue::Value(cx.value(v))
    })
}

impl Cx {
    /// Refuse records, lists and types nested past [`MAX_NESTING`], before
    /// the recursive walks over the tree (here and in the checks) run out
    /// of stack. pest's token list is flat, so this walk is a loop.
    fn nesting(&self, pairs: &Pairs<'_, Rule>) -> Result<(), Diagnostic> {
        // Where each enclosing record, list or type ends.
        let mut ends: Vec<usize> = Vec::new();
        for pair in pairs.clone().flatten() {
            let s = pair.as_span();
            while ends.last().is_some_and(|end| s.start() >= *end) {
                ends.pop();
            }
            let nests = matches!(
                pair.as_rule(),
                Rule::record_value | Rule::list_value | Rule::record_type | Rule::list_type
            );
            if nests {
                ends.push(s.end());
                if ends.len() > MAX_NESTING {
                    return Err(too_deep(Span::new(
                        self.file,
                        s.start() + self.offset,
                        s.start() + self.offset + 1,
                    )));
                }
            }
        }
        Ok(())
    }

    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start() + self.offset, s.end() + self.offset)
    }

    fn name(&self, pair: &Pair<'_, Rule>) -> Name {
        Spanned::new(pair.as_str().to_string(), self.span(pair))
    }

    fn string(&self, pair: Pair<'_, Rule>) -> Spanned<String> {
        let span = self.span(&pair);
        let inner = pair.into_inner().next().map_or("", |p| p.as_str());
        Spanned::new(unescape(inner), span)
    }

    /// A `string` or an identifier used where a name is expected.
    fn string_or_name(&self, pair: Pair<'_, Rule>) -> Spanned<String> {
        match pair.as_rule() {
            Rule::string => self.string(pair),
            _ => self.name(&pair),
        }
    }

    fn task(&self, pair: Pair<'_, Rule>) -> TaskDecl {
        let mut is_abstract = false;
        let mut name = None;
        let mut extends = None;
        let mut entries = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::abstract_kw => is_abstract = true,
                Rule::ident => name = Some(self.name(&p)),
                Rule::extends => extends = Some(self.name(&first(p))),
                _ => {
                    let span = self.span(&p);
                    if let Some(e) = self.task_entry(p) {
                        entries.push(Spanned::new(e, span));
                    }
                }
            }
        }
        TaskDecl {
            name: name.unwrap_or_default_name(),
            is_abstract,
            extends,
            entries,
        }
    }

    fn task_entry(&self, p: Pair<'_, Rule>) -> Option<TaskEntry> {
        let rule = p.as_rule();
        let mut inner = p.into_inner();
        let entry = match rule {
            Rule::collection => TaskEntry::Collection(self.name(&inner.next()?)),
            Rule::family => TaskEntry::Family(self.name(&inner.next()?)),
            Rule::description => TaskEntry::Description(self.string(inner.next()?).node),
            Rule::examples => {
                let n = inner.next()?;
                TaskEntry::Examples(Spanned::new(number(n.as_str()), self.span(&n)))
            }
            Rule::source => TaskEntry::Source(self.source_entry(inner)?),
            Rule::fields => TaskEntry::Fields(self.record_type(inner.next()?)),
            Rule::filter => {
                let expr = self.expr(inner.next()?);
                let mut cmp = None;
                let mut only_split = None;
                while let Some(q) = inner.next() {
                    match q.as_rule() {
                        Rule::cmp_op => {
                            let v = inner.next()?;
                            cmp = Some((cmp_op(q.as_str()), self.value(v)));
                        }
                        Rule::split_only => only_split = first_name(self, q),
                        _ => {}
                    }
                }
                TaskEntry::Filter(FilterDecl {
                    expr,
                    cmp,
                    only_split,
                })
            }
            Rule::each => {
                let var = self.name(&inner.next()?);
                let mut next = inner.next()?;
                let mut index = None;
                if next.as_rule() == Rule::each_index {
                    index = first_name(self, next);
                    next = inner.next()?;
                }
                let path = self.path(next);
                let only_split = inner.next().and_then(|s| first_name(self, s));
                TaskEntry::Each(EachDecl {
                    var,
                    index,
                    path,
                    only_split,
                })
            }
            Rule::input => TaskEntry::Input(self.template(inner.next()?)),
            Rule::target => {
                let t = inner.next()?;
                match t.as_rule() {
                    Rule::template => TaskEntry::Target(TargetDecl::Template(self.template(t))),
                    _ => TaskEntry::Target(TargetDecl::Expr(self.expr(t))),
                }
            }
            Rule::references => {
                let r = inner.next()?;
                match r.as_rule() {
                    Rule::ref_record => TaskEntry::References(ReferencesDecl::Record(
                        self.named_pairs(r, |cx, v| cx.expr(v)),
                    )),
                    _ => TaskEntry::References(ReferencesDecl::Expr(self.expr(r))),
                }
            }
            Rule::postprocess => TaskEntry::Postprocess(inner.map(|c| self.call(c)).collect()),
            Rule::metrics => TaskEntry::Metrics(inner.map(|c| self.call(c)).collect()),
            Rule::decode => TaskEntry::Decode(self.call(inner.next()?)),
            Rule::lengths => TaskEntry::Lengths(
                inner
                    .filter_map(|e| {
                        let mut it = e.into_inner();
                        let k = self.name(&it.next()?);
                        let v = it.next()?;
                        Some((k, Spanned::new(number(v.as_str()).value, self.span(&v))))
                    })
                    .collect(),
            ),
            Rule::sample => TaskEntry::Sample(self.value(inner.next()?)),
            _ => return None,
        };
        Some(entry)
    }

    /// The inside of `source`: the source, then its joins.
    fn source_entry(&self, mut inner: Pairs<'_, Rule>) -> Option<SourceEntry> {
        let source = self.source(inner.next()?);
        let joins = inner.filter_map(|j| self.join(j)).collect();
        Some(SourceEntry { source, joins })
    }

    fn join(&self, p: Pair<'_, Rule>) -> Option<JoinDecl> {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let source = self.source(it.next()?);
        let key = self.name(&it.next()?);
        let on = self.name(&it.next()?);
        let set_pair = it.next()?;
        let set_span = self.span(&set_pair);
        let set = self.named_pairs(set_pair, |cx, v| cx.name(&v));
        let unmatched = it
            .next()
            .and_then(|u| u.into_inner().next())
            .map(|u| self.name(&u));
        Some(JoinDecl {
            source,
            key,
            on,
            set,
            unmatched,
            set_span,
            span,
        })
    }

    fn source(&self, p: Pair<'_, Rule>) -> SourceDecl {
        let rule = p.as_rule();
        let mut dataset = None;
        let mut config = None;
        let mut revision = None;
        let mut format = None;
        let mut columns = None;
        let mut header = None;
        let mut quoting = None;
        let mut rows = None;
        let mut parts = None;
        let mut splits = Vec::new();
        let mut file_splits = Vec::new();
        // `config` and `revision` are told apart by the keyword before them.
        let text = p.as_str().to_string();
        let base = p.as_span().start();
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::string => {
                    let before = text
                        .get(..q.as_span().start() - base)
                        .unwrap_or("")
                        .trim_end();
                    let s = self.string(q);
                    if before.ends_with("config") {
                        config = Some(s);
                    } else if before.ends_with("revision") {
                        revision = Some(s);
                    } else {
                        dataset = Some(s);
                    }
                }
                Rule::ident => format = Some(self.name(&q)),
                Rule::source_option => {
                    let opt = q.as_str().to_string();
                    if let Some(v) = q.into_inner().next() {
                        if v.as_rule() == Rule::ident_list {
                            columns = Some(v.into_inner().map(|i| self.name(&i)).collect());
                        } else if v.as_rule() == Rule::string {
                            rows = Some(self.string(v));
                        } else if opt.starts_with("header") {
                            header = Some(v.as_str() == "true");
                        } else {
                            quoting = Some(v.as_str() == "true");
                        }
                    }
                }
                Rule::parts => parts = self.parts(q),
                Rule::split_map => {
                    for e in q.into_inner() {
                        let mut it = e.into_inner();
                        if let (Some(k), Some(v)) = (it.next(), it.next()) {
                            splits.push((self.name(&k), self.string(v)));
                        }
                    }
                }
                Rule::file_split_map => {
                    for e in q.into_inner() {
                        let mut it = e.into_inner();
                        if let (Some(k), Some(v)) = (it.next(), it.next()) {
                            file_splits.push((self.name(&k), self.split_files(v)));
                        }
                    }
                }
                _ => {}
            }
        }
        match rule {
            Rule::hf_source | Rule::join_hf => SourceDecl::Hf {
                dataset: dataset.unwrap_or_else(|| Spanned::new(String::new(), Span::default())),
                config,
                revision,
                parts,
                splits,
            },
            _ => SourceDecl::Files {
                format: format.unwrap_or_default_name(),
                columns,
                header,
                quoting,
                rows,
                parts,
                splits: file_splits,
            },
        }
    }

    fn parts(&self, p: Pair<'_, Rule>) -> Option<PartsDecl> {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let field = self.name(&it.next()?);
        let list = it.next()?;
        let parts = match list.as_rule() {
            Rule::part_list => list
                .into_inner()
                .filter_map(|l| l.into_inner().next())
                .map(|l| {
                    let name = self.string_or_name(l);
                    (name.clone(), name)
                })
                .collect(),
            _ => list
                .into_inner()
                .filter_map(|e| {
                    let mut it = e.into_inner();
                    let name = self.string_or_name(it.next()?.into_inner().next()?);
                    Some((name, self.string(it.next()?)))
                })
                .collect(),
        };
        Some(PartsDecl { field, parts, span })
    }

    /// The `name: value` pairs inside `p`, each value read by `value`.
    fn named_pairs<T>(
        &self,
        p: Pair<'_, Rule>,
        value: impl Fn(&Self, Pair<'_, Rule>) -> T,
    ) -> Vec<(Name, T)> {
        p.into_inner()
            .filter_map(|pair| {
                let mut it = pair.into_inner();
                let name = self.name(&it.next()?);
                Some((name, value(self, it.next()?)))
            })
            .collect()
    }

    fn split_files(&self, v: Pair<'_, Rule>) -> Spanned<SplitFiles> {
        let span = self.span(&v);
        match v.as_rule() {
            Rule::column_files => Spanned::new(
                SplitFiles::Columns(self.named_pairs(v, |cx, p| cx.string(p))),
                span,
            ),
            _ => {
                let s = self.string(v);
                Spanned::new(SplitFiles::Pattern(s.node), span)
            }
        }
    }

    fn record_type(&self, p: Pair<'_, Rule>) -> Vec<FieldDecl> {
        p.into_inner()
            .filter_map(|f| {
                let mut it = f.into_inner();
                let name = self.string_or_name(it.next()?);
                let ty = self.type_expr(it.next()?);
                Some(FieldDecl { name, ty })
            })
            .collect()
    }

    fn type_expr(&self, p: Pair<'_, Rule>) -> Spanned<TypeExpr> {
        let span = self.span(&p);
        let mut inner = p.into_inner();
        let base = match inner.next() {
            Some(b) => {
                let bspan = self.span(&b);
                let ty = match b.as_rule() {
                    Rule::class_type => TypeExpr::Class(
                        b.into_inner()
                            .filter_map(|l| l.into_inner().next())
                            .map(|l| self.string_or_name(l))
                            .collect(),
                    ),
                    Rule::list_type => match b.into_inner().next() {
                        Some(t) => TypeExpr::List(Box::new(self.type_expr(t))),
                        None => TypeExpr::Prim(String::new()),
                    },
                    Rule::record_type => TypeExpr::Record(self.record_type(b)),
                    _ => TypeExpr::Prim(b.as_str().to_string()),
                };
                Spanned::new(ty, bspan)
            }
            None => Spanned::new(TypeExpr::Prim(String::new()), span),
        };
        if inner.next().is_some() {
            Spanned::new(TypeExpr::Optional(Box::new(base)), span)
        } else {
            base
        }
    }

    fn template(&self, p: Pair<'_, Rule>) -> Template {
        let span = self.span(&p);
        let raw = p.as_str();
        let text = raw
            .get(1..raw.len().saturating_sub(1))
            .unwrap_or("")
            .to_string();
        let mut parts: Vec<TemplatePart> = Vec::new();
        for q in p.into_inner() {
            let piece = match q.as_rule() {
                Rule::t_text | Rule::sq_text => q.as_str().to_string(),
                Rule::t_escape => match q.as_str() {
                    "{{" => "{".to_string(),
                    "}}" => "}".to_string(),
                    e => unescape(e),
                },
                Rule::t_hole => {
                    match q.into_inner().next() {
                        Some(c) if c.as_rule() == Rule::cond => {
                            parts.push(TemplatePart::Cond(Box::new(self.cond(c))));
                        }
                        Some(e) => parts.push(TemplatePart::Hole(self.expr(e))),
                        None => {}
                    }
                    continue;
                }
                _ => continue,
            };
            match parts.last_mut() {
                Some(TemplatePart::Text(t)) => t.push_str(&piece),
                _ => parts.push(TemplatePart::Text(piece)),
            }
        }
        Template { text, parts, span }
    }

    /// `if TEST then A else B`.
    fn cond(&self, p: Pair<'_, Rule>) -> Cond {
        let span = self.span(&p);
        let mut inner = p.into_inner();
        let test = inner.next().map_or(Test::And(Vec::new()), |t| self.test(t));
        let then = self.branch(inner.next(), span);
        let otherwise = self.branch(inner.next(), span);
        Cond {
            test,
            then,
            otherwise,
            span,
        }
    }

    fn branch(&self, p: Option<Pair<'_, Rule>>, at: Span) -> Branch {
        match p.and_then(|b| b.into_inner().next()) {
            Some(q) if q.as_rule() == Rule::cond => Branch::Cond(Box::new(self.cond(q))),
            Some(q) if q.as_rule() == Rule::sq_template => Branch::Template(self.template(q)),
            Some(q) => Branch::Expr(self.expr(q)),
            None => Branch::Template(Template {
                text: String::new(),
                parts: Vec::new(),
                span: at,
            }),
        }
    }

    /// `test`, `conj`, `negation` and `comparison`: or over and over not.
    fn test(&self, p: Pair<'_, Rule>) -> Test {
        match p.as_rule() {
            Rule::test | Rule::conj => {
                let or = p.as_rule() == Rule::test;
                let mut items: Vec<Test> = p.into_inner().map(|q| self.test(q)).collect();
                match (items.len(), or) {
                    (1, _) => items.pop().unwrap_or(Test::And(Vec::new())),
                    (_, true) => Test::Or(items),
                    (_, false) => Test::And(items),
                }
            }
            Rule::negation => {
                let mut negated = false;
                let mut test = Test::And(Vec::new());
                for q in p.into_inner() {
                    match q.as_rule() {
                        Rule::not_kw => negated = !negated,
                        _ => test = self.test(q),
                    }
                }
                if negated {
                    Test::Not(Box::new(test))
                } else {
                    test
                }
            }
            Rule::comparison => {
                let mut inner = p.into_inner();
                let Some(first) = inner.next() else {
                    return Test::And(Vec::new());
                };
                if first.as_rule() == Rule::test {
                    return self.test(first);
                }
                let left = self.expr(first);
                match (inner.next(), inner.next()) {
                    (Some(op), Some(right)) => {
                        let right = self.operand(right);
                        if op.as_rule() == Rule::in_kw {
                            Test::In(left, right)
                        } else {
                            Test::Cmp(left, cmp_op(op.as_str()), right)
                        }
                    }
                    _ => Test::Is(left),
                }
            }
            _ => Test::And(Vec::new()),
        }
    }

    fn operand(&self, p: Pair<'_, Rule>) -> Operand {
        match p.into_inner().next() {
            Some(q) if q.as_rule() == Rule::expr => Operand::Expr(self.expr(q)),
            Some(q) => Operand::Value(self.value(q)),
            None => Operand::Value(Spanned::new(Value::Null, Span::default())),
        }
    }

    fn expr(&self, p: Pair<'_, Rule>) -> Expr {
        let span = self.span(&p);
        let mut inner = p.into_inner();
        let head = match inner.next() {
            Some(z) if z.as_rule() == Rule::zip_head => Head::Zip(
                z.into_inner()
                    .filter_map(|l| {
                        let mut it = l.into_inner();
                        let first = it.next()?;
                        Some(match it.next() {
                            Some(path) => ZipList {
                                name: Some(self.name(&first)),
                                path: self.path(path),
                            },
                            None => ZipList {
                                name: None,
                                path: self.path(first),
                            },
                        })
                    })
                    .collect(),
            ),
            Some(t) if t.as_rule() == Rule::texts_head => {
                Head::Texts(t.into_inner().map(|s| self.string(s)).collect())
            }
            Some(path) => Head::Path(self.path(path)),
            None => Head::Path(Spanned::new(Path::default(), span)),
        };
        let calls = inner.map(|c| self.call(c)).collect();
        Expr { head, calls, span }
    }

    fn path(&self, p: Pair<'_, Rule>) -> Spanned<Path> {
        let span = self.span(&p);
        let segs = p
            .into_inner()
            .map(|s| match s.as_rule() {
                Rule::int => Segment::Index(s.as_str().parse().unwrap_or(usize::MAX)),
                _ => Segment::Field(s.as_str().to_string()),
            })
            .collect();
        Spanned::new(Path(segs), span)
    }

    fn call(&self, p: Pair<'_, Rule>) -> Call {
        let span = self.span(&p);
        let mut inner = p.into_inner();
        let name = inner.next().map(|n| self.name(&n)).unwrap_or_default_name();
        let args = inner
            .filter_map(|a| {
                let mut it = a.into_inner().peekable();
                let first = it.next()?;
                if let Some(v) = it.next() {
                    Some(Arg {
                        name: Some(self.name(&first)),
                        value: self.value(v),
                    })
                } else {
                    Some(Arg {
                        name: None,
                        value: self.value(first),
                    })
                }
            })
            .collect();
        Call { name, args, span }
    }

    fn value(&self, p: Pair<'_, Rule>) -> Spanned<Value> {
        let span = self.span(&p);
        let v = match p.as_rule() {
            Rule::string => Value::Str(self.string(p).node),
            Rule::number => Value::Num(number(p.as_str())),
            Rule::boolean => Value::Bool(p.as_str() == "true"),
            Rule::null => Value::Null,
            Rule::var => Value::Var(p.as_str().trim_start_matches('$').to_string()),
            // A dotted path stays a word; functions that take fields read it as a path.
            Rule::bare | Rule::ident | Rule::arg_path => Value::Word(p.as_str().to_string()),
            Rule::list_value => Value::List(p.into_inner().map(|v| self.value(v)).collect()),
            Rule::record_value => Value::Record(
                p.into_inner()
                    .filter_map(|e| {
                        let mut it = e.into_inner();
                        let k = self.string_or_name(it.next()?);
                        let v = self.value(it.next()?);
                        Some((k, v))
                    })
                    .collect(),
            ),
            _ => Value::Word(p.as_str().to_string()),
        };
        Spanned::new(v, span)
    }

    fn setting(&self, p: Pair<'_, Rule>) -> Option<Setting> {
        let mut it = p.into_inner();
        let key = self.name(&it.next()?);
        let v = it.next()?;
        let value = if v.as_rule() == Rule::call_value {
            SettingValue::Call(self.call(v))
        } else {
            SettingValue::Value(self.value(v))
        };
        Some(Setting { key, value })
    }

    fn settings(&self, p: Pair<'_, Rule>) -> Vec<Setting> {
        p.into_inner().filter_map(|s| self.setting(s)).collect()
    }

    fn mixture(&self, pair: Pair<'_, Rule>) -> MixtureDecl {
        let mut name = None;
        let mut extends = None;
        let mut entries = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = Some(self.name(&p)),
                Rule::extends => extends = Some(self.name(&first(p))),
                _ => {
                    let span = self.span(&p);
                    if let Some(e) = self.mix_entry(p) {
                        entries.push(Spanned::new(e, span));
                    }
                }
            }
        }
        MixtureDecl {
            name: name.unwrap_or_default_name(),
            extends,
            entries,
        }
    }

    fn selectors(&self, inner: Pairs<'_, Rule>) -> Vec<Spanned<Selector>> {
        inner
            .filter_map(|s| {
                let span = self.span(&s);
                let q = s.into_inner().next()?;
                let sel = match q.as_rule() {
                    Rule::sel_keyed => {
                        let mut it = q.into_inner();
                        let key = it.next()?.as_str().to_string();
                        let v = self.value(it.next()?).node;
                        if key == "collection" {
                            Selector::Collection(v)
                        } else {
                            Selector::Family(v)
                        }
                    }
                    Rule::sel_var => Selector::Var(q.as_str().trim_start_matches('$').to_string()),
                    _ => Selector::Glob(q.as_str().to_string()),
                };
                Some(Spanned::new(sel, span))
            })
            .collect()
    }

    fn mix_entry(&self, p: Pair<'_, Rule>) -> Option<MixEntry> {
        let rule = p.as_rule();
        let entry = match rule {
            Rule::uses => MixEntry::Use(p.into_inner().map(|s| self.string(s)).collect()),
            Rule::description => MixEntry::Description(self.string(p.into_inner().next()?).node),
            Rule::select => MixEntry::Select(self.selectors(p.into_inner())),
            Rule::exclude => MixEntry::Exclude(self.selectors(p.into_inner())),
            Rule::subset => {
                let mut it = p.into_inner();
                let count = self.value(it.next()?);
                let seed = self.value(it.next()?);
                MixEntry::Subset { count, seed }
            }
            Rule::rates => {
                let q = p.into_inner().next()?;
                if q.as_rule() == Rule::weights {
                    MixEntry::Rates(RatesDecl::Weights(
                        q.into_inner()
                            .filter_map(|w| {
                                let mut it = w.into_inner();
                                let k = self.name(&it.next()?);
                                let v = it.next()?;
                                Some((k, Spanned::new(number(v.as_str()), self.span(&v))))
                            })
                            .collect(),
                    ))
                } else {
                    MixEntry::Rates(RatesDecl::Policy(self.call(q)))
                }
            }
            Rule::c4 => MixEntry::C4(
                p.into_inner()
                    .filter_map(|e| {
                        let span = self.span(&e);
                        let entry = match e.as_rule() {
                            Rule::source => C4Entry::Source(self.source_entry(e.into_inner())?),
                            _ => C4Entry::Setting(self.setting(e)?),
                        };
                        Some(Spanned::new(entry, span))
                    })
                    .collect(),
            ),
            Rule::model => {
                let q = p.into_inner().next()?;
                match q.as_rule() {
                    Rule::model_hf => MixEntry::Model(ModelDecl::Hf(self.string(first(q)))),
                    Rule::model_custom => {
                        let mut base = None;
                        let mut settings = Vec::new();
                        for r in q.into_inner() {
                            match r.as_rule() {
                                Rule::model_ident => base = Some(self.name(&r)),
                                _ => settings = self.settings(r),
                            }
                        }
                        MixEntry::Model(ModelDecl::Custom { base, settings })
                    }
                    _ => MixEntry::Model(ModelDecl::Named(self.name(&first(q)))),
                }
            }
            Rule::train => MixEntry::Train(self.settings(p.into_inner().next()?)),
            Rule::stage => {
                let mut kind = None;
                let mut name = None;
                let mut entries = Vec::new();
                for q in p.into_inner() {
                    match q.as_rule() {
                        Rule::stage_kind => kind = Some(self.name(&q)),
                        Rule::ident => name = Some(self.name(&q)),
                        _ => {
                            let span = self.span(&q);
                            if let Some(e) = self.mix_entry(q) {
                                entries.push(Spanned::new(e, span));
                            }
                        }
                    }
                }
                MixEntry::Stage(StageDecl {
                    kind: kind.unwrap_or_default_name(),
                    name,
                    entries,
                })
            }
            Rule::sweep => {
                let mut it = p.into_inner();
                let var = self.name(&it.next()?);
                let values = it.map(|v| self.value(v)).collect();
                MixEntry::Sweep { var, values }
            }
            Rule::from => MixEntry::From(self.string_or_name(p.into_inner().next()?)),
            Rule::splits => MixEntry::Splits(p.into_inner().map(|s| self.name(&s)).collect()),
            Rule::each_task => MixEntry::PerTask,
            Rule::last_ckpt => MixEntry::LastCheckpoint,
            Rule::setting => MixEntry::Setting(self.setting(p)?),
            _ => return None,
        };
        Some(entry)
    }
}

fn first_name(cx: &Cx, p: Pair<'_, Rule>) -> Option<Name> {
    p.into_inner().next().map(|n| cx.name(&n))
}

trait DefaultName {
    fn unwrap_or_default_name(self) -> Name;
}

impl DefaultName for Option<Name> {
    fn unwrap_or_default_name(self) -> Name {
        self.unwrap_or_else(|| Spanned::new(String::new(), Span::default()))
    }
}

fn cmp_op(s: &str) -> CmpOp {
    match s {
        "==" => CmpOp::Eq,
        "!=" => CmpOp::Ne,
        "<" => CmpOp::Lt,
        "<=" => CmpOp::Le,
        ">" => CmpOp::Gt,
        _ => CmpOp::Ge,
    }
}

fn number(text: &str) -> Number {
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let is_int = !clean.contains(['.', 'e', 'E']);
    Number {
        value: clean.parse().unwrap_or(f64::NAN),
        is_int,
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(q @ ('"' | '\'' | '\\' | '{' | '}')) => out.push(q),
            // Unknown escapes stay as written, so regex patterns keep `\d`, `\x27`.
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_task() {
        let src = r#"
task glue_rte {
  collection glue  family nli
  source hf "nyu-mll/glue" config "rte" { train = "train", validation = "validation" }
  fields { sentence1: text, sentence2: text, label: class[entailment, not_entailment], idx: int }
  input  "rte sentence1: {sentence1} sentence2: {sentence2 | strip}"
  target label
  metrics accuracy, f1(average = "macro")
  examples 2_490
  sample { sentence1: "No weapons were found.", sentence2: "Weapons were found.", label: 1, idx: 0 }
}"#;
        let file = parse(FileId(0), src).unwrap();
        let Item::Task(t) = &file.items[0] else {
            panic!("not a task")
        };
        assert_eq!(t.name.node, "glue_rte");
        assert_eq!(t.entries.len(), 9);
        let TaskEntry::Input(tpl) = &t.entries[4].node else {
            panic!("no input")
        };
        assert_eq!(tpl.parts.len(), 4);
        let TaskEntry::Examples(n) = &t.entries[7].node else {
            panic!("no examples")
        };
        assert_eq!(n.value, 2490.0);
    }

    #[test]
    fn keywords_end_at_a_word_boundary() {
        let task = |entry: &str| {
            format!("task t {{ fields {{ label: text }} input \"x\" {entry} sample {{ label: \"a\" }} }}")
        };
        assert!(parse(FileId(0), &task("target label metrics accuracy")).is_ok());
        for glued in [
            "targetlabel metrics accuracy",
            "target label metricsaccuracy",
        ] {
            let err = parse(FileId(0), &task(glued)).unwrap_err();
            assert_eq!(err.code, "exc::syntax::unexpected", "{glued}");
        }
        let err = parse(FileId(0), "mixture m { selectglue_rte }").unwrap_err();
        assert_eq!(
            err.help.as_deref(),
            Some("a keyword ends at a space: did you mean `select glue_rte`?")
        );
    }

    /// Every keyword of the grammar goes through `keyword` (a word boundary)
    /// and is in `kw_word`, whole: a keyword added without both would again
    /// read `targetlabel` as `target label`.
    #[test]
    fn every_keyword_is_guarded() {
        let grammar = include_str!("../../grammar/exc.pest");
        let quoted = |line: &str| -> Vec<(usize, String)> {
            let mut out = Vec::new();
            let mut rest = line;
            let mut base = 0;
            while let Some(open) = rest.find('"') {
                let after = &rest[open + 1..];
                let Some(close) = after.find('"') else { break };
                out.push((base + open, after[..close].to_string()));
                base += open + close + 2;
                rest = &after[close + 1..];
            }
            out
        };
        let listed: Vec<String> = grammar
            .split("kw_word = @{")
            .nth(1)
            .and_then(|r| r.split('}').next())
            .map(|body| quoted(body).into_iter().map(|(_, w)| w).collect())
            .unwrap_or_default();
        assert!(listed.len() > 40, "{listed:?}");
        // Rules that guard their words themselves, and the keyword list.
        let exempt = [
            "boolean",
            "null",
            "number",
            "sel_key",
            "kw_word",
            "string",
            "str_inner",
            "sq_inner",
        ];
        let mut in_kw_word = false;
        for line in grammar.lines() {
            let code = line.split("//").next().unwrap_or("");
            let rule = code.split('=').next().unwrap_or("").trim();
            in_kw_word = (in_kw_word || rule == "kw_word") && !code.starts_with('}');
            if in_kw_word || exempt.contains(&rule) {
                continue;
            }
            for (at, w) in quoted(code) {
                if !w.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    continue;
                }
                assert!(
                    code[..at].trim_end().ends_with("keyword ~"),
                    "`{w}` in `{rule}` lacks `keyword ~`"
                );
                assert!(listed.contains(&w), "`{w}` is not in `kw_word`");
            }
        }
        // A word listed before a longer one it begins would take its place.
        for (i, w) in listed.iter().enumerate() {
            for longer in &listed[i + 1..] {
                assert!(
                    !longer.starts_with(w.as_str()),
                    "`{w}` is listed before `{longer}`"
                );
            }
        }
        for w in &listed {
            let whole = Grammar::parse(Rule::kw_word, w).map(|p| p.as_str().len());
            assert_eq!(whole.ok(), Some(w.len()), "`{w}` is not matched whole");
            assert!(
                Grammar::parse(Rule::kw_word, &format!("{w}x")).is_err(),
                "{w}x"
            );
        }
    }

    #[test]
    fn reports_a_misspelled_keyword() {
        let err = parse(FileId(0), "task t { exampels 3 }").unwrap_err();
        assert_eq!(err.code, "exc::syntax::unexpected");
        assert_eq!(err.help.as_deref(), Some("did you mean `examples`?"));
    }
}
