"""Benchmark and accuracy harness: synthetic card dumps with ground truth (`cardgen`), pure scoring
functions (`metrics`) and the runner (`python -m tests.bench`, see `__main__`)."""
