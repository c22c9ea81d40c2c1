"""Settings of a benchmark run (``viscoder bench``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from viscoder.config import StrictConfig
from viscoder.sandbox.config import SandboxConfig


class EndpointConfig(StrictConfig):
    """An OpenAI-compatible chat endpoint: our Ray Serve app, a vLLM server or a hosted API."""

    base_url: str | None = Field(None, description="e.g. http://127.0.0.1:8000/v1; None = OpenAI")
    model: str = ""
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the key")
    temperature: float = 0.0
    max_tokens: int = Field(2048, ge=1)
    timeout_s: float = Field(300.0, gt=0, description="per request")
    max_retries: int = Field(6, ge=0, description="429 / 5xx / connection errors, with backoff")
    max_concurrent_requests: int = Field(16, ge=1, description="in flight, over all workers")


class JudgeConfig(EndpointConfig):
    enabled: bool = True
    model: str = "gpt-4o"
    max_tokens: int = Field(64, ge=1)
    good_threshold: float = Field(75.0, description="a score at or above this counts as Good")


class BenchConfig(StrictConfig):
    benchmark: Literal["pandasplotbench", "matplotbench"] = "pandasplotbench"
    data: str | None = Field(None, description="local copy; None = the Hugging Face hub")
    library: Literal["matplotlib", "seaborn", "plotly"] = "matplotlib"
    instruction: Literal["simple", "expert"] = Field("simple", description="MatPlotBench only")
    prompts: str | None = Field(None, description="an upstream instructs.json to use instead of ours")
    out: str = "runs/bench"
    limit: int | None = Field(None, ge=1, description="first N tasks")
    workers: int = Field(2, ge=1, description="Ray actors, each with its own sandbox")
    self_debug_rounds: int = Field(3, ge=0)
    visual_feedback: bool = Field(False, description="precise no-plot / blank-plot feedback")
    feedback_images: bool = Field(False, description="attach the rendered image (vision models)")
    blank_is_failure: bool = Field(False, description="an empty plot counts as a failure")
    generator: EndpointConfig = Field(default_factory=EndpointConfig)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    ray_address: str | None = Field(None, description="None = local Ray, or the cluster's address")
