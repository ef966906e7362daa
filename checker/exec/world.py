"""Executor state: frozen records for programs, links, devices and hooks,
cgroups and their program lists.

Conventions (as in kernel/bpf/mprog.c): a hook's ``slots`` is the run order,
index 0 runs first; a slot is ``(prog_name, link_name_or_None, ...)`` (a
dialect may keep more per slot after these two, as the FIRST/LAST proposal
keeps the slot's stored flags).  An attach point absent from a device's
``hooks`` has no bpf_mprog bundle (tcx frees it when the list is empty and no
clsact qdisc holds it).  Records are never mutated: every successful request
builds a new World.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

from immutables import Map

from ..dialects.linux import LOOPBACK

Slot = tuple  # (prog: str, link: str | None[, stored flags: int])


@dataclass(frozen=True, slots=True)
class Hook:
    """One bpf_mprog bundle (tcx entry): ordered slots and the revision."""
    slots: tuple = ()
    revision: int = 1          # bpf_mprog_bundle_init() starts at 1


@dataclass(frozen=True, slots=True)
class Prog:
    type: str = "sched_cls"
    fd_open: bool = True
    expected: int = 0          # expected_attach_type (kernel number; cgroup dialect)


@dataclass(frozen=True, slots=True)
class Link:
    """A link.  ``dev`` is None once defunct (detached, device gone); the
    link keeps holding ``prog`` while its fd is open.  ``dir`` is the attach
    point (the vector key of spec/vectors.md).  ``flags``: what the link
    stores from its creation flags (rfc: FIRST/LAST; 0 in linux)."""
    prog: str
    dev: Optional[str]
    dir: str
    fd_open: bool = True
    flags: int = 0


@dataclass(frozen=True, slots=True)
class NetkitEnd:
    """A device's place in a netkit pair (netkit dialect): the primary or the
    peer, and the name of the other device."""
    primary: bool
    other: str


@dataclass(frozen=True, slots=True)
class Device:
    """A network device and its hooks, keyed by attach point (tcx: ingress,
    egress; a netkit primary also keeps its pair's netkit bundles under
    primary and peer).  An attach point absent from ``hooks`` has no bundle.
    ``netkit``: the device's place in a netkit pair, None for a veth."""
    present: bool = True
    clsact: bool = False
    hooks: Mapping[str, Hook] = field(default_factory=dict)
    netkit: Optional[NetkitEnd] = None

    def hook(self, point: str) -> Optional[Hook]:
        return self.hooks.get(point)

    def with_hook(self, point: str, hook: Optional[Hook]) -> "Device":
        hooks = dict(self.hooks)
        if hook is None:
            hooks.pop(point, None)
        else:
            hooks[point] = hook
        return Device(self.present, self.clsact, hooks, self.netkit)


def _namespace_devices() -> Map:
    """What a fresh network namespace holds: its loopback device, no hooks."""
    return Map({LOOPBACK: Device()})


@dataclass(frozen=True, slots=True)
class CgList:
    """The programs of one cgroup and attach type (struct cgroup_bpf, one
    attach type): ``entries`` in list order, each ``(prog, link or None,
    preorder)``; the attach mode (0, ALLOW_OVERRIDE or ALLOW_MULTI bits);
    the revision, 1 when the cgroup is created and never reset."""
    entries: tuple = ()
    mode: int = 0
    revision: int = 1


EMPTY_LIST = CgList()


@dataclass(frozen=True, slots=True)
class CGroup:
    """A cgroup v2 directory.  ``lists`` has an entry for every attach point
    that was ever changed (absent: EMPTY_LIST).  A removed cgroup keeps its
    name and parent and drops its lists (the kernel releases them)."""
    parent: Optional[str] = None
    present: bool = True
    lists: Mapping[str, CgList] = field(default_factory=dict)

    def list(self, point: str) -> CgList:
        return self.lists.get(point, EMPTY_LIST)

    def with_list(self, point: str, lst: CgList) -> "CGroup":
        return CGroup(self.parent, self.present, {**self.lists, point: lst})


@dataclass(frozen=True, slots=True)
class World:
    """Everything the executor knows.  Links that were never created (failed
    link_create) or whose fd was closed are absent from ``links``.  A link
    attached to a cgroup names it in ``Link.dev``.

    The tables are persistent maps (immutables.Map, a HAMT): a request
    that changes one entry shares the rest with the previous World, so a run
    stays linear in its number of steps (a dict copied per ``load`` made
    100,000 loads quadratic).  Plain dicts given to the constructor are
    converted.  A World made without ``devs`` is a fresh namespace: it
    has its loopback device ``lo``."""
    progs: Mapping[str, Prog] = field(default_factory=Map)
    links: Mapping[str, Link] = field(default_factory=Map)
    devs: Mapping[str, Device] = field(default_factory=_namespace_devices)
    cgroups: Mapping[str, CGroup] = field(default_factory=Map)

    def __post_init__(self):
        for key in ("progs", "links", "devs", "cgroups"):
            v = getattr(self, key)
            if type(v) is not Map:
                object.__setattr__(self, key, Map(v))

    def with_prog(self, name: str, prog: Prog) -> "World":
        return World(self.progs.set(name, prog), self.links, self.devs, self.cgroups)

    def with_link(self, name: str, link: Optional[Link]) -> "World":
        if link is not None:
            return World(self.progs, self.links.set(name, link), self.devs, self.cgroups)
        if name not in self.links:
            return self
        return World(self.progs, self.links.delete(name), self.devs, self.cgroups)

    def with_links(self, changed: Mapping[str, Link]) -> "World":
        """Several links replaced at once (device deletion, cgroup removal)."""
        with self.links.mutate() as m:
            for name, link in changed.items():
                m[name] = link
            links = m.finish()
        return World(self.progs, links, self.devs, self.cgroups)

    def with_dev(self, name: str, dev: Device) -> "World":
        return World(self.progs, self.links, self.devs.set(name, dev), self.cgroups)

    def with_cgroup(self, name: str, cg: CGroup) -> "World":
        return World(self.progs, self.links, self.devs, self.cgroups.set(name, cg))

    def prog_alive(self, name: str) -> bool:
        """A prog exists while any reference holds it: its fd, a prog-API
        hook entry, or an open link (attached or defunct)."""
        p = self.progs.get(name)
        if p is None:
            return False
        if p.fd_open:
            return True
        if any(l.prog == name for l in self.links.values()):
            return True
        for d in self.devs.values():
            for h in d.hooks.values():
                if any(s[0] == name and s[1] is None for s in h.slots):
                    return True
        for c in self.cgroups.values():
            for lst in c.lists.values():
                if any(e[0] == name and e[1] is None for e in lst.entries):
                    return True
        return False
