"""Execution runtimes: named, pinned interpreters that untrusted plotting code runs under.

A runtime is one TOML file in ``viscoder/sandbox/runtimes/<name>.toml`` (its exact pins, a
lock of what they pull in, and the modules the warm worker pre-imports) and, once built, a
venv in ``<repo>/.runtimes/<name>/`` (``VISCODER_RUNTIMES_DIR`` overrides the folder) with a
``versions.json`` recording every installed library's version and the importable top-level
modules. The project's own ``.venv`` only orchestrates; its versions never reach results.

    python -m viscoder.sandbox.runtimes build [NAME ...] [--force]   # all when no NAME
    python -m viscoder.sandbox.runtimes list

    from viscoder.sandbox.runtimes import get_runtime
    rt = get_runtime("pandasplotbench")   # RuntimeUnavailable if unknown or not built
    rt.python, rt.versions["pandas"], "scipy" in rt.modules, rt.provenance()

Adding a runtime means adding its TOML file (see ``default.toml``) and building it; no code
changes. Builds install wheels only (no compiling), from the package index pip is configured
with (PyPI), and are idempotent: a built runtime whose TOML is unchanged is left alone.
This module uses the standard library only (it is imported by the orchestration side).
"""

from __future__ import annotations

import argparse
import atexit
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import venv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SPECS_DIR = Path(__file__).resolve().parent / "runtimes"
REPO_ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = "versions.json"
RECORD_FORMAT = 2  # of versions.json; an older record is re-read from the runtime (no reinstall)
_STATE: dict[str, str] = {}

# Run by the runtime's own interpreter in isolated mode (-I: no cwd, no PYTHONPATH), so it
# reports what a script there can import, not what the caller happens to have on its path.
_INTROSPECT = r"""
import importlib, importlib.metadata as md, json, pkgutil, platform, sys
preload = json.loads(sys.argv[1])
versions = {}
for dist in md.distributions():
    name = dist.metadata["Name"]
    if name:
        versions[name.lower().replace("_", "-").replace(".", "-")] = dist.version
# namespace packages (mpl_toolkits) are not modules to pkgutil; their distributions know them
modules = ({m.name for m in pkgutil.iter_modules()} | set(sys.builtin_module_names)
           | {n for n in md.packages_distributions() if n.isidentifier()})
failed = {}
for mod in preload:
    try:
        importlib.import_module(mod)
    except Exception as exc:
        failed[mod] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"python": platform.python_version(), "versions": versions,
                  "modules": sorted(modules), "preload_failed": failed}))
"""


class RuntimeUnavailable(ValueError):
    """The named runtime is not declared, or declared but not built (or built from an older
    version of its file). The message lists the built ones and how to build."""


class RuntimeSpecError(ValueError):
    """A runtime's TOML file is malformed."""


@dataclass(frozen=True)
class Runtime:
    name: str
    spec_path: Path
    path: Path  # the venv
    description: str
    requirements: tuple[str, ...]
    lock: tuple[str, ...]
    preload: tuple[str, ...]
    python_requires: str
    spec_sha256: str
    built: bool = False
    python_version: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    modules: frozenset[str] = frozenset()

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def library_versions(self) -> dict[str, str]:
        """The versions of the libraries the runtime pins (its ``requirements``)."""
        out = {}
        for req in self.requirements:
            name = _canon(_req_name(req))
            out[name] = self.versions.get(name, "?")
        return out

    def provenance(self) -> dict[str, object]:
        """What every output records about the runtime that produced it."""
        return {"name": self.name, "python": self.python_version,
                "libraries": self.library_versions(), "spec_sha256": self.spec_sha256[:16]}


