"""Attacks on the trusted side of the sandbox, written as an attacker would: each is a script
that plants something in what the worker reads back (its report on the result descriptor, its
capture folder, its output) or pokes at the jail. ``ATTACKS`` maps a name to (code, check);
``check`` gets ``summary(result)`` and returns None when the attack was contained, else what
went wrong. Used by test_adversarial.py as root and, through ``python -m
tests.sandbox.attacks``, by test_adversarial_user.py as a normal user.
"""

from __future__ import annotations

import json
import sys
import zlib
from typing import Any

SECRET_MARK = b"HOST-SECRET-7f3a"


def secret_png() -> bytes:
    """A valid 1x1 PNG carrying ``SECRET_MARK`` in a text chunk: the 'host file' to steal."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"tEXt", b"k\x00" + SECRET_MARK)
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


def forge(report: Any, before: str = "") -> str:
    """A script that writes its own report on the result descriptor and leaves at once."""
    return (f"import os, json\n{before}\n"
            f"os.write(3, json.dumps({report!r}).encode())\nos._exit(0)\n")


MPL_RECORD = {"outcome": "completed",
              "figures": [{"library": "matplotlib", "file": "fig_0.png", "shown": True}]}
BOMB_HEADER = ("import zlib\n"
               "def chunk(k, d):\n"
               "    return len(d).to_bytes(4, 'big') + k + d + zlib.crc32(k + d).to_bytes(4, 'big')\n"
               "ihdr = (100000).to_bytes(4, 'big') * 2 + bytes([8, 2, 0, 0, 0])\n"
               "data = (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', ihdr) + "
               "chunk(b'IDAT', zlib.compress(b'\\x00' * 10**6)) + chunk(b'IEND', b''))\n"
               "open('/capture/fig_0.png', 'wb').write(data)\n")
DEEP_TREE = ("import os\n"
             "for base in ('/workdir', '/tmp'):\n"
             "    os.chdir(base)\n"
             "    for _ in range(3000):\n"
             "        os.mkdir('d')\n"
             "        os.chdir('d')\n"
             "    open('f', 'w').write('x')\n"
             "    os.chmod('.', 0)\n"
             "os.chdir('/workdir')\n"
             "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n")
SYSCALLS = """
import ctypes, errno, json, socket
libc = ctypes.CDLL(None, use_errno=True)
out = {}
params = ctypes.create_string_buffer(120)
out['io_uring_setup'] = (libc.syscall(425, 4, params), ctypes.get_errno())
out['io_uring_enter'] = (libc.syscall(426, 0, 0, 0, 0, 0, 0), ctypes.get_errno())
out['io_uring_register'] = (libc.syscall(427, 0, 0, 0, 0), ctypes.get_errno())
libc.personality.argtypes = [ctypes.c_ulong]
out['personality_set'] = (libc.personality(0x0040000), ctypes.get_errno())
out['personality_query'] = libc.personality(0xffffffff) != -1
for name, fam, kind in (('vsock', 40, socket.SOCK_STREAM), ('netlink', 16, socket.SOCK_RAW),
                        ('packet', 17, socket.SOCK_RAW)):
    try:
        socket.socket(fam, kind).close()
        out[name] = 'open'
    except OSError as exc:
        out[name] = exc.errno
a, b = socket.socketpair()
out['unix'] = 'open'
socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
out['inet'] = 'open'
print(json.dumps(out))
"""
DEVICES = """
import os, json
import numpy as np, matplotlib.pyplot as plt, matplotlib.tri as tri
out = {'listing': sorted(os.listdir('/dev'))}
with open('/dev/null', 'w') as fh:
    fh.write('x')
