"""The dialect registry: every dialect this tool knows, named once.

A dialect is one semantics of the attach requests: mainline tcx (``linux``),
the state of mainline before the 6.6-rc fixes, the 2023 FIRST/LAST proposal,
and so on.  Its record here says everything the layers need to know about it:
its flag table, attach points and rule table (data, in this package: one
module per dialect), and which unit of each layer implements it (module
names, imported on first use, so this registry sits below every layer and
imports none of them).

A dialect that differs from its parent in a few rules is written as a delta
(:meth:`Dialect.derive`), in the manner of consensus-specs' per-fork deltas.

Adding a dialect: one data module here, one unit in each layer that
implements it (``checker/exec/<unit>.py``, ``checker/smt/<unit>.py``, ...),
and one line in ``_ALL`` below.
"""
from __future__ import annotations

import importlib

from .base import Dialect

# One line per dialect: the data module (checker/dialects/<module>.py) that
# defines its DIALECT; a delta dialect after its parent.
_ALL = tuple(importlib.import_module(f"{__name__}.{module}").DIALECT for module in (
    "linux",
    "rfc",
    "linux_66rc",
    "netkit",
    "cgroup",
))
_REGISTRY: dict = {d.name: d for d in _ALL}


def registry() -> dict:
    return _REGISTRY


def names() -> tuple:
    return tuple(registry())


def get(name: str) -> Dialect:
    """The dialect called ``name``; LookupError with the known names otherwise."""
    try:
        return registry()[name]
    except KeyError:
        raise LookupError(f"dialect {name!r} is not implemented (known: {', '.join(names())})") from None


def all_ops() -> tuple:
    """Every request op of any dialect, sorted (for messages before the
    dialect of a file is known)."""
    return tuple(sorted(set().union(*(d.ops for d in _ALL))))