def worker_pythonpath() -> str:
    """The PYTHONPATH that lets a runtime's interpreter import viscoder's own worker code and
    nothing else of the project's environment. In a source checkout that is the checkout; in
    an installed viscoder (inside the .venv's site-packages, whose numpy/pandas would shadow
    the runtime's) a private folder holding only a link to the package."""
    package = Path(__file__).resolve().parents[1]
    if package.parent.name not in ("site-packages", "dist-packages"):
        return str(package.parent)
    if "pkg_dir" not in _STATE:
        folder = tempfile.mkdtemp(prefix="viscoder-pkg-")
        os.symlink(package, os.path.join(folder, "viscoder"))
        atexit.register(shutil.rmtree, folder, True)
        _STATE["pkg_dir"] = folder
    return _STATE["pkg_dir"]


def runtimes_dir() -> Path:
    """``VISCODER_RUNTIMES_DIR``, else ``.runtimes`` of this checkout. Code that Ray copied
    (a ``ray job submit`` working_dir) has no ``.runtimes`` of its own: it uses the ones that
    set-up built beside the environment running it (``<checkout>/.venv`` ->
    ``<checkout>/.runtimes``), which on a cluster node is where ``scripts/setup.sh`` ran."""
    if os.environ.get("VISCODER_RUNTIMES_DIR"):
        return Path(os.environ["VISCODER_RUNTIMES_DIR"])
    own = REPO_ROOT / ".runtimes"
    beside_env = Path(sys.prefix).parent / ".runtimes"
    if not own.is_dir() and beside_env.is_dir():
        return beside_env
    return own


def declared_runtimes() -> list[str]:
    """Names of every runtime with a TOML file, built or not."""
    return sorted(p.stem for p in SPECS_DIR.glob("*.toml"))


def available_runtimes() -> list[str]:
    """Names of the runtimes that are built and up to date with their TOML file."""
    return [n for n in declared_runtimes() if _load(n).built]


