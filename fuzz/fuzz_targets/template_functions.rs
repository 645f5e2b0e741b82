//! A template function called with arguments drawn from the input bytes, on
//! a field of each type, over a sample row whose values come from the bytes
//! too: checking (which renders the sample) may reject it, but must never
//! panic. Run with `cargo +nightly fuzz run template_functions` from the
//! repo root. Each panic found becomes a case in
//! compiler/tests/function_args.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

const INPUTS: &[&str] = &["t", "n", "x", "b", "c", "l", "r", "o", "l[0]", "r.k"];
const NAMES: &[&str] = &["n", "t", "l", "c", "o", "r.v", "r", "nope"];
const TEXTS: &[&str] = &["", "{", "}", "{}", "{0}", "{k}", "{v | str}", "(", "$1", "\\\\", "[", "a"];

/// Reads the input bytes as a sequence of choices.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }

    fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[usize::from(self.byte()) % from.len()]
    }

    fn int(&mut self) -> i64 {
        let mut v = [0u8; 8];
        for b in v.iter_mut().take(usize::from(self.byte() % 9)) {
            *b = self.byte();
        }
        i64::from_le_bytes(v)
    }

    /// Text without quotes or backslashes, which the task text would need escaped.
    fn text(&mut self) -> String {
        let n = usize::from(self.byte() % 12);
        (0..n)
            .map(|_| char::from(self.byte() % 95 + 32))
            .filter(|c| !matches!(c, '"' | '\'' | '\\'))
            .collect()
    }

    fn arg(&mut self) -> String {
        match self.byte() % 6 {
            0 => self.int().to_string(),
            1 => format!("{}.5", self.int()),
            2 => format!("'{}'", self.pick(TEXTS)),
            3 => format!("'{}'", self.text()),
            4 => self.pick(NAMES).to_string(),
            _ => format!("['{}', null]", self.text()),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let names: Vec<&str> = exc_compiler::funcs::names().collect();
    let mut chain = Vec::new();
    for _ in 0..=b.byte() % 3 {
        let name = b.pick(&names);
        let args: Vec<String> = (0..b.byte() % 4).map(|_| b.arg()).collect();
        chain.push(if args.is_empty() {
            name.to_string()
        } else {
            format!("{name}({})", args.join(", "))
        });
    }
    let input = b.pick(INPUTS);
    // Sometimes the chain is a branch of a conditional over another field.
    let hole = format!("{input} | {}", chain.join(" | "));
    let hole = match b.byte() % 4 {
        0 => format!(
            "if {} {} {} then {hole} else '{}'",
            b.pick(INPUTS),
            b.pick(&["==", "!=", "<", ">=", "in"]),
            b.arg(),
            b.pick(TEXTS)
        ),
        1 => format!("if not {} then '{{{hole}}}' else ''", b.pick(INPUTS)),
        _ => hole,
    };
    let (t, n, x) = (b.text(), b.int(), b.int());
    let l: Vec<String> = (0..b.byte() % 4).map(|_| format!("\"{}\"", b.text())).collect();
    let src = format!(
        "task t {{ fields {{ t: text, n: int, x: float, b: bool, c: class[a, b], l: list<text>, \
         r: list<{{ k: text, v: int }}>, o: text? }} input \"{{{hole}}}\" target t \
         metrics accuracy sample {{ t: \"{t}\", n: {n}, x: {x}.25, b: true, c: \"b\", \
         l: [{}], r: [{{ k: \"{t}\", v: {n} }}], o: null }} }}",
        l.join(", ")
    );
    let _ = exc_compiler::check_task::check_task_text(&src, "fuzz.task");
});
