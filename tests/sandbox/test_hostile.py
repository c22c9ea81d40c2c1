"""Hostile scripts: each ends non-ok (the status says which limit held), leaves nothing
behind (checked as root and not), and the same worker serves the next script."""

import contextlib
import ctypes
import os
import socket
import threading

import psutil
import pytest

from viscoder.sandbox import ExecStatus

GOOD = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])"
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h

HOSTILE = {
    "infinite_loop": ("while True:\n    pass", {"timeout"}),
    "sleep": ("import time\ntime.sleep(3600)", {"timeout"}),
    # memory or, on a loaded machine where filling 2 GB outlasts the timeout, timeout
    "memory_bomb": ("chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 2**20))",
                    {"memory", "timeout"}),
    "numpy_memory_bomb": ("import numpy as np\na = np.ones((10**6, 10**5))", {"memory"}),
    "fork_storm": ("import os\nfor _ in range(64):\n    os.fork()", {"error"}),
    "subprocess": ("import subprocess\nsubprocess.run(['sleep', '100'])", {"error"}),
    "double_fork_daemon": (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        time.sleep(1000)\n    os._exit(0)\n", {"error"}),
    "daemon_thread": ("import threading, time\nthreading.Thread(target=time.sleep, args=(1000,),"
                      " daemon=True).start()\nraise SystemExit(1)", {"error"}),
    "thread_storm": ("import threading, time\nfor _ in range(10000):\n"
                     "    threading.Thread(target=time.sleep, args=(100,)).start()", {"error", "memory"}),
    "kill_parent": ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", {"error"}),
    "kill_everyone": ("import os, signal\nos.kill(-1, signal.SIGKILL)", {"error"}),
    "ignore_sigint_sigterm": (
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.05)", {"timeout"}),
    "stdout_flood": ("while True:\n    print('x' * 65536)", {"error", "timeout"}),
    "huge_file": ("with open('big.bin', 'wb') as f:\n    f.write(b'0' * (1 << 30))",
                  {"error", "memory", "timeout"}),
    "many_files": ("for i in range(10**6):\n    open(f'f{i}', 'w').write('x' * 4096)", {"error", "timeout"}),
    "segfault": ("import ctypes\nctypes.string_at(0)", {"crashed"}),
    "os_exit": ("import os\nos._exit(3)", {"crashed"}),
    "sys_exit": ("import sys\nsys.exit(0)", {"error"}),
    "recursion_bomb": ("def f(n):\n    return f(n + 1)\nf(0)", {"error"}),
    "deep_recursion_bomb": ("import sys\nsys.setrecursionlimit(10**9)\ndef f(n):\n    return f(n + 1)\n"
                            "f(0)", {"error", "memory", "crashed", "timeout"}),
    "exec_shell": ("import os\nos.execv('/bin/sh', ['sh', '-c', 'sleep 100'])", {"error"}),
    "mount_tricks": ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                     "assert libc.unshare(0x00020000) == 0, 'unshare refused'", {"error"}),
}


@pytest.fixture(scope="module")
def subreaper():
    """This test process adopts orphans (PR_SET_CHILD_SUBREAPER) while these tests run, so a
    process a script leaves behind stays visible under it, whatever uid it runs as."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip("cannot become a child subreaper")
    yield
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_script_is_contained(jailed, subreaper, name):
    assert_contained(jailed, name)


def assert_contained(sandbox, name: str) -> None:
    """The hostile script ``name`` fails as expected, leaves no process behind, and the same
    worker serves the next script."""
    code, expected = HOSTILE[name]
    worker_pid = sandbox.worker_pid
    before = _descendants()
    res = sandbox.run(code, task_id=name)
    assert res.status.value in expected, (res.status, res.error_type, res.error_message)
    assert res.status is not ExecStatus.OK
    assert _sandbox_processes(sandbox, before) == [], "a process of the script outlived it"
    assert sandbox.worker_pid == worker_pid
    assert sandbox.run(GOOD).ok


def test_writes_and_deletes_outside_workdir_fail(jailed, tmp_path):
    keep = tmp_path / "keep.txt"
    keep.write_text("precious")
    code = (f"import os, shutil\n"
            f"for target in [{str(keep)!r}, '/etc/hostname', '/usr/bin/env']:\n"
            f"    try:\n        os.remove(target)\n    except OSError:\n        pass\n"
            f"open({str(tmp_path / 'planted.txt')!r}, 'w').write('x')\n")
    res = jailed.run(code)
    assert res.status is ExecStatus.ERROR
    assert keep.read_text() == "precious"
    assert not (tmp_path / "planted.txt").exists()
    assert os.path.exists("/etc/hostname") and os.path.exists("/usr/bin/env")


def test_reading_files_outside_fails(jailed, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    res = jailed.run(f"print(open({str(secret)!r}).read())")
    assert res.status is ExecStatus.ERROR
    assert "TOP-SECRET-42" not in res.stdout
    res = jailed.run("import os\nprint(os.listdir('/root'))\nprint(os.listdir('/home'))")
    assert res.status is ExecStatus.ERROR


def test_environment_secrets_do_not_reach_scripts(jailed, monkeypatch):
    res = jailed.run("import os\nprint(sorted(os.environ))")
    assert "OPENAI_API_KEY" not in res.stdout and "HF_TOKEN" not in res.stdout


def test_no_network_even_to_loopback(jailed):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    hits = []

    def accept():
        try:
            hits.append(server.accept())
        except OSError:
            pass

    t = threading.Thread(target=accept)
    t.start()
    code = ("import socket\n"
            f"socket.create_connection(('127.0.0.1', {port}), timeout=2)\n")
    res = jailed.run(code)
    res2 = jailed.run("import urllib.request\nurllib.request.urlopen('http://example.com', timeout=2)")
    t.join()
    server.close()
    assert res.status is ExecStatus.ERROR and res.error_type in ("OSError", "ConnectionRefusedError")
    assert res2.status is ExecStatus.ERROR
    assert hits == []


def test_blocking_show_and_input_do_not_hang(sandbox):
    code = ("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show(block=True)\n"
            "name = input('your name? ')\nimport sys\nsys.stdin.read()\n"
            "import plotly.graph_objects as go\ngo.Figure(go.Bar(y=[1])).show()\n")
    res = sandbox.run(code)
    assert res.status is ExecStatus.OK  # a hang would have ended as a timeout
    assert len(res.figures) == 2


def _descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def _sandbox_processes(sandbox, before: set[int], settle_s: float = 10.0) -> list[int]:
    """Processes of the script still alive after the kernel had up to ``settle_s`` to end
    them: new processes under the worker, orphans this test process adopted as subreaper,
    and (root mode) any process under the uid the worker gives its scripts."""
    me, worker = os.getpid(), sandbox.worker_pid
    candidates = []
    for proc in psutil.Process().children(recursive=True):
        if proc.pid in before or proc.pid == worker:
            continue
        try:
            parents = {p.pid for p in proc.parents()}
            if worker in parents or proc.ppid() == me:
                candidates.append(proc)
        except psutil.Error:
            continue
    if sandbox.isolation.get("separate_uid"):
        for pid in _processes_of_uid(sandbox.config.sandbox_uid_base + sandbox.slot):
            with contextlib.suppress(psutil.Error):
                candidates.append(psutil.Process(pid))
    _, alive = psutil.wait_procs(candidates, timeout=settle_s)  # waits on their exits
    return sorted(p.pid for p in alive)


def _processes_of_uid(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                for line in fh:
                    if line.startswith("Uid:") and int(line.split()[1]) == uid:
                        found.append(int(entry))
        except OSError:
            continue
    return found
