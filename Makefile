# The two commands a newcomer runs on a fresh machine:
#   make demo   set up, then run the whole loop (data, train, serve, bench) on bundled inputs
#   make test   set up, then run lint and the test suite (what CI runs)
PY := .venv/bin/python

.PHONY: setup demo test lint bench-sandbox bench-train

setup:
	bash scripts/setup.sh

demo: setup
	$(PY) -m viscoder.cli demo --out runs/demo

test: setup
	.venv/bin/ruff check .
	$(PY) -m pytest -q

lint: setup
	.venv/bin/ruff check .

bench-sandbox: setup
	$(PY) benchmarks/sandbox_throughput.py

bench-train: setup
	$(PY) benchmarks/train_throughput.py
