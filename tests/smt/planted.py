"""The linux executor unit over a copy of the mprog core with a planted bug, for the tests that
show `mprog verify` catches it (the real modules are not touched)."""
from __future__ import annotations

import importlib.util
from types import SimpleNamespace

from checker.exec import linux, mprog
from checker.exec.driver import make_step


def _copy(module, name: str):
    """A private, independent copy of ``module`` (its imports are shared)."""
    spec = importlib.util.spec_from_file_location(f"checker.exec.{name}", module.__file__)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "checker.exec"
    spec.loader.exec_module(mod)
    return mod


def executor_with_after_off_by_one(name: str):
    """The linux unit over a copy of the mprog core where AFTER R inserts
    one slot too far (BEFORE and no relative unchanged)."""
    core = _copy(mprog, name + "_mprog")
    real = core._pos_rel

    def pos_rel(slots, rel, before):
        t = real(slots, rel, before)
        return t + 1 if (t is not None and not before and rel is not None) else t

    core._pos_rel = pos_rel
    return SimpleNamespace(step=make_step(linux.ops(core.Core())), hooks=linux.hooks)


def rfc_executor_with_prepend_past_first(name: str):
    """The rfc unit where a prepend (BEFORE, no relative) anchors on the
    head even when it holds FIRST (bpf_mprog_first_reg() not skipping pins)."""
    from checker.exec import rfc
    buggy = _copy(rfc, name)
    buggy.first_reg = lambda slots: slots[0][0] if slots else None
    return buggy
