"""Near-duplicate code on Ray Data: MinHash signatures over code shingles, LSH banding,
clusters, one keeper per cluster.

A sample's shingles are runs of ``shingle`` tokens within each statement of its code, with
comments and layout dropped, string and number literals replaced by ``S``/``N`` and the
script's own names by ``V`` (imported names, builtins and attribute names stay: ``.bar(`` is
what a script is about), so the same script
with renamed variables, other numbers or reordered statements shares most of its shingles.

    sigs = ds.map_batches(add_signatures, fn_kwargs={"num_perm": 128, "shingle": 5})
    keys = sigs.map_batches(band_keys, fn_kwargs={"bands": b, "rows": r})      # id, band_key
    pairs = keys.groupby("band_key").map_groups(bucket_pairs)                 # candidate pairs
    clusters = verified_clusters(pairs, signatures_of_candidates, threshold)  # on the driver

Signatures and banding are Ray Data tasks and a groupby (they scale with the rows); only
candidate pairs, a small set, come to the driver, where pairs whose estimated Jaccard
similarity is below the threshold are dropped and the rest joined into clusters (union-find).
The smallest id of a cluster is kept; the others are rejected as
``near-duplicate of <id> (Jaccard 0.91)``. ``datasketch`` computes the signatures and picks
the band/row split for the threshold.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import io
import keyword
import tokenize

import numpy as np
import pandas as pd

from viscoder.data.rows import alive, reject

SEED = 1  # every worker must draw the same permutations


_BUILTINS = set(dir(builtins))


def _imported(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    return {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
            if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}


def code_lines(code: str) -> list[list[str]]:
    """Normalised tokens of each logical line (statement header) of the code."""
    lines: list[list[str]] = [[]]
    prev = ""
    kept = _BUILTINS | _imported(code)  # np, plt, print...: what the script is written with
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return [line.split() for line in code.splitlines() if line.strip()]
    for tok in tokens:
        if tok.type == tokenize.NEWLINE:
            lines.append([])
            continue
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT,
                        tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        text = tok.string
        if tok.type == tokenize.STRING:
            text = "S"
        elif tok.type == tokenize.NUMBER:
            text = "N"
        elif tok.type == tokenize.NAME and prev != "." and not keyword.iskeyword(text) \
                and text not in kept:
            text = "V"  # a name of the script's own: renaming it changes nothing
        lines[-1].append(text)
        prev = tok.string
    return [line for line in lines if line]


def shingles(code: str, size: int) -> set[bytes]:
    """Runs of `size` tokens within each statement (a shorter statement is one shingle):
    shingles never span two statements, so reordering statements keeps the set."""
    out = set()
    for toks in code_lines(code):
        if len(toks) <= size:
            out.add(" ".join(toks).encode())
        else:
            out |= {" ".join(toks[i:i + size]).encode() for i in range(len(toks) - size + 1)}
    return out


def signature(code: str, num_perm: int, size: int) -> np.ndarray:
    from datasketch import MinHash

    m = MinHash(num_perm=num_perm, seed=SEED)
    m.update_batch(list(shingles(code, size)))
    return m.hashvalues.astype(np.uint64)


def lsh_split(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) that datasketch finds best for the threshold."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def _text(code: str, messages: str) -> str:
    return code or messages


def add_signatures(batch: pd.DataFrame, num_perm: int, shingle: int) -> pd.DataFrame:
    batch = batch.copy()
    batch["minhash"] = [
        signature(_text(c, m), num_perm, shingle).tolist() if s == "" and (c or m) else []
        for c, m, s in zip(batch["code"], batch["messages"], batch["stage"], strict=True)]
    return batch


def band_keys(batch: pd.DataFrame, bands: int, rows: int) -> pd.DataFrame:
    ids, keys = [], []
    for row_id, sig in zip(batch["id"], batch["minhash"], strict=True):
        sig = np.asarray(sig, dtype=np.uint64)
        if not len(sig):
            continue
        for b in range(bands):
            digest = hashlib.blake2b(sig[b * rows:(b + 1) * rows].tobytes(), digest_size=12,
                                     person=b.to_bytes(2, "little").ljust(16, b"\0"))
            ids.append(row_id)
            keys.append(digest.hexdigest())
    return pd.DataFrame({"id": pd.Series(ids, dtype=object), "band_key": pd.Series(keys, dtype=object)})


def bucket_pairs(group: pd.DataFrame) -> pd.DataFrame:
    """One LSH bucket: its smallest id paired with each other id (enough to join them)."""
    ids = sorted(set(group["id"]))
    return pd.DataFrame({"a": pd.Series(ids[:1] * (len(ids) - 1), dtype=object),
                         "b": pd.Series(ids[1:], dtype=object)})


def verified_clusters(pairs: pd.DataFrame, signatures: dict[str, np.ndarray],
                      threshold: float) -> dict[str, tuple[str, float]]:
    """id -> (the id it duplicates, estimated Jaccard) for every non-keeper of a cluster."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    similarity: dict[str, float] = {}
    for a, b in zip(pairs["a"], pairs["b"], strict=True):
        if a == b or a not in signatures or b not in signatures:
            continue
        jaccard = float(np.mean(signatures[a] == signatures[b]))
        if jaccard < threshold:
            continue
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
        similarity[b] = max(similarity.get(b, 0.0), jaccard)
        similarity[a] = max(similarity.get(a, 0.0), jaccard)
    out = {}
    for x in list(parent):
        keeper = find(x)
        if x != keeper:
            out[x] = (keeper, similarity.get(x, threshold))
    return out


