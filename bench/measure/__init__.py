"""Stage 2, measurement: loading schedulers, clocks, one run in one process, the pyperf
worker and the suite that runs every job in its own process tree, floors, the scaling sweep."""
