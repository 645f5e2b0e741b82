//! Jinja template text -> a small AST: the subset promptsource and
//! lm-evaluation-harness prompts use (`{{ expr }}`, `{% if %}`/`elif`/`else`,
//! `{% set %}`, filters, attribute and item access, method calls, literals,
//! comparisons, `and`/`or`/`not`, arithmetic). Anything else is a parse
//! error with its reason, which the translator writes as a `TODO`.

/// A piece of template text.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(String),
    Out(Expr),
    /// `if`/`elif` arms in order, then the `else` body.
    If(Vec<(Expr, Vec<Node>)>, Option<Vec<Node>>),
    Set(String, Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Var(String),
    Str(String),
    Num(f64, bool),
    Bool(bool),
    None,
    List(Vec<Expr>),
    Attr(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Slice(Box<Expr>, Option<Box<Expr>>, Option<Box<Expr>>),
    Call(Box<Expr>, Vec<Expr>),
    Filter(Box<Expr>, String, Vec<Expr>),
    Bin(String, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(String, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
}

/// Parse a whole template (Jinja's default environment: no trimming of
/// blocks; `{%-`/`-%}` and `{{-`/`-}}` trim the whitespace beside them).
pub fn parse(src: &str) -> Result<Vec<Node>, String> {
    let toks = tags(src)?;
    let mut pos = 0;
    let (nodes, end) = block(&toks, &mut pos)?;
    match end {
        None => Ok(nodes),
        Some(e) => Err(format!("`{{% {e} %}}` without its `if`")),
    }
}

enum Tag {
    Text(String),
    Out(String),
    Stmt(String),
}

fn tags(src: &str) -> Result<Vec<Tag>, String> {
    let mut out = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    loop {
        let next = [rest.find("{{"), rest.find("{%"), rest.find("{#")]
            .into_iter()
            .flatten()
            .min();
        let Some(at) = next else {
            push_text(&mut out, rest, trim_next, false);
            return Ok(out);
        };
        let open = &rest[at..at + 2];
        let body_start = at + 2;
        let trim_before = rest[body_start..].starts_with('-');
        push_text(&mut out, &rest[..at], trim_next, trim_before);
        let close = match open {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        let Some(len) = find_close(&rest[body_start..], close) else {
            return Err(format!("`{open}` is never closed"));
        };
        let mut body = &rest[body_start..body_start + len];
        body = body.strip_prefix('-').unwrap_or(body);
        trim_next = body.ends_with('-');
        body = body.strip_suffix('-').unwrap_or(body);
        match open {
            "{{" => out.push(Tag::Out(body.trim().to_string())),
            "{%" => out.push(Tag::Stmt(body.trim().to_string())),
            _ => {}
        }
        rest = &rest[body_start + len + 2..];
    }
}

/// The end of a tag, outside string literals.
fn find_close(s: &str, close: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match quote {
            Some(_) if c == '\\' => {
                it.next();
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if s[i..].starts_with(close) => return Some(i),
            None => {}
        }
    }
    None
}

fn push_text(out: &mut Vec<Tag>, text: &str, trim_start: bool, trim_end: bool) {
    let mut t = text;
    if trim_start {
        t = t.trim_start();
    }
    if trim_end {
        t = t.trim_end();
    }
    if !t.is_empty() {
        out.push(Tag::Text(t.to_string()));
    }
}

/// Nodes up to an `elif`/`else`/`endif`; that tag's text is returned with them.
fn block(toks: &[Tag], pos: &mut usize) -> Result<(Vec<Node>, Option<String>), String> {
    let mut nodes = Vec::new();
    while let Some(t) = toks.get(*pos) {
        *pos += 1;
        match t {
            Tag::Text(s) => nodes.push(Node::Text(s.clone())),
            Tag::Out(e) => nodes.push(Node::Out(expr(e)?)),
            Tag::Stmt(s) => {
                let (word, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
                match word {
                    "if" => nodes.push(if_block(rest, toks, pos)?),
                    "set" => {
                        let Some((name, value)) = rest.split_once('=') else {
                            return Err(format!("`{{% {s} %}}`: only `set NAME = VALUE` is read"));
                        };
                        nodes.push(Node::Set(name.trim().to_string(), expr(value)?));
                    }
                    "elif" | "else" | "endif" => return Ok((nodes, Some(s.clone()))),
                    _ => {
                        return Err(format!(
                            "the statement `{{% {word} %}}` has no exc counterpart"
                        ))
                    }
                }
            }
        }
    }
    Ok((nodes, None))
}

fn if_block(test: &str, toks: &[Tag], pos: &mut usize) -> Result<Node, String> {
    let mut arms = Vec::new();
    let mut test = expr(test)?;
    loop {
        let (body, end) = block(toks, pos)?;
        arms.push((test, body));
        let end = end.ok_or("an `{% if %}` without its `{% endif %}`")?;
        let (word, rest) = end.split_once(char::is_whitespace).unwrap_or((&end, ""));
        match word {
            "elif" => test = expr(rest)?,
            "else" => {
                let (body, end) = block(toks, pos)?;
                return match end.as_deref() {
                    Some("endif") => Ok(Node::If(arms, Some(body))),
                    _ => Err("an `{% else %}` without its `{% endif %}`".into()),
                };
            }
            _ => return Ok(Node::If(arms, None)),
        }
    }
}

// ------------------------------------------------------------------ expressions

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    Num(f64, bool),
    Op(String),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' {
            let mut t = String::new();
            i += 1;
            while i < cs.len() && cs[i] != c {
                if cs[i] == '\\' && i + 1 < cs.len() {
                    i += 1;
                    t.push(match cs[i] {
                        'n' => '\n',
                        't' => '\t',
                        o => o,
                    });
                } else {
                    t.push(cs[i]);
                }
                i += 1;
            }
            if i == cs.len() {
                return Err(format!("a string is never closed in `{s}`"));
            }
            i += 1;
            out.push(Tok::Str(t));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.' || cs[i] == '_') {
                i += 1;
            }
            let text: String = cs[start..i].iter().filter(|c| **c != '_').collect();
            let v = text
                .parse::<f64>()
                .map_err(|_| format!("`{text}` is not a number"))?;
            out.push(Tok::Num(v, !text.contains('.')));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            out.push(Tok::Name(cs[start..i].iter().collect()));
        } else {
            let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
            if ["==", "!=", "<=", ">=", "//", "**"].contains(&two.as_str()) {
                out.push(Tok::Op(two));
                i += 2;
            } else if "+-*/%<>|.,:()[]{}~".contains(c) {
                out.push(Tok::Op(c.to_string()));
                i += 1;
            } else {
                return Err(format!("`{c}` is not read in `{s}`"));
            }
        }
    }
    Ok(out)
}

pub fn expr(s: &str) -> Result<Expr, String> {
    let toks = lex(s)?;
    let mut p = P {
        t: toks,
        i: 0,
        src: s,
    };
    let e = p.cond()?;
    if p.i != p.t.len() {
        return Err(format!("`{s}` is not read past {:?}", p.t[p.i]));
    }
    Ok(e)
}

struct P<'a> {
    t: Vec<Tok>,
    i: usize,
    src: &'a str,
}

