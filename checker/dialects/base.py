"""The dialect record (checker.dialects names every dialect once)."""
from __future__ import annotations

import dataclasses
import importlib
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional

from ..flags import FlagTable

# The rules of BPF_LINK_UPDATE that kernel/bpf/syscall.c link_update() decides
# for every link type, and the first checks tcx and cgroup links make alike
# (checker.exec.objects.link_update_operands), in the kernel's order: one
# fragment of each such dialect's rule table.
LINK_UPDATE_OPERANDS = {
    "link_update/flags": "EINVAL",
    "link_update/link-fd-closed": "EBADF",
    "link_update/not-link": "EINVAL",
    "link_update/prog-fd-closed": "EBADF",
    "link_update/prog-not-prog": "EINVAL",
    "link_update/old-fd-closed": "EBADF",
    "link_update/old-not-prog": "EINVAL",
    "link_update/old-without-replace": "EINVAL",
    "link_update/defunct": "ENOLINK",
    "link_update/old-mismatch": "EPERM",
}


@dataclass(frozen=True)
class Dialect:
    """One semantics.  ``rules`` maps every rule ID of the dialect to the
    errno it decides ("ok" for successes and effects); ``changed`` lists the
    IDs whose meaning differs from the parent's (a delta dialect's own rules,
    the ones its spec chapter describes)."""
    name: str
    summary: str
    kernels: str                      # the kernel versions it describes, in words
    flags: FlagTable
    attach_points: Mapping[str, int]  # script name -> kernel attach type
    prog_types: Mapping[str, int]     # script name -> kernel program type
    rules: Mapping[str, str]
    executor: str                     # module implementing it in checker.exec
    encoding: Optional[str] = None    # module implementing it in checker.smt (None: not encoded)
    kernel: Optional[str] = None      # kernel feature the live backend needs (None: no kernel runs it)
    since: tuple = ()                 # the first kernel release it describes, e.g. (6, 6); () = none
    # Stable lines that received it later, each from its first release there,
    # e.g. ((6, 12, 110),): the 6.12 line from 6.12.110.
    stable: tuple = ()
    # The hook ``mprog dialects diff`` compares this dialect on when the other
    # dialect has no such attach point: (attach point, the request that makes
    # its device, e.g. ("primary", "netkit_add")); None: an attach point both share.
    diff_hook: Optional[tuple] = None
    parent: Optional[str] = None
    changed: frozenset = frozenset()
    query_flags: bool = False         # queries report per-slot stored flags (rfc)
    relative_union: bool = False      # the replaced prog and the relative share one field (rfc)
    revision_bits: int = 64           # width of expected_revision in the UAPI (rfc: u32)
    default_prog_type: str = "sched_cls"   # the type of ``load P`` without ``type``
    plan: Optional[str] = None        # module with its mprog-plan target in checker.smt (None: tcx)
    target: str = "dev"               # the Step field naming the attach target (dev, cgroup)
    spec: str = ""                    # its chapter under spec/
    ops: frozenset = field(default=frozenset())

    def derive(self, name: str, summary: str, kernels: str, *, changed: Mapping[str, str] = None,
               removed: tuple = (), **fields) -> "Dialect":
        """A child dialect: the parent's tables with ``changed`` rules
        replaced or added and ``removed`` rules dropped."""
        changed = dict(changed or {})
        rules = {r: e for r, e in self.rules.items() if r not in removed}
        rules.update(changed)
        return dataclasses.replace(self, name=name, summary=summary, kernels=kernels,
                                   parent=self.name, rules=rules, changed=frozenset(changed),
                                   **fields)

    def describes(self, release: str) -> bool:
        """Whether this dialect describes the kernel whose ``uname -r`` is
        ``release`` (its version from ``since`` on, on a kernel with the
        feature): a kernel it describes must run it, any other kernel's
        backend refuses it."""
        version = release_version(release)
        if not (self.kernel and self.since and version is not None):
            return False
        return version >= self.since or any(version[:2] == first[:2] and version >= first
                                            for first in self.stable)

    def directive_flags(self, *kinds: str) -> tuple:
        """The flags with which an application implements a program's
        directives (grammar/directives.lark) on attach in this dialect:
        FIRST / LAST with the dialect's own FIRST / LAST flags where its
        table has them (the 2023 proposal: pins kept for the program's
        lifetime; FIRST and LAST together: both), else the first directive
        alone: FIRST / LAST as BEFORE / AFTER with no relative (mainline:
        front / back, at attach time only), BEFORE x / AFTER x as BEFORE /
        AFTER relative to x."""
        pins = tuple(k for k in ("FIRST", "LAST") if k in kinds and k in self.flags)
        if pins:
            return pins
        return {"FIRST": ("BEFORE",), "LAST": ("AFTER",)}.get(kinds[0], (kinds[0],))

    def unit(self, layer: str):
        """The module implementing this dialect in ``layer`` ("executor",
        "encoding" or "plan"), imported now."""
        mod = getattr(self, layer)
        if mod is None:
            raise LookupError(f"dialect {self.name!r} has no {layer}")
        return importlib.import_module(mod)


def release_version(release: str) -> Optional[tuple]:
    """The version numbers at the start of a ``uname -r`` string:
    "6.12.117+deb12-amd64" -> (6, 12, 117), "6.1.0-57-amd64" -> (6, 1, 0);
    None if it does not start with one."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", release)
    if m is None:
        return None
    return tuple(int(x) for x in m.groups() if x is not None)
