"""The whole data plan on local Ray: raw corpus (with binary, non-UTF-8, huge and
non-plotting files), CoSyn-style and Code-Feedback-style inputs -> dataset + rejects, every
row in exactly one; a killed sandbox actor loses and duplicates nothing; a second run skips
finished steps; and the LLM path against a real local endpoint (`viscoder serve`, tiny model)."""

import json
import os
import shutil
import signal
import threading
from pathlib import Path

import pandas as pd
import psutil
import pytest

from tests.conftest import REPO, descendant_pids
from tests.support.processes import wait_for
from viscoder.data.config import DataConfig
from viscoder.data.pipeline import run_data

pytestmark = pytest.mark.slow
EXAMPLES = REPO / "viscoder" / "examples" / "data"
CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(scope="module", autouse=True)
def ray_session():
    import ray

    yield
    ray.shutdown()


def raw_corpus(tmp: Path) -> tuple[Path, set[str]]:
    rows = [{"id": p.stem, "text": p.read_bytes()} for p in sorted(CORPUS.glob("*.py"))]
    rows += [{"id": "binary", "text": b"\x89PNG\r\n\x1a\n\x00\x00\x00"},
             {"id": "latin1", "text": "import matplotlib\n# caf\xe9\n".encode("latin-1")},
             {"id": "huge", "text": b"import matplotlib\n" + b"x = 1\n" * 60_000},
             {"id": "not_plotting", "text": b"print('hello')\n"}]
    path = tmp / "raw.parquet"
    pd.DataFrame(rows).to_parquet(path)
    return path, {f"stack/{r['id']}" for r in rows}


def ids_of(path: Path) -> list[str]:
    return list(pd.read_parquet(path, columns=["id"])["id"])


def config(tmp: Path, raw: Path, **kw) -> DataConfig:
    values = {"output_dir": str(tmp / "out"), "raw": {"paths": [str(raw)]},
              "cosyn": {"paths": [str(EXAMPLES / "cosyn.jsonl")]},
              "feedback": {"paths": [str(EXAMPLES / "feedback.jsonl")]},
              "exec_actors": 1, "jsonl": True, **kw}
    return DataConfig.model_validate(values)


def test_every_row_ends_in_the_dataset_or_the_rejects(tmp_path, capsys):
    raw, raw_ids = raw_corpus(tmp_path)
    out = tmp_path / "out"
    stats = run_data(config(tmp_path, raw))
    kept, rejected = ids_of(out / "dataset"), ids_of(out / "rejects")
    expected = raw_ids | {f"cosyn/{json.loads(x)['id']}"
                          for x in (EXAMPLES / "cosyn.jsonl").read_text().splitlines()} \
        | {f"code_feedback/{json.loads(x)['id']}"
           for x in (EXAMPLES / "feedback.jsonl").read_text().splitlines()}
    assert len(kept) == len(set(kept)) and len(rejected) == len(set(rejected))
    assert set(kept) | set(rejected) == expected and not set(kept) & set(rejected)
    assert stats["rows_in"] == len(expected) and stats["accepted"] == len(kept)

    rejects = pd.read_parquet(out / "rejects").set_index("id")
    assert rejects.loc["stack/binary", "reason"] == "binary"
    assert rejects.loc["stack/latin1", "reason"] == "not_utf8"
    assert rejects.loc["stack/huge", "reason"] == "too_large"
    assert rejects.loc["stack/python2_syntax", "stage"] == "extract"
    assert rejects.loc["cosyn/broken-4", "stage"] == "execute"
    assert (rejects["reason"] != "").all()

    import datasets
    from PIL import Image

    ds = datasets.load_dataset("parquet", data_files=str(out / "dataset" / "*.parquet"), split="train")
    ds = ds.cast_column("image", datasets.Image())
    assert set(ds.column_names) >= {"messages", "image", "library", "source", "id"}
    code_rows = [r for r in ds if r["source"] != "code_feedback"]
    assert len(code_rows) >= 10 and all(isinstance(r["image"], Image.Image) for r in code_rows)
    assert {r["library"] for r in code_rows} >= {"matplotlib", "seaborn", "plotly"}
    for row in ds:
        roles = [m["role"] for m in row["messages"]]
        assert roles[-1] == "assistant" and "user" in roles
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and card.count("<img ") >= 1  # Hub metadata, image grid
    assert (out / "near_duplicates.json").exists() and "## Yield funnel" in card
    assert len((out / "dataset.jsonl").read_text().splitlines()) == len(kept)

    capsys.readouterr()
    again = run_data(config(tmp_path, raw))
    assert again == stats
    assert capsys.readouterr().out.count("done in an earlier run, skipped") == 6


