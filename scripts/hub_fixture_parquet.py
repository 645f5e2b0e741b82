"""Writes the parquet files of the hub emulator's `demo/scripted` repo
(tests/fixtures/hub/repos/demo/scripted/refs%2Fconvert%2Fparquet/): rows
141-170 (train) and 171-180 (validation) of
fixtures/data/superglue/RTE_val.jsonl, as the hub's parquet conversion
lays them out (CONFIG/SPLIT/NNNN.parquet). Needs `pip install pyarrow`.
"""
import json
import pathlib

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parent.parent
rows = [json.loads(l) for l in open(ROOT / "fixtures/data/superglue/RTE_val.jsonl")]
out = ROOT / "tests/fixtures/hub/repos/demo/scripted/refs%2Fconvert%2Fparquet/default"
for split, part in [("train", rows[140:170]), ("validation", rows[170:180])]:
    (out / split).mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(part)
    pq.write_table(table, out / split / "0000.parquet")
    print(split, len(part), "rows")
