"""One shape for every sub-command: a bad configuration is one line on stderr naming the key
and exit status 2, found before any work (no Ray started); --help names configs that exist."""

import re
import subprocess
import sys

import pytest

from tests.support.paths import REPO

CONFIGS = {"data": "configs/tiny/data.yaml", "train": "configs/tiny/train.yaml",
           "serve": "configs/tiny/serve.yaml"}


def viscoder(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "viscoder.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def one_error_line(proc, prog):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"viscoder {prog}: "), \
        (proc.returncode, proc.stderr[-2000:])
    return lines[0]


@pytest.mark.parametrize("command", [
    ["data", "--config", CONFIGS["data"]], ["train", "--config", CONFIGS["train"]],
    ["serve", "--config", CONFIGS["serve"]], ["bench", "--model", "m", "--no-judge"],
    ["exec", "viscoder/examples/scripts", "--out", "OUT"],
])
def test_an_unknown_key_exits_2_naming_it(command, tmp_path):
    if command[0] == "exec":  # its overrides follow the positional input
        command = [*command[:2], "retries_typo=3", "--out", str(tmp_path / "out.jsonl")]
    else:
        command = [*command, "retries_typo=3"]
    line = one_error_line(viscoder(*command), command[0])
    assert "unknown key 'retries_typo'" in line


def test_a_nested_unknown_key_is_named_with_its_section():
    line = one_error_line(viscoder("bench", "--model", "m", "generator.max_token=5"), "bench")
    assert "unknown key 'generator.max_token' (did you mean 'max_tokens'?)" in line


def test_train_without_the_model_folder_says_how_to_build_it_before_ray(tmp_path):
    proc = viscoder("train", "--config", str(REPO / CONFIGS["train"]), cwd=tmp_path)
    line = one_error_line(proc, "train")
    assert "runs/tiny-model" in line and "viscoder serve tiny-model runs/tiny-model" in line
    assert "cannot be fetched offline" in line
    assert "Ray" not in proc.stdout + proc.stderr  # checked before Ray was started
    assert not (tmp_path / "runs").exists()  # nothing written either


def test_a_bad_batch_shape_is_a_configuration_error():
    line = one_error_line(viscoder("train", "--config", CONFIGS["train"], "global_batch_size=7"),
                          "train")
    assert "global_batch_size 7" in line


def test_flags_reach_the_config_as_data_not_reparsed():
    from viscoder.bench.config import BenchConfig
    from viscoder.config import load_config

    cfg = load_config(BenchConfig, None, (), {"generator.model": "1.0", "data": "yes"})
    assert cfg.generator.model == "1.0" and cfg.data == "yes"  # not 1.0 (float), not True


@pytest.mark.parametrize("module", ["data", "train", "serve", "bench", "exec", "demo"])
def test_help_names_only_configs_that_exist(module):
    proc = viscoder(module, "--help")
    assert proc.returncode == 0, proc.stderr
    for path in re.findall(r"configs/[\w./-]+\.yaml", proc.stdout):
        assert (REPO / path).is_file(), f"`viscoder {module} --help` names {path}"
