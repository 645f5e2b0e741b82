#!/usr/bin/env python3
"""Rebuilds the quickstart's data from fixtures/data (see its SOURCE.txt for
where each file came from and its licence). Run from the repository root:

    python3 examples/quickstart/data/prepare.py [DATA_DIR]   # default fixtures/data

Layout written: examples/quickstart/data/<task>/<split>.jsonl, the layout
`exc run --data-dir` looks in first. Schemas are the Hugging Face datasets'
(nyu-mll/glue rte/stsb, rajpurkar/squad, allenai/c4) so the catalog's task
files render them unchanged.
"""
import json
import os
import re
import sys

OUT = os.path.dirname(os.path.abspath(__file__))
SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(OUT, "..", "..", "..", "fixtures", "data")


def write(task, split, rows):
    os.makedirs(os.path.join(OUT, task), exist_ok=True)
    with open(os.path.join(OUT, task, split + ".jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{task}/{split}.jsonl: {len(rows)} rows")


# RTE: SuperGLUE's validation file (the same 277 pairs as GLUE's RTE dev set)
# in GLUE's schema: premise/hypothesis -> sentence1/sentence2, label names ->
# class ids. The first 200 train, the other 77 are held out.
rte = []
with open(os.path.join(SRC, "superglue/RTE_val.jsonl")) as f:
    for line in f:
        r = json.loads(line)
        rte.append({
            "sentence1": r["premise"],
            "sentence2": r["hypothesis"],
            "label": ["entailment", "not_entailment"].index(r["label"]),
            "idx": r["idx"],
        })
write("glue_rte", "train", rte[:200])
write("glue_rte", "validation", rte[200:])

# STS-B: the nine dev rows shipped; too few to hold any out, so the quickstart
# trains and scores on the same rows (the report says so).
stsb = []
with open(os.path.join(SRC, "glue/STS-B_dev_sample.tsv")) as f:
    header = f.readline().rstrip("\n").split("\t")
    for i, line in enumerate(f):
        r = dict(zip(header, line.rstrip("\n").split("\t")))
        stsb.append({"sentence1": r["sentence1"], "sentence2": r["sentence2"],
                     "label": float(r["score"]), "idx": i})
write("glue_stsb", "train", stsb)
write("glue_stsb", "validation", stsb)


def squad_nested(path):
    out = []
    for art in json.load(open(path))["data"]:
        for p in art["paragraphs"]:
            for q in p["qas"]:
                answers = q.get("answers") or []
                out.append({
                    "id": q["id"], "title": art["title"], "context": p["context"],
                    "question": q["question"],
                    "answers": {"text": [a["text"] for a in answers],
                                "answer_start": [a["answer_start"] for a in answers]},
                })
    return out


# SQuAD: train on the v1.1 train sample; hold out the answerable rows of the
# small v2 dev file. (The flat v2 sample repeats those dev questions, so it is
# not used: it would leak the held-out answers into training.)
train = [r for r in squad_nested(os.path.join(SRC, "squad/squad_v1.1_train_sample.json"))
         if r["answers"]["text"]]
dev = [r for r in squad_nested(os.path.join(SRC, "squad/squad_v2.0_dev_small.json"))
       if r["answers"]["text"]]
assert not {r["question"] for r in train} & {r["question"] for r in dev}
write("squad_v1", "train", train)
write("squad_v1", "validation", dev)

# C4 stand-in: English paragraphs of Wikipedia text and Botchan (Project
# Gutenberg), as C4-style {"text": ...} documents of a few hundred words.
docs = []
wiki = open(os.path.join(SRC, "text/wiki_00.txt")).read()
for para in wiki.split("\n"):
    para = para.strip()
    if len(para.split()) >= 20 and not para.startswith("<"):
        docs.append(para)
book = open(os.path.join(SRC, "text/botchan.txt"), encoding="utf-8-sig").read()
start = book.find("*** START")
end = book.find("*** END")
body = book[start:end].split("\n", 1)[1] if start >= 0 else book
words, chunk = body.split(), 300
for i in range(0, len(words), chunk):
    docs.append(" ".join(words[i:i + chunk]))
docs = [re.sub(r"\s+", " ", d) for d in docs]
write("c4", "train", [{"text": d, "url": "", "timestamp": ""} for d in docs])
write("c4", "validation", [{"text": d, "url": "", "timestamp": ""} for d in docs[:20]])