def get_runtime(name: str, *, require_built: bool = True) -> Runtime:
    """The runtime ``name``; raises :class:`RuntimeUnavailable` (saying which ones exist and
    how to build them) when it is unknown or, with ``require_built``, not built."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name or ""):
        raise RuntimeUnavailable(_unavailable_message(name, "is not a valid runtime name"))
    if not (SPECS_DIR / f"{name}.toml").is_file():
        raise RuntimeUnavailable(_unavailable_message(
            name, f"is unknown (no {SPECS_DIR.name}/{name}.toml)"))
    rt = _load(name)
    if require_built and not rt.built:
        why = ("was built from an older version of its file" if (rt.path / VERSIONS_FILE).exists()
               else f"is not built (no {rt.path})")
        raise RuntimeUnavailable(_unavailable_message(name, why))
    return rt


def _unavailable_message(name: str, why: str) -> str:
    built = available_runtimes()
    declared = declared_runtimes()
    return (f"execution runtime {name!r} {why}. Built: {', '.join(built) or 'none'}; "
            f"declared: {', '.join(declared) or 'none'} (files in {SPECS_DIR}). "
            f"To build: `python -m viscoder.sandbox.runtimes build {name if name in declared else 'NAME'}`"
            " (`make setup` builds them all).")


def _load(name: str) -> Runtime:
    spec_path = SPECS_DIR / f"{name}.toml"
    raw = spec_path.read_bytes()
    try:
        spec = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RuntimeSpecError(f"{spec_path}: {exc}") from None
    reqs = _str_list(spec, "requirements", spec_path)
    if not reqs:
        raise RuntimeSpecError(f"{spec_path}: `requirements` must list the runtime's libraries")
    for req in reqs:  # exact pins only: a runtime that floats does not reproduce
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+", req.replace(" ", "")):
            raise RuntimeSpecError(f"{spec_path}: {req!r} is not an exact pin (name==version)")
    if "pyseccomp" not in {_canon(_req_name(r)) for r in reqs}:
        raise RuntimeSpecError(f"{spec_path}: every runtime must declare pyseccomp (the jail)")
    rt = Runtime(
        name=name, spec_path=spec_path, path=runtimes_dir() / name,
        description=str(spec.get("description", "")), requirements=tuple(reqs),
        lock=tuple(_str_list(spec, "lock", spec_path)),
        preload=tuple(_str_list(spec, "preload", spec_path)),
        python_requires=str(spec.get("python", "")), spec_sha256=hashlib.sha256(raw).hexdigest())
    try:
        record = json.loads((rt.path / VERSIONS_FILE).read_text())
    except (OSError, ValueError):
        return rt
    if (record.get("spec_sha256") != rt.spec_sha256 or record.get("format") != RECORD_FORMAT
            or not rt.python.exists()):
        return rt
    return Runtime(**{**rt.__dict__, "built": True, "python_version": record.get("python"),
                      "versions": dict(record.get("versions") or {}),
                      "modules": frozenset(record.get("modules") or ())})


def _str_list(spec: dict, key: str, path: Path) -> list[str]:
    value = spec.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuntimeSpecError(f"{path}: `{key}` must be a list of strings")
    return value


def _req_name(req: str) -> str:
    return re.split(r"[=<>!~\[; ]", req.strip(), maxsplit=1)[0]


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _python_ok(requires: str, version: tuple[int, ...]) -> bool:
    """Whether ``version`` meets a ``>=3.11,<3.13``-style requirement (stdlib only)."""
    ops = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
           ">": lambda a, b: a > b, "<": lambda a, b: a < b}
    for clause in filter(None, (c.strip() for c in requires.split(","))):
        m = re.fullmatch(r"(>=|<=|==|>|<)\s*(\d+(?:\.\d+)*)", clause)
        if not m:
            raise RuntimeSpecError(f"cannot read python requirement {clause!r}")
        want = tuple(int(x) for x in m.group(2).split("."))
        if not ops[m.group(1)](version[: len(want)], want):
            return False
    return True


def build(name: str, *, force: bool = False, log: Callable[[str], None] = print) -> Runtime:
    """Create or refresh ``<runtimes dir>/<name>``; a no-op when it is built and up to date."""
    rt = get_runtime(name, require_built=False)
    if not _python_ok(rt.python_requires, sys.version_info[:3]):
        raise RuntimeSpecError(f"runtime {name!r} needs python {rt.python_requires}; this is "
                               f"{sys.version.split()[0]} ({sys.executable})")
    rt.path.parent.mkdir(parents=True, exist_ok=True)
    with open(rt.path.parent / f".{name}.lock", "w") as lock_fh:
        fcntl.flock(lock_fh, fcntl.LOCK_EX)  # two set-ups at once build it once
        rt = _load(name)
        if rt.built and not force:
            log(f"runtime {name}: up to date in {rt.path}")
            return rt
        if not force and rt.python.exists() and (rt.path / VERSIONS_FILE).exists():
            record = _introspect(rt, rt.python)
            if _meets_pins(rt, record["versions"]):  # its file changed, what it needs did not
                before = json.loads((rt.path / VERSIONS_FILE).read_text())
                _write_record(rt.path, record, rt, float(before.get("build_seconds") or 0))
                log(f"runtime {name}: its installed libraries already match {rt.spec_path.name}")
                return _load(name)
        start = time.monotonic()
        # Built beside the live one and swapped in at the end, so sandboxes keep using the old
        # runtime while a new one installs (a venv run as bin/python may move: sys.prefix is
        # found from pyvenv.cfg next to it).
        stage = rt.path.with_name(f".{name}.building")
        log(f"runtime {name}: building {rt.path} ({rt.description})")
        shutil.rmtree(stage, ignore_errors=True)
        venv.EnvBuilder(clear=True, symlinks=True, with_pip=True).create(stage)
        python = stage / "bin" / "python"
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
            fh.write("\n".join(rt.lock) + "\n")
            constraints = fh.name
        try:
            cmd = [str(python), "-m", "pip", "install", "--progress-bar", "off", "--no-input",
                   "--disable-pip-version-check", "--only-binary=:all:", "-c", constraints,
                   *rt.requirements]
            proc = subprocess.run(cmd, capture_output=True, text=True)
        finally:
            os.unlink(constraints)
        if proc.returncode != 0:
            raise RuntimeError(f"runtime {name}: pip install failed:\n{proc.stderr[-4000:]}")
        record = _introspect(rt, python)
        _write_record(stage, record, rt, time.monotonic() - start)
        old = rt.path.with_name(f".{name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if rt.path.exists():
            os.rename(rt.path, old)
        os.rename(stage, rt.path)
        shutil.rmtree(old, ignore_errors=True)
        built = _load(name)
        pinned = {_canon(_req_name(r)) for r in (*rt.requirements, *rt.lock)}
        floating = sorted(f"{k}=={v}" for k, v in built.versions.items()
                          if k not in pinned and k not in ("pip", "setuptools", "wheel"))
        if floating:  # reproducible only once these are in the TOML's `lock`
            log(f"runtime {name}: not pinned by its `lock` (add them): {', '.join(floating)}")
        log(f"runtime {name}: built in {record['build_seconds']} s, {_size_mb(rt.path)} MB: "
            + ", ".join(f"{k} {v}" for k, v in built.library_versions().items()))
        return built


def _write_record(folder: Path, record: dict, rt: Runtime, seconds: float) -> None:
    record.update(name=rt.name, spec_sha256=rt.spec_sha256, format=RECORD_FORMAT,
                  build_seconds=round(seconds, 1),
                  built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    tmp = folder / (VERSIONS_FILE + ".tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
    tmp.replace(folder / VERSIONS_FILE)  # its presence (and hash) means "built"


def _meets_pins(rt: Runtime, versions: dict[str, str]) -> bool:
    """Every requirement installed at its pin, and every installed library its lock names
    at the locked version."""
    for pin in rt.requirements:
        if versions.get(_canon(_req_name(pin))) != pin.split("==", 1)[1].strip():
            return False
    for pin in rt.lock:
        got = versions.get(_canon(_req_name(pin)))
        if got is not None and got != pin.split("==", 1)[1].strip():
            return False
    return True


def _introspect(rt: Runtime, python: Path) -> dict:
    proc = subprocess.run([str(python), "-I", "-c", _INTROSPECT, json.dumps(rt.preload)],
                          capture_output=True, text=True, env=_clean_env())
    if proc.returncode != 0:
        raise RuntimeError(f"runtime {rt.name}: its interpreter does not start:\n{proc.stderr[-2000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    failed = info.pop("preload_failed")
    if failed:
        raise RuntimeError(f"runtime {rt.name}: these preload modules do not import: "
                           f"{json.dumps(failed)}")
    versions = info["versions"]
    wrong = {r: versions.get(_canon(_req_name(r))) for r in rt.requirements
             if versions.get(_canon(_req_name(r))) != r.split("==", 1)[1].strip()}
    if wrong:
        raise RuntimeError(f"runtime {rt.name}: pins not honoured (installed: {wrong})")
    return info


def _clean_env() -> dict[str, str]:
    # A headless, quiet import check: no display, no user site, no inherited venv.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
    env.update(MPLBACKEND="Agg", PYTHONNOUSERSITE="1")
    return env


def _size_mb(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total // (1024 * 1024)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m viscoder.sandbox.runtimes",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build runtimes (all declared ones when no NAME is given)")
    b.add_argument("names", nargs="*", metavar="NAME")
    b.add_argument("--force", action="store_true", help="rebuild even when up to date")
    sub.add_parser("list", help="declared runtimes, whether built, and their pinned versions")
    args = parser.parse_args(argv)
    if args.cmd == "list":
        for name in declared_runtimes():
            rt = _load(name)
            state = f"built, python {rt.python_version}" if rt.built else "not built"
            print(f"{name}: {state} ({rt.path})\n  {rt.description}")
            if rt.built:
                print("  " + ", ".join(f"{k} {v}" for k, v in rt.library_versions().items()))
        return 0
    failed = []
    for name in args.names or declared_runtimes():
        try:
            build(name, force=args.force)
        except (RuntimeUnavailable, RuntimeSpecError, RuntimeError) as exc:
            print(f"runtime {name}: FAILED: {exc}", file=sys.stderr)
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
