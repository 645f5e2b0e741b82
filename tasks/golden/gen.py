"""Writes tasks/golden/t5_formats.jsonl: T5's own text preprocessing of real
rows, which tests/catalog_t5.rs compares the catalog's tasks against.

Every `inputs`/`targets` pair is the output of T5's preprocessor as
t5/data/tasks.py registers it (the task's preprocessors up to
`seqio.preprocessors.tokenize`, run by TensorFlow on a one-row
tf.data.Dataset), read from the registry after `import t5.data.tasks`:

    exc task         T5 task (t5/data/tasks.py)          T5 preprocessor
    glue_rte         glue_rte_v002                       glue(benchmark_name="rte", label_names=[entailment, not_entailment])
    glue_mrpc        glue_mrpc_v002                      glue(benchmark_name="mrpc", label_names=[not_equivalent, equivalent])
    glue_stsb        glue_stsb_v002                      stsb
    super_glue_rte   super_glue_rte_v102                 glue(benchmark_name="rte", label_names=[entailment, not_entailment])
    super_glue_wsc   super_glue_wsc_v102_simple_train    wsc_simple(correct_referent_only=True)   (split train)
                     super_glue_wsc_v102_simple_eval     wsc_simple(correct_referent_only=False)  (validation, test)
    squad_v1         squad_v010_allanswers               squad (+ postprocessors.qa for the references)
    wmt16_en_ro      wmt16_enro_v003                     translate(source_language="en", target_language="ro")
    xsum             (none registered)                   summarize(article_key="document", summary_key="summary")

T5 registers no XSum task; `summarize` is called as tasks.py calls it for
CNN/DailyMail, with TFDS xsum's column names. CoNLL-03 has no T5
preprocessor and is not here.

Rows come from fixtures/data (see its SOURCE.txt). T5 reads TFDS's layout;
the catalog reads the Hugging Face hub's. The row each line records (`row`)
is the hub row the exc task reads; the script feeds T5 the same values in
TFDS's layout, mapped as examples/miniature/data/prepare.py maps them:

- SuperGLUE RTE (jiant's val.jsonl): label name -> id (entailment 0,
  not_entailment 1, TFDS's and the hub's order).
- GLUE RTE: the same 277 pairs (GLUE's RTE dev set is SuperGLUE's RTE
  validation set; the task file's sample is row 0 of both), premise ->
  sentence1, hypothesis -> sentence2, label as above.
- SuperGLUE WSC (jiant): the nested `target` flattened into span1_index,
  span2_index, span1_text, span2_text; label bool -> id (False 0, True 1).
- MRPC (dev TSV): `#1 String`/`#2 String` -> sentence1/sentence2, Quality
  -> label (1 equivalent), idx = the row's position in the file.
- STS-B (dev TSV): sentence1, sentence2, score -> label (float32, as TFDS and
  the hub store it), idx = the file's `index` column.
- SQuAD (v1.1 train sample, answerable questions of the v2.0 small dev file):
  flattened to id, title, context, question, answers{text, answer_start}
  (TFDS's layout is the same).
- WMT16 En-Ro: the hub's {"translation": {"en", "ro"}} is TFDS's {"en", "ro"}.
- XSum: document and summary verbatim; the sample has no BBC id, `id` is the
  row's position as text.

Rows marked `"constructed": "..."` are real rows with one value changed to
reach a case the sample files lack (the unlabelled test rows' label -1,
STS-B scores halfway between two multiples of 0.2); the note says what.

Run (see README.md here for the versions):
    python3 -m venv /work/.venvs/t5-golden
    /work/.venvs/t5-golden/bin/pip install -r tasks/golden/requirements.txt
    /work/.venvs/t5-golden/bin/pip install --no-deps t5==0.9.4
    /work/.venvs/t5-golden/bin/python tasks/golden/gen.py [DATA_DIR]   # default fixtures/data
"""

