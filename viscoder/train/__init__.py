"""The training stage: SFT of a code LLM on the chat dataset, Ray Train + DeepSpeed ZeRO.

Library entry point: :func:`viscoder.train.runner.run_train`; command: ``viscoder train``.
"""
