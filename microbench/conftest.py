"""pytest-benchmark micro-suite: the primitive step of each scheduler, timed in isolation.

Not part of ``make test`` (pytest's ``testpaths`` is ``tests``): these are measurements,
not checks. ``make microbench`` runs them and saves each run under results/microbench::

    .venv/bin/python -m pytest microbench --benchmark-only --benchmark-autosave \
        --benchmark-storage=file://results/microbench

Compare with the last saved run, failing when a primitive got more than 10 % slower::

    .venv/bin/python -m pytest microbench --benchmark-only \
        --benchmark-storage=file://results/microbench --benchmark-compare \
        --benchmark-compare-fail=median:10%

The suite-level figures (``python -m bench run``) say how fast a scheduler is; these say
which primitive moved when one changes: a heap push/pop, a deque rotation plus ``send``,
an asyncio ``sleep(0)`` round trip, one polling pass. Each benchmark's ``extra_info``
holds ``ns_per_switch`` where a call covers more than one switch.
"""
