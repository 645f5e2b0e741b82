"""Goldens for exc's `truncate`: Jinja's own `truncate` filter on a grid of
texts and arguments. Run: pip install jinja2==3.1.6 && python gen_truncate.py
(writes truncate.jsonl beside this script; compiler/tests/truncate.rs reads it)."""
import json
import pathlib

import jinja2

TEXTS = [
    "",
    "foo bar baz qux",
    "The quick brown fox jumps over the lazy dog",
    "nospacesatallinthistextwhichislong",
    "  leading and trailing spaces are kept as they are  ",
    "ünïcödé wörds cöunt as öne chäracter each, nöt bytes",
    "word " * 60,
]
ARGS = [
    (9, False, "...", None),
    (9, True, "...", None),
    (11, False, "...", None),
    (11, False, "...", 0),
    (3, False, "...", 0),
    (20, False, " [more]", 0),
    (20, True, "", 2),
    (255, False, "...", None),
    (30, False, "…", 5),
]

env = jinja2.Environment()
template = env.from_string(
    "{{ s | truncate(length, killwords, end, leeway) }}"
)
out = pathlib.Path(__file__).with_name("truncate.jsonl")
with out.open("w", encoding="utf-8") as f:
    for s in TEXTS:
        for length, killwords, end, leeway in ARGS:
            rendered = template.render(
                s=s, length=length, killwords=killwords, end=end, leeway=leeway
            )
            row = {
                "text": s,
                "length": length,
                "killwords": killwords,
                "end": end,
                "leeway": leeway,
                "out": rendered,
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
print(f"wrote {out} with jinja2 {jinja2.__version__}")
