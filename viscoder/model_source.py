"""Where a model comes from: a local Hugging Face folder, a hub id, or a cloud path.

Checked on the driver, before any Ray work, so a typo in a path is one clear line rather than
a retried failure on every worker. Local folders are made absolute because Ray workers do
not share the driver's working directory.
"""

from __future__ import annotations

import json
from pathlib import Path

CLOUD_PREFIXES = ("s3://", "gs://", "gcs://", "abfss://", "azure://")


class ModelNotFound(ValueError):
    """The model source cannot be served; the message says why."""


def check_model_source(model: str) -> None:
    """Clear errors for a local folder that is missing or is not a model, before any Ray work.
    Hugging Face ids and cloud paths are checked by the engine when it loads them."""
    if not is_local(model):
        return  # an org/name Hugging Face id, or a cloud path
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ModelNotFound(f"model folder not found: {model}")
    config = path / "config.json"
    if not config.exists():
        raise ModelNotFound(f"{model} has no config.json: not a Hugging Face model folder")
    try:
        json.loads(config.read_text())
    except ValueError as exc:
        raise ModelNotFound(f"{config} is not valid JSON: {exc}") from None
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        raise ModelNotFound(f"{model} holds no weights (*.safetensors or *.bin)")


def is_local(model: str) -> bool:
    """A path on this machine rather than a hub id (org/name) or a cloud URI."""
    if model.startswith(CLOUD_PREFIXES):
        return False
    return Path(model).expanduser().exists() or model.startswith((".", "/", "~")) \
        or model.count("/") > 1


def resolve_model(model: str) -> str:
    """Check ``model`` and return it with a local folder made absolute."""
    check_model_source(model)
    return str(Path(model).expanduser().resolve()) if is_local(model) else model
