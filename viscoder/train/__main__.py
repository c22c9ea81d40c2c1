"""``viscoder train``: full-parameter SFT on Ray Train + DeepSpeed ZeRO.

    viscoder train --config configs/train_qwen2.5-coder-7b.yaml data=[runs/data/dataset]
    viscoder train --config configs/tiny/train.yaml                  # CPU, tiny model, ~2 min
    viscoder train --config configs/tiny/train.yaml max_steps=5 output_dir=runs/t

Writes config.yaml, deepspeed.json, data_stats.json, metrics.jsonl, summary.json and model/
(a Hugging Face folder for transformers, vLLM and `viscoder serve`) under output_dir.
Running the same command again resumes from the last Ray Train checkpoint. Exit status: 0
done; 2 bad configuration (a key, the batch shape, a model that is not there), found before
Ray starts; 1 a failure while running.
"""

from __future__ import annotations

import argparse
import logging
import sys

from viscoder.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="viscoder train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="a YAML TrainConfig")
    p.add_argument("overrides", nargs="*", default=[], help="key=value settings of TrainConfig")
    args = p.parse_args(argv)
    from viscoder.model_source import check_model_source
    from viscoder.train.chat_tokens import TemplateError
    from viscoder.train.config import TrainConfig
    from viscoder.train.data import DataError
    from viscoder.train.runner import TrainFailed, run_train

    try:
        cfg = load_config(TrainConfig, args.config, args.overrides)
        check_model_source(cfg.model)  # a missing folder: one line now, not every Ray worker
    except ConfigError as exc:
        print(f"viscoder train: {exc}", file=sys.stderr)
        return 2
    try:
        run_train(cfg)
    except (DataError, TemplateError, TrainFailed) as exc:
        print(f"viscoder train: {exc}", file=sys.stderr)
        return 1
    return 0

if __name__ == "__main__":
    sys.exit(main())
