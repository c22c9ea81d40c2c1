"""What ``benchmarks/train_mfu.py`` measures with: a published model shape with no download,
its packed training rows, the FLOPs formula, and a summary of where a step's GPU time goes.

* **Shape**: ``configs/model_shapes/<name>.json`` is the model's published ``config.json``;
  :func:`model_folder` writes it beside a byte-level BPE tokenizer trained here on the chats
  and scripts shipped with viscoder (its target size is the shape's vocabulary; a small corpus
  yields fewer merges, so the tokenizer uses the low ids of the model's full-size embedding
  and LM head). The weights are drawn at random when the Trainer loads the folder.
* **Rows**: the example chats go through the training stage's own tokenisation
  (:class:`viscoder.train.chat_tokens.ChatTokenizer`, Qwen2.5's chat template, loss on
  assistant turns) and packing (:func:`viscoder.train.data.pack_batch`, TRL's best-fit
  decreasing packer), repeated until there are enough ``seq_len`` rows.
* **FLOPs per token** (model FLOPs: gradient-checkpointing recomputation is not counted):
  ``6 * N + 12 * L * h * s``, with ``N`` the parameters that take part in a matrix product
  per token (all of them, less the input embedding table when it is not tied to the LM head:
  a lookup costs no FLOPs), ``L`` layers, ``h`` hidden size and ``s`` the packed row length.
  ``12 * L * h * s`` is the attention score and value products, forward and backward, over
  the whole row; with packing a token attends only within its own sample, so
  :func:`flops_per_token` also gives the packing-aware term ``12 * L * h * sum(len_i^2) / T``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SHAPES = REPO / "configs" / "model_shapes"
EXAMPLES = REPO / "viscoder" / "examples"


def shape_path(name: str) -> Path:
    """A shape name in configs/model_shapes/ (``qwen2.5-coder-1.5b``) or a config.json path."""
    path = Path(name)
    if path.suffix == ".json" and path.exists():
        return path
    path = SHAPES / f"{name}.json"
    if not path.exists():
        known = sorted(p.stem for p in SHAPES.glob("*.json"))
        raise SystemExit(f"unknown shape {name!r}; known: {', '.join(known)} (or a config.json path)")
    return path


def _tokenizer_corpus() -> list[str]:
    texts = []
    for line in (EXAMPLES / "chats.jsonl").read_text().splitlines():
        texts += [m["content"] for m in json.loads(line)["messages"]]
    texts += [p.read_text() for p in sorted((EXAMPLES / "scripts").glob("*.py"))]
    texts += [p.read_text() for p in sorted((REPO / "viscoder" / "prompts" / "templates").glob("*.txt"))]
    texts.append("".join(chr(c) for c in range(32, 127)))
    return texts


def model_folder(shape: Path, out: Path) -> Path:
    """A Hugging Face folder with the shape's config.json and a tokenizer trained here."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from viscoder.serve.tiny import SPECIAL_TOKENS, qwen2_5_chat_template

    config = json.loads(shape.read_text())
    out.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(_tokenizer_corpus(), trainers.BpeTrainer(
        vocab_size=config["vocab_size"], special_tokens=SPECIAL_TOKENS, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>",
                                        pad_token="<|endoftext|>", bos_token=None)
    tokenizer.chat_template = qwen2_5_chat_template()
    tokenizer.model_max_length = config.get("max_position_embeddings", 32768)
    if len(tokenizer) > config["vocab_size"]:
        raise ValueError(f"tokenizer has {len(tokenizer)} tokens > vocab_size {config['vocab_size']}")
    tokenizer.save_pretrained(out)
    config.update(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                  bos_token_id=None)
    (out / "config.json").write_text(json.dumps(config, indent=2))
    return out


@dataclass
class PackedRows:
    rows: list[dict[str, Any]]  # input_ids, labels, seq_lengths
    samples: int  # chats packed (the example chats, repeated)
    tokens: int
    sum_sq_sample_len: int  # sum over samples of len^2: the packing-aware attention term

    @property
    def mean_sample_len(self) -> float:
        return self.tokens / max(self.samples, 1)


def packed_rows(model_dir: Path, seq_len: int, rows_needed: int) -> PackedRows:
    """At least ``rows_needed`` packed rows of at most ``seq_len`` tokens, from the example
    chats through the training stage's tokenizer stage and packer."""
    import pyarrow as pa

    from viscoder.train.chat_tokens import ChatTokenizer
    from viscoder.train.data import pack_batch

    chats = [json.loads(line)["messages"]
             for line in (EXAMPLES / "chats.jsonl").read_text().splitlines()]
    tokenized = ChatTokenizer(str(model_dir), "messages", seq_len)({"messages": chats})
    kept = [i for i, reason in enumerate(tokenized["drop_reason"]) if not reason]
    if not kept:
        raise ValueError(f"every example chat was dropped: {set(tokenized['drop_reason'])}")
    ids = [tokenized["input_ids"][i] for i in kept]
    labels = [tokenized["labels"][i] for i in kept]
    per_copy = sum(len(x) for x in ids)
    copies = math.ceil(rows_needed * seq_len * 1.02 / per_copy) + 1
    while True:
        table = pack_batch(pa.table({"input_ids": ids * copies, "labels": labels * copies}), seq_len)
        if table.num_rows >= rows_needed:
            break
        copies += max(1, copies // 10)
    rows = table.to_pylist()
    lengths = [n for row in rows for n in row["seq_lengths"]]
    return PackedRows(rows, len(lengths), sum(lengths), sum(n * n for n in lengths))


def count_parameters(model) -> tuple[int, int]:
    """(all parameters, those in a matrix product per token). Under ZeRO-3 a parameter's own
    tensor is an empty partition; ``ds_numel`` is its full size."""
    total = sum(getattr(p, "ds_numel", p.numel()) for p in model.parameters())
    embed = model.get_input_embeddings().weight
    tied = embed is model.get_output_embeddings().weight
    lookup = 0 if tied else getattr(embed, "ds_numel", embed.numel())
    return total, total - lookup


def flops_per_token(matmul_params: int, layers: int, hidden: int, seq_len: int,
                    rows: PackedRows) -> dict[str, float]:
    dense = 6 * matmul_params
    return {"dense": dense,
            "attention_row": 12 * layers * hidden * seq_len,
            "attention_packed": 12 * layers * hidden * rows.sum_sq_sample_len / rows.tokens}


# Kernel-name patterns for the GPU-time breakdown of a profiled step (first match wins).
KERNEL_KINDS = [
    ("attention", r"flash|fmha|attention|sdpa|softmax"),
    ("matmul", r"gemm|cutlass|xmma|nvjet|cublas|matmul|wgmma"),
    ("communication", r"nccl|all_?gather|reduce_?scatter|all_?reduce|broadcast"),
    ("optimizer", r"adam|foreach|multi_tensor"),
    ("copy/cast", r"copy|cast|memcpy|memset|fill|cat|index"),
    ("elementwise/reduce", r"elementwise|reduce|norm|silu|rope|rotary"),
]


def profile_summary(prof, step_seconds: float, on_gpu: bool) -> dict[str, Any]:
    """Where a profiled step's time went: the top operators, and on GPU the kernel time by
    kind against the step's wall time (a busy fraction well below 1 is the GPU waiting on the
    host: launch overhead, ZeRO-3's per-module hooks, synchronisations)."""
    averages = prof.key_averages()
    sort = "self_device_time_total" if on_gpu else "self_cpu_time_total"
    summary: dict[str, Any] = {"step_seconds": round(step_seconds, 4),
                               "top": averages.table(sort_by=sort, row_limit=25)}
    if on_gpu:
        kinds: dict[str, float] = {}
        from torch.autograd import DeviceType

        for event in averages:
            # Kernels only: a CPU operator's self device time is the time of the kernels it
            # launched, which are listed themselves too.
            us = float(getattr(event, "self_device_time_total", 0) or 0)
            if us <= 0 or getattr(event, "device_type", DeviceType.CPU) == DeviceType.CPU:
                continue
            name = event.key.lower()
            kind = next((k for k, pattern in KERNEL_KINDS if re.search(pattern, name)), "other")
            kinds[kind] = kinds.get(kind, 0.0) + us / 1e6
        busy = sum(kinds.values())
        summary["gpu_seconds_by_kind"] = {k: round(v, 4) for k, v in sorted(kinds.items())}
        summary["gpu_busy_fraction"] = round(busy / step_seconds, 3) if step_seconds else None
    return summary
