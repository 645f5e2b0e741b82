#!/usr/bin/env python3
"""A fault-injection round over data rows: N files of hostile rows (nulls,
numbers as text, text as numbers, out-of-range class ids, empty cells,
lists where scalars belong) in JSONL, TSV and CSV, rendered by `exc render
--data`. An independent oracle (the rules in grammar/README.md, "What a
row's values may be") says which rows are examples and what they render
to; the round counts

  lost     rows neither rendered nor reported as an error,
  silent   rows rendered that the rules refuse (a quiet conversion),
  wrong    rows rendered to another text than the oracle's,
  refused  rows refused that the rules accept,

all of which should be zero.

    python3 scripts/row_round.py [N] [SEED]   (EXC=path/to/exc, default target/debug/exc)
"""
import csv, io, json, os, random, subprocess, sys, tempfile

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else 1
EXC = os.path.realpath(os.environ.get("EXC", "target/debug/exc"))
ROWS = 40
NAMES = ["a", "b", "c"]

TASK = """task hostile_{fmt} {{
  source files {fmt} {{ train = "rows.{fmt}" }}
  fields {{ id: text, n: int, x: float?, label: class[a, b, c] }}
  input "{{id}} n={{n}} x={{x | default('none')}}"
  target label
  metrics accuracy
}}
"""

# Values a JSON cell may hold.
JSON_POOL = [0, 1, 2, 3, -1, 7, 1.5, -2.25, 1e20, "1", "0", "a", "b", "c", "zz", "",
             " 2", None, True, False, [], {}, ["a"], "12", "1.5", "nan"]
# Text a TSV/CSV cell may hold.
TEXT_POOL = ["0", "1", "2", "3", "-1", "7", "1.5", "-2.25", "a", "b", "c", "zz", "",
             " 2", "true", "12", "nan", "1e3", "0x1", "+4"]

VALID_JSON = {"int": [0, 7, -3, 123456], "float?": [0.5, 2, -1.25, None, 1e-7],
              "label": [0, 1, 2, -1, "a", "c"]}
VALID_TEXT = {"int": ["0", "7", "-3", " 42"], "float?": ["0.5", "2", "", "1e-7", "3.0"],
              "label": ["0", "2", "-1", "b", "c"]}


def json_value(kind, v):
    """(ok, rendered) for a JSON value of a field of `kind`."""
    if kind == "int":
        if isinstance(v, bool) or not isinstance(v, int) or isinstance(v, float):
            return False, None
        return True, str(v)
    if kind == "float?":
        if v is None:
            return True, "none"
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return False, None
        return True, py_float(float(v))
    if kind == "label":
        if isinstance(v, str):
            return (True, v) if v in NAMES else (False, None)
        if isinstance(v, bool) or not isinstance(v, int):
            return False, None
        if v == -1:
            return True, "<unk>"
        return (True, NAMES[v]) if 0 <= v < 3 else (False, None)
    raise ValueError(kind)


def text_value(kind, s):
    """(ok, rendered) for a TSV/CSV cell: converted to the declared type."""
    if kind == "int":
        try:
            return True, str(rust_int(s))
        except ValueError:
            return False, None
    if kind == "float?":
        if s == "":
            return True, "none"
        try:
            x = rust_float(s)
        except ValueError:
            return False, None
        return True, py_float(x)
    if kind == "label":
        if s in NAMES:
            return True, s
        try:
            i = rust_int(s)
        except ValueError:
            return False, None
        if i == -1:
            return True, "<unk>"
        return (True, NAMES[i]) if 0 <= i < 3 else (False, None)
    raise ValueError(kind)


def rust_int(s):
    """Rust's `str::trim().parse::<i64>()`: optional sign, ASCII digits."""
    t = s.strip()
    body = t[1:] if t[:1] in "+-" else t
    if not body or not body.isdigit() or not body.isascii():
        raise ValueError(s)
    return int(t)


