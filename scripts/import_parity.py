#!/usr/bin/env python3
"""Goldens for `exc import`'s parity test (import/tests/parity.rs).

Renders promptsource 0.2.3 templates (with promptsource's own `Template.apply`:
its jinja2 environment and filters, the `| string | truncate(2048)` it adds to
every hole, the `|||` split and the strip) and lm-evaluation-harness 0.4.13 task
YAMLs (with lm_eval.utils.apply_template: its environment and filters) over the
real rows in fixtures/data, converted to each dataset's Hugging Face features.

    python3 -m venv /tmp/importvenv && /tmp/importvenv/bin/pip install jinja2==3.1.6 pyyaml==6.0.4
    pip download promptsource==0.2.3 --no-deps --no-binary :all: --ignore-requires-python -d /tmp/ps
    pip download lm_eval==0.4.13 --no-deps -d /tmp/lm   # unzip the wheel into /tmp/lm/lm
    /tmp/importvenv/bin/python scripts/import_parity.py \
        --promptsource /tmp/ps/promptsource-0.2.3 --lm-eval /tmp/lm/lm

Writes import/golden/: rows/*.jsonl (the converted rows), promptsource/ and
lm_eval/ (copies of the source files read), parity.json (each template's
renderings: per row `input` and `target`, or `skip` when the original renders
no example; a template that draws with `choice` lists every rendering the
draw can give under `inputs`/`targets`).
"""

import argparse
import csv
import importlib.util
import itertools
import json
import os
import random
import shutil
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "fixtures", "data")
OUT = os.path.join(ROOT, "import", "golden")

# (promptsource dataset dir, rows file) — the datasets whose rows are shipped,
# and those whose features are the same as a shipped one's (axb = glue/rte's
# sentence1/sentence2/label, axg = super_glue/rte's premise/hypothesis/label,
# squad_adversarial and squadshifts = squad's).
PROMPTSOURCE = [
    ("glue/rte", "glue_rte"),
    ("glue/mrpc", "glue_mrpc"),
    ("glue/stsb", "glue_stsb"),
    ("super_glue/rte", "super_glue_rte"),
    ("super_glue/axb", "glue_rte"),
    ("super_glue/axg", "super_glue_rte"),
    ("super_glue/wsc.fixed", "super_glue_wsc"),
    ("squad", "squad"),
    ("squad_v2", "squad_v2"),
    ("squad_adversarial/AddSent", "squad"),
    ("squadshifts/new_wiki", "squad"),
    ("squadshifts/nyt", "squad"),
    ("squadshifts/amazon", "squad"),
    ("xsum", "xsum"),
]

LM_EVAL = [
    ("glue/rte/default.yaml", "glue_rte"),
    ("glue/mrpc/default.yaml", "glue_mrpc"),
    ("super_glue/rte/default.yaml", "super_glue_rte"),
    ("super_glue/rte/t5-prompt.yaml", "super_glue_rte"),
    ("super_glue/wsc/default.yaml", "super_glue_wsc"),
    ("super_glue/wsc/t5-prompt.yaml", "super_glue_wsc"),
    ("translation/wmt16_en-ro.yaml", "wmt16_ro_en"),
    ("translation/wmt16_ro-en.yaml", "wmt16_ro_en"),
    ("wmt2016/ro_en-t5_prompt.yaml", "wmt16_ro_en"),
]
LM_EVAL_INCLUDES = ["translation/wmt_common_yaml"]

RTE_ROWS = 40


def jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def tsv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def squad_rows(path, with_title=True):
    rows = []
    for article in json.load(open(path, encoding="utf-8"))["data"]:
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                rows.append({
                    "id": qa["id"],
                    "title": article["title"],
                    "context": p["context"],
                    "question": qa["question"],
                    "answers": {
                        "text": [a["text"] for a in qa["answers"]],
                        "answer_start": [a["answer_start"] for a in qa["answers"]],
                    },
                })
    return rows


