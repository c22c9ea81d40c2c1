import pytest

from viscoder.config import ConfigError, load_config, parse_overrides
from viscoder.sandbox import SandboxConfig


def test_overrides_are_typed_and_nested():
    assert parse_overrides(["a.b=1", "c=true", "d=x y", "e="]) == {
        "a": {"b": 1}, "c": True, "d": "x y", "e": ""}


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("timeout_s: 3\ndpi: 80\n")
    cfg = load_config(SandboxConfig, path, ["dpi=120"])
    assert cfg.timeout_s == 3 and cfg.dpi == 120


@pytest.mark.parametrize("bad", [["nope=1"], ["timeout_s=-1"], ["dpi"]])
def test_bad_settings_are_rejected_with_the_key(bad):
    with pytest.raises(ConfigError) as err:
        load_config(SandboxConfig, None, bad)
    assert bad[0].split("=")[0] in str(err.value) or "key=value" in str(err.value)


def test_missing_or_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(SandboxConfig, tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(SandboxConfig, bad)
