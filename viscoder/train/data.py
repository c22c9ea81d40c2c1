"""The training data as a Ray Data plan: read chats, tokenize, count and drop, pack.

    read (Parquet / JSONL / hub)  ->  ChatTokenizer (actor pool)  ->  drop with reasons
                                  ->  optional best-fit-decreasing packing (TRL's packer)

The tokenized set is materialized once so that every input row is counted (kept, or dropped
with its reason) before training starts and so that the step count is known up front; the
TorchTrainer then splits it evenly across workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from viscoder.train.config import TrainConfig

HUB_PREFIX = "hf://"


class DataError(ValueError):
    """Training data that cannot be read or yields nothing to train on."""


@dataclass
class PreparedData:
    dataset: Any  # ray.data.Dataset with input_ids, labels (and seq_lengths when packed)
    rows_in: int
    rows_kept: int
    dropped: dict[str, int]
    tokens_kept: int
    loss_tokens_kept: int
    rows_for_training: int  # after packing, the rows the workers iterate
    sources: list[str] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        return {"rows_in": self.rows_in, "rows_kept": self.rows_kept, "dropped": self.dropped,
                "tokens_kept": self.tokens_kept, "loss_tokens_kept": self.loss_tokens_kept,
                "rows_for_training": self.rows_for_training, "sources": self.sources}


def read_chats(sources: list[str], column: str):
    """One Ray Dataset with just the chat column, from every source: ``hf://name[:split]``
    from the hub, anything else by viscoder.tables' rules (files, folders, globs), the same
    rules the data stage reads with."""
    import ray.data

    from viscoder.tables import TableError, read_dataset

    parts = []
    for source in sources:
        try:
            if source.startswith(HUB_PREFIX):
                import datasets

                name, _, split = source[len(HUB_PREFIX):].partition(":")
                ds = ray.data.from_huggingface(datasets.load_dataset(name, split=split or "train"))
                if column not in ds.columns():
                    raise TableError(f"{source} has no {column!r} column (it has {ds.columns()})")
                ds = ds.select_columns([column])
            else:
                ds = read_dataset([source], columns=[column])
        except TableError as exc:
            hint = "; set messages_column" if "column" in str(exc) else ""
            raise DataError(f"training data: {exc}{hint}") from None
        parts.append(ds)
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def pack_batch(table, seq_length: int):
    """Best-fit-decreasing packing of one block (TRL's packer); no sample is split."""
    import datasets
    from trl.data_utils import pack_dataset

    packed = pack_dataset(datasets.Dataset(table.select(["input_ids", "labels"])), seq_length,
                          strategy="bfd")
    return packed.data.table


def prepare_data(cfg: TrainConfig, tokenizer_cpus: int | None = None) -> PreparedData:
    import ray
    import ray.data
    from ray.data.expressions import col

    from viscoder.train.chat_tokens import ChatTokenizer

    workers = tokenizer_cpus or max(1, int(ray.cluster_resources().get("CPU", 1)) - 1)
    chats = read_chats(cfg.data, cfg.messages_column)
    tokenized = chats.map_batches(
        ChatTokenizer, batch_size=256,
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=workers),
        fn_constructor_kwargs={"model": cfg.model, "messages_column": cfg.messages_column,
                               "max_length": cfg.max_length,
                               "trust_remote_code": cfg.trust_remote_code},
    ).materialize()
    rows_in = tokenized.count()
    reasons = {row["drop_reason"]: row["count()"]
               for row in tokenized.groupby("drop_reason").count().take_all()}
    kept_rows = reasons.pop("", 0)
    if rows_in == 0:
        raise DataError(f"no rows in {cfg.data}")
    if kept_rows == 0:
        raise DataError(f"all {rows_in} rows were dropped: {reasons}")
    kept = tokenized.filter(expr=col("drop_reason") == "").select_columns(
        ["input_ids", "labels", "n_tokens", "n_loss_tokens"])
    tokens = int(kept.sum("n_tokens"))
    loss_tokens = int(kept.sum("n_loss_tokens"))
    kept = kept.select_columns(["input_ids", "labels"])
    if cfg.packing:
        kept = kept.map_batches(pack_batch, batch_format="pyarrow", batch_size=4096,
                                fn_kwargs={"seq_length": cfg.max_length})
    kept = kept.materialize()
    return PreparedData(dataset=kept, rows_in=rows_in, rows_kept=kept_rows,
                        dropped=dict(sorted(reasons.items())), tokens_kept=tokens,
                        loss_tokens_kept=loss_tokens, rows_for_training=kept.count(),
                        sources=list(cfg.data))
