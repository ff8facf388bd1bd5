"""Stage 4, the gate: comparing two results files (statistics, verdicts, exit code),
exporting figures to CI dashboards, and keeping a history of results files."""
