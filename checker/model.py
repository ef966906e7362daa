"""Data model shared by every backend: requests (steps), expectations and outcomes.

A *step* is one line of a script or one element of a JSON vector's ``steps``
array; its fields are the vector keys of spec/vectors.md, one to one, so that
``mprog convert`` is lossless.  Nothing here depends on the dialect: which
ops, attach points, flags and program types a dialect accepts is in its
record (checker.dialects).  Backends (the reference executor, the live
kernel) consume steps and produce :class:`Outcome` values.  Kernel errors are
values here (``Outcome.errno``), never exceptions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

OK = "ok"
# The answer of a request whose kernel behaviour is undefined (a memory-safety
# bug of the kernel version a dialect describes, e.g. an out-of-bounds read
# that the kernel later fixed): the model makes no prediction for it, and its
# state does not change.  Never an answer of the live kernel.
UNDEFINED = "UNDEFINED"


@dataclass(frozen=True, slots=True)
class Raw:
    """A raw number passed to the kernel as an fd or an id (no named object).

    0 keeps its kernel meaning (no relative object; fd 0 is not a BPF object).
    Any other value is, by definition of the script language, an fd that is not
    open and an id that names no live object.
    """
    value: int


Ref = Union[str, Raw]  # an object name, or a raw fd/id number


@dataclass(frozen=True, slots=True)
class Expect:
    """Inline expectation of a step (``=> ...``).

    ``errno`` is "ok", an errno name, or UNDEFINED (see there).  For a query, ``count``/``revision``/
    ``progs``/``links`` are optional checks; ``links`` has one entry per
    element of ``progs`` (link name, or None for a prog-API entry).
    ``flags`` (dialects whose queries report stored flags, rfc) has one
    tuple of flag names per element of ``progs``; None = every entry's
    stored flags are 0 (never a tuple of empty tuples: one value, one form).
    An errno other than "ok" also means: state and revision are unchanged.
    """
    errno: str
    count: int | None = None
    revision: int | None = None
    progs: tuple[str, ...] | None = None
    links: tuple[str | None, ...] | None = None
    flags: tuple[tuple[str, ...], ...] | None = None
    mode: str | None = None        # cgroup: the list's attach mode (none, override, multi)


# Not frozen: a frozen dataclass's __init__ costs one object.__setattr__ per
# field, which halves parser throughput.  Steps are still treated as values
# (never mutated after construction; hashable through unsafe_hash).
@dataclass(slots=True, unsafe_hash=True)
class Step:
    """One request.  Field names are the JSON vector keys (spec/vectors.md)."""
    op: str
    dev: str | None = None
    dir: str | None = None                   # the attach point (tcx: ingress / egress)
    prog: Ref | None = None
    link: Ref | None = None
    type: str | None = None                  # load only; None = sched_cls
    flags: tuple[str | int, ...] = ()        # flag names, or raw bit values
    relative: Ref | None = None
    replace: Ref | None = None
    expected_revision: int = 0
    old_prog: Ref | None = None
    count: int | None = None                 # query input array size; None = large enough
    query_flags: int = 0
    attach_flags: int = 0
    # cgroup dialect: the attach target (a cgroup name, where tcx has ``dev``),
    # cgroup_add's parent, load's expected attach type, and whether a query
    # passes a prog_attach_flags array.
    cgroup: str | None = None
    parent: str | None = None
    expected_attach_type: str | None = None
    prog_attach_flags: bool = False
    # netkit_add (netkit dialect): ``dev`` is the primary, ``peer`` the peer
    # device's name, ``mode`` the device mode (l2, l3; None = the kernel's default).
    peer: str | None = None
    mode: str | None = None
    expect: Expect | None = None
    # Source position (1-based line, column) for messages; not part of equality.
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class QueryResult:
    """What BPF_PROG_QUERY wrote back: total count, revision, and the first
    ``min(input count, count)`` entries in run order.  Prog names of programs
    this run did not create are rendered as ``#<id>`` by the kernel backend.
    ``flags``: the stored flag word of each entry (prog_attach_flags /
    link_attach_flags) in dialects whose queries report them (rfc), raw bits
    of that dialect's table; () where the dialect reports none.  ``mode`` is
    the attach mode a cgroup query writes back (None where the dialect has
    none)."""
    count: int
    revision: int
    progs: tuple[str, ...] = ()
    links: tuple[str | None, ...] = ()
    flags: tuple[int, ...] = ()
    mode: str | None = None


def owners_by_program(progs: tuple, links: tuple) -> tuple:
    """The owners of a cgroup list as the kernel lets them be observed: a
    cgroup query reports program ids only, and a link tells which cgroup,
    attach type and program it holds, so the owners of the entries of one
    program are known as a set, not in order.  Among the entries of one
    program (first to last) the prog-API entry comes first, then the links
    by name; both backends report owners this way (spec/cgroup/query.md)."""
    groups: dict = {}
    for p, l in zip(progs, links):
        groups.setdefault(p, []).append(l)
    if all(len(g) == 1 for g in groups.values()):
        return tuple(links)
    for g in groups.values():
        g.sort(key=lambda l: (l is not None, l or ""))
        g.reverse()                 # popped from the end below
    return tuple(groups[p].pop() for p in progs)


@dataclass(slots=True, unsafe_hash=True)   # a value; not frozen for speed (see Step)
class Outcome:
    """Result of one step on one backend.

    ``errno`` is "ok", the errno name, or UNDEFINED; ``rule`` is the spec rule ID that
    decided it (the kernel backend cannot know it and leaves it ""), and
    ``query`` is set for queries that wrote results back (ok or ENOSPC).
    """
    errno: str
    rule: str = ""
    query: QueryResult | None = None
    # Further rules that shaped a success (e.g. "hook/free-when-empty").
    effects: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.errno == OK


@dataclass(frozen=True, slots=True)
class Script:
    """A parsed script or vector: dialect, steps and metadata."""
    steps: tuple[Step, ...]
    dialect: str = "linux"
    name: str = ""
    description: str = ""
    path: str = ""
