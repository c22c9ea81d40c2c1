"""The per-worker training path without Ray (viscoder/train/fit.py) and the MFU benchmark
built on it: the published shapes, the FLOPs formula, row batching, and a CPU run of
benchmarks/train_mfu.py with Ray made unimportable (the GPU machine has none)."""

import json
import subprocess
import sys

import pytest

from tests.support.paths import REPO
from viscoder.train.fit import EpochBatches, TokenRows, make_collate
from viscoder.train.mfu import PackedRows, count_parameters, flops_per_token, shape_path


def meta_model(name):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(shape_path(name)))


@pytest.mark.parametrize(("name", "total", "lookup"), [
    ("qwen2.5-coder-1.5b", 1_543_714_304, 0),              # tied: the table is the LM head
    ("qwen2.5-coder-7b", 7_615_616_512, 152_064 * 3_584),  # untied: the lookup costs no FLOPs
])
def test_published_shapes_have_their_parameter_counts(name, total, lookup):
    assert count_parameters(meta_model(name)) == (total, total - lookup)


def test_flops_per_token_is_the_stated_formula():
    rows = PackedRows(rows=[], samples=2, tokens=300, sum_sq_sample_len=100**2 + 200**2)
    flops = flops_per_token(1_543_714_304, 28, 1536, 2048, rows)
    assert flops["dense"] == 6 * 1_543_714_304
    assert flops["attention_row"] == 12 * 28 * 1536 * 2048
    assert flops["attention_packed"] == pytest.approx(12 * 28 * 1536 * 50_000 / 300)


def rows_of(n):
    return [{"input_ids": [i + 1] * (i + 2), "labels": [i + 1] * (i + 2), "seq_lengths": [i + 2]}
            for i in range(n)]


def test_token_rows_give_fixed_micro_batches_every_epoch():
    collate = make_collate(pad_token_id=0, padding_free=True)
    batches = EpochBatches(TokenRows(rows_of(7)), micro_batch=2, micro_batches=3, collate=collate)
    first, second = list(batches), list(batches)
    assert len(first) == len(second) == 3
    # padding-free: a micro-batch is one flattened row, positions restarting per sample
    assert first[0]["input_ids"].tolist() == [[1, 1, 2, 2, 2]]
    assert first[0]["position_ids"].tolist() == [[0, 1, 0, 1, 2]]
    shuffled = EpochBatches(TokenRows(rows_of(8), shuffle=True, seed=1), 2, 4, collate)
    epochs = [[b["input_ids"].tolist() for b in shuffled] for _ in range(2)]
    assert epochs[0] != epochs[1]
    assert sorted(x for b in epochs[0] for x in b[0]) == sorted(x for b in epochs[1] for x in b[0])


def test_rows_that_run_out_are_an_error_not_a_short_epoch():
    batches = EpochBatches(TokenRows(rows_of(4)), 2, 3, make_collate(0, padding_free=False))
    with pytest.raises(RuntimeError, match="ran out after 2 of 3 micro-batches"):
        list(batches)


NO_RAY = """
import runpy, sys
class NoRay:
    def find_spec(self, name, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, NoRay())
sys.argv = ["train_mfu.py", *sys.argv[1:]]
runpy.run_path("benchmarks/train_mfu.py", run_name="__main__")
"""


@pytest.mark.slow
def test_mfu_benchmark_runs_the_worker_path_on_cpu_without_ray(tmp_path):
    from viscoder.train.mfu import model_folder, packed_rows

    out = tmp_path / "mfu.json"
    proc = subprocess.run(
        [sys.executable, "-c", NO_RAY, "--shape", "tiny", "--device", "cpu",
         "--gradient-checkpointing", "on", "--accumulation", "2", "--warmup-steps", "1",
         "--steps", "2", "--seq-len", "512", "--profile", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["gradient_checkpointing"] is True and result["device"] == "cpu"
    assert result["parameters"] == count_parameters(meta_model("tiny"))[0]
    # The tokens timed are exactly those of the packed rows of steps 2 and 3 (2 rows a step):
    # the same tokenizer, tokenisation and packing, rebuilt here.
    rows = packed_rows(model_folder(shape_path("tiny"), tmp_path / "model"), 512, 8).rows
    assert result["tokens_timed"] == sum(sum(r["seq_lengths"]) for r in rows[2:6])
    assert result["tokens_per_s"] > 0 and result["model_tflops"] > 0 and result["mfu"] is None
    assert all(0 < loss < 20 for loss in result["loss_first_last"])
    assert "aten::" in result["profile"]["top"]
