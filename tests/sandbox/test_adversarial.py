"""The trusted side treats everything that comes out of the jail as hostile (issue 11): each
attack in ``attacks.py`` runs on the real sandbox and must cost at most its own row, never a
host file, the worker or the next script. Also: the seccomp filter on its own, iterative
clean-up, bounded rows, and `viscoder exec` writing every line of a batch of attacks."""

import json
import os
import subprocess
import sys

import pytest

from tests.sandbox.attacks import ATTACKS, SECRET_MARK, run_all, secret_png
from viscoder.sandbox import Sandbox, SandboxConfig, jail
from viscoder.sandbox.files import remove_tree
from viscoder.sandbox.result import MAX_LINE_BYTES


@pytest.fixture(scope="module")
def hostile_box():
    """A sandbox of its own with room for slow attacks (40 figures) on a loaded machine."""
    with Sandbox(SandboxConfig(timeout_s=60, interrupt_grace_s=1)) as sb:
        if not sb.isolation.get("namespaces"):
            pytest.skip(f"no namespaces on this machine: {sb.isolation.get('problems')}")
        yield sb


@pytest.fixture(scope="module")
def secret(tmp_path_factory):
    path = tmp_path_factory.mktemp("host") / "secret.png"
    path.write_bytes(secret_png())
    path.chmod(0o600)
    return str(path)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_contained(hostile_box, secret, name):
    worker = hostile_box.worker_pid
    result = run_all(hostile_box, secret, [name])[name]
    problem = ATTACKS[name][1](result)
    assert problem is None, f"{name}: {problem}"
    assert not result["leaked"], "a host file came back as a figure"
    assert result["line_bytes"] < MAX_LINE_BYTES
    assert result["next_ok"] and hostile_box.worker_pid == worker, "the worker did not survive"


