"""Settings of ``viscoder data``: the inputs, each step's knobs, and where the dataset goes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from viscoder.config import StrictConfig
from viscoder.sandbox.config import SandboxConfig


class RawSource(StrictConfig):
    """A stack-edu-style corpus: one Python file per row."""
    paths: list[str] = Field(..., min_length=1, description="Parquet/JSONL files or folders")
    id_column: str = "id"
    text_column: str | None = Field(None, description="the column with the file's source; "
                                    "default: `text`, or `content` (The Stack's name)")


class CosynSource(StrictConfig):
    """CoSyn-style chart code whose data table is stored beside it."""
    paths: list[str] = Field(..., min_length=1)
    id_column: str = "id"
    code_column: str = "code"
    table_column: str = Field("data", description="the table as CSV text")
    table_name: str = Field("data.csv", description="the file name the rebuilt script reads")


class FeedbackSource(StrictConfig):
    """Code-Feedback-style multi-turn dialogues with execution feedback (`messages`)."""
    paths: list[str] = Field(..., min_length=1)
    id_column: str = "id"
    messages_column: str = "messages"
    max_turns: int = Field(8, ge=2, description="messages per dialogue, system excluded")
    max_chars: int = Field(12000, ge=100, description="characters over all messages")


class LLMEndpoint(StrictConfig):
    """Any OpenAI-compatible endpoint (vLLM, `viscoder serve`, a hosted API), or, with
    ``engine: vllm``, a vLLM engine inside the Ray Data plan on the cluster's GPU nodes."""
    engine: Literal["http", "vllm"] = "http"
    base_url: str | None = Field(None, description="for engine=http, e.g. http://host:8000/v1")
    model: str = Field(..., description="the served model name, or for engine=vllm the "
                       "Hugging Face id / folder to load")
    engine_kwargs: dict = Field(default_factory=dict, description="engine=vllm: vLLM engine "
                                "arguments (tensor_parallel_size, max_model_len...)")
    accelerator_type: str | None = Field(None, description="engine=vllm: e.g. H100")
    api_key_env: str | None = Field(None, description="environment variable with the key")
    concurrency: int = Field(4, ge=1, description="request workers of the Ray Data processor")
    max_tokens: int = Field(1024, ge=16)
    temperature: float = Field(0.0, ge=0)
    qps: float | None = Field(None, gt=0, description="requests/s cap across the run")

    @model_validator(mode="after")
    def _engine(self) -> LLMEndpoint:
        if self.engine == "http" and not self.base_url:
            raise ValueError("engine=http needs base_url")
        return self


class DataConfig(StrictConfig):
    output_dir: str
    raw: RawSource | None = None
    cosyn: CosynSource | None = None
    feedback: FeedbackSource | None = None

    libraries: list[str] = Field(default_factory=lambda: ["matplotlib", "seaborn", "plotly"])
    max_file_bytes: int = Field(200_000, ge=1000)
    extractor: Literal["static", "llm", "static+llm"] = Field(
        "static", description="static: no LLM; llm: every candidate to the LLM; static+llm: the "
        "LLM gets only what the static extractor could not do")
    annotator: Literal["template", "llm"] = "template"
    llm: LLMEndpoint | None = Field(None, description="for the llm extractor/annotator")

    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    exec_actors: int | None = Field(None, ge=1, description="sandbox actors; default: CPUs - 1")
    exec_batch_rows: int = Field(8, ge=1)
    exec_resources: dict[str, float] = Field(default_factory=dict, description="custom Ray "
                                             "resources each sandbox actor asks for, e.g. "
                                             "{sandbox: 1} so untrusted code lands only on the "
                                             "cluster's sandbox nodes (cluster.yaml)")

    dedup: Literal["exact", "near", "none"] = Field(
        "near", description="exact: equal code; near: also code equal after normalising "
        "comments, layout and literal values, and near-duplicates by MinHash + LSH over code "
        "shingles (renamed variables, reordered statements)")
    near_dup_threshold: float = Field(0.8, gt=0, lt=1, description="estimated Jaccard "
                                      "similarity of code shingles at which two samples are "
                                      "near-duplicates")
    minhash_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations")
    shingle_tokens: int = Field(5, ge=2, le=20, description="tokens per code shingle")
    benchmark_paths: list[str] = Field(default_factory=list, description="PandasPlotBench / "
                                       "MatPlotBench data whose instructions must not leak in")
    overlap_ngram: int = Field(8, ge=3)
    overlap_threshold: float = Field(0.5, gt=0, le=1, description="share of a sample's n-grams "
                                     "found in benchmark instructions above which it is dropped")

    jsonl: bool = Field(False, description="also write JSONL (images as files beside it)")
    shard_rows: int = Field(5000, ge=10)
    card_examples: int = Field(6, ge=0)
    ray_address: str | None = None

    @model_validator(mode="after")
    def _check(self) -> DataConfig:
        if not (self.raw or self.cosyn or self.feedback):
            raise ValueError("give at least one input: raw, cosyn or feedback")
        needs_llm = self.extractor != "static" or self.annotator == "llm"
        if needs_llm and self.llm is None:
            raise ValueError(f"extractor={self.extractor} / annotator={self.annotator} need an "
                             "`llm` endpoint (base_url, model)")
        return self
