"""The in-plan vLLM engine (ray.data.llm vLLMEngineProcessorConfig) for the LLM steps, on
CUDA. Skipped without it; run on GPU nodes with `pytest -m gpu tests/data`."""

import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu, pytest.mark.slow,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def test_vllm_engine_steps_account_for_every_row(tiny_model, tmp_path):
    import ray

    from tests.data.test_pipeline import ids_of, raw_corpus
    from viscoder.data.config import DataConfig
    from viscoder.data.pipeline import run_data

    raw, raw_ids = raw_corpus(tmp_path)
    cfg = DataConfig.model_validate({
        "output_dir": str(tmp_path / "out"), "raw": {"paths": [str(raw)]},
        "extractor": "static+llm", "annotator": "template", "exec_actors": 1,
        "llm": {"engine": "vllm", "model": str(tiny_model), "max_tokens": 32, "concurrency": 1,
                "engine_kwargs": {"max_model_len": 2048, "gpu_memory_utilization": 0.3}}})
    try:
        run_data(cfg)
    finally:
        ray.shutdown()
    kept, rejected = ids_of(tmp_path / "out" / "dataset"), ids_of(tmp_path / "out" / "rejects")
    assert set(kept) | set(rejected) == raw_ids and not set(kept) & set(rejected)
    rejects = pd.read_parquet(tmp_path / "out" / "rejects").set_index("id")
    assert rejects.loc["stack/undefined_helper", "reason"].startswith("llm: ")
