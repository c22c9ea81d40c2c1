"""Execution runtimes: scripts see exactly their runtime's pinned libraries, library-version
breakage follows the runtime, the scientific stack works in both, and bad names fail clearly.

The runtimes are built by `make setup` (scripts/setup.sh); these tests use the built ones.
"""

import json
import subprocess
import sys
import tomllib

import pytest

from viscoder.sandbox import Sandbox, SandboxConfig
from viscoder.sandbox import runtimes as rts
from viscoder.sandbox.runtimes import RuntimeUnavailable, get_runtime

RUNTIMES = ["default", "pandasplotbench"]


@pytest.fixture(scope="module", params=RUNTIMES)
def runtime_sandbox(request):
    with Sandbox(SandboxConfig(runtime=request.param, timeout_s=30, interrupt_grace_s=1)) as sb:
        yield request.param, sb


def _pins(name: str) -> dict[str, str]:
    spec = tomllib.loads((rts.SPECS_DIR / f"{name}.toml").read_text())
    return {rts._canon(r.split("==")[0]): r.split("==")[1] for r in spec["requirements"]}


def test_pandasplotbench_pins_the_published_harness():
    pins = _pins("pandasplotbench")
    assert {k: pins[k] for k in ("pandas", "numpy", "plotly", "matplotlib", "seaborn", "scipy",
                                 "kaleido")} == {
        "pandas": "2.2.3", "numpy": "1.26.4", "plotly": "5.24.1", "matplotlib": "3.8.4",
        "seaborn": "0.13.2", "scipy": "1.13.1", "kaleido": "0.2.1"}


def test_default_has_the_scientific_stack_and_kaleido_1():
    pins = _pins("default")
    assert {"numpy", "pandas", "matplotlib", "seaborn", "plotly", "kaleido", "scipy",
            "scikit-learn", "statsmodels", "networkx", "pyseccomp"} <= set(pins)
    assert pins["kaleido"].startswith("1.") and int(pins["numpy"].split(".")[0]) >= 2


def test_versions_seen_from_inside_each_runtime(runtime_sandbox):
    name, sb = runtime_sandbox
    code = ("import importlib.metadata as md, json, sys\n"
            f"names = {sorted(_pins(name))!r}\n"
            "print(json.dumps({'prefix': sys.prefix, **{n: md.version(n) for n in names}}))\n"
            "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n")
    res = sb.run(code, task_id=f"versions-{name}")
    assert res.ok, (res.status, res.error_message, res.stderr)
    seen = json.loads(res.stdout.strip().splitlines()[-1])
    rt = get_runtime(name)
    assert seen.pop("prefix") == str(rt.path)
    assert seen == _pins(name)
    assert rt.library_versions() == _pins(name)  # what provenance records is what ran


def test_np_float_passes_only_under_pandasplotbench(runtime_sandbox):
    name, sb = runtime_sandbox
    code = ("import numpy as np, pandas as pd\nimport matplotlib.pyplot as plt\n"
            "x = np.arange(5).astype(np.float_)\n"
            "df = pd.DataFrame({'x': x, 'y': x ** 2}).applymap(lambda v: v)\n"
            "plt.plot(df.x, df.y)\n")
    res = sb.run(code, task_id=f"float-{name}")
    if name == "pandasplotbench":
        assert res.ok, (res.status, res.error_type, res.error_message)
    else:
        assert res.status.value == "error" and res.error_type == "AttributeError"
        assert "float_" in (res.error_message or "")


def test_scipy_delaunay_and_sklearn_fit_run_under_both(runtime_sandbox):
    name, sb = runtime_sandbox
    code = ("import numpy as np, matplotlib.pyplot as plt\n"
            "from scipy.spatial import Delaunay\nfrom sklearn.linear_model import LinearRegression\n"
            "rng = np.random.default_rng(0)\npts = rng.random((30, 2))\ntri = Delaunay(pts)\n"
            "X = rng.random((50, 1)); y = 3 * X[:, 0] + 1\n"
            "model = LinearRegression().fit(X, y)\nassert abs(model.coef_[0] - 3) < 1e-6\n"
            "plt.triplot(pts[:, 0], pts[:, 1], tri.simplices)\n"
            "print(len(tri.simplices), round(float(model.intercept_), 6))\n")
    res = sb.run(code, task_id=f"sci-{name}")
    assert res.ok, (res.status, res.error_type, res.error_message)
    n_simplices, intercept = res.stdout.split()
    assert int(n_simplices) > 0 and float(intercept) == 1.0
    assert res.figures and res.figures[0].png.startswith(b"\x89PNG")


def test_unknown_runtime_is_a_clear_error():
    with pytest.raises(RuntimeUnavailable) as err:
        get_runtime("no-such-runtime")
    msg = str(err.value)
    assert "no-such-runtime" in msg and "default" in msg and "pandasplotbench" in msg
    assert "python -m viscoder.sandbox.runtimes build" in msg
    with pytest.raises(ValueError, match="no-such-runtime"):
        SandboxConfig(runtime="no-such-runtime")
    with pytest.raises(RuntimeUnavailable):
        get_runtime("../default")


