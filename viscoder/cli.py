"""The ``viscoder`` command: one sub-command per stage.

    viscoder exec INPUT --out OUT.jsonl [--workers N] [--timeout S] [--memory-mb MB]

Stages register here as they land (data, train, serve, bench, demo); each is a thin wrapper
around its sub-package's library function.
"""

from __future__ import annotations

import argparse
import logging
import sys

from viscoder import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="viscoder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"viscoder {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    from viscoder.sandbox import __main__ as exec_cli

    exec_parser = sub.add_parser("exec", help="run plotting scripts in the sandbox",
                                 description=exec_cli.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    exec_cli.build_parser(exec_parser)
    exec_parser.set_defaults(handler=exec_cli.run)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
