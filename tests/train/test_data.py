"""The training data plan on local Ray: every row counted, bad rows dropped with reasons,
Parquet/JSONL/folder inputs, packing, and the collated batches the workers get."""

import json

import pandas as pd
import pytest

from viscoder.train.config import TrainConfig
from viscoder.train.data import DataError, prepare_data, read_chats
from viscoder.train.worker import make_collate


def chat(i, n_turns=1):
    msgs = []
    for t in range(n_turns):
        msgs += [{"role": "user", "content": f"plot {i} turn {t}"},
                 {"role": "assistant", "content": f"plt.plot([{i}, {t}])"}]
    return msgs


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    if ray.is_initialized():  # an earlier test's Ray: start a fresh one with known resources
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture()
def corpus(tmp_path):
    good = [{"messages": chat(i, 1 + i % 3)} for i in range(20)]
    bad = [
        {"messages": [{"role": "user", "content": "only a question"}]},
        {"messages": [{"role": "user", "content": "long " * 3000}, {"role": "assistant", "content": "x"}]},
        {"messages": [{"role": "wizard", "content": "?"}, {"role": "assistant", "content": "x"}]},
    ]
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in good[:10] + bad))
    folder = tmp_path / "shards"
    folder.mkdir()
    pd.DataFrame(good[10:15]).to_parquet(folder / "part-0.parquet")
    pd.DataFrame(good[15:]).to_parquet(folder / "part-1.parquet")
    return [str(jsonl), str(folder)]


def config(tiny_model, data, tmp_path, **kw):
    return TrainConfig(model=str(tiny_model), data=data, output_dir=str(tmp_path / "run"),
                       num_workers=2, use_gpu=False, max_length=512, **kw)


def test_every_row_is_kept_or_dropped_with_a_reason(local_ray, tiny_model, corpus, tmp_path):
    data = prepare_data(config(tiny_model, corpus, tmp_path), tokenizer_cpus=1)
    assert data.rows_in == 23
    assert data.rows_kept == 20
    assert data.dropped == {"bad_messages": 2, "too_long": 1}
    assert data.rows_kept + sum(data.dropped.values()) == data.rows_in
    assert data.rows_for_training == 20
    rows = data.dataset.take_all()
    assert all(len(r["input_ids"]) == len(r["labels"]) <= 512 for r in rows)
    assert data.tokens_kept == sum(len(r["input_ids"]) for r in rows)
    assert 0 < data.loss_tokens_kept < data.tokens_kept


def test_packing_fills_rows_without_splitting_samples(local_ray, tiny_model, corpus, tmp_path):
    data = prepare_data(config(tiny_model, corpus, tmp_path, packing=True), tokenizer_cpus=1)
    rows = data.dataset.take_all()
    assert data.rows_for_training == len(rows) < data.rows_kept
    assert sum(sum(r["seq_lengths"]) for r in rows) == data.tokens_kept
    assert all(len(r["input_ids"]) <= 512 for r in rows)
    # TRL's padding-free collation restarts positions at every packed sample
    batch = make_collate(pad_token_id=0, padding_free=True)(
        {k: [r[k] for r in rows[:2]] for k in ("input_ids", "labels", "seq_lengths")})
    starts = int((batch["position_ids"][0] == 0).sum())
    assert starts == len(rows[0]["seq_lengths"]) + len(rows[1]["seq_lengths"])
    assert "attention_mask" not in batch


def test_padded_collation_masks_padding(local_ray, tiny_model, corpus, tmp_path):
    rows = prepare_data(config(tiny_model, corpus, tmp_path), tokenizer_cpus=1).dataset.take(3)
    batch = make_collate(pad_token_id=0, padding_free=False)(
        {k: [r[k] for r in rows] for k in ("input_ids", "labels")})
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    assert (batch["labels"][batch["attention_mask"] == 0] == -100).all()


def test_missing_column_and_missing_files_are_clear_errors(local_ray, tmp_path):
    (tmp_path / "x.jsonl").write_text('{"text": "hello"}\n')
    with pytest.raises(DataError, match="no 'messages' column"):
        read_chats([str(tmp_path / "x.jsonl")], "messages")
    with pytest.raises(DataError, match="not found"):
        read_chats([str(tmp_path / "nope.parquet")], "messages")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .parquet"):
        read_chats([str(tmp_path / "empty")], "messages")


def test_nothing_left_to_train_on_is_an_error(local_ray, tiny_model, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "q"}]}) + "\n")
    with pytest.raises(DataError, match="all 1 rows were dropped"):
        prepare_data(config(tiny_model, [str(path)], tmp_path), tokenizer_cpus=1)
