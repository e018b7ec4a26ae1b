"""Benchmarks: our cutover against the kubectl-drain loop on sandbox scenarios (run ``python bench/run.py``)."""
