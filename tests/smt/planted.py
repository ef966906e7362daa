"""A copy of checker/executor.py with a planted bug, for the tests that show
`mprog verify` catches it (the real module is not touched)."""
from __future__ import annotations

import importlib.util

from checker import executor


def copy_of_executor(name: str):
    """A private, independent copy of checker.executor."""
    spec = importlib.util.spec_from_file_location(f"checker.{name}", executor.__file__)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "checker"
    spec.loader.exec_module(mod)
    return mod


def executor_with_after_off_by_one(name: str):
    """AFTER R inserts one slot too far (BEFORE and no relative unchanged)."""
    buggy = copy_of_executor(name)
    real = buggy._pos_rel

    def pos_rel(slots, rel, before):
        t = real(slots, rel, before)
        return t + 1 if (t is not None and not before and rel is not None) else t

    buggy._pos_rel = pos_rel
    return buggy
