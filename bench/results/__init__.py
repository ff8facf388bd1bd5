"""Stage 3, the results model: the typed, validated document every reader and writer shares,
its on-disk format, and the pure functions that turn worker records into figures."""
