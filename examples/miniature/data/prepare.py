#!/usr/bin/env python3
"""Rebuilds the miniature's data from fixtures/data (see its SOURCE.txt for
where each file came from and its licence). Run from the repository root:

    python3 examples/miniature/data/prepare.py [DATA_DIR]   # default fixtures/data

Layout written: examples/miniature/data/<task>/<split>.jsonl, the layout
`exc run --data-dir` looks in first (<task> is the catalog task's name). Rows
are in the Hugging Face datasets' schemas (aps/super_glue rte and wsc.fixed,
nyu-mll/glue mrpc, rajpurkar/squad, EdinburghNLP/xsum, wmt/wmt16 ro-en,
eriktks/conll2003, allenai/c4), class labels as ids, so the catalog's task
files render them unchanged. Validation rows are disjoint from training rows
(the script asserts it), except that MRPC ships a train split only.
Standalone: imports nothing from the quickstart's script.
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


def jsonl(path):
    with open(os.path.join(SRC, path), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def disjoint(train, validation, key):
    assert not {key(r) for r in train} & {key(r) for r in validation}


# SuperGLUE RTE (super_glue_rte): SuperGLUE's validation file, 277 pairs, label
# names -> ids (entailment 0, not_entailment 1, the hub's ClassLabel order).
# File rows 0-199 train, rows 200-276 are held out.
rte = [{"premise": r["premise"], "hypothesis": r["hypothesis"], "idx": r["idx"],
        "label": ["entailment", "not_entailment"].index(r["label"])}
       for r in jsonl("superglue/RTE_val.jsonl")]
disjoint(rte[:200], rte[200:], lambda r: (r["premise"], r["hypothesis"]))
write("super_glue_rte", "train", rte[:200])
write("super_glue_rte", "validation", rte[200:])

# SuperGLUE WSC (super_glue_wsc): SuperGLUE's validation file (104 rows, 41
# distinct texts), jiant's nested `target` flattened into the hub's columns,
# label bool -> id (False 0, True 1). A passage appears in several rows (one
# per candidate referent, sometimes with whitespace differences) and most come
# as twin schemas that differ in one word ("...made of steel" / "...made of
# styrofoam"), so the split is by schema: rows are grouped by their first six
# words (lowercased, punctuation and spaces dropped), and the 10 groups that
# appear last (by first appearance in the file) are held out, so no
# validation passage or its twin is trained on. The task trains only on
# label-True rows (its `filter ... only train`); validation keeps both
# labels, as T5 evaluates.
wsc = []
for r in jsonl("superglue/WSC_val.jsonl"):
    t = r["target"]
    wsc.append({"text": r["text"],
                "span1_index": t["span1_index"], "span2_index": t["span2_index"],
                "span1_text": t["span1_text"], "span2_text": t["span2_text"],
                "idx": r["idx"], "label": int(r["label"])})


def schema(r):
    return re.sub(r"\W", "", "".join(r["text"].lower().split()[:6]))


groups = list(dict.fromkeys(schema(r) for r in wsc))
held = set(groups[-10:])
wsc_train = [r for r in wsc if schema(r) not in held]
wsc_val = [r for r in wsc if schema(r) in held]
disjoint(wsc_train, wsc_val, schema)
write("super_glue_wsc", "train", wsc_train)
write("super_glue_wsc", "validation", wsc_val)

# GLUE MRPC (glue_mrpc): the six dev rows of the sample TSV (Quality = label,
# 1 equivalent; idx = the row's position in the sample). Too few to hold any
# out, so only a train split is written.
mrpc = []
with open(os.path.join(SRC, "glue/MRPC_dev_sample.tsv"), encoding="utf-8-sig") as f:
    header = f.readline().rstrip("\n").split("\t")
    for i, line in enumerate(f):
        if not line.strip():
            continue
        r = dict(zip(header, line.rstrip("\n").split("\t")))
        mrpc.append({"sentence1": r["#1 String"], "sentence2": r["#2 String"],
                     "label": int(r["Quality"]), "idx": i})
write("glue_mrpc", "train", mrpc)


def squad_nested(path):
    out = []
    with open(os.path.join(SRC, path), encoding="utf-8") as f:
        data = json.load(f)["data"]
    for art in data:
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


# SQuAD v1.1 (squad_v1): train on the v1.1 train sample; hold out the
# answerable rows of the small v2.0 dev file (its unanswerable v2 questions
# are dropped: v1.1 has none). The flat v2 sample repeats those dev
# questions, so it is not used.
sq_train = [r for r in squad_nested("squad/squad_v1.1_train_sample.json") if r["answers"]["text"]]
sq_val = [r for r in squad_nested("squad/squad_v2.0_dev_small.json") if r["answers"]["text"]]
disjoint(sq_train, sq_val, lambda r: r["question"])
write("squad_v1", "train", sq_train)
write("squad_v1", "validation", sq_val)

# XSum (xsum): the 10-row sample has document and summary but no BBC id; `id`
# is the row's position in the sample file, as text (the hub's type), not a
# real XSum id. Rows 0-6 train, 7-9 held out.
xsum = [{"document": r["document"], "summary": r["summary"], "id": str(i)}
        for i, r in enumerate(jsonl("xsum/xsum_sample.jsonl"))]
disjoint(xsum[:7], xsum[7:], lambda r: r["document"])
write("xsum", "train", xsum[:7])
write("xsum", "validation", xsum[7:])

# WMT16 En-Ro (wmt16_en_ro): train = the 10 Europarl rows of the training
# sample, verbatim (rows 0 and 2 are the same pair, kept as the sample has
# them); validation = the 16 news rows of the validation sample (newsdev2016
# style), in the hub's {"translation": {"en", "ro"}} schema.
wmt_train = [{"translation": {"en": r["translation"]["en"], "ro": r["translation"]["ro"]}}
             for r in jsonl("wmt_en_ro/wmt16_en_ro_sample.jsonl")]
wmt_val = [{"translation": {"en": r["translation"]["en"], "ro": r["translation"]["ro"]}}
           for r in jsonl("wmt_en_ro/wmt_en_ro_val_sample.jsonl")]
disjoint(wmt_train, wmt_val, lambda r: r["translation"]["en"])
write("wmt16_en_ro", "train", wmt_train)
write("wmt16_en_ro", "validation", wmt_val)

# CoNLL-2003 (conll2003_ner): the sample's words/ner -> the hub's
# tokens/ner_tags, tags as ClassLabel ids in the hub's order; `id` is the
# row's position in the sample, as text (pos_tags and chunk_tags are not in
# the sample and the task does not read them). Rows 0-6 train, 7-9 held out.
NER = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
conll = [{"id": str(i), "tokens": r["words"], "ner_tags": [NER.index(t) for t in r["ner"]]}
         for i, r in enumerate(jsonl("conll2003/conll2003_sample.jsonl"))]
disjoint(conll[:7], conll[7:], lambda r: tuple(r["tokens"]))
write("conll2003_ner", "train", conll[:7])
write("conll2003_ner", "validation", conll[7:])

# C4 stand-in (c4): allenai/c4's {"text", "timestamp", "url"} documents. Each
# paragraph of at least 20 words of the Wikipedia sample (articles Anarchism
# and Autism; title and <doc> lines dropped) is a document; the last 10 are
# held out as validation. Training then takes Botchan (Project Gutenberg,
# between its START and END markers) in 300-word documents until the train
# file reaches C4_TRAIN_BYTES.
C4_TRAIN_BYTES = 270_000


def c4_row(text):
    return {"text": re.sub(r"\s+", " ", text).strip(), "timestamp": "", "url": ""}


def size(rows):
    return sum(len(json.dumps(r, ensure_ascii=False).encode()) + 1 for r in rows)


with open(os.path.join(SRC, "text/wiki_00.txt"), encoding="utf-8") as f:
    wiki = [p.strip() for p in f.read().split("\n")]
wiki = [c4_row(p) for p in wiki if len(p.split()) >= 20 and not p.startswith("<")]
c4_train, c4_val = wiki[:-10], wiki[-10:]
with open(os.path.join(SRC, "text/botchan.txt"), encoding="utf-8-sig") as f:
    book = f.read()
start, end = book.find("*** START"), book.find("*** END")
body = book[start:end].split("\n", 1)[1] if start >= 0 else book
words, chunk = body.split(), 300
for i in range(0, len(words), chunk):
    row = c4_row(" ".join(words[i:i + chunk]))
    if size(c4_train + [row]) > C4_TRAIN_BYTES:
        break
    c4_train.append(row)
disjoint(c4_train, c4_val, lambda r: r["text"])
write("c4", "train", c4_train)
write("c4", "validation", c4_val)
