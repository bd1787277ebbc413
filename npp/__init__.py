"""npp: preprocessing-enhanced image compression for machine vision (Lu et al., TCSVT 2024)."""
import os

__version__ = "0.1.0"

# OpenMP's idle worker threads spin by default. On a CPU shared with other work (a busy server,
# CI, several processes of ours) they steal the cores the work needs: one compare took
# 8.8-17.9 s instead of 1.2-1.3 s on a loaded 2-core machine (bench/compare_concurrency.py).
# The OpenMP runtime reads this when torch loads, so it is set before any npp module imports
# torch; a value set by the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