def test_unbuilt_runtime_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("VISCODER_RUNTIMES_DIR", str(tmp_path))  # nothing built here
    assert rts.available_runtimes() == []
    with pytest.raises(RuntimeUnavailable, match=r"is not built.*Built: none.*build pandasplotbench"):
        get_runtime("pandasplotbench")
    from viscoder.sandbox import WorkerUnavailable

    sb = Sandbox(SandboxConfig(runtime="pandasplotbench"))
    with pytest.raises(WorkerUnavailable, match="not built"):
        sb.start()
    sb.close()


def test_exec_cli_records_runtime_and_rejects_unknown(tmp_path):
    scripts = tmp_path / "in"
    scripts.mkdir()
    (scripts / "a.py").write_text("import matplotlib.pyplot as plt\nplt.plot([1, 2])\n")
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "viscoder.sandbox", str(scripts), "--out", str(out), "--quiet"]
    proc = subprocess.run([*cmd, "--runtime", "pandasplotbench"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["status"] == "ok"
    import yaml

    resolved = yaml.safe_load((tmp_path / "out.config.yaml").read_text())
    assert resolved["runtime"] == "pandasplotbench"
    assert resolved["runtime_versions"]["pandas"] == "2.2.3"
    assert resolved["runtime_versions"]["python"].startswith("3.")
    bad = subprocess.run([*cmd, "--runtime", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "'nope'" in bad.stderr and "pandasplotbench" in bad.stderr


def test_build_is_idempotent_and_worker_imports_without_pydantic():
    rt = get_runtime("default")
    stamp = (rt.path / rts.VERSIONS_FILE).stat().st_mtime_ns
    assert rts.build("default", log=lambda _m: None).built
    assert (rt.path / rts.VERSIONS_FILE).stat().st_mtime_ns == stamp  # nothing rebuilt
    probe = ("import sys, viscoder.sandbox.worker\n"
             "print(sorted(m for m in ('pydantic', 'yaml', 'viscoder.config') if m in sys.modules))")
    proc = subprocess.run([str(rt.python), "-s", "-c", probe], capture_output=True, text=True,
                          env={"PYTHONPATH": rts.worker_pythonpath(), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert {"numpy", "scipy", "sklearn", "json", "mpl_toolkits"} <= rt.modules
    assert "pydantic" not in rt.modules


def test_spec_must_pin_exactly(tmp_path, monkeypatch):
    monkeypatch.setattr(rts, "SPECS_DIR", tmp_path)
    (tmp_path / "loose.toml").write_text('requirements = ["numpy>=1", "pyseccomp==0.1.2"]\n')
    with pytest.raises(rts.RuntimeSpecError, match="exact pin"):
        get_runtime("loose", require_built=False)
    (tmp_path / "nojail.toml").write_text('requirements = ["numpy==1.26.4"]\n')
    with pytest.raises(rts.RuntimeSpecError, match="pyseccomp"):
        get_runtime("nojail", require_built=False)


def test_extractor_asks_the_runtime_which_modules_exist():
    from viscoder.data.static_extract import extract_static

    src = ("import matplotlib.pyplot as plt\nfrom sklearn.datasets import make_blobs\n"
           "X, y = make_blobs(n_samples=20, random_state=0)\nplt.scatter(X[:, 0], X[:, 1])\n"
           "plt.show()\n")
    modules = get_runtime("default").modules
    assert extract_static(src, available=modules).code is not None
    missing = extract_static(src, available=modules - {"sklearn"})
    assert missing.code is None and missing.reason == "unavailable_module: sklearn"


def test_dataset_rows_and_card_name_the_runtime(tmp_path):
    import pandas as pd

    from viscoder.data.card import write_card
    from viscoder.data.export import to_dataset_rows

    batch = pd.DataFrame({
        "id": ["stack/a", "feedback/b"], "source": ["stack", "code_feedback"],
        "libraries": ["matplotlib", ""], "messages": ["[]", "[]"],
        "image": [b"\x89PNG\r\n\x1a\n", b""], "extractor": ["static", ""],
        "annotator": ["template", ""]})
    rows = to_dataset_rows(batch, runtime="pandasplotbench")
    assert rows["runtime"].iloc[0] == "pandasplotbench"
    assert rows["runtime"].isna().tolist() == [False, True]  # the dialogue never ran
    rt = get_runtime("pandasplotbench")
    stats = {"rows_in": 2, "accepted": 2, "rejected": 0, "accepted_by_source_library": {},
             "rejected_by_stage_reason": {},
             "runtime": {"name": rt.name, "versions": rt.library_versions()}}
    card = write_card(tmp_path, stats, []).read_text()
    assert "execution runtime `pandasplotbench`" in card and "pandas 2.2.3" in card


def test_jupyter_backend_records_the_host_environment_not_a_runtime():
    # nbclient kernels run in the project's own environment: naming a runtime there would be a lie
    from importlib.metadata import version

    config = SandboxConfig(backend="jupyter", runtime="pandasplotbench")
    resolved = config.resolve_runtime()
    assert config.runtime_label == "host"
    assert resolved.runtime_versions["pandas"] == version("pandas")
    assert SandboxConfig(runtime="pandasplotbench").runtime_label == "pandasplotbench"
