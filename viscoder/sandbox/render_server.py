"""The jailed plotly renderer: figure JSON in, PNG bytes out, one Chromium kept warm.

Started by :mod:`viscoder.sandbox.render` with a runtime's own interpreter, *by path*
(``python -E -s .../render_server.py --uid N --scratch DIR``), so that it needs nothing but
the standard library, ``jail.py`` next to it and the runtime's own plotly + kaleido. It jails
itself before any figure arrives or any browser starts:

- its own PID namespace (the client kills one process and the kernel ends the whole browser
  tree), network namespace (loopback down: no connection anywhere), mount, IPC and UTS
  namespaces;
- a fresh root: read-only binds of the system and runtime paths, ``/dev/{null,zero,...}``, a
  fresh ``/proc`` of its own PID namespace and one small writable tmpfs for HOME and TMPDIR;
  no ``/home``, ``/root``, repository or other host files;
- an unprivileged uid when started as root (a user namespace otherwise);
- Chromium without ``--allow-file-access-from-files`` / ``--disable-web-security`` and with
  every request sent to a proxy that does not exist.

Two kaleido generations sit behind one protocol: kaleido 1.x drives a system Chromium (found
by kaleido's own discovery, ``BROWSER_PATH`` first); kaleido 0.2.1 ships its own Chromium and
is driven through ``plotly.io``'s kaleido scope, as the published harness did.

Protocol on stdin/stdout, one frame each way per figure: a kind byte and a 4-byte big-endian
length, then the body. Requests are ``J`` frames (``{"op": "render", "fig": {...}, "width",
"height"}`` or ``{"op": "stop"}``); replies are ``P`` (PNG bytes) or ``J`` (``{"error": ...}``
or, once at start, ``{"op": "ready", ...}``). The client treats every reply as hostile.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import struct
import sys
import tempfile
from typing import Any, BinaryIO

if __package__:
    from viscoder.sandbox import jail
else:  # run by path under a runtime's interpreter: jail.py sits next to this file
    import jail

    del sys.path[0]  # the sandbox package's folder must not shadow anything the browser imports

HEADER = struct.Struct(">cI")
MAX_REQUEST = 256 * 1024 * 1024
RENDER_HOME = "/tmp/.viscoder-render-home"  # /tmp is the one writable place in the jail
# kaleido/choreographer start Chromium with these; a figure must not read local files or
# talk to other origins.
BANNED_FLAGS = ("--allow-file-access-from-files", "--disable-web-security")
EXTRA_FLAGS = (
    "--proxy-server=http://127.0.0.1:9",  # every request goes to a proxy that is not there,
    "--proxy-bypass-list=<-loopback>",  # loopback included (a second layer under the netns)
    "--js-flags=--max-old-space-size=1024",
    "--block-new-web-contents",
)
TMPFS_MB = 256
CLONE_NEWPID = 0x20000000
MS_RDONLY = 1
MS_REMOUNT = 32
FILE_LIMIT = 64 * 1024 * 1024
_TINY = {"data": [{"type": "bar", "x": [1, 2], "y": [1, 2]}], "layout": {}}


# --- framing (shared with the client) ---------------------------------------------------------
def write_frame(out: BinaryIO, kind: bytes, body: bytes) -> None:
    out.write(HEADER.pack(kind, len(body)) + body)
    out.flush()


def read_exact(src: BinaryIO, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = src.read(n - len(buf))
        if not chunk:
            raise EOFError("the other side closed the channel")
        buf += chunk
    return bytes(buf)


def read_frame(src: BinaryIO, limit: int) -> tuple[bytes, bytes]:
    kind, size = HEADER.unpack(read_exact(src, HEADER.size))
    if size > limit:
        raise ValueError(f"frame of {size} bytes exceeds the limit of {limit}")
    return kind, read_exact(src, size)


def send_json(out: BinaryIO, obj: dict[str, Any]) -> None:
    write_frame(out, b"J", json.dumps(obj, ensure_ascii=True).encode())


# --- the jail ---------------------------------------------------------------------------------
def render_paths(browser: str | None, topojson: str | None = None) -> list[str]:
    """Read-only host paths: what the script's jail binds (system, this interpreter and its
    site-packages) plus the browser's own folder, the map outlines and the font cache."""
    extra = [p for p in ("/var/cache/fontconfig", topojson) if p and os.path.isdir(p)]
    if browser:
        folder = os.path.dirname(os.path.realpath(browser))
        # A browser's own install folder (/opt/google/chrome), never "/" or a bare /opt.
        if len(folder.strip("/").split("/")) >= 2:
            extra.append(folder)
    return jail.readonly_paths(extra)


