"""The jail holds wherever viscoder is installed: an interpreter under /tmp in a folder whose
name has a space (the script's own /tmp must not shadow it), a read-only data folder under
/tmp, and the whole adversarial suite as a normal user (user namespaces, no separate uid).

The relocated interpreter is a venv made from the runtime's base interpreter, seeing the
runtime's libraries through a .pth file, picked up through VISCODER_RUNTIMES_DIR.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.sandbox.attacks import ATTACKS, secret_png
from viscoder.sandbox import ExecStatus, Sandbox, SandboxConfig
from viscoder.sandbox.runtimes import REPO_ROOT, get_runtime

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the jail is Linux only")
NOBODY = 65534


def base_python() -> str:
    """An interpreter to build the relocated venv from: $VISCODER_TEST_BASE_PYTHON, or the
    base interpreter of the default runtime."""
    if os.environ.get("VISCODER_TEST_BASE_PYTHON"):
        return os.environ["VISCODER_TEST_BASE_PYTHON"]
    cfg = (get_runtime("default").path / "pyvenv.cfg").read_text()
    home = dict(line.split(" = ", 1) for line in cfg.splitlines() if " = " in line)["home"]
    return str(Path(home) / "python3")


def relocated_runtimes(parent: Path, python: str) -> Path:
    """A runtimes folder under ``parent`` whose ``default`` runtime lives there."""
    real = get_runtime("default")
    parent.mkdir(exist_ok=True)
    parent.chmod(0o755)
    target = parent / "run times" / "default"
    subprocess.run([python, "-m", "venv", "--without-pip", str(target)], check=True,
                   capture_output=True, timeout=120)
    real_site = next(real.path.glob("lib/python3*/site-packages"))
    site = next(target.glob("lib/python3*/site-packages"))
    (site / "runtime_libraries.pth").write_text(f"{real_site}\n")
    shutil.copy(real.path / "versions.json", target / "versions.json")
    return parent / "run times"


@pytest.fixture
def under_tmp():
    folder = Path(tempfile.mkdtemp(prefix="viscoder test ", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_interpreter_under_tmp_with_a_space(under_tmp, monkeypatch):
    monkeypatch.setenv("VISCODER_RUNTIMES_DIR", str(relocated_runtimes(under_tmp, base_python())))
    shared = under_tmp / "shared data"
    shared.mkdir()
    (shared / "values.csv").write_text("x,y\n1,2\n3,5\n")
    config = SandboxConfig(timeout_s=60, extra_readonly_paths=[str(shared)])
    code = (f"import sys, pandas as pd, matplotlib.pyplot as plt\n"
            f"assert sys.prefix.startswith('/tmp/viscoder test '), sys.prefix\n"
            f"df = pd.read_csv({str(shared / 'values.csv')!r})\n"
            f"open('/tmp/scratch.txt', 'w').write('the script may write its /tmp')\n"
            f"for target in (sys.prefix + '/planted', {str(shared / 'planted')!r}):\n"
            f"    try:\n        open(target, 'w')\n        print('WROTE', target)\n"
            f"    except OSError:\n        pass\n"
            f"plt.plot(df.x, df.y)\n")
    with Sandbox(config) as sb:
        assert sb.isolation["namespaces"] and sb.isolation["seccomp"], sb.isolation
        res = sb.run(code)
        assert res.status is ExecStatus.OK, (res.error_type, res.error_message, res.stderr)
        assert "WROTE" not in res.stdout
        res = sb.run(ATTACKS["devices_usable"][0])
        assert res.status is ExecStatus.OK, (res.error_type, res.error_message)
    assert not (shared / "planted").exists()


def _runnable_by(uid: int, python: Path) -> bool:
    """Whether ``uid`` can run the relocated runtime with its own libraries."""
    code = ("import os, sys, numpy, matplotlib\n"
            "assert sys.prefix != sys.base_prefix\n"
            "os.stat(sys.executable)  # the whole symlink chain is reachable")
    proc = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                           str(python), "-s", "-c", code], capture_output=True, timeout=120,
                          cwd="/")
    return proc.returncode == 0


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root to become a normal user (setpriv)")
def test_attacks_as_a_normal_user(under_tmp):
    # The runtime's base interpreter may sit where a normal user cannot reach it (pyenv under
    # /root): then a system interpreter of the same minor version stands in for it.
    minor = "python" + ".".join(map(str, sys.version_info[:2]))
    runtimes = None
    for k, python in enumerate(dict.fromkeys([base_python(), f"/usr/bin/{minor}"])):
        if not os.path.exists(python):
            continue
        candidate = relocated_runtimes(under_tmp / f"base{k}", python)
        if _runnable_by(NOBODY, candidate / "default" / "bin" / "python"):
            runtimes = candidate
            break
    if runtimes is None:
        pytest.skip(f"uid {NOBODY} cannot run a runtime interpreter here; set "
                    "VISCODER_TEST_BASE_PYTHON to an interpreter a normal user can run")
    secret = under_tmp / "secret.png"  # readable by the user the worker runs as
    secret.write_bytes(secret_png())
    os.chown(secret, NOBODY, NOBODY)
    secret.chmod(0o600)
    project_site = next((REPO_ROOT / ".venv").glob("lib/python3*/site-packages"))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(under_tmp), "LANG": "C.UTF-8",
           "PYTHONPATH": f"{REPO_ROOT}:{project_site}", "VISCODER_RUNTIMES_DIR": str(runtimes),
           "TMPDIR": str(under_tmp)}
    python = str(runtimes / "default" / "bin" / "python")  # its site-packages are the runtime's
    proc = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                           "--clear-groups", python, "-s", "-m", "tests.sandbox.attacks",
                           str(secret)],
                          capture_output=True, text=True, env=env, cwd=str(REPO_ROOT),
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    iso = report["isolation"]
    assert iso["mode"] == "userns" and iso["namespaces"] and iso["seccomp"], iso
    failures = {}
    for name, result in report["results"].items():
        problem = ATTACKS[name][1](result)
        if problem or result["leaked"] or not result["next_ok"]:
            failures[name] = problem or result
    assert failures == {}
