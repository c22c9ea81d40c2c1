"""Memory of the data plan as the input grows: peak resident memory of this process and all
its descendants (driver, raylet, Ray Data workers, sandbox actors) while `viscoder data` runs
ingest -> extract -> execute on N and on 10 x N raw files, measured in the same run.

    .venv/bin/python benchmarks/data_memory.py [--files 400] [--plotting-share 0.1]

Streaming execution keeps memory flat: the printed ratio (peak at 10 x N / peak at N) should
stay near 1 while the input grows ten times.
"""

from __future__ import annotations

import argparse
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def tree_rss() -> int:
    import psutil

    me = psutil.Process()
    total = 0
    for proc in [me, *me.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


def make_corpus(path: Path, n: int, plotting_share: float) -> None:
    import pandas as pd

    stdlib = [p for p in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))[:2000]]
    plotting = sorted((REPO / "tests" / "data" / "corpus").glob("*.py")) + sorted(
        (REPO / "viscoder" / "examples" / "scripts").glob("*.py"))
    every = max(1, round(1 / plotting_share))
    rows = []
    for i in range(n):
        src = plotting[i % len(plotting)] if i % every == 0 else stdlib[i % len(stdlib)]
        rows.append({"id": f"f{i}", "text": src.read_bytes()})
    pd.DataFrame(rows).to_parquet(path)


def measure(n: int, share: float, work: Path) -> tuple[float, float]:
    from viscoder.data.config import DataConfig
    from viscoder.data.pipeline import run_data

    raw = work / f"raw-{n}.parquet"
    make_corpus(raw, n, share)
    cfg = DataConfig.model_validate({"output_dir": str(work / f"out-{n}"),
                                     "raw": {"paths": [str(raw)]}, "exec_actors": 1})
    peak, stop = [0], threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss())
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    run_data(cfg, steps=["ingest", "extract", "execute"])
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    return peak[0] / 2**20, elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", type=int, default=400)
    p.add_argument("--plotting-share", type=float, default=0.1)
    args = p.parse_args()
    from viscoder.ray_init import ensure_ray

    ensure_ray(None, log_to_driver=False)
    with tempfile.TemporaryDirectory() as tmp:
        small = measure(args.files, args.plotting_share, Path(tmp))
        large = measure(10 * args.files, args.plotting_share, Path(tmp))
    print(f"\n{args.files:>7} files: peak {small[0]:8.0f} MiB, {small[1]:6.1f} s")
    print(f"{10 * args.files:>7} files: peak {large[0]:8.0f} MiB, {large[1]:6.1f} s")
    print(f"memory ratio at 10x input: {large[0] / small[0]:.2f} (flat = about 1)")


if __name__ == "__main__":
    main()
