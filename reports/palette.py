"""One colour (and one marker) per scheduler, the same in every chart of a report, and
the one order in which charts list schedulers: family first, then the chart's figure.

Families (``bench.results.model.FAMILY_NAMES``: production, this-project, third-party,
teaching) come from the results file, never from a scheduler's name: a run written before
the family was recorded is "unrecorded", a group of its own listed after the others.

Colours say the family at a glance — a hue range per family — while staying fixed per
built-in scheduler, so ``heapq`` is the same brown in every report ever built:

- production loops: cool hues (blues, greens, purples), one per loop, drawn from the
  Okabe–Ito and Paul Tol palettes, both designed to stay apart under the common forms of
  colour-vision deficiency;
- this project's hybrid: vermillion, the one strong warm colour, so it stands out against
  both the real loops and the teaching designs;
- teaching designs: browns and tans (not greys: grey is kept for floors and references);
- third-party plugins and unrecorded non-built-ins: warm magentas, oranges, yellow.

The trade-off: eight production loops in one hue range are closer to each other than
eight arbitrary colours would be. Charts therefore never rely on colour alone — each
scheduler also has its own marker, and line charts with many schedulers are drawn as small
multiples, one panel per family. A plugin takes the next colour of its family's list in
sorted order of the plugin names present (deterministic for a given set of names; a
plugin's colour may change when another joins — the price of not hashing names, which could
put two schedulers on one colour); past the end of a list colours repeat but the
(colour, marker) pair stays unique.

Light colours are flagged ``light`` so charts can draw a dark outline around them.

Reference rows are not schedulers and take no scheduler colour: body floor drivers
(``body-floor/<dialect>`` in scaling sweeps, "body floor (<dialect>)" in tables), the bare
send and the timer floors are all drawn in one neutral grey, so a colour on a chart always
means a scheduler; they are listed after every family.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bench.results.model import FAMILY_NAMES

#: The group of runs from files written before the family was recorded (family None).
UNRECORDED = "unrecorded"
#: Groups in the order charts list them.
GROUP_ORDER: tuple[str, ...] = (*FAMILY_NAMES, UNRECORDED)
#: What a chart writes for a group (a heading, a panel title).
GROUP_TITLES: dict[str, str] = {
    "production": "production loops",
    "this-project": "this project",
    "third-party": "third-party plugins",
    "teaching": "teaching designs",
    UNRECORDED: "family not recorded",
}

#: Built-in schedulers → fixed colours (a hue range per family; see the module docstring).
BUILTIN_COLOURS: dict[str, str] = {
    # production: cool hues
    "asyncio": "#0072B2",  # blue (Okabe–Ito): the stdlib reference
    "uvloop": "#56B4E9",  # sky blue (Okabe–Ito)
    "trio": "#332288",  # indigo (Tol)
    "anyio": "#AA4499",  # purple (Tol)
    "anyio-trio": "#CC79A7",  # reddish purple (Okabe–Ito): anyio's sibling
    "gevent": "#117733",  # green (Tol)
    "twisted": "#999933",  # olive (Tol)
    "rloop": "#44AA99",  # teal (Tol)
    # this project
    "hybrid": "#D55E00",  # vermillion (Okabe–Ito)
    # teaching: browns and tans, four steps of lightness and chroma
    "listscan": "#8C510A",  # brown
    "busywait": "#543005",  # dark brown
    "heapq": "#DFC27D",  # tan (light: outlined)
    "deque": "#8E7B6A",  # taupe
}

#: Colours of schedulers that are not built in, by family: third-party plugins (and
#: non-built-ins whose family is not recorded) take ``PLUGIN_COLOURS``.
PLUGIN_COLOURS: tuple[str, ...] = ("#EE3377", "#E69F00", "#882255", "#F0E442", "#CC6677", "#000000")
FAMILY_SPARE_COLOURS: dict[str, tuple[str, ...]] = {
    "production": ("#004488", "#6699CC", "#225555"),
    "this-project": ("#EE7733", "#CC3311"),
    "teaching": ("#A6761D", "#7F6A4D", "#C7A27C"),
    "third-party": PLUGIN_COLOURS,
    UNRECORDED: PLUGIN_COLOURS,
}

#: Filled markers that stay distinct at small sizes; the 13 built-ins take one each.
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "h", "*", "<", ">", "p", "d", "8")

#: Colour for things that are not a scheduler (the floor line, reference lines).
NEUTRAL = "#666666"
#: Outline drawn around light colours.
OUTLINE = "#333333"
#: Relative luminance above which a colour needs an outline on white.
LIGHT_LUMINANCE = 0.6
#: Names of reference rows and series (floors), which are grey, never a scheduler colour.
REFERENCE_PREFIXES: tuple[str, ...] = ("body-floor/", "body floor", "bare send", "timer floor")


def is_reference(name: str) -> bool:
    return name.startswith(REFERENCE_PREFIXES)


@dataclass(frozen=True)
class Style:
    colour: str
    marker: str
    light: bool  # draw an outline: the colour alone is faint on white


def luminance(colour: str) -> float:
    """WCAG relative luminance of ``#RRGGBB`` (0 black … 1 white)."""

    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.03928 else float(((c + 0.055) / 1.055) ** 2.4)

    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