impl P<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn op(&mut self, o: &str) -> bool {
        if self.peek() == Some(&Tok::Op(o.into())) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn word(&mut self, w: &str) -> bool {
        if self.peek() == Some(&Tok::Name(w.into())) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, o: &str) -> Result<(), String> {
        if self.op(o) {
            Ok(())
        } else {
            Err(format!("`{o}` expected in `{}`", self.src))
        }
    }
    fn cond(&mut self) -> Result<Expr, String> {
        let a = self.or()?;
        if self.word("if") {
            let c = self.or()?;
            let b = if self.word("else") {
                self.cond()?
            } else {
                Expr::Str(String::new())
            };
            return Ok(Expr::Cond(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(a)
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut a = self.and()?;
        while self.word("or") {
            a = Expr::Or(Box::new(a), Box::new(self.and()?));
        }
        Ok(a)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut a = self.not()?;
        while self.word("and") {
            a = Expr::And(Box::new(a), Box::new(self.not()?));
        }
        Ok(a)
    }
    fn not(&mut self) -> Result<Expr, String> {
        if self.word("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<Expr, String> {
        let a = self.arith()?;
        for o in ["==", "!=", "<=", ">=", "<", ">"] {
            if self.op(o) {
                return Ok(Expr::Cmp(o.into(), Box::new(a), Box::new(self.arith()?)));
            }
        }
        if self.word("in") {
            return Ok(Expr::Cmp("in".into(), Box::new(a), Box::new(self.arith()?)));
        }
        if self.peek() == Some(&Tok::Name("not".into()))
            && self.t.get(self.i + 1) == Some(&Tok::Name("in".into()))
        {
            self.i += 2;
            let b = self.arith()?;
            return Ok(Expr::Not(Box::new(Expr::Cmp(
                "in".into(),
                Box::new(a),
                Box::new(b),
            ))));
        }
        Ok(a)
    }
    fn arith(&mut self) -> Result<Expr, String> {
        let mut a = self.term()?;
        loop {
            let o = if self.op("+") {
                "+"
            } else if self.op("-") {
                "-"
            } else if self.op("~") {
                "~"
            } else {
                return Ok(a);
            };
            a = Expr::Bin(o.into(), Box::new(a), Box::new(self.term()?));
        }
    }
    fn term(&mut self) -> Result<Expr, String> {
        let mut a = self.unary()?;
        loop {
            let o = ["//", "*", "/", "%"].into_iter().find(|o| self.op(o));
            let Some(o) = o else { return Ok(a) };
            a = Expr::Bin(o.into(), Box::new(a), Box::new(self.unary()?));
        }
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.op("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        let mut e = self.postfix()?;
        while self.op("|") {
            let Some(Tok::Name(f)) = self.peek().cloned() else {
                return Err(format!("a filter name expected in `{}`", self.src));
            };
            self.i += 1;
            let args = if self.op("(") {
                self.args(")")?
            } else {
                Vec::new()
            };
            e = Expr::Filter(Box::new(e), f, args);
        }
        Ok(e)
    }
    fn args(&mut self, close: &str) -> Result<Vec<Expr>, String> {
        let mut args = Vec::new();
        while !self.op(close) {
            // Keyword arguments keep their value only (none in the corpus needs the name).
            if let (Some(Tok::Name(_)), Some(Tok::Op(eq))) = (self.peek(), self.t.get(self.i + 1)) {
                if eq == "=" {
                    return Err(format!("keyword arguments are not read in `{}`", self.src));
                }
            }
            args.push(self.cond()?);
            if !self.op(",") {
                self.expect(close)?;
                break;
            }
        }
        Ok(args)
    }
    fn postfix(&mut self) -> Result<Expr, String> {
        let mut e = self.primary()?;
        loop {
            if self.op(".") {
                match self.peek().cloned() {
                    Some(Tok::Name(n)) => {
                        self.i += 1;
                        e = Expr::Attr(Box::new(e), n);
                    }
                    Some(Tok::Num(n, true)) => {
                        self.i += 1;
                        e = Expr::Index(Box::new(e), Box::new(Expr::Num(n, true)));
                    }
                    _ => return Err(format!("a name expected after `.` in `{}`", self.src)),
                }
            } else if self.op("[") {
                let start = if self.peek() == Some(&Tok::Op(":".into())) {
                    None
                } else {
                    Some(self.cond()?)
                };
                if self.op(":") {
                    let end = if self.peek() == Some(&Tok::Op("]".into())) {
                        None
                    } else {
                        Some(self.cond()?)
                    };
                    self.expect("]")?;
                    e = Expr::Slice(Box::new(e), start.map(Box::new), end.map(Box::new));
                } else {
                    self.expect("]")?;
                    let idx = start.ok_or("an empty subscript")?;
                    e = Expr::Index(Box::new(e), Box::new(idx));
                }
            } else if self.op("(") {
                let args = self.args(")")?;
                e = Expr::Call(Box::new(e), args);
            } else {
                return Ok(e);
            }
        }
    }
    fn primary(&mut self) -> Result<Expr, String> {
        let Some(t) = self.peek().cloned() else {
            return Err(format!("`{}` ends early", self.src));
        };
        self.i += 1;
        Ok(match t {
            Tok::Str(s) => {
                // Adjacent literals concatenate, as in Python.
                let mut s = s;
                while let Some(Tok::Str(more)) = self.peek().cloned() {
                    self.i += 1;
                    s.push_str(&more);
                }
                Expr::Str(s)
            }
            Tok::Num(n, int) => Expr::Num(n, int),
            Tok::Name(n) => match n.as_str() {
                "true" | "True" => Expr::Bool(true),
                "false" | "False" => Expr::Bool(false),
                "none" | "None" => Expr::None,
                _ => Expr::Var(n),
            },
            Tok::Op(o) if o == "(" => {
                let e = self.cond()?;
                if self.op(",") {
                    return Err(format!("tuples are not read in `{}`", self.src));
                }
                self.expect(")")?;
                e
            }
            Tok::Op(o) if o == "[" => Expr::List(self.args("]")?),
            Tok::Op(o) => return Err(format!("`{o}` is not read here in `{}`", self.src)),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn filters_bind_tighter_than_arithmetic() {
        let e = expr("(((5*label) | round )/5)").unwrap();
        let Expr::Bin(op, a, _) = e else {
            unreachable!()
        };
        assert_eq!(op, "/");
        assert!(matches!(*a, Expr::Filter(_, ref f, _) if f == "round"));
    }

    #[test]
    fn blocks_nest_and_set_is_read() {
        let n =
            parse("{% set s = ['a', 'b'] %}{% if x == 1 %}A{% elif y %}B{% else %}C{% endif %}")
                .unwrap();
        assert!(matches!(&n[0], Node::Set(name, Expr::List(l)) if name == "s" && l.len() == 2));
        assert!(matches!(&n[1], Node::If(arms, Some(_)) if arms.len() == 2));
    }

    #[test]
    fn strings_may_hold_tag_ends() {
        let n = parse("{{ \"}}\" }}x").unwrap();
        assert_eq!(
            n,
            vec![Node::Out(Expr::Str("}}".into())), Node::Text("x".into())]
        );
    }

    #[test]
    fn unknown_statements_are_errors() {
        assert!(parse("{% for x in y %}{{x}}{% endfor %}")
            .unwrap_err()
            .contains("for"));
    }
}
