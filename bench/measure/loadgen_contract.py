"""What both load generators share, defined once here and mirrored in ``_loadgen.c``.

The histogram's buckets (``bucket_of``/``bucket_bounds``), the schedule
(``schedule_offsets``: the same floating-point operations in the same order, so the same
seed gives the same nanoseconds, and ``schedule_digest`` hashes them identically) and the
message bytes (``message``). The Python client (``loadgen_python``) runs on them; the
harness and the tests read histograms and digests through them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Final

SUB: Final = 128  # sub-buckets per power of two: width <= 1/128 of the value
NBUCKETS: Final = 4096  # exact below 256 ns, then 30 octaves: up to 2**38 ns (275 s)
MASK: Final = (1 << 64) - 1
FNV_OFFSET: Final = 0xCBF29CE484222325


def bucket_of(value_ns: int) -> int:
    """The histogram bucket of a latency in ns (C: ``bucket_of``)."""
    v = max(0, value_ns)
    if v < 256:
        return v
    if v >= 1 << 38:
        return NBUCKETS - 1
    e = v.bit_length() - 8
    return SUB * e + (v >> e)


def bucket_bounds(index: int) -> tuple[int, int]:
    """(lowest value, one past the highest) of a bucket, in ns."""
    if index < 256:
        return index, index + 1
    e = index // SUB - 1
    m = index - SUB * e
    return m << e, (m + 1) << e


def splitmix(state: int) -> tuple[int, int]:
    """(new state, output) of splitmix64 (C: ``splitmix``)."""
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def fnv(h: int, value: int) -> int:
    """FNV-1a over the 8 little-endian bytes of ``value`` (C: ``fnv``)."""
    v = value & MASK
    for i in range(8):
        h = ((h ^ ((v >> (8 * i)) & 0xFF)) * 0x100000001B3) & MASK
    return h


def schedule_offsets(connection: int, connections: int, rate: float, arrival: str, seed: int) -> Iterator[int]:
    """The intended send times of one connection, in ns from the start, endlessly."""
    k, last, rng = 0, 0, (seed ^ ((connection + 1) * 0xD1B54A32D192ED03)) & MASK
    mean_ns = connections * 1e9 / rate
    while True:
        if arrival == "poisson":
            rng, z = splitmix(rng)
            u = ((z >> 11) + 1.0) * 2.0 ** -53  # (0, 1]
            last = last + int(-math.log(u) * mean_ns)
        else:
            last = int((k * connections + connection) * 1e9 / rate)
        k += 1
        yield last


def window_ns(warmup_s: float, duration_s: float) -> tuple[int, int]:
    """(warm-up end, run end) in ns from the start, rounded as the C client rounds them."""
    warm = int(warmup_s * 1e9)
    return warm, warm + int(duration_s * 1e9)


def schedule_digest(connections: int, rate: float, arrival: str, seed: int, warmup_s: float,
                    duration_s: float) -> str:
    """The ``schedule_digest`` a client reports for these settings, computed without a run."""
    _, total = window_ns(warmup_s, duration_s)
    digest = FNV_OFFSET
    for c in range(connections):
        h = FNV_OFFSET
        for off in schedule_offsets(c, connections, rate, arrival, seed):
            if off >= total:
                break
            h = fnv(h, off)
        digest = fnv(digest, h)
    return f"{digest:016x}"


_TABLES: Final = [bytes((b + s) & 0xFF for b in range(256)) for s in range(256)]


def pattern(size: int) -> bytes:
    """Byte i of message 0 beyond the header: (7i + i/256) mod 256 (C: ``base``)."""
    return bytes((7 * i + (i >> 8)) & 0xFF for i in range(size))


def message(connection: int, seq: int, size: int, base: bytes) -> bytes:
    """Message ``seq`` of ``connection``: seq | connection<<48 little-endian, then the
    pattern shifted by seq (both cut to ``size``)."""
    header = ((seq | (connection << 48)) & MASK).to_bytes(8, "little")
    return (header + base[8:].translate(_TABLES[seq & 0xFF]))[:size]