def mark_near_duplicates(batch: pd.DataFrame, duplicates: dict[str, tuple[str, float]]) -> pd.DataFrame:
    batch = batch.copy()
    for i in batch.index[alive(batch)]:
        hit = duplicates.get(batch.at[i, "id"])
        if hit:
            reject(batch, i, "dedup", f"near-duplicate of {hit[0]} (Jaccard {hit[1]:.2f})")
    return batch.drop(columns=["minhash"], errors="ignore")


def near_duplicates(ds, threshold: float, num_perm: int, shingle: int):
    """(the dataset with near-duplicates rejected, a summary with clusters and an example)."""
    import ray.data  # noqa: F401  (the caller has started Ray)

    bands, rows = lsh_split(threshold, num_perm)
    signed = ds.map_batches(add_signatures, batch_format="pandas",
                            fn_kwargs={"num_perm": num_perm, "shingle": shingle}).materialize()
    keys = signed.select_columns(["id", "minhash"]).map_batches(
        band_keys, batch_format="pandas", fn_kwargs={"bands": bands, "rows": rows})
    pairs = keys.groupby("band_key").map_groups(bucket_pairs, batch_format="pandas").to_pandas()
    if pairs.empty:  # no bucket held two rows (or no row is left): Ray returns no columns then
        pairs = pd.DataFrame({"a": pd.Series(dtype=object), "b": pd.Series(dtype=object)})
    involved = set(pairs["a"]) | set(pairs["b"])
    sigs: dict[str, np.ndarray] = {}
    if involved:
        found = signed.select_columns(["id", "minhash"]).filter(
            lambda r: r["id"] in involved).to_pandas()
        sigs = {i: np.asarray(s, dtype=np.uint64) for i, s in zip(found["id"], found["minhash"],
                                                                   strict=True)}
    duplicates = verified_clusters(pairs, sigs, threshold)
    keepers = sorted({k for k, _ in duplicates.values()})
    summary = {"threshold": threshold, "num_perm": num_perm, "shingle": shingle, "bands": bands,
               "rows_per_band": rows, "candidate_pairs": len(pairs), "clusters": len(keepers),
               "removed": len(duplicates), "example": None}
    if duplicates:
        dup, (keeper, jaccard) = min(duplicates.items())
        codes = signed.select_columns(["id", "code", "messages"]).filter(
            lambda r: r["id"] in (dup, keeper)).to_pandas().set_index("id")
        summary["example"] = {"kept": keeper, "removed": dup, "jaccard": round(jaccard, 3),
                              "kept_code": _text(codes.at[keeper, "code"], codes.at[keeper, "messages"]),
                              "removed_code": _text(codes.at[dup, "code"], codes.at[dup, "messages"])}
    marked = signed.map_batches(mark_near_duplicates, batch_format="pandas",
                                fn_kwargs={"duplicates": duplicates})
    return marked, summary
