"""``viscoder data``: build the chat-format SFT dataset of plotting code on Ray Data.

    viscoder data --config configs/data/visCode.yaml
    viscoder data --config configs/tiny/data.yaml                     # the bundled tiny inputs
    viscoder data --config configs/tiny/data.yaml --steps execute,annotate   # re-run two steps
    viscoder data --config configs/tiny/data.yaml --force                     # everything again

Writes output_dir/dataset/ (Parquet), rejects/, stats.json, README.md (dataset card),
config.yaml and the per-step outputs under stages/. Started again, it skips finished steps.
"""

from __future__ import annotations

import argparse
import logging
import sys

from viscoder.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="viscoder data", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="a YAML DataConfig")
    p.add_argument("--steps", help="comma-separated steps to (re-)run; default: all unfinished")
    p.add_argument("--force", action="store_true", help="re-run finished steps")
    p.add_argument("overrides", nargs="*", default=[], help="key=value settings of DataConfig")
    args = p.parse_args(argv)
    from viscoder.data.config import DataConfig
    from viscoder.data.pipeline import run_data

    try:
        cfg = load_config(DataConfig, args.config, args.overrides)
        steps = [s.strip() for s in args.steps.split(",")] if args.steps else None
        run_data(cfg, steps=steps, force=args.force)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"viscoder data: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