def test_seccomp_filter_denies_what_namespaces_do_not_cover():
    """The filter alone, in a root process that could otherwise open every one of these."""
    code = ("import errno, socket, ctypes, json\n"
            "from viscoder.sandbox import jail\n"
            "def families():\n"
            "    out = {}\n"
            "    for fam, kind in ((16, socket.SOCK_RAW), (17, socket.SOCK_RAW), (40, 1)):\n"
            "        try:\n"
            "            socket.socket(fam, kind).close(); out[fam] = 'open'\n"
            "        except OSError as exc:\n"
            "            out[fam] = exc.errno\n"
            "    libc = ctypes.CDLL(None, use_errno=True)\n"
            "    out['uring'] = libc.syscall(425, 4, ctypes.create_string_buffer(120))\n"
            "    libc.personality.argtypes = [ctypes.c_ulong]\n"
            "    out['pers'] = libc.personality(0xffffffff) != -1\n"
            "    out['pers_set'] = libc.personality(0x0040000) == -1\n"
            "    return out\n"
            "before = families()\n"
            "jail.install_seccomp()\n"
            "print(json.dumps([before, families()]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    before, after = json.loads(proc.stdout)
    for fam in ("16", "17", "40"):
        assert after[fam] in (97, 1), f"family {fam} still opens under the filter"
    assert after["uring"] == -1
    assert after["pers"], "querying personality must stay allowed"
    assert after["pers_set"], "changing personality must be denied"
    if os.geteuid() == 0:
        assert before["16"] == "open" and before["17"] == "open", "baseline: root opens them"


def test_remove_tree_is_iterative_and_does_not_follow_links(tmp_path):
    keep = tmp_path / "keep.txt"
    keep.write_text("host")
    root = tmp_path / "tree"
    root.mkdir()
    fd = os.open(root, os.O_RDONLY)
    for _ in range(3000):  # far deeper than the recursion limit and PATH_MAX
        os.mkdir("d", dir_fd=fd)
        sub = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = sub
    os.symlink(str(keep), "link", dir_fd=fd)
    os.mkfifo("fifo", dir_fd=fd)
    os.fchmod(fd, 0)
    os.close(fd)
    remove_tree(str(root))
    assert not root.exists()
    assert keep.read_text() == "host"


def test_jail_refusal_unless_opted_out():
    from viscoder.sandbox.worker import jail_refusal

    partial = jail.Isolation(mode="userns", seccomp=True, problems=["namespaces: EPERM"])
    if sys.platform == "linux":
        assert "isolation=none" in jail_refusal("auto", partial)
    assert "isolation=none" in jail_refusal("strict", partial)
    assert jail_refusal("none", partial) is None
    full = jail.Isolation(mode="root", namespaces=True, network=True, seccomp=True)
    assert jail_refusal("auto", full) is None


REFUSE = """
import pyseccomp as sc, errno, json, sys
flt = sc.SyscallFilter(defaction=sc.ALLOW)
flt.add_rule(sc.ERRNO(errno.EPERM), "unshare")  # a machine without namespaces
flt.load()
from viscoder.sandbox import Sandbox, SandboxConfig, WorkerUnavailable
try:
    with Sandbox(SandboxConfig(timeout_s=20)) as sb:
        print(json.dumps({"started": True}))
except WorkerUnavailable as exc:
    print(json.dumps({"started": False, "why": str(exc)}))
with Sandbox(SandboxConfig(timeout_s=20, isolation="none")) as sb:
    res = sb.run("import matplotlib.pyplot as plt\\nplt.plot([1])")
    print(json.dumps({"none_ok": res.ok}))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the refusal is for Linux")
def test_worker_refuses_without_the_jail_unless_isolation_none():
    proc = subprocess.run([sys.executable, "-c", REFUSE], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    first, second = (json.loads(line) for line in proc.stdout.strip().splitlines()[-2:])
    assert first["started"] is False and "isolation=none" in first["why"]
    assert "unshare" in first["why"] or "namespace" in first["why"]
    assert second["none_ok"] is True


def test_exec_cli_writes_every_line_of_a_hostile_batch(tmp_path, secret):
    names = ["dict_render_error", "deep_json_report", "huge_exception_message",
             "symlink_to_host_file", "fifo_as_figure", "surrogate_in_exception"]
    rows = [{"id": n, "code": ATTACKS[n][0].replace("{secret!r}", repr(secret))} for n in names]
    rows.append({"id": "surrogate_code", "code": "print('\ud800')"})
    rows.append({"id": "good", "code": "import matplotlib.pyplot as plt\nplt.plot([1, 2])"})
    src = tmp_path / "in.jsonl"
    # json.dumps escapes the lone surrogate as \\ud800, which json.loads gives back as is
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out.jsonl"
    proc = subprocess.run([sys.executable, "-m", "viscoder.cli", "exec", str(src), "--out",
                           str(out), "--workers", "1", "--timeout", "20", "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    raw = out.read_bytes()
    lines = raw.decode("utf-8").splitlines()  # valid UTF-8 throughout
    assert all(len(line.encode()) < MAX_LINE_BYTES for line in lines)
    by_id = {r["id"]: r for r in map(json.loads, lines)}
    assert sorted(by_id) == sorted(r["id"] for r in rows)
    assert by_id["good"]["status"] == "ok"
    assert by_id["dict_render_error"]["status"] == "crashed"
    assert by_id["deep_json_report"]["status"] == "crashed"
    assert by_id["surrogate_code"]["status"] == "error"
    assert SECRET_MARK not in raw
    for row in by_id.values():  # never the worker's traceback or the host's paths
        text = json.dumps(row)
        assert "viscoder-sandbox-" not in text and "/viscoder/sandbox/" not in text


def test_ok_needs_a_decodable_png_and_rows_stay_bounded():
    """The executor's half, on replies as a backend could send them (no worker needed)."""
    import base64

    sb = Sandbox(SandboxConfig(render_plotly=False))
    junk = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"junk" * 10).decode()
    res = sb._finish("junk", {"status": "completed",
                              "figures": [{"library": "matplotlib", "png_b64": junk}]})
    assert res.status.value == "no_plot" and "rejected" in res.figures[0].render_error
    res = sb._finish("undrawn", {"status": "completed", "figures": [
        {"library": "plotly", "json": "{}", "shown": True, "render_error": "cannot draw"}]})
    assert res.status.value == "no_plot" and "none produced an image" in res.error_message
    good = base64.b64encode(secret_png()).decode()
    res = sb._finish("good", {"status": "completed",
                              "figures": [{"library": "matplotlib", "png_b64": good}]})
    assert res.status.value == "ok"
    flood = "\x01\ud800" * 3_000_000
    res = sb._finish("x" * 5000, {
        "status": "error", "error_type": "E" * 5000, "error_message": flood, "traceback": flood,
        "stdout": flood, "stderr": flood, "figures": [
            {"library": "matplotlib", "render_error": flood} for _ in range(32)]})
    line = res.to_json()
    assert len(line.encode("utf-8")) < MAX_LINE_BYTES
    assert "omitted" in res.error_message and len(res.stdout) < 17000
    res = sb._finish("odd", {"status": "weird"})
    assert res.status.value == "crashed"
