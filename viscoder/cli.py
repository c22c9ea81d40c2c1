"""The ``viscoder`` command: one sub-command per stage, each a thin wrapper around its
sub-package's library function.

    viscoder exec INPUT --out OUT.jsonl [--workers N] [--timeout S] [--memory-mb MB]
    viscoder bench --benchmark pandasplotbench --library seaborn --base-url URL --model NAME --out DIR
    viscoder bench compare DIR1 DIR2 ...
    viscoder data --config YAML [--steps a,b] [--force] [key=value ...]
    viscoder train --config YAML [key=value ...]
    viscoder serve --model PATH_OR_HF_ID [--model-id NAME] [--host 127.0.0.1] [--port 8000]
    viscoder demo [--out runs/demo]
"""

from __future__ import annotations

import importlib
import sys

from viscoder import __version__

COMMANDS = {
    "exec": ("viscoder.sandbox.__main__", "run plotting scripts in the sandbox"),
    "bench": ("viscoder.bench.__main__", "evaluate a model on PandasPlotBench / MatPlotBench"),
    "data": ("viscoder.data.__main__", "build the SFT dataset of plotting code (Ray Data)"),
    "train": ("viscoder.train.__main__", "fine-tune a model on chat data (Ray Train + DeepSpeed)"),
    "serve": ("viscoder.serve.__main__", "serve a model behind an OpenAI-compatible endpoint"),
    "demo": ("viscoder.demo", "the whole loop on a laptop: data, train, serve, bench"),
}


def _usage() -> str:
    lines = [__doc__.strip(), "", "commands:"]
    lines += [f"  {name:<8} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines.append("\n`viscoder COMMAND --help` for the options of one command.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"viscoder {__version__}")
        return 0
    if argv[0] not in COMMANDS:
        print(f"viscoder: unknown command {argv[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
