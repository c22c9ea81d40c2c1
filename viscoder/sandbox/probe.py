"""Which layers of the jail this machine allows, found out by trying them.

The worker forks a throw-away child that builds the full jail exactly as a script's child does
(``jail.build_root`` and friends), checks what a script needs inside (the interpreter's files
at their own paths, working ``/dev`` devices, a writable ``/tmp``), drops to an unprivileged
uid and installs the seccomp filter, then reports on a pipe. ``probe_start`` forks it before
the worker imports its plotting libraries, so the two overlap.
"""

from __future__ import annotations

import errno
import json
import os
import sys

from viscoder.sandbox import jail


def probe(scratch: str, mode: str, ro_paths: list[str] | None = None) -> jail.Isolation:
    """Fork a throw-away child that enters the full jail and reports which layers held."""
    return probe_finish(probe_start(scratch, mode, ro_paths))


def probe_start(scratch: str, mode: str, ro_paths: list[str] | None = None) -> tuple[int, int]:
    """Start the probe child; the worker imports its libraries meanwhile (``probe_finish``
    collects the answer). Fork it early, from a small process: it is cheaper. ``mode`` is the
    worker's (``jail.worker_mode()`` before it entered its namespace: inside a user namespace
    every process is uid 0 and would pass for root)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_fd)
        return pid, read_fd
    os.close(read_fd)
    iso = jail.Isolation(mode=mode)
    try:
        try:
            jail.unshare(jail.CLONE_NEWNS | jail.CLONE_NEWNET | jail.CLONE_NEWIPC
                         | jail.CLONE_NEWUTS)
            jail.mount(None, "/", None, jail.MS_REC | jail.MS_PRIVATE)
            iso.network = True
            root = os.path.join(scratch, "probe-root")
            work = os.path.join(scratch, "probe-work")
            os.makedirs(root, exist_ok=True)
            os.makedirs(work, exist_ok=True)
            paths = jail.readonly_paths([]) if ro_paths is None else ro_paths
            jail.build_root(root, paths, work, work, work, iso.mode == "root")
            _check_jail_view()
            iso.namespaces = True
            iso.proc = iso.mode == "root"
        except OSError as exc:
            iso.problems.append(f"namespaces: {exc}")
        if iso.mode == "root":
            try:
                jail.drop_privileges(65534)
                iso.separate_uid = True
            except OSError as exc:
                iso.problems.append(f"uid: {exc}")
        try:
            jail.install_seccomp()
            iso.seccomp = True
        except Exception as exc:
            iso.problems.append(f"seccomp: {type(exc).__name__}: {exc}")
        os.write(write_fd, json.dumps(iso.as_dict()).encode())
    finally:
        os._exit(0)


def _check_jail_view() -> None:
    """What every script needs inside: the interpreter's files at their own paths (the warm
    interpreter imports lazily from them), working devices and a writable /tmp."""
    for path in (os.__file__, sys.prefix):
        if not os.path.exists(path):
            raise OSError(errno.ENOENT, f"the interpreter's {path} is not visible in the jail")
    for dev in jail.DEVICES:
        os.close(os.open(f"/dev/{dev}", os.O_RDWR if dev != "random" else os.O_RDONLY))
    with open("/tmp/.probe", "w") as fh:
        fh.write("x")


def probe_finish(started: tuple[int, int]) -> jail.Isolation:
    pid, read_fd = started
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    try:
        return jail.Isolation(**json.loads(b"".join(chunks) or b"{}"))
    except (ValueError, TypeError):
        return jail.Isolation(problems=["probe child died before reporting"])
