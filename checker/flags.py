"""Flag words: a dialect's table of flag names and bits.

The same bit means different things in different dialects (the 2023 proposal's
BPF_F_FIRST is 0x20, mainline's BPF_F_ID is 0x20), so a raw flag word is only
meaningful together with its dialect's :class:`FlagTable`.  Scripts and vectors
carry flags as names (or raw bit values); the table turns them into the word
the kernel sees and back.
"""
from __future__ import annotations

from typing import Iterable, Mapping

# The canonical order of flag names in a step (rendering, equality): one order
# for every dialect, consistent with each dialect's bit order, so that a
# script's text does not depend on which dialect's table sorted it.
NAME_ORDER = ("ALLOW_OVERRIDE", "ALLOW_MULTI", "REPLACE", "BEFORE", "AFTER", "FIRST", "LAST",
              "ID", "PREORDER", "LINK")
_RANK = {n: i for i, n in enumerate(NAME_ORDER)}


def canonical(flags: Iterable) -> tuple:
    """Flags as a set: names in NAME_ORDER (unknown names after them, by
    name), then raw bits in increasing order."""
    names = {f for f in flags if isinstance(f, str)}
    raws = {f for f in flags if not isinstance(f, str)}
    return tuple(sorted(names, key=lambda n: (_RANK.get(n, len(_RANK)), n))) + tuple(sorted(raws))


class FlagTable:
    """Names -> bits of one dialect, with a memoised encoder (a sequence
    uses only a handful of distinct flag tuples)."""

    __slots__ = ("bits", "_cache")

    def __init__(self, bits: Mapping[str, int]):
        for name in bits:
            if name not in _RANK:
                raise ValueError(f"flag {name!r} is missing from checker.flags.NAME_ORDER")
        self.bits = dict(bits)
        self._cache: dict = {}

    def __contains__(self, name: str) -> bool:
        return name in self.bits

    def __getitem__(self, name: str) -> int:
        return self.bits[name]

    def names(self) -> tuple:
        return tuple(self.bits)

    def word(self, flags: tuple) -> int:
        """OR together a step's flags (names of this table, or raw bits)."""
        w = self._cache.get(flags)
        if w is None:
            w = 0
            for f in flags:
                w |= f if isinstance(f, int) else self.bits[f]
            if len(self._cache) < 4096:
                self._cache[flags] = w
        return w

    def decode(self, word: int) -> tuple:
        """A word as names of this table, plus one raw value for the bits
        that have no name here (canonical order)."""
        out, rest = [], word
        for name, bit in self.bits.items():
            if word & bit:
                out.append(name)
                rest &= ~bit
        if rest:
            out.append(rest)
        return canonical(out)
