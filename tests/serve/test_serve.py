"""`viscoder serve` with a tiny model built in the test, driven by the official openai client."""

import concurrent.futures
import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import openai
import psutil
import pytest

from tests.support.processes import free_port, viscoder_serve
from viscoder.serve.app import ModelNotFound, build_llm_config, check_model_source
from viscoder.serve.config import ServeConfig


def client(server):
    return openai.OpenAI(base_url=server["base_url"], api_key="EMPTY", max_retries=0, timeout=600)


def test_models_chat_and_completions(tiny_server):
    c = client(tiny_server)
    assert [m.id for m in c.models.list().data] == ["tiny"]
    chat = c.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "plot a line"}],
                                     max_tokens=8, temperature=0)
    assert chat.choices[0].message.role == "assistant" and chat.usage.completion_tokens == 8
    comp = c.completions.create(model="tiny", prompt="import matplotlib", max_tokens=5, temperature=0)
    assert comp.usage.completion_tokens == 5


def test_streaming(tiny_server):
    stream = client(tiny_server).chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=6, stream=True)
    chunks = [ch for ch in stream if ch.choices and ch.choices[0].delta.content]
    assert len(chunks) >= 2


def test_concurrent_clients(tiny_server):
    def ask(k):
        return client(tiny_server).chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": f"task {k}"}], max_tokens=4).usage.completion_tokens

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert list(pool.map(ask, range(16))) == [4] * 16


@pytest.mark.parametrize("body,status", [
    (b"{not json", 400),
    (json.dumps({"model": "tiny"}).encode(), 400),
    (json.dumps({"model": "unknown", "messages": [{"role": "user", "content": "x"}]}).encode(), 404),
    (json.dumps({"model": "tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}).encode(), 400),
])
def test_malformed_requests_get_4xx_and_the_server_keeps_serving(tiny_server, body, status):
    req = urllib.request.Request(f"{tiny_server['base_url']}/chat/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=60)
    assert err.value.code == status
    assert err.value.read()  # a message, not an empty reply
    assert client(tiny_server).models.list().data[0].id == "tiny"


def test_clear_errors_for_unservable_models(tmp_path):
    with pytest.raises(ModelNotFound, match="not found"):
        check_model_source(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFound, match="config.json"):
        check_model_source(str(tmp_path / "empty"))
    # offline (HF_HUB_OFFLINE=1 in the tests), a hub id that is not cached is an error now
    with pytest.raises(ModelNotFound, match="cannot be fetched offline"):
        check_model_source("Qwen/Qwen2.5-Coder-7B-Instruct")
    check_model_source("s3://bucket/model")  # a cloud path is the engine's to load
    proc = subprocess.run([sys.executable, "-m", "viscoder.cli", "serve", "--model", str(tmp_path / "missing"),
                           "--port", str(free_port())], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "folder not found" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_config_maps_onto_ray_llm_config(tiny_model):
    cpu = build_llm_config(ServeConfig(model=str(tiny_model), device="cpu", max_replicas=3))
    assert cpu.placement_group_config == {"bundles": [{"CPU": 1}]}
    assert cpu.engine_kwargs["dtype"] == "float32" and cpu.engine_kwargs["enforce_eager"] is True
    assert cpu.deployment_config["autoscaling_config"]["max_replicas"] == 3
    assert cpu.runtime_env["env_vars"]["VLLM_CPU_KVCACHE_SPACE"] == "1"
    gpu = build_llm_config(ServeConfig(model="Qwen/Qwen2.5-Coder-7B-Instruct", device="gpu",
                                       accelerator_type="A100", tensor_parallel_size=2))
    assert gpu.accelerator_type == "A100" and gpu.engine_kwargs["tensor_parallel_size"] == 2
    assert gpu.engine_kwargs["dtype"] == "bfloat16" and gpu.model_id == "Qwen2.5-Coder-7B-Instruct"
    s3 = build_llm_config(ServeConfig(model="s3://bucket/model", device="gpu"))
    assert s3.model_loading_config.model_source.bucket_uri == "s3://bucket/model"


def test_stop_by_pid_leaves_no_ray_processes(tiny_model, tmp_path):
    """SIGINT to a server's own PID ends it and every process it started (its local Ray).
    The test starts and stops its own server: the session's tiny server is shared."""
    with viscoder_serve(tiny_model, "own", tmp_path, "max_model_len=512") as srv:
        server = psutil.Process(srv["proc"].pid)
        started = server.children(recursive=True)
        assert any("raylet" in " ".join(p.cmdline()) for p in started), "no Ray under the server"
        srv["proc"].send_signal(signal.SIGINT)
        assert srv["proc"].wait(timeout=300) == 0
        # a bound on the wait for the exits, far above what they take; not a speed claim
        _, alive = psutil.wait_procs(started, timeout=120)
        assert alive == [], f"left running: {[(p.pid, p.name()) for p in alive]}"


def test_unloadable_architecture_fails_with_the_engine_error(tiny_model, tmp_path):
    import shutil

    bad = tmp_path / "bad-model"
    shutil.copytree(tiny_model, bad)
    config = json.loads((bad / "config.json").read_text())
    config["architectures"] = ["NoSuchModelForCausalLM"]
    config["model_type"] = "no_such_model"
    (bad / "config.json").write_text(json.dumps(config))
    proc = subprocess.run([sys.executable, "-m", "viscoder.cli", "serve", "--model", str(bad),
                           "--port", str(free_port()), "ready_timeout_s=300"],
                          capture_output=True, text=True, timeout=600, env={**__import__("os").environ,
                                                                             "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "could not be deployed" in proc.stderr
    assert "Traceback (most recent call last)" not in proc.stderr.split("viscoder serve:")[-1]


def test_serve_run_import_path_builds_an_application(tiny_model, tmp_path):
    from ray.serve import Application

    from viscoder.serve.app import app_builder

    config = tmp_path / "serve.yaml"
    config.write_text(f"model: {tiny_model}\nmodel_id: tiny\ndevice: cpu\n")
    assert isinstance(app_builder({"config": str(config), "max_replicas": 2}), Application)
