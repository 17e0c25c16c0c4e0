"""Benchmark and accuracy harness: synthetic card dumps with ground truth (`cardgen`), pure scoring
functions (`metrics`) and the runner (`python -m tests.bench`, see `__main__`); the sharpness score's
repeat-noise behind the ranking's noise margin (`python -m tests.bench.noise`)."""
