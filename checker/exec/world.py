"""Executor state: frozen records for programs, links, devices and hooks.

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


@dataclass(frozen=True, slots=True)
class World:
    """Everything the executor knows.  Links that were never created (failed
    link_create) or whose fd was closed are absent from ``links``.

    The three tables are persistent maps (immutables.Map, a HAMT): a request
    that changes one entry shares the rest with the previous World, so a run
    stays linear in its number of steps (a dict copied per ``load`` made
    100,000 loads quadratic).  Plain dicts given to the constructor are
    converted."""
    progs: Mapping[str, Prog] = field(default_factory=Map)
    links: Mapping[str, Link] = field(default_factory=Map)
    devs: Mapping[str, Device] = field(default_factory=Map)

    def __post_init__(self):
        for key in ("progs", "links", "devs"):
            v = getattr(self, key)
            if type(v) is not Map:
                object.__setattr__(self, key, Map(v))

    def with_prog(self, name: str, prog: Prog) -> "World":
        return World(self.progs.set(name, prog), self.links, self.devs)

    def with_link(self, name: str, link: Optional[Link]) -> "World":
        if link is not None:
            return World(self.progs, self.links.set(name, link), self.devs)
        if name not in self.links:
            return self
        return World(self.progs, self.links.delete(name), self.devs)

    def with_links(self, changed: Mapping[str, Link]) -> "World":
        """Several links replaced at once (device deletion)."""
        with self.links.mutate() as m:
            for name, link in changed.items():
                m[name] = link
            links = m.finish()
        return World(self.progs, links, self.devs)

    def with_dev(self, name: str, dev: Device) -> "World":
        return World(self.progs, self.links, self.devs.set(name, dev))

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
        return False
