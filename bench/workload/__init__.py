"""Stage 1, the workload and its checks: the seeded rocket list, the rocket bodies in each
dialect, and the validation every run passes before any of its figures count."""
