"""The report: one results file (and optionally a history of them) → PNG charts, HTML, Markdown.

``python -m reports RESULTS [--instructions FILE] [--history DIR] [--echo FILE] -o DIR`` writes into DIR:

- ``switch_cost.png``, ``lateness_percentiles.png``, ``cpu_cost.png``,
  ``lateness_vs_load.png``, ``io_cost.png`` (when the file has io-mode runs: cost per
  resume over the I/O floor), ``scaling.png`` (when the file has a scaling section),
  ``instructions.png`` (with ``--instructions``: instruction counts beside wall time),
  ``echo_latency.png`` (with ``--echo``: each echo server's latency against offered load)
  and ``trends.png`` (with ``--history``);
- ``index.html``: one self-contained page (inline CSS, no scripts, no network) that shows
  every figure in tables and the charts beside it by relative path, so the directory can
  be opened from disk, zipped, or uploaded as a CI artifact as it is;
- ``summary.md``: one row per scheduler, for a CI job summary or a PR comment.

Data flows one way, one module per step: ``data`` selects what may be charted (only
VALID and EARLY runs; EARLY flagged; ``io_data`` does the same for io mode and writes the
answer's sentence about sockets, ``echo_data`` the echo file's lines and the sentence
about latency under load), ``palette`` gives every scheduler one colour,
``charts`` draws, ``bench.present.tables`` builds the tables every output shares, ``html_page``
and ``markdown`` render, ``build`` writes the directory and ``cli`` is the command-line boundary.

Reports read results files only: nothing here imports the schedulers, the registry or the
suite, so a report can be built from a file produced on another machine, by another
version of the schedulers, or by plugins that are not installed here.
"""
