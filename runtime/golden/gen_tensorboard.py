"""Golden TensorBoard event file for exc's event writer (runtime/src/run/tensorboard.rs).

Writes tensorboard/events.out.tfevents.golden with TensorBoard's own writer,
`tensorboard.summary.writer.event_file_writer.EventFileWriter` (the writer
torch.utils.tensorboard.SummaryWriter wraps), scalars built as SummaryWriter's
add_scalar builds them (`Summary.Value(tag=..., simple_value=...)`), all with
fixed wall times. The file's first event (file_version "brain.Event:2")
takes its wall time from time.time() at construction: it is pinned to T0
while the writer is built, so the whole file is reproducible byte for byte.
The Rust tests (runtime/src/run/tensorboard.rs) write the same events and
compare the bytes.

    python3 -m venv ~/.cache/exc/tensorboard
    ~/.cache/exc/tensorboard/bin/pip install -r runtime/golden/requirements-tensorboard.txt
    ~/.cache/exc/tensorboard/bin/python runtime/golden/gen_tensorboard.py          # rewrite the golden
    ~/.cache/exc/tensorboard/bin/python runtime/golden/gen_tensorboard.py --read DIR
        # read event files written by exc (EXC_TB_DIR=DIR cargo test -p exc-runtime
        # --lib bytes_match_tensorboard) with TensorBoard's readers and print their scalars
"""

import argparse
import glob
import math
import os
import shutil
import sys
import tempfile
from unittest import mock

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer import event_file_writer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tensorboard", "events.out.tfevents.golden")

# The first event's wall time.
T0 = 1700000000.0

# (tag, step, value, wall_time): one scalar per event. Kept in step with
# SCALARS in the tests of runtime/src/run/tensorboard.rs.
SCALARS = [
    ("loss", 1, 2.5, 1700000001.25),
    ("loss", 2, 0.1, 1700000002.5),  # not exact in f32: rounding
    ("train/lr", 10, 1e-3, 1700000003.0),
    ("valid_loss/τ", 2**40, -7.25e-8, 1700000004.125),  # UTF-8 tag, long varint
    ("zero", 0, 0.0, 0.0),  # proto3 leaves out step 0 and wall time 0
    ("negative_step", -1, 1e30, 1700000005.0),  # ten-byte varint
    ("nan", 3, math.nan, 1700000006.0),
    ("inf", 4, math.inf, 1700000007.0),
    ("neg_zero", 5, -0.0, -0.0),  # -0.0 is not zero to proto3's presence
    ("overflow", 6, 1e300, 1700000008.0),  # beyond f32: inf
    ("", 7, 1.0, 1700000009.0),  # empty tag is left out
]

# One event holding several values, as EventWriter::scalars_from_json writes
# {"loss": 3.0, "valid_loss": {"glue_sst2": 1.5, "squad": 2.0}} under "pretrain".
MULTI = (
    100,
    1700000100.5,
    [
        ("pretrain/loss", 3.0),
        ("pretrain/valid_loss/glue_sst2", 1.5),
        ("pretrain/valid_loss/squad", 2.0),
    ],
)

# A SessionLog.START event (step, wall_time): what a resumed exc run writes
# so that TensorBoard drops the interrupted run's events from that step on.
START = (51, 1700000200.0)


def summary(values):
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=t, simple_value=v) for t, v in values]
    )


def generate():
    tmp = tempfile.mkdtemp()
    try:
        with mock.patch.object(event_file_writer.time, "time", return_value=T0):
            w = event_file_writer.EventFileWriter(tmp)
        for tag, step, value, wall_time in SCALARS:
            # What SummaryWriter.add_scalar(tag, value, step, walltime) sends.
            w.add_event(event_pb2.Event(wall_time=wall_time, step=step, summary=summary([(tag, value)])))
        step, wall_time, values = MULTI
        w.add_event(event_pb2.Event(wall_time=wall_time, step=step, summary=summary(values)))
        step, wall_time = START
        start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
        w.add_event(event_pb2.Event(wall_time=wall_time, step=step, session_log=start))
        w.close()
        (written,) = glob.glob(os.path.join(tmp, "events.out.tfevents.*"))
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        shutil.copyfile(written, OUT)
    finally:
        shutil.rmtree(tmp)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


def read(logdir):
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

    files = sorted(glob.glob(os.path.join(logdir, "*tfevents*")))
    if not files:
        sys.exit(f"no event files in {logdir}")
    for path in files:
        print(f"== {path}")
        # The raw events (not migrated to tensors), through TensorBoard's
        # record reader, which checks both CRCs of every record.
        for e in LegacyEventFileLoader(path).Load():
            what = e.WhichOneof("what")
            if what == "summary":
                vals = ", ".join(f"{v.tag!r}={v.simple_value!r}" for v in e.summary.value)
                print(f"  event wall_time={e.wall_time!r} step={e.step} summary: {vals}")
            else:
                print(f"  event wall_time={e.wall_time!r} step={e.step} {what}={getattr(e, what)!r} "
                      f"source_metadata.writer={e.source_metadata.writer!r}")
    # What TensorBoard's scalar dashboard sees.
    acc = event_accumulator.EventAccumulator(logdir)
    acc.Reload()
    print("EventAccumulator:")
    print(f"  file_version={acc.file_version!r}")
    for tag in acc.Tags()["scalars"]:
        pts = [(s.step, s.wall_time, s.value) for s in acc.Scalars(tag)]
        print(f"  {tag!r}: {pts}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--read", metavar="DIR", help="print the scalars of the event files in DIR")
    args = ap.parse_args()
    if args.read:
        read(args.read)
    else:
        generate()


if __name__ == "__main__":
    main()
