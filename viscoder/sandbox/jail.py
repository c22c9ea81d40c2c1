"""Linux isolation of one forked child: the jail every untrusted script runs in.

Layers, each applied by the child to itself right after the fork, before any script code:

- mount + network + IPC + UTS namespaces: a fresh root made of read-only bind mounts of the
  interpreter and system libraries, a writable ``/workdir`` and ``/tmp`` (per-script folders on
  a size-capped tmpfs), ``/dev/null``, ``/dev/zero``, ``/dev/full``, ``/dev/random`` and
  ``/dev/urandom`` and nothing else of ``/dev``, no ``/home``, ``/root`` or other host files;
  only a loopback interface that is down, so no connection anywhere. An interpreter that lives
  under ``/tmp`` is bound inside the script's ``/tmp`` after that is mounted, never shadowed;
- a separate uid per worker when started as root (RLIMIT_NPROC is only enforced for non-root
  uids; a different uid also cannot signal or ptrace the worker);
- rlimits: address space, CPU time, file size, open files, threads, no core dumps;
- seccomp: no process creation or exec (threads are allowed), no signals to other processes,
  no mount/namespace/ptrace/bpf/io_uring/personality calls, no vsock/netlink/packet sockets.

No library does this from inside an already-warm Python process (bubblewrap and nsjail wrap
an ``exec``, which would throw away the warm imports that make the fork backend fast), so it
is written here with ctypes over the system calls; seccomp rules use pyseccomp (libseccomp).

``probe.py`` finds out which layers this machine allows; the worker checks it at start.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import signal
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

try:  # imported here, in the worker: libseccomp is located with tools the jail does not have
    import pyseccomp
except (ImportError, OSError):  # pragma: no cover - reported by probe()
    pyseccomp = None

_libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000

MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MS_RDONLY = 1
MS_REMOUNT = 32
PR_SET_PDEATHSIG = 1
AF_NETLINK = 16
AF_PACKET = 17
AF_VSOCK = 40

_SYSCALLS = {
    "x86_64": {"pivot_root": 155, "mount_setattr": 442},
    "aarch64": {"pivot_root": 41, "mount_setattr": 442},
}

JAIL_WORKDIR = "/workdir"
JAIL_CAPTURE = "/capture"
DEVICES = ("null", "zero", "full", "random", "urandom")
# /dev/fd and friends, as on any Linux system (they resolve through /proc when it is mounted)
DEVICE_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
                "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
WRITABLE = (JAIL_WORKDIR, "/tmp", JAIL_CAPTURE)


@dataclass
class Isolation:
    """What is in force for the scripts of one worker (recorded in results and the README)."""

    mode: str = "none"  # root | userns | none
    namespaces: bool = False  # own mount/net/ipc/uts namespaces, read-only root
    network: bool = False  # no network at all
    seccomp: bool = False
    separate_uid: bool = False
    proc: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.namespaces and self.network and self.seccomp

    def as_dict(self) -> dict:
        return asdict(self)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _syscall_no(name: str) -> int:
    table = _SYSCALLS.get(platform.machine())
    if table is None:
        raise OSError(errno.ENOSYS, f"no syscall table for {platform.machine()}")
    return table[name]


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def umount(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(target.encode(), ctypes.c_int(flags)), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_libc.syscall(_syscall_no("pivot_root"), new_root.encode(), put_old.encode()), "pivot_root")


def make_readonly(path: str) -> None:
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0)
    ret = _libc.syscall(_syscall_no("mount_setattr"), ctypes.c_int(-100), path.encode(),
                        ctypes.c_uint(AT_RECURSIVE), ctypes.byref(attr), ctypes.sizeof(attr))
    _check(ret, f"mount_setattr {path}")


def set_parent_death_signal(sig: int = signal.SIGKILL) -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(sig), 0, 0, 0), "prctl(PDEATHSIG)")


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def enter_user_namespace(extra_flags: int = 0) -> None:
    """Become root of a new user namespace (for non-root users), mapped to our own uid/gid."""
    uid, gid = os.getuid(), os.getgid()
    unshare(CLONE_NEWUSER | extra_flags)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")


def prepare_worker(scratch: str, scratch_mb: int, mode: str) -> None:
    """Run once by the worker: its own mount namespace with a size-capped tmpfs for the
    per-script folders, so that no script can fill the host disk."""
    if mode == "userns":
        enter_user_namespace(CLONE_NEWNS)
    elif mode == "root":
        unshare(CLONE_NEWNS)
    else:
        return
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={scratch_mb}m,nr_inodes=65536,mode=755")


def readonly_paths(extra: list[str]) -> list[str]:
    """Host paths a script needs: system libraries, the interpreter and its site-packages."""
    wanted = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                str(Path(sys.executable).resolve().parent.parent)}
    wanted += sorted(prefixes)
    for entry in sys.path:
        if entry and os.path.isdir(entry) and "site-packages" in entry:
            wanted.append(entry)
    wanted += extra
    out: list[str] = []
    for path in wanted:
        if not os.path.lexists(path):
            continue
        norm = os.path.normpath(path)
        if any(norm == p or norm.startswith(p.rstrip("/") + "/") for p in out):
            continue  # already inside a bound tree
        out = [p for p in out if not p.startswith(norm.rstrip("/") + "/")] + [norm]
    return out


def _inside(path: str, place: str) -> bool:
    return path == place or path.startswith(place.rstrip("/") + "/")


def _bind(path: str, target: str) -> None:
    """Bind host ``path`` at ``target``, creating the mount point (folder or file)."""
    if os.path.isdir(path):
        os.makedirs(target, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        if not os.path.exists(target):
            open(target, "w").close()
    mount(path, target, None, MS_BIND | MS_REC)


def build_root(new_root: str, ro_paths: list[str], workdir: str, tmpdir: str, capture: str,
               with_proc: bool) -> None:
    """Assemble the script's filesystem view under ``new_root`` and switch into it.

    Host paths that lie under one of the script's writable places (an interpreter or checkout
    under ``/tmp``) are bound after that place is mounted, inside it, and made read-only on
    their own; everything else is bound first and made read-only with the root."""
    for path in ro_paths:
        if any(_inside(place, path) for place in (*WRITABLE, "/dev", "/proc")):
            raise OSError(errno.EINVAL, f"cannot bind {path} read-only: it holds a place "
                          "the jail mounts for the script")
    nested = [p for p in ro_paths if any(_inside(p, place) for place in WRITABLE)]
    mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=755")
    for path in ro_paths:
        if path in nested:
            continue
        target = new_root + path
        if os.path.islink(path) and os.path.dirname(path) == "/":
            os.symlink(os.readlink(path), target)  # /bin -> usr/bin on merged-/usr systems
            continue
        _bind(path, target)
    os.makedirs(new_root + "/dev", mode=0o755)
    for dev in DEVICES:
        open(f"{new_root}/dev/{dev}", "w").close()
    for name, dest in DEVICE_LINKS.items():
        os.symlink(dest, f"{new_root}/dev/{name}")
    for mountpoint in (*WRITABLE, "/proc"):
        os.makedirs(new_root + mountpoint, mode=0o755)
    make_readonly(new_root)  # recursive, and nodev: devices are bound after it
    for dev in DEVICES:
        target = f"{new_root}/dev/{dev}"
        mount(f"/dev/{dev}", target, None, MS_BIND)
        # read-only and nosuid, but not nodev; writing to a device on a read-only mount works
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    # Writable places are mounted after the read-only switch so they stay writable.
    mount(workdir, new_root + JAIL_WORKDIR, None, MS_BIND)
    mount(tmpdir, new_root + "/tmp", None, MS_BIND)
    mount(capture, new_root + JAIL_CAPTURE, None, MS_BIND)
    for path in nested:  # e.g. /tmp/checkout/.venv, inside the script's own /tmp
        _bind(path, new_root + path)
        make_readonly(new_root + path)
    if with_proc:
        # hidepid: a script sees only its own processes, not the worker's environment.
        mount("proc", new_root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
    os.chdir(new_root)
    pivot_root(".", ".")
    umount(".", MNT_DETACH)
    os.chdir(JAIL_WORKDIR)


def mount_task_folder(path: str, size_mb: int) -> None:
    """A tmpfs of its own for one script's folder: unmounting it at the end frees whatever the
    script left there at once, without walking it."""
    os.mkdir(path, 0o755)
    mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={size_mb}m,nr_inodes=65536,mode=755")


def unmount_task_folder(path: str) -> None:
    umount(path, MNT_DETACH)
    os.rmdir(path)


def drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


@dataclass
class Limits:
    address_space: int  # bytes, absolute
    cpu_s: int
    file_bytes: int
    open_files: int
    threads: int


def apply_limits(limits: Limits) -> None:
    def cap(which: int, value: int) -> None:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_AS, limits.address_space)
    cap(resource.RLIMIT_CPU, limits.cpu_s)
    cap(resource.RLIMIT_FSIZE, limits.file_bytes)
    cap(resource.RLIMIT_NOFILE, limits.open_files)
    cap(resource.RLIMIT_NPROC, limits.threads)
    # Over-size writes then fail with an OSError the script sees, instead of a silent kill.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def install_seccomp() -> None:
    sc = pyseccomp
    if sc is None:
        raise OSError(errno.ENOSYS, "libseccomp / pyseccomp is not available")
    me = os.getpid()
    deny = sc.ERRNO(errno.EPERM)
    flt = sc.SyscallFilter(defaction=sc.ALLOW)
    for name in ("fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv",
                 "process_vm_writev", "tkill", "pidfd_send_signal", "mount", "umount2",
                 "pivot_root", "chroot", "unshare", "setns", "bpf", "perf_event_open", "keyctl",
                 "add_key", "request_key", "userfaultfd", "kexec_load", "init_module",
                 "finit_module", "delete_module", "reboot", "swapon", "swapoff", "acct",
                 "mount_setattr", "move_mount", "open_tree", "fsopen", "fsmount", "fsconfig",
                 "fspick", "settimeofday", "clock_settime", "setpriority", "ioprio_set",
                 "io_uring_setup", "io_uring_enter", "io_uring_register"):
        try:
            flt.add_rule(deny, name)
        except (OSError, ValueError):  # not present on this architecture
            pass
    # clone3 hides its flags in memory; ENOSYS makes glibc fall back to clone, whose flags
    # are visible: threads (CLONE_THREAD) pass, new processes do not.
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    flt.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    for name in ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open"):
        flt.add_rule(deny, name, sc.Arg(0, sc.NE, me))
    # Sockets the network namespace does not cover (vsock reaches the hypervisor, netlink and
    # packet sockets the kernel's network stack); plain unix/inet sockets stay allowed.
    for family in (AF_VSOCK, AF_NETLINK, AF_PACKET):
        for name in ("socket", "socketpair"):
            # masked: the kernel reads an int, so garbage in the upper half must not matter
            flt.add_rule(sc.ERRNO(errno.EAFNOSUPPORT), name,
                         sc.Arg(0, sc.MASKED_EQ, 0xFFFFFFFF, family))
    # personality() may only be queried (0xffffffff), not changed (e.g. ADDR_NO_RANDOMIZE).
    # The kernel reads the low 32 bits: deny when any of them is 0 (rules for one call OR).
    for bit in range(32):
        flt.add_rule(deny, "personality", sc.Arg(0, sc.MASKED_EQ, 1 << bit, 0))
    flt.load()


def worker_mode() -> str:
    if sys.platform != "linux":
        return "none"
    return "root" if os.geteuid() == 0 else "userns"
