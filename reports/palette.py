"""One colour (and one marker) per scheduler, the same in every chart of a report.

Colours come from the Okabe–Ito palette (Okabe & Ito, "Color Universal Design", 2008),
designed to stay distinguishable under the common forms of colour-vision deficiency. It
has exactly eight colours and the project has eight built-in schedulers, so each built-in
gets a fixed one: a chart of ``heapq`` is the same blue in every report ever built, which
is what makes reports comparable at a glance.

Plugins get further colours from Paul Tol's "muted" scheme, keeping only those that are
not close to an Okabe–Ito colour, in sorted order of the plugin names present in the
report. That is deterministic for a given set of names, but a plugin's colour may change
when another plugin joins — the price of not hashing names into colours (hashing would
keep colours stable but lets two schedulers collide on one colour).

Colour alone cannot keep more than about eight series apart, and no palette survives
greyscale printing, so every scheduler also gets its own marker; past the end of the
colour list the colours repeat but the (colour, marker) pair stays unique.

Okabe–Ito's yellow is weak on white: light colours are flagged ``light`` so charts can
draw a dark outline around them.

Reference rows are not schedulers and take no scheduler colour: body floor drivers
(``body-floor/<dialect>`` in scaling sweeps, "body floor (<dialect>)" in tables), the bare
send and the timer floors are all drawn in one neutral grey, so a colour on a chart always
means a scheduler.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Okabe–Ito, by name, as published.
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"

#: Built-in schedulers → fixed colours. busywait burns CPU (vermillion); asyncio is the
#: stdlib reference (orange); hybrid, the project's own design, is black so it stands out.
BUILTIN_COLOURS: dict[str, str] = {
    "listscan": SKY_BLUE,
    "busywait": VERMILLION,
    "heapq": BLUE,
    "deque": BLUISH_GREEN,
    "asyncio": ORANGE,
    "uvloop": REDDISH_PURPLE,
    "trio": YELLOW,
    "hybrid": BLACK,
}

#: Paul Tol "muted" colours not too close to an Okabe–Ito one (indigo, wine, olive, rose,
#: sand, teal), in the order plugins receive them.
PLUGIN_COLOURS: tuple[str, ...] = ("#332288", "#882255", "#999933", "#CC6677", "#DDCC77", "#44AA99")

#: Filled markers that stay distinct at small sizes; built-ins take the first eight.
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p", "d", "8")

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
    """Styles for a fixed set of scheduler names; build one per report from every name in it."""

    def __init__(self, names: Iterable[str]) -> None:
        builtins = list(BUILTIN_COLOURS)
        self._styles: dict[str, Style] = {}
        for i, name in enumerate(builtins):
            self._styles[name] = _style(BUILTIN_COLOURS[name], MARKERS[i])
        plugins = sorted(n for n in set(names) - set(builtins) if not is_reference(n))
        for i, name in enumerate(plugins):
            colour = PLUGIN_COLOURS[i % len(PLUGIN_COLOURS)]
            marker = MARKERS[(len(builtins) + i) % len(MARKERS)]
            self._styles[name] = _style(colour, marker)

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


def _style(colour: str, marker: str) -> Style:
    return Style(colour, marker, luminance(colour) > LIGHT_LUMINANCE)


#: The one style of every reference row or series.
REFERENCE_STYLE = Style(NEUTRAL, ".", False)