def build_render_root(new_root: str, ro_paths: list[str], uid: int | None) -> None:
    """Like ``jail.build_root`` but for a browser: the devices stay usable, a fresh ``/proc`` of
    the PID namespace, and a writable, size-capped ``/tmp`` (also HOME) that is mounted *before*
    the read-only paths, so that a runtime or checkout under ``/tmp`` is bound on top of it
    instead of being shadowed (kaleido 0.2.1 writes its page to ``/tmp`` whatever TMPDIR says)."""
    mount_flags = jail.MS_NOSUID | jail.MS_NODEV
    jail.mount("tmpfs", new_root, "tmpfs", mount_flags, "size=1m,nr_inodes=4096,mode=755")
    for sub in ("/dev", "/proc", "/tmp"):
        os.makedirs(new_root + sub, mode=0o755)
    jail.mount("tmpfs", new_root + "/tmp", "tmpfs", mount_flags,
               f"size={TMPFS_MB}m,nr_inodes=16384,mode=1777")
    os.makedirs(new_root + RENDER_HOME, mode=0o700)
    if uid is not None:
        os.chown(new_root + RENDER_HOME, uid, uid)
    for path in ro_paths:
        target = new_root + path
        if os.path.islink(path) and os.path.dirname(path) == "/":
            os.symlink(os.readlink(path), target)  # /bin -> usr/bin on merged-/usr systems
            continue
        if os.path.isdir(path):
            os.makedirs(target, mode=0o755, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
            open(target, "w").close()
        jail.mount(path, target, None, jail.MS_BIND | jail.MS_REC)
    for dev in jail.DEVICES:
        open(f"{new_root}/dev/{dev}", "w").close()
    jail.make_readonly(new_root)  # recursive, and nodev: /tmp and the devices are redone below
    jail.mount(None, new_root + "/tmp", None, MS_REMOUNT | jail.MS_BIND | mount_flags)
    for dev in jail.DEVICES:
        target = f"{new_root}/dev/{dev}"
        jail.mount(f"/dev/{dev}", target, None, jail.MS_BIND)
        jail.mount(None, target, None, jail.MS_BIND | MS_REMOUNT | MS_RDONLY | jail.MS_NOSUID)
    jail.mount("proc", new_root + "/proc", "proc", mount_flags | jail.MS_NOEXEC)
    os.chdir(new_root)
    jail.pivot_root(".", ".")
    jail.umount(".", jail.MNT_DETACH)
    os.chdir("/")


def enter_jail(scratch: str, uid: int, ro_paths: list[str]) -> dict[str, Any]:
    """Split into a waiting parent (outside) and a jailed child (PID 1 inside); returns in the
    child only. The parent exits with the child's status."""
    root = os.geteuid() == 0
    if root:
        jail.unshare(CLONE_NEWPID)
    else:
        jail.enter_user_namespace(CLONE_NEWPID)
    pid = os.fork()
    if pid:
        _wait_and_exit(pid)
    jail.unshare(jail.CLONE_NEWNS | jail.CLONE_NEWNET | jail.CLONE_NEWIPC | jail.CLONE_NEWUTS)
    jail.mount(None, "/", None, jail.MS_REC | jail.MS_PRIVATE)
    build_render_root(scratch, ro_paths, uid if root else None)
    if root:
        jail.drop_privileges(uid)
    # After the uid change, which clears it. Should the parent already be gone, the client's
    # kill of the whole process group reaches this process too.
    jail.set_parent_death_signal()
    return {"namespaces": True, "network": True, "pid_namespace": True,
            "separate_uid": root, "uid": os.getuid()}


def _wait_and_exit(pid: int) -> None:
    os.closerange(0, 2)  # only the jailed child talks to the client (stderr stays, for logs)
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF if os.WIFEXITED(status) else 70)


def private_env(home: str, tmp: str) -> None:
    os.environ.clear()
    for path in (home, tmp):
        os.makedirs(path, mode=0o700, exist_ok=True)
    os.environ.update(HOME=home, TMPDIR=tmp, XDG_CONFIG_HOME=f"{home}/.config",
                      XDG_CACHE_HOME=f"{home}/.cache", PATH="/usr/local/bin:/usr/bin:/bin",
                      LANG="C.UTF-8")
    tempfile.tempdir = None


def apply_limits() -> None:
    for which, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, FILE_LIMIT)):
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def geo_bundle(topojson: str | None, dest_dir: str) -> str | None:
    """The runtime's plotly.js with the map outlines preloaded (``window.PlotlyGeoAssets``,
    which plotly.js reads before fetching them from its CDN); None without outlines."""
    import plotly

    src = os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js")
    if not topojson or not os.path.isdir(topojson) or not os.path.isfile(src):
        return None
    assets = {}
    for name in sorted(os.listdir(topojson)):
        if name.endswith("_110m.json"):
            with open(os.path.join(topojson, name), "rb") as fh:
                assets[name[:-len(".json")]] = json.loads(fh.read())  # data, re-serialised
    if not assets:
        return None
    path = os.path.join(dest_dir, "plotly-with-geo.js")
    with open(path, "w", encoding="utf-8") as out, open(src, encoding="utf-8") as js:
        out.write(f"window.PlotlyGeoAssets = {{topojson: {json.dumps(assets)}}};\n")
        out.write(js.read())
    return path


# --- the engines --------------------------------------------------------------------------------
def kaleido_generation() -> int:
    import kaleido

    return 1 if hasattr(kaleido, "Kaleido") else 0


def find_browser() -> str | None:
    """kaleido 1.x's own discovery: ``BROWSER_PATH``, choreographer's download, then PATH and
    the usual install places."""
    from choreographer.browsers.chromium import Chromium

    return Chromium.find_browser(skip_local=False)


