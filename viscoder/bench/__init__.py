"""``viscoder bench``: plotting benchmarks (PandasPlotBench, MatPlotBench) against any
OpenAI-compatible endpoint, with execution pass rate, self-debug rounds, VLM judges and a
report. Library entry point: :func:`viscoder.bench.runner.run_bench`."""
