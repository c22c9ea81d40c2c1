"""The data description of ``--protocol pandasplotbench`` (and ours) equals what the harness's
pandas 2 prints, on every CSV of the offline PandasPlotBench copy: built here (any pandas, with
``object`` kept for strings) and by pandas 2.2.3 itself in the ``pandasplotbench`` runtime
(task_changer.py head_df_description of JetBrains-Research/PandasPlotBench)."""

import json
import subprocess

import pytest

from tests.conftest import SHARED
from viscoder.bench.upstream import head_description

FOLDER = SHARED / "benchmarks" / "pandasplotbench_partial" / "data"

IN_RUNTIME = """
import io, json, pathlib, sys
import pandas as pd
assert pd.__version__.startswith("2."), pd.__version__
out = {}
for p in sorted(pathlib.Path(sys.argv[1]).glob("data-*.csv")):
    df = pd.read_csv(io.StringIO(p.read_text()))
    types = ", ".join(f"{c}: {df[c].dtype}" for c in df.columns)
    out[p.name] = (f"DataFrame with {len(df.columns)} columns and {len(df)} rows\\n"
                   f"Column names and types: {types}\\nHead:\\n{df.head().to_json()}")
print(json.dumps(out))
"""


def test_description_matches_pandas2_on_every_csv():
    if not FOLDER.exists():
        pytest.skip("no offline PandasPlotBench copy")
    from viscoder.sandbox.runtimes import RuntimeUnavailable, get_runtime

    try:
        python = get_runtime("pandasplotbench").python
    except RuntimeUnavailable:
        pytest.skip("the pandasplotbench runtime is not built (make setup)")
    proc = subprocess.run([str(python), "-c", IN_RUNTIME, str(FOLDER)], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    reference = json.loads(proc.stdout)
    assert len(reference) == len(list(FOLDER.glob("data-*.csv"))) > 100
    differing = [name for name, text in reference.items()
                 if head_description((FOLDER / name).read_text()) != text]
    assert differing == []