def serve_kaleido1(inp: BinaryIO, out: BinaryIO, browser: str, isolation: dict,
                   plotlyjs: str | None) -> None:
    import asyncio
    import logging

    import kaleido
    from choreographer.browsers.chromium import Chromium

    for name in ("kaleido", "choreographer", "logistro"):
        logging.getLogger(name).setLevel(logging.ERROR)

    class SafeChromium(Chromium):
        def get_cli(self):  # noqa: ANN202 - choreographer's signature
            return [a for a in super().get_cli() if a not in BANNED_FLAGS] + list(EXTRA_FLAGS)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        # mathjax=False: kaleido would fetch MathJax from a CDN; there is no network here.
        async with kaleido.Kaleido(n=1, timeout=None, mathjax=False, plotlyjs=plotlyjs,
                                   path=browser, browser_cls=SafeChromium) as k:
            opts = {"format": "png", "width": 100, "height": 100, "scale": 1}
            for attempt in range(3):
                # kaleido's first navigation can read the JS context of the blank page it
                # replaces ("kaleido_scopes is not defined"); the reload after a figure fixes it.
                try:
                    await k.calc_fig(_TINY, opts=opts)
                    break
                except Exception:
                    if attempt == 2:
                        raise
            send_json(out, {"op": "ready", "engine": f"kaleido {_version()}",
                            "browser": browser, "isolation": isolation})
            while (req := await loop.run_in_executor(None, _next_request, inp)) is not None:
                opts = {"format": "png", "width": req["width"], "height": req["height"],
                        "scale": 1}
                try:
                    png = await k.calc_fig(req["fig"], opts=opts)
                except Exception as exc:  # the figure's problem; the browser lives on
                    send_json(out, {"error": f"{type(exc).__name__}: {exc}"})
                else:
                    write_frame(out, b"P", png)

    asyncio.run(main())


def serve_kaleido0(inp: BinaryIO, out: BinaryIO, isolation: dict, plotlyjs: str | None) -> None:
    import plotly.io as pio

    scope = pio.kaleido.scope
    if scope is None:
        raise RuntimeError("plotly.io found no usable kaleido")
    if plotlyjs:
        scope.plotlyjs = plotlyjs
    scope.chromium_args = [a for a in scope.chromium_args if a not in BANNED_FLAGS] + list(EXTRA_FLAGS)

    def render(fig: dict, width: int, height: int) -> bytes:
        return pio.to_image(fig, format="png", width=width, height=height, scale=1,
                            engine="kaleido", validate=False)

    render(_TINY, 100, 100)
    send_json(out, {"op": "ready", "engine": f"kaleido {_version()}", "browser": "bundled",
                    "isolation": isolation})
    while (req := _next_request(inp)) is not None:
        try:
            png = render(req["fig"], req["width"], req["height"])
        except Exception as exc:
            send_json(out, {"error": f"{type(exc).__name__}: {exc}"})
        else:
            write_frame(out, b"P", png)


def _next_request(inp: BinaryIO) -> dict[str, Any] | None:
    try:
        kind, body = read_frame(inp, MAX_REQUEST)
    except EOFError:
        return None
    req = json.loads(body)
    if kind != b"J" or req.get("op") != "render":
        return None
    return req


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("kaleido")
    except Exception:
        return "?"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uid", type=int, default=60999, help="used when started as root")
    parser.add_argument("--scratch", required=True, help="an empty folder for the jail's root")
    parser.add_argument("--topojson", help="folder of plotly's map outlines (*_110m.json)")
    parser.add_argument("--no-jail", action="store_true",
                        help="isolation=none: render without the jail (for machines without "
                        "namespaces; never for code from strangers)")
    args = parser.parse_args(argv)
    # The protocol owns the real stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    inp = os.fdopen(os.dup(0), "rb")
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    try:
        generation = kaleido_generation()
        browser = find_browser() if generation == 1 else None
        if generation == 1 and not browser:
            raise RuntimeError("kaleido found no Chromium or Chrome: install chromium "
                               "(scripts/setup.sh does) or set BROWSER_PATH")
        if args.no_jail:
            isolation = {"namespaces": False, "network": False, "separate_uid": False}
        else:
            isolation = enter_jail(args.scratch, args.uid, render_paths(browser, args.topojson))
        if args.no_jail:
            private_env(f"{args.scratch}/home", f"{args.scratch}/tmp")
        else:
            private_env(RENDER_HOME, "/tmp")
        apply_limits()
        plotlyjs = geo_bundle(args.topojson, os.environ["TMPDIR"])
        isolation["map_outlines"] = plotlyjs is not None
        if generation == 1:
            serve_kaleido1(inp, out, browser, isolation, plotlyjs)
        else:
            serve_kaleido0(inp, out, isolation, plotlyjs)
    except BaseException as exc:
        try:
            send_json(out, {"op": "error", "error": f"{type(exc).__name__}: {exc}"})
        except OSError:
            pass
        os._exit(1)
    os._exit(0)


if __name__ == "__main__":
    main()
