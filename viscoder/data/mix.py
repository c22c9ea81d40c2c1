"""The mix step (5 of 6) checks: duplicates and overlap with benchmark tasks.

* Duplicates: rows are keyed by a hash of their code (exact) or of their code with comments,
  blank lines, spacing and the values of literals removed (near: the same script with other
  numbers, strings or formatting). Ray Data groups rows by key; the first id in sort order is
  kept and the others rejected as ``duplicate of <id>``. With ``dedup: near`` the survivors
  then go through MinHash + LSH (``neardup.py``): renamed variables, reordered statements.
* Benchmark overlap: the share of a sample's word n-grams (instruction and code) that also
  occur in the benchmark instructions; above the threshold the sample is dropped, and the
  distribution is reported either way.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tokenize

import pandas as pd

from viscoder.data.rows import alive, reject

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")


def _normalised(code: str) -> str:
    """Code tokens with comments, layout and literal values dropped."""
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER):
                continue
            out.append({tokenize.STRING: "S", tokenize.NUMBER: "N"}.get(tok.type, tok.string))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return " ".join(code.split())
    return " ".join(out)


def dedup_key(row_code: str, messages: str, mode: str) -> str:
    text = row_code or messages
    if mode == "near" and row_code:
        text = _normalised(row_code)
    return hashlib.sha1(text.encode()).hexdigest()


def add_dedup_keys(batch: pd.DataFrame, mode: str) -> pd.DataFrame:
    batch = batch.copy()
    batch["dedup_key"] = [
        dedup_key(c, m, mode) if s == "" else f"rejected:{i}"
        for c, m, s, i in zip(batch["code"], batch["messages"], batch["stage"], batch["id"],
                              strict=True)]
    return batch


def mark_duplicates(group: pd.DataFrame) -> pd.DataFrame:
    """One group of equal keys: keep the smallest id, reject the rest."""
    group = group.sort_values("id").reset_index(drop=True)
    live = group.index[alive(group)]
    if len(live) > 1:
        keeper = group.at[live[0], "id"]
        for i in live[1:]:
            reject(group, i, "dedup", f"duplicate of {keeper}")
    return group.drop(columns=["dedup_key"])


def ngrams(text: str, n: int) -> set[int]:
    words = [w.lower() for w in _WORD.findall(text)]
    # a stable hash: the driver's benchmark set and the workers' samples must agree
    return {int.from_bytes(hashlib.blake2b(" ".join(words[i:i + n]).encode(), digest_size=8)
                           .digest(), "little") for i in range(len(words) - n + 1)}


def benchmark_ngrams(paths: list[str], n: int) -> set[int]:
    """Word n-grams of every instruction-like text field in the benchmark files (read by
    viscoder.tables' rules)."""
    from viscoder.tables import read_frames

    grams: set[int] = set()
    for _, frame in read_frames(paths):
        for column in frame.columns:
            if frame[column].dtype == object:
                for value in frame[column]:
                    if isinstance(value, str) and len(value) > 40:
                        grams |= ngrams(value, n)
    return grams


def overlap_share(messages: str, grams: set[int], n: int) -> float:
    if not messages or not grams:
        return 0.0
    text = " ".join(m["content"] for m in json.loads(messages))
    mine = ngrams(text, n)
    return len(mine & grams) / len(mine) if mine else 0.0


def check_overlap(batch: pd.DataFrame, grams: set[int], n: int, threshold: float) -> pd.DataFrame:
    batch = batch.copy()
    shares = [overlap_share(m, grams, n) if s == "" else 0.0
              for m, s in zip(batch["messages"], batch["stage"], strict=True)]
    batch["benchmark_overlap"] = shares
    for i in batch.index[alive(batch)]:
        if batch.at[i, "benchmark_overlap"] > threshold:
            reject(batch, i, "overlap",
                   f"{batch.at[i, 'benchmark_overlap']:.0%} of its {n}-grams are in benchmark tasks")
    return batch
