"""Typed configuration shared by every stage.

Each stage defines a pydantic model derived from :class:`StrictConfig` (unknown keys are
rejected, so a typo in a YAML file is an error, not a silently ignored setting); every check
of a setting is a validator on that model, so a library caller gets the same checks as the
command line. :func:`load_config` builds it from, in order of precedence, a YAML file, values
given as data (a command's flags, a library caller's settings: nested dicts or dotted keys,
never parsed), then ``key=value`` overrides typed on the command line (dotted keys for nested
sections, ``sandbox.timeout_s=20``; the value is parsed as YAML, so ``workers=4`` is an int).

    cfg = load_config(BenchConfig, "run.yaml", ["workers=4"], {"generator.model": "m"})

A :class:`ConfigError` is one line naming the key. Every sub-command exits 2 on it (bad
configuration, found before any work starts) and 1 on a failure while running.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
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


def set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    """``tree["a"]["b"] = value`` for ``key="a.b"``, creating the sections on the way."""
    node = tree
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{key}: {part!r} is already set to a value, not a section")
        node = child
    node[parts[-1]] = value


def nested(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "c": {"d": 2}}`` -> ``{"a": {"b": 1}, "c": {"d": 2}}``; values as given."""
    tree: dict[str, Any] = {}
    for key, value in values.items():
        set_dotted(tree, key, dict(nested(value)) if isinstance(value, Mapping) else value)
    return tree


def parse_overrides(overrides: Iterable[str]) -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` -> ``{"a": {"b": 1}, "c": "x"}``: command-line text, parsed as YAML."""
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
        set_dotted(tree, key, value)
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
    values: Mapping[str, Any] | None = None,
    **settings: Any,
) -> ConfigT:
    """Build ``schema`` from a YAML file, then ``values`` and keyword ``settings`` (data:
    None means "not given"), then ``key=value`` overrides from a command line."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path} must hold a mapping of settings at the top level")
        data = loaded
    given = {**(values or {}), **settings}
    data = deep_merge(data, nested({k: v for k, v in given.items() if v is not None}))
    data = deep_merge(data, parse_overrides(overrides))
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, schema, path)) from None


def describe(exc: ValidationError, schema: type[BaseModel], path: str | Path | None = None) -> str:
    """A pydantic error as one line that names each key: ``generator.model: ...``; an unknown
    key is said to be unknown, with the closest known one."""
    where = f" ({path})" if path else ""
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")  # our validators name their keys
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key {loc!r}{_did_you_mean(schema, err['loc'])}")
        else:
            problems.append(f"{loc}: {msg}" if loc else msg)
    return f"invalid {schema.__name__}{where}: " + "; ".join(problems)


def _did_you_mean(schema: type[BaseModel], loc: tuple) -> str:
    model: Any = schema
    for part in loc[:-1]:  # walk down to the section that holds the unknown key
        field = getattr(model, "model_fields", {}).get(part)
        model = getattr(field, "annotation", None) if field else None
    known = list(getattr(model, "model_fields", {}))
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
