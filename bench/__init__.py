"""schedbench: the harness that runs one rocket workload on pluggable schedulers.

Data flows one way: workload → scheduler → validated trace and figures → results file →
report / compare.
"""

__version__ = "0.1.0"
