"""Typed configuration shared by every stage.

Each stage defines a pydantic model derived from :class:`StrictConfig` (unknown keys are
rejected, so a typo in a YAML file is an error, not a silently ignored setting) and loads it
with :func:`load_config`: a YAML file, then ``key=value`` overrides from the command line, with
dotted keys for nested sections (``sandbox.timeout_s=20``). Values in overrides are parsed as
YAML scalars, so ``workers=4`` is an int and ``no_judge=true`` a bool.

    cfg = load_config(BenchConfig, "configs/bench.yaml", ["workers=4", "sandbox.timeout_s=20"])
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

ConfigT = TypeVar("ConfigT", bound="StrictConfig")


class ConfigError(ValueError):
    """A configuration that cannot be used; the message says which key and why."""


class StrictConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def write(self, path: str | Path) -> Path:
        """Write the resolved config next to a run's outputs."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_yaml())
        return path


def parse_overrides(overrides: Iterable[str]) -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` -> ``{"a": {"b": 1}, "c": "x"}``."""
    tree: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {part!r} is already set to a value")
            node = child
        node[parts[-1]] = value
    return tree


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(
    schema: type[ConfigT],
    path: str | Path | None = None,
    overrides: Iterable[str] = (),
    **values: Any,
) -> ConfigT:
    """Build ``schema`` from a YAML file, keyword values, then ``key=value`` overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path} must hold a mapping of settings at the top level")
        data = loaded
    data = deep_merge(data, {k: v for k, v in values.items() if v is not None})
    data = deep_merge(data, parse_overrides(overrides))
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        where = f" in {path}" if path else ""
        lines = [f"invalid {schema.__name__}{where}:"]
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"  {loc}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None