class Palette:
    """Styles and families for a fixed set of scheduler names; build one per report from
    every name in it (and every family the report's files record)."""

    def __init__(self, names: Iterable[str], families: Mapping[str, str | None] | None = None) -> None:
        self._families: dict[str, str] = {n: f for n, f in (families or {}).items() if f in FAMILY_NAMES}
        builtins = list(BUILTIN_COLOURS)
        self._styles: dict[str, Style] = {}
        for i, name in enumerate(builtins):
            self._styles[name] = _style(BUILTIN_COLOURS[name], MARKERS[i])
        plugins = sorted(n for n in set(names) - set(builtins) if not is_reference(n))
        taken: dict[str, int] = {}  # family → colours of its list handed out so far
        for i, name in enumerate(plugins):
            spare = FAMILY_SPARE_COLOURS[self.family(name)]
            k = taken.get(self.family(name), 0)
            taken[self.family(name)] = k + 1
            self._styles[name] = _style(spare[k % len(spare)], MARKERS[(len(builtins) + i) % len(MARKERS)])

    def __getitem__(self, name: str) -> Style:
        try:
            return self._styles[name]
        except KeyError:
            if is_reference(name):
                return REFERENCE_STYLE
            raise KeyError(f"scheduler {name!r} was not in the names this palette was built for") from None

    def colour(self, name: str) -> str:
        return self[name].colour

    def names(self) -> list[str]:
        return list(self._styles)

    def family(self, name: str) -> str:
        """The group a scheduler is listed in: its recorded family, else ``UNRECORDED``."""
        return self._families.get(name, UNRECORDED)

    def order(self, names: Iterable[str], figure: Callable[[str], float | None] | None = None) -> list[str]:
        """The one chart order: family (``GROUP_ORDER``), then ``figure`` ascending (None and
        NaN last), then name; references after every family. Deduplicated."""

        def key(name: str) -> tuple[int, float, str]:
            group = len(GROUP_ORDER) if is_reference(name) else GROUP_ORDER.index(self.family(name))
            value = figure(name) if figure is not None else None
            return group, math.inf if value is None or math.isnan(value) else value, name

        return sorted(dict.fromkeys(names), key=key)

    def groups(self, names: Iterable[str], figure: Callable[[str], float | None] | None = None,
               ) -> list[tuple[str, list[str]]]:
        """``order`` cut into (group, names) runs, groups without a name left out; references
        (which have no family) are left out too: a chart draws them in grey on its own."""
        out: dict[str, list[str]] = {}
        for name in self.order(names, figure):
            if not is_reference(name):
                out.setdefault(self.family(name), []).append(name)
        return list(out.items())


def families_of(runs: Iterable[tuple[str, str | None]]) -> dict[str, str | None]:
    """Scheduler → family from (scheduler, family) pairs of one or more results files; a
    recorded family wins over None (an older file beside a newer one)."""
    out: dict[str, str | None] = {}
    for name, family in runs:
        if family is not None or name not in out:
            out[name] = family if family is not None else out.get(name)
    return out


def _style(colour: str, marker: str) -> Style:
    return Style(colour, marker, luminance(colour) > LIGHT_LUMINANCE)


#: The one style of every reference row or series.
REFERENCE_STYLE = Style(NEUTRAL, ".", False)