def build_rows():
    """fixtures/data -> each dataset's Hugging Face features."""
    rte = jsonl(os.path.join(FIX, "superglue", "RTE_val.jsonl"))[:RTE_ROWS]
    names = ["entailment", "not_entailment"]
    wsc = jsonl(os.path.join(FIX, "superglue", "WSC_val.jsonl"))
    squad_v2 = squad_rows(os.path.join(FIX, "squad", "squad_v2.0_dev_small.json"))
    wmt = jsonl(os.path.join(FIX, "wmt_en_ro", "wmt16_en_ro_sample.jsonl")) + jsonl(
        os.path.join(FIX, "wmt_en_ro", "wmt_en_ro_val_sample.jsonl"))
    return {
        "super_glue_rte": [
            {"premise": r["premise"], "hypothesis": r["hypothesis"], "idx": r["idx"],
             "label": names.index(r["label"])} for r in rte],
        "glue_rte": [
            {"sentence1": r["premise"], "sentence2": r["hypothesis"],
             "label": names.index(r["label"]), "idx": r["idx"]} for r in rte],
        "glue_mrpc": [
            {"sentence1": r["#1 String"], "sentence2": r["#2 String"], "label": int(r["Quality"]), "idx": i}
            for i, r in enumerate(tsv(os.path.join(FIX, "glue", "MRPC_dev_sample.tsv")))],
        "glue_stsb": [
            {"sentence1": r["sentence1"], "sentence2": r["sentence2"], "label": float(r["score"]), "idx": i}
            for i, r in enumerate(tsv(os.path.join(FIX, "glue", "STS-B_dev_sample.tsv")))],
        "super_glue_wsc": [
            {"text": r["text"], "span1_index": r["target"]["span1_index"],
             "span2_index": r["target"]["span2_index"], "span1_text": r["target"]["span1_text"],
             "span2_text": r["target"]["span2_text"], "idx": r["idx"], "label": int(r["label"])}
            for r in wsc],
        # squad's features are squad_v2's; its rows are the answerable ones.
        "squad": squad_rows(os.path.join(FIX, "squad", "squad_v1.1_train_sample.json"))
        + [r for r in squad_v2 if r["answers"]["text"]],
        "squad_v2": squad_v2,
        "xsum": [{"document": r["document"], "summary": r["summary"]}
                 for r in jsonl(os.path.join(FIX, "xsum", "xsum_sample.jsonl"))],
        "wmt16_ro_en": [{"translation": {"en": r["translation"]["en"], "ro": r["translation"]["ro"]}}
                        for r in wmt],
    }


def load_module(name, path, stubs=()):
    # Modules the rendering never calls (pandas, numpy, requests): names only.
    for s in stubs:
        stub = types.ModuleType(s)
        stub.__getattr__ = lambda attr: object
        sys.modules.setdefault(s, stub)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Draws:
    """Replays `random.choice` through every combination of picks."""

    def __init__(self):
        self.script, self.pos, self.sizes = [], 0, []

    def choice(self, seq):
        seq = list(seq)
        if self.pos == len(self.script):
            self.script.append(0)
            self.sizes.append(len(seq))
        pick = self.script[self.pos]
        self.pos += 1
        return seq[pick]

    def next(self):
        """The next script, or None when every combination was drawn."""
        while self.script:
            self.script[-1] += 1
            if self.script[-1] < self.sizes[-1]:
                break
            self.script.pop()
            self.sizes.pop()
        self.pos = 0
        return bool(self.script)


def promptsource_render(ps, template, row):
    """Every distinct result of template.apply(row), in draw order."""
    draws = Draws()
    ps.random = types.SimpleNamespace(choice=draws.choice)
    results = []
    while True:
        draws.pos = 0
        out = tuple(template.apply(dict(row)))
        if out not in results:
            results.append(out)
        if not draws.next():
            break
    return results, bool(draws.sizes) or len(results) > 1


