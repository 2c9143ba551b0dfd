"""Benchmarks: commands run by `make bench`, each timed against a baseline measured in the same run."""
