"""Benchmarks: `python -m benchmarks.<name> [--json PATH]`."""