def golden_entry(results, drawn):
    # apply() gives [text] when the template rendered no `|||` (a guard that
    # failed): the original makes no example of the row.
    if not drawn:
        (out,) = results
        if len(out) == 1 and out[0] == "":
            return {"skip": True}
        return {"input": out[0], "target": out[1] if len(out) > 1 else None}
    if all(len(o) == 1 and o[0] == "" for o in results):
        return {"skip": True}
    return {"inputs": sorted({o[0] for o in results}),
            "targets": sorted({o[1] for o in results if len(o) > 1})}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--promptsource", required=True, help="the unpacked promptsource-0.2.3 sdist")
    ap.add_argument("--lm-eval", required=True, help="the unpacked lm_eval-0.4.13 wheel")
    args = ap.parse_args()

    import jinja2
    import yaml
    rows = build_rows()
    if os.path.isdir(OUT):
        for sub in ("rows", "promptsource", "lm_eval"):
            shutil.rmtree(os.path.join(OUT, sub), ignore_errors=True)
    os.makedirs(os.path.join(OUT, "rows"), exist_ok=True)
    for name, rs in rows.items():
        with open(os.path.join(OUT, "rows", name + ".jsonl"), "w", encoding="utf-8") as f:
            for r in rs:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")

    ps = load_module("promptsource_templates",
                     os.path.join(args.promptsource, "promptsource", "templates.py"), stubs=["pandas"])
    corpus = []
    for ds, rows_name in PROMPTSOURCE:
        src = os.path.join(args.promptsource, "promptsource", "templates", ds, "templates.yaml")
        dst = os.path.join(OUT, "promptsource", ds, "templates.yaml")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        with open(src, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=yaml.FullLoader)
        for tid, t in sorted(doc["templates"].items(), key=lambda kv: kv[1].name):
            renders = []
            for row in rows[rows_name]:
                results, drawn = promptsource_render(ps, t, row)
                renders.append(golden_entry(results, drawn))
            corpus.append({"source": "promptsource", "dataset": ds, "template": t.name, "id": tid,
                           "rows": rows_name, "renders": renders})

    lm_utils = load_module("lm_eval_utils", os.path.join(args.lm_eval, "lm_eval", "utils.py"),
                           stubs=["numpy", "requests"])
    # The `!function` files import their helpers from lm_eval.utils.
    sys.modules["lm_eval"] = types.ModuleType("lm_eval")
    sys.modules["lm_eval"].utils = lm_utils
    sys.modules["lm_eval.utils"] = lm_utils
    for inc in LM_EVAL_INCLUDES:
        dst = os.path.join(OUT, "lm_eval", inc)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(args.lm_eval, "lm_eval", "tasks", inc), dst)

    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!function", lambda l, n: {"!function": l.construct_scalar(n)})
    for path, rows_name in LM_EVAL:
        src = os.path.join(args.lm_eval, "lm_eval", "tasks", path)
        dst = os.path.join(OUT, "lm_eval", path)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        cfg = yaml.load(open(src, encoding="utf-8"), Loader=Loader)
        if "include" in cfg:
            base = yaml.load(open(os.path.join(os.path.dirname(src), cfg.pop("include")), encoding="utf-8"),
                             Loader=Loader)
            cfg = {**base, **cfg}
        renders = []
        for row in rows[rows_name]:
            renders.append(lm_eval_render(lm_utils, cfg, row, os.path.dirname(src)))
        corpus.append({"source": "lm-eval", "dataset": path, "template": cfg["task"], "id": cfg["task"],
                       "rows": rows_name, "renders": renders})

    with open(os.path.join(OUT, "parity.json"), "w", encoding="utf-8") as f:
        json.dump({"jinja2": jinja2.__version__, "templates": corpus}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(corpus)} templates, {sum(len(c['renders']) for c in corpus)} renderings -> {OUT}")


def lm_eval_value(lm_utils, spec, doc, where):
    """ConfigurableTask.doc_to_text / doc_to_target for a YAML entry: a
    feature's name reads the feature, a string is a jinja template, a
    `!function` is the named Python function."""
    if isinstance(spec, dict) and "!function" in spec:
        module, fn = spec["!function"].rsplit(".", 1)
        return getattr(load_module(module, os.path.join(where, module + ".py")), fn)(doc)
    if isinstance(spec, str):
        if spec in doc:
            return doc[spec]
        return lm_utils.apply_template(spec, doc)
    return spec


def lm_eval_render(lm_utils, cfg, doc, where):
    text = lm_eval_value(lm_utils, cfg["doc_to_text"], doc, where)
    target = lm_eval_value(lm_utils, cfg["doc_to_target"], doc, where)
    choices = cfg.get("doc_to_choice")
    if isinstance(target, str) and target.isdigit() and choices is not None:
        target = int(target)
    if isinstance(target, int) and isinstance(choices, list):
        target = choices[target]
    return {"input": text, "target": target if isinstance(target, str) else json.dumps(target)}


if __name__ == "__main__":
    main()
