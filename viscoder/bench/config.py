"""Settings of a benchmark run (``viscoder bench``)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, model_validator

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


class UpstreamSwitches(StrictConfig):
    """``--protocol pandasplotbench``: upstream behaviours that move verdicts or scores, each on
    as upstream has it and each can be turned off alone (``upstream.NAME=false``). Where each
    comes from: viscoder/bench/upstream.py."""

    replace_read_csv: bool = Field(True, description="the four read_csv('data.csv') spellings -> '#'")
    prepend_numpy: bool = Field(True, description="'import numpy as np' first when 'np.' appears")
    save_to_show: bool = Field(True, description=".savefig(...)/.write_image(...) -> .show()")
    unwrap_try_show: bool = Field(True, description="try: ... .show() ... except ...: pass unwrapped")
    duplicate_debug_history: bool = Field(
        True, description="bug: from round 3 the first debug pair is repeated in the history")
    truncate_error: bool = Field(
        False, description="keep 1000+1000 characters of long errors (defined upstream, never called)")
    judge_wrong_library_zero: bool = Field(True, description="0 without a call when the library's name is not in the code")
    judge_prompt_grows: bool = Field(True, description="bug: each task-judge prompt extends the previous one")
    judge_reuses_previous_score: bool = Field(True, description="bug: a failed judge call keeps the previous item's score")
    unparsed_scores_zero: bool = Field(True, description="unparseable judge replies count as 0 in the mean")
    truncate_mean: bool = Field(True, description="int() of the mean and median")
    engine: Literal["vllm", "api"] = Field(
        "vllm", description="upstream generation engine: vllm = 5000 max tokens, api = 3000")
    llama3_template: bool = Field(
        False, description="send upstream vLLM's hand-written Llama-3 chat headers to /v1/completions")


class BenchConfig(StrictConfig):
    protocol: Literal["viscoder", "pandasplotbench", "matplotagent"] = Field(
        "viscoder", description="viscoder: ours; pandasplotbench / matplotagent: the published harnesses")
    upstream: UpstreamSwitches = Field(default_factory=UpstreamSwitches)
    answers: str | None = Field(None, description="saved answers (JSONL: id, round, answer) instead of a model")
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

    @model_validator(mode="after")
    def _protocol_defaults(self) -> BenchConfig:
        """Upstream's settings for what the user left unset (see protocol_defaults)."""
        protocol_defaults(self)
        return self

    @model_validator(mode="after")
    def _answers_name(self) -> BenchConfig:
        """Saved answers need no endpoint: the run is named after the answers file."""
        if not self.generator.model and self.answers:
            from pathlib import PurePath

            self.generator.model = f"answers:{PurePath(self.answers).stem}"
        return self

    def check_runnable(self) -> None:
        """What a run needs beyond valid values: a model name, and the judge's key in this
        environment (an environment check, so not a validator: a recorded config must load
        on a machine without the key). ``run_bench`` calls it, so library callers and the
        command line get the same ConfigError, naming the key."""
        from viscoder.config import ConfigError

        if not self.generator.model:
            raise ConfigError("generator.model is required (--model: the model name at the endpoint)")
        judge = self.judge
        if judge.enabled and not judge.base_url and not os.environ.get(judge.api_key_env):
            raise ConfigError(f"judge.api_key_env: the judge needs {judge.api_key_env} set (or "
                              "--judge-base-url for a self-hosted vision model); pass --no-judge "
                              "to skip judging")


def protocol_defaults(cfg: BenchConfig) -> None:
    wanted = {"pandasplotbench": "pandasplotbench", "matplotagent": "matplotbench"}.get(cfg.protocol)
    if wanted and cfg.benchmark != wanted and "benchmark" in cfg.model_fields_set:
        raise ValueError(f"--protocol {cfg.protocol} is the harness of {wanted}, "
                         f"not of {cfg.benchmark}")
    if cfg.protocol == "matplotagent" and "benchmark" not in cfg.model_fields_set:
        cfg.benchmark = "matplotbench"
    if cfg.protocol == "pandasplotbench":
        from viscoder.bench import upstream

        if "max_tokens" not in cfg.generator.model_fields_set:
            cfg.generator.max_tokens = upstream.GEN_MAX_TOKENS[cfg.upstream.engine]
        judge = cfg.judge
        if "model" not in judge.model_fields_set:
            judge.model = upstream.JUDGE_MODEL
        if "max_tokens" not in judge.model_fields_set:
            judge.max_tokens = upstream.JUDGE_MAX_TOKENS
    elif cfg.protocol == "matplotagent":  # evaluation/api_eval.py, openai_chatComplete.py
        judge = cfg.judge
        for key, value in (("temperature", 0.2), ("max_tokens", 1000), ("model", "gpt-4-vision-preview")):
            if key not in judge.model_fields_set:
                setattr(judge, key, value)
        if "max_tokens" not in cfg.generator.model_fields_set:
            cfg.generator.max_tokens = 4096
        if "self_debug_rounds" not in cfg.model_fields_set:
            cfg.self_debug_rounds = 0  # the direct-decoding baseline has none
        sandbox = cfg.sandbox  # the harness's library versions, where H3's runtimes exist
        if "runtime" in type(sandbox).model_fields and "runtime" not in sandbox.model_fields_set:
            sandbox.runtime = "pandasplotbench"
