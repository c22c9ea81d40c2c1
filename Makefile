# The two commands a newcomer runs on a fresh machine:
#   make demo   set up, then run the main job on the bundled examples
#   make test   set up, then run lint and the test suite (what CI runs)
PY := .venv/bin/python

.PHONY: setup demo test lint bench-sandbox bench-train

setup:
	bash scripts/setup.sh

demo: setup
	$(PY) -m viscoder.cli exec viscoder/examples/scripts --out runs/exec/results.jsonl --workers 2
	@echo "results: runs/exec/results.jsonl, images: runs/exec/results_images/"

test: setup
	.venv/bin/ruff check .
	$(PY) -m pytest -q

lint: setup
	.venv/bin/ruff check .

bench-sandbox: setup
	$(PY) benchmarks/sandbox_throughput.py

bench-train: setup
	$(PY) benchmarks/train_throughput.py
