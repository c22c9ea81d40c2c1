"""Step 3: run every candidate block in the sandbox; keep those that run without error and
render an image that is not blank or nearly so (``gates.image_gate``), with the PNG (the
first such figure) stored in the row.

``SandboxExecutor`` is the Ray Data actor: one warm sandbox per actor, so the import cost of
numpy/pandas/matplotlib is paid once per actor, not per script. If an actor dies mid-batch,
Ray Data re-runs that batch on another actor; a batch's rows are emitted only when the whole
batch is done, so nothing is lost or duplicated.
"""

from __future__ import annotations

import os

import pandas as pd

from viscoder.data.gates import image_gate
from viscoder.data.rows import alive, reject
from viscoder.metrics import count
from viscoder.sandbox import Sandbox, SandboxConfig


def execute_rows(batch: pd.DataFrame, sandbox: Sandbox) -> pd.DataFrame:
    batch = batch.copy()
    todo = alive(batch) & (batch["code"] != "") & (batch["messages"] == "")
    for i in batch.index[todo]:
        files = {}
        if batch.at[i, "table_name"]:
            files[batch.at[i, "table_name"]] = batch.at[i, "table_csv"].encode()
        result = sandbox.run(batch.at[i, "code"], files=files, task_id=str(batch.at[i, "id"]))
        count("viscoder_scripts_executed", {"stage": "data", "status": result.status.value})
        if not result.ok:
            detail = f"{result.error_type}: {result.error_message}" if result.error_type else ""
            reject(batch, i, "execute", f"{result.status.value}" + (f" ({detail})"[:300]
                                                                       if detail else ""))
            continue
        images = [f.png for f in result.counted_figures if f.png and not f.blank]
        verdicts = [image_gate(png) for png in images]
        good = [png for png, why in zip(images, verdicts, strict=True) if why is None]
        if not good:
            reject(batch, i, "execute", verdicts[0] if verdicts else "blank image")
            continue
        batch.at[i, "image"] = good[0]
    return batch


class SandboxExecutor:
    """Ray Data ``map_batches`` actor holding one sandbox."""

    def __init__(self, sandbox_config: dict):
        # The slot picks the jail's uid; actors on one node need different ones so that
        # per-uid limits (processes, threads) are per actor; below 100 are SandboxPool slots.
        self.sandbox = Sandbox(SandboxConfig.model_validate(sandbox_config),
                               slot=100 + os.getpid() % 900)
        self.sandbox.start()

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return execute_rows(batch, self.sandbox)

    def __del__(self):
        try:
            self.sandbox.close()
        except Exception:  # interpreter shutdown: the worker dies with the actor anyway
            pass
