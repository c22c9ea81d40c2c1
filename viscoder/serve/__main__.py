"""``viscoder serve``: a model behind an OpenAI-compatible endpoint (Ray Serve + vLLM).

    viscoder serve --model Qwen/Qwen2.5-Coder-7B-Instruct --model-id viscoder-7b --port 8000
    viscoder serve --model runs/train/model --host 0.0.0.0 max_replicas=4 accelerator_type=A100
    viscoder serve --config configs/tiny/serve.yaml      # CPU, after the tiny-model line below
    viscoder serve tiny-model runs/tiny-model      # build a tiny random model (tests, CPU demo)

Serves /v1/chat/completions, /v1/completions and /v1/models until Ctrl-C. Exit status: 0
stopped; 2 bad configuration (a key, a model that is not there), before Ray starts; 1 the
server failed (the model could not be deployed, ...).
"""

from __future__ import annotations

import argparse
import logging
import sys

from viscoder.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if argv[:1] == ["tiny-model"]:
        p = argparse.ArgumentParser(prog="viscoder serve tiny-model",
                                    description="build a tiny random chat model (no download)")
        p.add_argument("dir")
        args = p.parse_args(argv[1:])
        from viscoder.serve.tiny import build_tiny_model

        print(build_tiny_model(args.dir))
        return 0
    p = argparse.ArgumentParser(prog="viscoder serve", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="a YAML ServeConfig")
    p.add_argument("--model", help="local folder, Hugging Face id, or s3:// / gs:// path")
    p.add_argument("--model-id", help="the name clients use")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("overrides", nargs="*", default=[], help="key=value settings of ServeConfig")
    args = p.parse_args(argv)
    from viscoder.model_source import check_model_source
    from viscoder.serve.config import ServeConfig
    from viscoder.serve.server import ServeFailed, serve_forever

    try:
        cfg = load_config(ServeConfig, args.config, args.overrides, model=args.model,
                          model_id=args.model_id, host=args.host, port=args.port)
        check_model_source(cfg.model)
    except ConfigError as exc:
        print(f"viscoder serve: {exc}", file=sys.stderr)
        return 2
    try:
        serve_forever(cfg)
    except ServeFailed as exc:
        print(f"viscoder serve: {exc}", file=sys.stderr)
        return 1
    return 0

if __name__ == "__main__":
    sys.exit(main())
