"""Which scenario family sets up a dialect's requests: the first of the
families (most specific first) whose ``applies`` accepts the dialect's
record (checker.suite.family: tcx devices and netkit pairs;
checker.suite.cgroup_family: cgroup lists and the hierarchy)."""
from __future__ import annotations

from typing import Optional

from .. import dialects
from .cgroup_family import Cgroup
from .family import Netkit, Tcx

FAMILIES = (Cgroup, Netkit, Tcx)


def family(dialect: str) -> Optional[Tcx]:
    """The scenario family that can set up ``dialect``'s requests, or None."""
    d = dialects.get(dialect)
    for fam in FAMILIES:
        if fam.applies(d):
            return fam(dialect)
    return None


__all__ = ["FAMILIES", "family"]