def rust_float(s):
    t = s.strip()
    if t.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise ValueError(s)  # not a JSON number: stays text, refused
    if "x" in t.lower() or "_" in t:
        raise ValueError(s)
    return float(t)


def py_float(x):
    """How exc writes a float in a template (Python's repr)."""
    return repr(float(x))


def main():
    rng = random.Random(SEED)
    work = tempfile.mkdtemp(prefix="exc-row-round-")
    totals = dict(rows=0, examples=0, errors=0, lost=0, silent=0, wrong=0, refused=0)
    for k in range(N):
        fmt = rng.choice(["jsonl", "tsv", "csv"])
        d = os.path.join(work, f"r{k}")
        os.makedirs(d)
        with open(os.path.join(d, "t.task"), "w") as f:
            f.write(TASK.format(fmt=fmt))
        expect = {}
        rows = []
        for i in range(ROWS):
            rid = f"r{i}"
            pool = JSON_POOL if fmt == "jsonl" else TEXT_POOL
            # Most values valid, so that both sides of the rules are tried.
            valid = VALID_JSON if fmt == "jsonl" else VALID_TEXT
            vals = {kind: rng.choice(valid[kind] if rng.random() < 0.75 else pool)
                    for kind in ("int", "float?", "label")}
            check = json_value if fmt == "jsonl" else text_value
            outs = {kind: check(kind, v) for kind, v in vals.items()}
            if all(ok for ok, _ in outs.values()):
                expect[rid] = (f"{rid} n={outs['int'][1]} x={outs['float?'][1]}", outs["label"][1])
            else:
                expect[rid] = None
            rows.append({"id": rid, "n": vals["int"], "x": vals["float?"], "label": vals["label"]})
        path = os.path.join(d, f"rows.{fmt}")
        if fmt == "jsonl":
            with open(path, "w") as f:
                for r in rows:
                    f.write(json.dumps(r) + "\n")
        else:
            buf = io.StringIO()
            w = csv.writer(buf, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n",
                           quoting=csv.QUOTE_MINIMAL if fmt == "csv" else csv.QUOTE_NONE,
                           escapechar="\\" if fmt == "tsv" else None)
            w.writerow(["id", "n", "x", "label"])
            for r in rows:
                w.writerow([r["id"], r["n"], r["x"], r["label"]])
            with open(path, "w") as f:
                f.write(buf.getvalue())
        p = subprocess.run([EXC, "render", "hostile_*", "--tasks", "t.task", "--data", ".",
                            "--format", "jsonl", "-n", str(ROWS * 2)],
                           cwd=d, capture_output=True, text=True)
        got = {}
        for line in p.stdout.splitlines():
            ex = json.loads(line)
            got[ex["input"].split(" ")[0]] = (ex["input"], ex["target"])
        errors = [l for l in p.stderr.splitlines() if l.startswith("error: hostile_") and ", row " in l]
        err_ids = set()
        for l in errors:
            row = int(l.split(", row ")[1].split(":")[0])
            err_ids.add(f"r{row - 1}")
        totals["rows"] += ROWS
        totals["examples"] += len(got)
        totals["errors"] += len(err_ids)
        for rid, want in expect.items():
            if rid not in got and rid not in err_ids:
                totals["lost"] += 1
                print(f"lost: {path} {rid}", file=sys.stderr)
            elif want is None and rid in got:
                totals["silent"] += 1
                print(f"silent: {path} {rid} -> {got[rid]}", file=sys.stderr)
            elif want is not None and rid in err_ids:
                totals["refused"] += 1
                print(f"refused: {path} {rid} {want}", file=sys.stderr)
            elif want is not None and got.get(rid) != want:
                totals["wrong"] += 1
                print(f"wrong: {path} {rid} {got.get(rid)} != {want}", file=sys.stderr)
    print("files={} ".format(N) + " ".join(f"{k}={v}" for k, v in totals.items()))
    bad = totals["lost"] + totals["silent"] + totals["wrong"] + totals["refused"]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