out['zero'] = len(open('/dev/zero', 'rb').read(16))
out['urandom'] = len(open('/dev/urandom', 'rb').read(16))
out['random'] = len(open('/dev/random', 'rb').read(16))
rng = np.random.default_rng(0)
plt.triplot(tri.Triangulation(rng.random(30), rng.random(30)))  # qhull opens /dev/null
print(json.dumps(out))
"""


def _crashed_with(*words: str):
    def check(s: dict[str, Any]) -> str | None:
        if s["status"] != "crashed":
            return f"status {s['status']}, expected crashed"
        msg = (s["error_message"] or "").lower()
        missing = [w for w in words if w not in msg]
        return f"reason {s['error_message']!r} lacks {missing}" if missing else None
    return check


def _no_image_because(*words: str):
    def check(s: dict[str, Any]) -> str | None:
        if s["status"] == "ok" or s["n_images"]:
            return f"status {s['status']} with {s['n_images']} image(s)"
        reasons = " ".join(f["render_error"] or "" for f in s["figures"]).lower()
        missing = [w for w in words if w not in reasons]
        return f"reasons {reasons!r} lack {missing}" if missing else None
    return check


def _error_bounded(s: dict[str, Any]) -> str | None:
    if s["status"] != "error":
        return f"status {s['status']}"
    if len(s["error_message"] or "") > 17000 or "omitted" not in s["error_message"]:
        return f"message of {len(s['error_message'] or '')} chars, cut not marked"
    return None


def _surrogate(s: dict[str, Any]) -> str | None:
    if s["status"] != "error" or "\ufffd" not in (s["error_message"] or ""):
        return f"status {s['status']}, message {s['error_message']!r}"
    return None


def _error_type(name: str):
    def check(s: dict[str, Any]) -> str | None:
        if s["status"] != "error" or s["error_type"] != name:
            return f"status {s['status']} {s['error_type']}: {s['error_message']}"
        return None
    return check


def _ok_figures(n: int):
    def check(s: dict[str, Any]) -> str | None:
        if s["status"] != "ok" or s["n_images"] != n:
            return f"status {s['status']} with {s['n_images']} images ({s['error_message']})"
        return None
    return check


def _syscalls(s: dict[str, Any]) -> str | None:
    if s["status"] != "ok" and s["status"] != "no_plot":
        return f"status {s['status']}: {s['error_message']}"
    got = json.loads(s["stdout"].strip().splitlines()[-1])
    eperm, eafnosupport = 1, 97
    bad = [k for k in ("io_uring_setup", "io_uring_enter", "io_uring_register",
                       "personality_set") if got[k] != [-1, eperm]]
    bad += [k for k in ("vsock", "netlink", "packet") if got[k] not in (eafnosupport, eperm)]
    bad += [k for k in ("unix", "inet") if got[k] != "open"]
    bad += [] if got["personality_query"] else ["personality_query"]
    return f"not as expected: {bad} in {got}" if bad else None


def _devices(s: dict[str, Any]) -> str | None:
    if s["status"] != "ok":
        return f"status {s['status']}: {s['error_type']}: {s['error_message']}"
    got = json.loads(s["stdout"].strip().splitlines()[-1])
    allowed = {"null", "zero", "full", "random", "urandom", "fd", "stdin", "stdout", "stderr"}
    if set(got["listing"]) - allowed:
        return f"/dev holds more: {got['listing']}"
    if (got["zero"], got["urandom"], got["random"]) != (16, 16, 16):
        return f"devices unreadable: {got}"
    return None


ATTACKS: dict[str, tuple[str, Any]] = {
    "symlink_to_host_file": (forge(MPL_RECORD, "os.symlink({secret!r}, '/capture/fig_0.png')"),
                             _no_image_because("symbolic link")),
    "fifo_as_figure": (forge(MPL_RECORD, "os.mkfifo('/capture/fig_0.png')"),
                       _no_image_because("not a regular file")),
    "folder_as_figure": (forge(MPL_RECORD, "os.mkdir('/capture/fig_0.png')"),
                         _no_image_because("not a regular file")),
    "text_file_as_figure": (forge(MPL_RECORD, "open('/capture/fig_0.png', 'w').write("
                                              "open('/etc/passwd').read())"),
                            _no_image_because("not a png")),
    "png_bomb": (forge(MPL_RECORD, BOMB_HEADER), _no_image_because("exceeds")),
    "truncated_png": (forge(MPL_RECORD, "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n"
                                        "plt.savefig('/capture/fig_0.png')\n"
                                        "d = open('/capture/fig_0.png', 'rb').read()\n"
                                        "open('/capture/fig_0.png', 'wb').write(d[:len(d)//2])"),
                      _no_image_because("does not decode")),
    "dict_render_error": (forge({"outcome": "completed", "figures": [
        {"library": "plotly", "json": "{}", "render_error": {"a": 1}}]}),
        _crashed_with("render_error")),
    "too_many_figures_forged": (forge({"outcome": "completed", "figures": [
        {"library": "matplotlib", "file": f"fig_{k}.png"} for k in range(33)]}),
        _crashed_with("33 figures")),
    "unknown_field_forged": (forge({"outcome": "completed", "figures": [], "x": 1}),
                             _crashed_with("unexpected field")),
    "unknown_outcome_forged": (forge({"outcome": "ok"}), _crashed_with("outcome")),
    "path_traversal_forged": (forge({"outcome": "completed", "figures": [
        {"library": "matplotlib", "file": "../result.json"}]}), _crashed_with("file")),
    "report_not_object": (forge([1, 2, 3]), _crashed_with("not a json object")),
    "deep_json_report": ("import os\nos.write(3, b'[' * 200000 + b']' * 200000)\nos._exit(0)",
                         _crashed_with("nested too deeply")),
    "garbage_report": ("import os\nos.write(3, b'\\xff\\xfe{{{')\nos._exit(0)",
                       _crashed_with("not valid json")),
    "huge_forged_message": ("import os, json\nos.write(3, json.dumps({'outcome': 'exception', "
                            "'error_type': 'X', 'error_message': 'x' * 60_000_000}).encode())\n"
                            "os._exit(0)", _error_bounded),
    "huge_exception_message": ("raise ValueError('x' * 60_000_000)", _error_bounded),
    "surrogate_in_exception": ("raise ValueError('bad \\ud800 text')", _surrogate),
    "surrogate_in_code": ("x = '\ud800'", _error_type("UnicodeEncodeError")),
    "deep_folder_tree": (DEEP_TREE, _ok_figures(1)),
    "many_figures": ("import matplotlib.pyplot as plt\nfor k in range(40):\n"
                     "    plt.figure()\n    plt.plot([k, 1])\n", _ok_figures(32)),
    "denied_syscalls": (SYSCALLS, _syscalls),
    "devices_usable": (DEVICES, _devices),
}


def summary(res: Any) -> dict[str, Any]:
    pngs = res.pngs
    return {"status": res.status.value, "error_type": res.error_type,
            "error_message": res.error_message, "stdout": res.stdout,
            "n_images": len(pngs), "leaked": any(SECRET_MARK in p for p in pngs),
            "line_bytes": len(res.to_json().encode()),
            "figures": [{"render_error": f.render_error} for f in res.figures]}


def run_all(sandbox: Any, secret_path: str, names: list[str] | None = None) -> dict[str, Any]:
    """Run the attacks (all, or ``names``) and, after each, a good script on the same worker."""
    out = {}
    for name in names or sorted(ATTACKS):
        code = ATTACKS[name][0].replace("{secret!r}", repr(secret_path))
        res = sandbox.run(code, task_id=name)
        out[name] = summary(res)
        out[name]["next_ok"] = sandbox.run("import matplotlib.pyplot as plt\nplt.plot([1])").ok
    return out


def main() -> None:
    """``python -m tests.sandbox.attacks SECRET_PATH``: every attack, results as JSON."""
    from viscoder.sandbox import Sandbox, SandboxConfig

    with Sandbox(SandboxConfig(timeout_s=120, interrupt_grace_s=1)) as sb:  # a loaded machine
        results = run_all(sb, sys.argv[1])
        print(json.dumps({"isolation": sb.isolation, "results": results}))


if __name__ == "__main__":
    main()
