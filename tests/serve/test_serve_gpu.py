"""GPU-only: the CUDA vLLM path (one GPU, and tensor parallel over two). Skipped without CUDA."""

import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def _serve(tiny_model, tp):
    import openai

    from tests.support.processes import free_port
    from viscoder.serve import server
    from viscoder.serve.config import ServeConfig

    cfg = ServeConfig(model=str(tiny_model), model_id="tiny", device="gpu", tensor_parallel_size=tp,
                      port=free_port(), max_model_len=1024, engine_kwargs={"gpu_memory_utilization": 0.3})
    base = server.start(cfg)
    try:
        c = openai.OpenAI(base_url=base, api_key="EMPTY")
        out = c.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}], max_tokens=4)
        assert out.usage.completion_tokens == 4
    finally:
        server.stop()


def test_cuda_vllm_one_gpu(tiny_model):
    _serve(tiny_model, 1)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_cuda_vllm_tensor_parallel(tiny_model):
    _serve(tiny_model, 2)
