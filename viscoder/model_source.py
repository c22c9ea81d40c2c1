"""Where a model comes from: a local Hugging Face folder, a hub id, or a cloud path.

Checked on the driver, before any Ray work, so a typo in a path is one clear line rather than
a retried failure on every worker. Local folders are made absolute because Ray workers do
not share the driver's working directory.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from viscoder.config import ConfigError

CLOUD_PREFIXES = ("s3://", "gs://", "gcs://", "abfss://", "azure://")


class ModelNotFound(ConfigError):
    """The ``model`` setting names nothing that can be loaded; the message says why. A
    configuration error: commands exit 2 on it, before any work."""


def how_to_build(model: str) -> str:
    return (f"build a tiny random model there with `viscoder serve tiny-model {model}` (no "
            "download), or point model at a trained folder (viscoder train's output_dir/model)")


def check_model_source(model: str) -> None:
    """Clear errors, before any Ray work, for a local folder that is missing or is not a
    model, and for a Hugging Face id that cannot be fetched (not in the local cache, and the
    hub is off or unreachable). Cloud paths are checked by the engine when it loads them."""
    if model.startswith(CLOUD_PREFIXES):
        return
    if not is_local(model):
        _check_fetchable(model)
        return
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ModelNotFound(f"model: folder not found: {model}; {how_to_build(model)}")
    config = path / "config.json"
    if not config.exists():
        raise ModelNotFound(f"model: {model} has no config.json: not a Hugging Face model folder")
    try:
        json.loads(config.read_text())
    except ValueError as exc:
        raise ModelNotFound(f"model: {config} is not valid JSON: {exc}") from None
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        raise ModelNotFound(f"model: {model} holds no weights (*.safetensors or *.bin)")


def _check_fetchable(model: str) -> None:
    """``org/name`` is a folder that does not exist here, or a hub id: fine when the hub
    cache has it or the hub can be reached; otherwise the one-line reason and the way out."""
    from huggingface_hub import constants, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(model, "config.json"), str):
        return  # cached: loads offline
    if constants.HF_HUB_OFFLINE:
        why = "HF_HUB_OFFLINE is set"
    elif _hub_reachable():
        return
    else:
        why = "the hub cannot be reached from this machine"
    raise ModelNotFound(
        f"model: {model} is no folder here, and as a Hugging Face id it is not in the local cache and "
        f"cannot be fetched offline ({why}); {how_to_build(model)}")


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """A TCP connection to the hub's endpoint (nothing is sent): a quick answer now instead
    of every Ray worker retrying its download later."""
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(os.environ.get("HF_ENDPOINT") or constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname or "huggingface.co",
                                       url.port or (443 if url.scheme == "https" else 80)),
                                      timeout=timeout_s):
            return True
    except OSError:
        return False


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