import csv
import functools
import json
import os
import platform
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import babel  # noqa: E402
import seqio  # noqa: E402
import t5  # noqa: E402
import t5.data.tasks  # noqa: E402,F401  (registers T5's tasks)
import tensorflow as tf  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402
import tensorflow_text  # noqa: E402
from t5.data import postprocessors, preprocessors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "fixtures", "data")
OUT = os.path.join(HERE, "t5_formats.jsonl")
FIRST = 30  # rows per task and split, where a file has more


def jsonl(path):
    with open(os.path.join(DATA, path), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def tsv(path):
    with open(os.path.join(DATA, path), encoding="utf-8-sig") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def text_preprocessors(task_name):
    """The registered task's preprocessors before tokenization."""
    out = []
    for p in seqio.get_mixture_or_task(task_name).preprocessors:
        if p is seqio.preprocessors.tokenize:
            return out
        out.append(p)
    raise AssertionError(f"{task_name}: no tokenize step")


def run(preps, features):
    """Runs T5's preprocessors on one example; None when they drop it."""
    ds = tf.data.Dataset.from_tensors(features)
    for p in preps:
        ds = p(ds)
    got = list(ds.as_numpy_iterator())
    assert len(got) <= 1, got
    return got[0] if got else None


def text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else v


lines = []


def emit(task, split, row, preps, features, constructed=None, references=None):
    ex = run(preps, features)
    line = {"task": task, "split": split, "row": row}
    if constructed:
        line["constructed"] = constructed
    if ex is None:
        line["inputs"] = None  # T5 drops the row
        line["targets"] = None
    else:
        line["inputs"] = text(ex["inputs"])
        line["targets"] = text(ex["targets"])
        if references:
            line.update(references(ex))
    lines.append(line)


i32, i64, f32 = tf.int32, tf.int64, tf.float32

# --- GLUE and SuperGLUE RTE (jiant's SuperGLUE RTE validation file) -------------
RTE_LABELS = ["entailment", "not_entailment"]
rte = [
    {"premise": r["premise"], "hypothesis": r["hypothesis"], "idx": r["idx"], "label": RTE_LABELS.index(r["label"])}
    for r in jsonl("superglue/RTE_val.jsonl")
]

glue_rte = text_preprocessors("glue_rte_v002")
sg_rte = text_preprocessors("super_glue_rte_v102")


def glue_rte_row(r):
    return {"sentence1": r["premise"], "sentence2": r["hypothesis"], "label": r["label"], "idx": r["idx"]}


def glue_features(row, text_keys):
    f = {k: tf.constant(row[k]) for k in text_keys}
    f["label"] = tf.constant(row["label"], i64)
    f["idx"] = tf.constant(row["idx"], i32)
    return f


for r in rte[:FIRST]:
    row = glue_rte_row(r)
    emit("glue_rte", "validation", row, glue_rte, glue_features(row, ["sentence1", "sentence2"]))
for r in rte[:FIRST]:
    emit("super_glue_rte", "validation", r, sg_rte, glue_features(r, ["premise", "hypothesis"]))
UNLABELLED = "label set to -1, as in the unlabelled test split"
for task, preps, row, keys in (
    ("glue_rte", glue_rte, glue_rte_row(rte[0]), ["sentence1", "sentence2"]),
    ("super_glue_rte", sg_rte, rte[0], ["premise", "hypothesis"]),
):
    row = dict(row, label=-1)
    emit(task, "test", row, preps, glue_features(row, keys), constructed=UNLABELLED)

# --- GLUE MRPC ---------------------------------------------------------------------
mrpc_p = text_preprocessors("glue_mrpc_v002")
mrpc = [
    {"sentence1": r["#1 String"], "sentence2": r["#2 String"], "label": int(r["Quality"]), "idx": i}
    for i, r in enumerate(tsv("glue/MRPC_dev_sample.tsv"))
]
for r in mrpc:
    emit("glue_mrpc", "validation", r, mrpc_p, glue_features(r, ["sentence1", "sentence2"]))
row = dict(mrpc[0], label=-1)
emit("glue_mrpc", "test", row, mrpc_p, glue_features(row, ["sentence1", "sentence2"]), constructed=UNLABELLED)

# --- GLUE STS-B --------------------------------------------------------------------
stsb_p = text_preprocessors("glue_stsb_v002")


def stsb_features(row):
    return {
        "sentence1": tf.constant(row["sentence1"]),
        "sentence2": tf.constant(row["sentence2"]),
        "label": tf.constant(row["label"], f32),
        "idx": tf.constant(row["idx"], i32),
    }


stsb = [
    {"sentence1": r["sentence1"], "sentence2": r["sentence2"], "label": float(r["score"]), "idx": int(r["index"])}
    for r in tsv("glue/STS-B_dev_sample.tsv")
]
for r in stsb:
    emit("glue_stsb", "validation", r, stsb_p, stsb_features(r))
# Scores halfway between two multiples of 0.2 (x * 5 ends in .5, exact in
# binary): T5 rounds them with tf.round, half to even. STS-B's scores include
# such values (e.g. 2.5, 0.5); the dev sample's nine rows do not.
for score in (0.5, 1.5, 2.5, 3.5, 4.5, 0.7, 2.9):
    row = dict(stsb[0], label=score)
    emit("glue_stsb", "validation", row, stsb_p, stsb_features(row),
         constructed=f"label set to {score}: x * 5 is halfway between two integers")
row = dict(stsb[0], label=-1.0)
emit("glue_stsb", "test", row, stsb_p, stsb_features(row), constructed=UNLABELLED)

# --- SuperGLUE WSC (all 104 validation rows; row idx 42 is one T5 hard-codes) -------
wsc = []
for r in jsonl("superglue/WSC_val.jsonl"):
    t = r["target"]
    wsc.append({
        "text": r["text"],
        "span1_index": t["span1_index"], "span2_index": t["span2_index"],
        "span1_text": t["span1_text"], "span2_text": t["span2_text"],
        "idx": r["idx"], "label": int(r["label"]),
    })
wsc_train = text_preprocessors("super_glue_wsc_v102_simple_train")
wsc_eval = text_preprocessors("super_glue_wsc_v102_simple_eval")


def wsc_features(row):
    f = {k: tf.constant(row[k]) for k in ("text", "span1_text", "span2_text")}
    for k in ("span1_index", "span2_index", "idx"):
        f[k] = tf.constant(row[k], i32)
    f["label"] = tf.constant(row["label"], i64)
    return f


def wsc_record(ex):
    # What T5's postprocessors.wsc_simple reads: the referent (the example's
    # targets) for the prediction, the example's label for the target.
    return {"reference_record": {"referent": text(ex["targets"]), "label": int(ex["label"])}}


for r in wsc:
    emit("super_glue_wsc", "validation", r, wsc_eval, wsc_features(r), references=wsc_record)
# The training task keeps label-True rows only (correct_referent_only=True).
for r in wsc:
    emit("super_glue_wsc", "train", r, wsc_train, wsc_features(r))

# --- SQuAD v1.1 ---------------------------------------------------------------------
squad_p = text_preprocessors("squad_v010_allanswers")
squad_post = seqio.get_mixture_or_task("squad_v010_allanswers").postprocessor
assert squad_post is postprocessors.qa


def squad_rows(path):
    with open(os.path.join(DATA, path), encoding="utf-8") as f:
        data = json.load(f)["data"]
    out = []
    for art in data:
        for p in art["paragraphs"]:
            for q in p["qas"]:
                answers = q.get("answers") or []
                if not answers:  # v2.0's unanswerable questions: not SQuAD v1.1
                    continue
                out.append({
                    "id": q["id"], "title": art["title"], "context": p["context"], "question": q["question"],
                    "answers": {"text": [a["text"] for a in answers],
                                "answer_start": [a["answer_start"] for a in answers]},
                })
    return out


def squad_features(row):
    return {
        "id": tf.constant(row["id"]), "title": tf.constant(row["title"]),
        "context": tf.constant(row["context"]), "question": tf.constant(row["question"]),
        "answers": {"text": tf.constant(row["answers"]["text"], tf.string),
                    "answer_start": tf.constant(row["answers"]["answer_start"], i32)},
    }


def squad_references(ex):
    # postprocessors.qa with is_target=True: the example's (padded) answers.
    decoded = {"answers": [a for a in ex["answers"]]}
    return {"references": postprocessors.qa(None, example=decoded, is_target=True)}


for split, path in (("train", "squad/squad_v1.1_train_sample.json"), ("validation", "squad/squad_v2.0_dev_small.json")):
    for r in squad_rows(path)[:FIRST]:
        emit("squad_v1", split, r, squad_p, squad_features(r), references=squad_references)
# Which characters T5 pads and which whitespace it collapses (RE2's
# [[:punct:]] is ASCII punctuation, its \s is [\t\n\f\r ]): the first
# validation row with its question, context and answers rewritten to hold
# them, at the edges too.
edge = dict(squad_rows("squad/squad_v2.0_dev_small.json")[0])
edge.update(
    question='"Where\tis  Normandy?"\n',
    context="\u00a0The Normans\u2014in\fFrance\vand  (U.S.)\r\nelsewhere\u2026 \u00bfs\u00ed? 10,000 \u2019tis.  ",
    answers={"text": ["U.S.", " in\fFrance ", "\u00bfs\u00ed?"], "answer_start": [0, 0, 0]},
)
emit("squad_v1", "validation", edge, squad_p, squad_features(edge), references=squad_references,
     constructed="question, context and answers rewritten: ASCII and other punctuation, tabs, \\f, \\v, "
                 "CR LF, no-break space and runs of spaces, at the edges and inside")

# --- WMT16 En-Ro -----------------------------------------------------------------------
wmt_p = text_preprocessors("wmt16_enro_v003")
for split, path in (("train", "wmt_en_ro/wmt16_en_ro_sample.jsonl"), ("validation", "wmt_en_ro/wmt_en_ro_val_sample.jsonl")):
    for r in jsonl(path)[:FIRST]:
        row = {"translation": {"en": r["translation"]["en"], "ro": r["translation"]["ro"]}}
        emit("wmt16_en_ro", split, row, wmt_p, {k: tf.constant(v) for k, v in row["translation"].items()})

# --- XSum ------------------------------------------------------------------------------
xsum_p = [functools.partial(preprocessors.summarize, article_key="document", summary_key="summary")]
for i, r in enumerate(jsonl("xsum/xsum_sample.jsonl")[:FIRST]):
    row = {"document": r["document"], "summary": r["summary"], "id": str(i)}
    emit("xsum", "validation", row, xsum_p, {k: tf.constant(v) for k, v in row.items()})

header = {
    "generated_by": "tasks/golden/gen.py",
    "reference": "T5's text preprocessors (t5/data/preprocessors.py via t5/data/tasks.py's registry), run by TensorFlow",
    "versions": {
        "python": platform.python_version(),
        "t5": t5.__version__,
        "seqio": seqio.__version__,
        "tensorflow": tf.__version__,
        "tensorflow_text": tensorflow_text.__version__,
        "tensorflow_datasets": tfds.__version__,
        "babel": babel.__version__,
    },
}
with open(OUT, "w", encoding="utf-8") as f:
    f.write(json.dumps(header, ensure_ascii=False) + "\n")
    for line in lines:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
counts = {}
for line in lines:
    counts[(line["task"], line["split"])] = counts.get((line["task"], line["split"]), 0) + 1
for (task, split), n in counts.items():
    print(f"{task} {split}: {n}")
print(f"wrote {OUT}: {len(lines)} rows ({header['versions']})")
