"""viscoder: execution-validated plotting-code data, SFT, serving and benchmarks on Ray."""

__version__ = "0.1.0"
