"""The PNG charts: one module per figure family, and two shared ones.

- ``switch`` (switch cost per resume), ``io`` (io mode: cost per resume over the I/O
  floor), ``echo`` (echo servers: latency against offered load), ``instructions``
  (instructions per switch beside wall time), ``lateness`` (lateness by percentile,
  lateness against load), ``cpu`` (CPU cost per wake),
  ``scaling`` (cost against the number of rockets) and ``trends`` (a history of results
  files);
- ``style``: what every chart shares — figure size, saving, titles, grids, legends,
  footnotes, the palette's colours and markers on lines and bars;
- ``ticks``: log axes with plain labels, and pruning of tick labels that would collide.

Each chart has a ``draw_*`` function that takes selected data (``reports.data``) and a
palette and returns a ``style.Drawn`` figure, or None when there is nothing worth drawing;
the function of the chart's plain name writes it to a path and returns a
``style.ChartFile`` describing it. A family module holds its chart's file name too, so
adding a chart is one new module plus one line in ``reports.build``. Numbers on a chart
(labels, ticks, alt text) are written by ``bench.present.units``, like every other output.

Drawing goes through ``matplotlib.figure.Figure`` objects, never pyplot's global figure
registry: a report builds a handful of figures in a row, and explicit figures cannot leak
or draw into each other. The Agg backend is selected here, in the package, so it is set
before any chart module (or anything they import) could import pyplot, and building a
report never needs a display.

Every chart is drawn at a fixed pixel size (``width_px`` × ``height_px`` at ``DPI``) and
saved without ``bbox_inches="tight"``, which would crop to a size nobody asked for; the
layout engine ("constrained") fits labels inside the requested canvas instead. Widths stay
at or under ``MAX_WIDTH_PX`` so the page shows charts at their own size on a 1,400 px
screen; heights grow with the number of bars or panels so labels stay legible.

Rules every chart follows, so none can mislead:

- one order everywhere: family (production loops, this project, third-party, teaching,
  then "family not recorded" for older files), then the figure the chart shows, cheapest
  first; bar charts head each family's rows, line charts draw one row of small multiples
  per family with the other families' lines in light grey behind (``style.family_rows``,
  ``lateness.family_rows``);
- one colour and one marker per scheduler (``reports.palette``), a hue range per family,
  light colours outlined; floors and other references are grey;
- EARLY runs (valid trace, some early wakes) are hatched, dashed or hollow and say so in
  the legend; runs that are not charted are named in a note on the chart, with status;
- bars start at zero on a linear axis (a bar's length is its value); log axes only for
  lines and points whose values span decades, with plain tick labels;
- axes limits hug the data, so no panel is mostly empty, and a panel per time scale or
  mode has its own axis when their values differ by decades;
- tick labels never collide: after layout, a label that would overlap a neighbour is
  dropped (``ticks.prune_tick_labels``); ``ticks.text_collisions`` checks a finished figure,
  and tests/test_chart_layout.py checks every chart of the reference reports for
  overlapping or clipped text and empty panels;
- titles and footnotes are wrapped to the figure's width, never cut; a panel without a
  value above zero is not drawn (a note says why);
- a chart where every series has a single point is not drawn (a line chart of dots says
  nothing a table does not), and legends sit outside the plotting area, never on data.
"""

import matplotlib

matplotlib.use("Agg")