def test_a_killed_sandbox_actor_loses_and_duplicates_nothing(tmp_path):
    slow = "import time, matplotlib.pyplot as plt\ntime.sleep(0.4)\nplt.plot([{k}, 2, {k}])\nplt.show()\n"
    rows = [{"id": f"s{k}", "text": slow.format(k=k)} for k in range(30)]
    pd.DataFrame(rows).to_parquet(tmp_path / "raw.parquet")
    cfg = DataConfig.model_validate({"output_dir": str(tmp_path / "out"),
                                     "raw": {"paths": [str(tmp_path / "raw.parquet")]},
                                     "exec_actors": 1, "exec_batch_rows": 4, "dedup": "exact",
                                     "card_examples": 0})
    run_data(cfg, steps=["ingest", "extract"])
    killed: list[int] = []

    def kill_one_actor():
        actor = wait_for(lambda: descendant_pids("SandboxExecutor"), 240, "a sandbox actor")[0]
        scripts: set[int] = set()

        def a_batch_finished():
            # its sandbox worker forks one child per script: a fifth means a batch of 4 is done
            try:
                scripts.update(p.pid for p in psutil.Process(actor).children(recursive=True)
                               if p.ppid() != actor)
            except psutil.Error:
                pass
            return len(scripts) >= 5

        wait_for(a_batch_finished, 240, "the actor to finish a batch", interval_s=0.05)
        os.kill(actor, signal.SIGKILL)
        killed.append(actor)

    killer = threading.Thread(target=kill_one_actor, daemon=True)
    killer.start()
    run_data(cfg, steps=["execute"])
    killer.join(timeout=5)
    assert killed, "no sandbox actor was killed"
    done = pd.read_parquet(tmp_path / "out" / "stages" / "execute")
    assert sorted(done["id"]) == sorted(f"stack/s{k}" for k in range(30))
    assert (done["stage"] == "").all(), done[done["stage"] != ""][["id", "reason"]]
    assert all(img[:4] == b"\x89PNG" for img in done["image"])


@pytest.mark.parametrize("mode", ["llm"])
def test_llm_path_against_a_real_endpoint_rejects_garbage_with_reasons(tiny_server, tmp_path, mode):
    raw, raw_ids = raw_corpus(tmp_path)
    cfg = config(tmp_path, raw, extractor="static+llm", annotator="llm", cosyn=None, feedback=None,
                 llm={"base_url": tiny_server["base_url"], "model": "tiny", "max_tokens": 64,
                      "concurrency": 2})
    stats = run_data(cfg)
    out = tmp_path / "out"
    kept, rejected = ids_of(out / "dataset"), ids_of(out / "rejects")
    assert set(kept) | set(rejected) == raw_ids and not set(kept) & set(rejected)
    rejects = pd.read_parquet(out / "rejects").set_index("id")
    # the static extractor could not do it, the tiny model's noise cannot either
    assert rejects.loc["stack/undefined_helper", "reason"].startswith("llm: ")
    # blocks that ran got an annotation request; noise is no JSON instruction
    llm_annotations = rejects[rejects["stage"] == "annotate"]
    assert len(llm_annotations) >= 5 and llm_annotations["reason"].str.startswith("llm: ").all()
    assert stats["rows_in"] == len(raw_ids)
    shutil.rmtree(out)


def test_a_raw_source_without_its_text_column_fails_at_once_naming_its_columns(tmp_path):
    pd.DataFrame({"id": ["a"], "source_code": ["import matplotlib"]}).to_parquet(tmp_path / "r.parquet")
    cfg = DataConfig.model_validate({"output_dir": str(tmp_path / "out"),
                                     "raw": {"paths": [str(tmp_path / "r.parquet")]}})
    with pytest.raises(ValueError, match="its columns are id, source_code"):
        run_data(cfg, steps=["ingest"])
    assert not (tmp_path / "out" / "stages" / "ingest" / "_SUCCESS").exists()
    pd.DataFrame({"id": ["a"], "content": ["import matplotlib.pyplot as plt\nplt.plot([1])\n"]}) \
        .to_parquet(tmp_path / "r.parquet")  # The Stack's column name is understood
    run_data(cfg, steps=["ingest"])
    assert list(pd.read_parquet(tmp_path / "out" / "stages" / "ingest")["stage"]) == [""]


def test_near_duplicates_with_no_candidate_pair_keeps_every_row():
    # every row rejected before mix (an endpoint that answers garbage): no bucket has two rows,
    # and Ray returns the pairs as a frame without columns
    import ray.data

    from viscoder.data.neardup import near_duplicates
    from viscoder.data.rows import normalise

    frame = normalise(pd.DataFrame({"id": ["a", "b"]}), "stack")
    frame["code"] = ["plt.plot([1, 2])\n", "plt.plot([1, 2])\n"]
    frame["stage"], frame["reason"] = "annotate", "llm: no answer"
    marked, summary = near_duplicates(ray.data.from_pandas(frame), 0.8, 64, 5)
    assert summary["candidate_pairs"] == 0 and summary["removed"] == 0
    assert sorted(marked.to_pandas()["reason"]) == ["llm: no answer", "llm: no answer"]
