"""The netkit target of the live-kernel backend (spec/netkit/): netkit pairs
beside veth devices, in the backend's private network namespace.

``netkit_add P Q [mode M]`` is RTM_NEWLINK kind ``netkit`` with
``IFLA_NETKIT_PEER_INFO`` naming the peer (netns.Devices.add_netkit), so the
kernel never picks a name; both devices get generated interface names, as
veth pairs do.  Deleting either device of a pair deletes both
(netkit_del_link()), and the backend marks both gone.  The netkit hooks of
a pair are read through its primary only (``hooks()``).

:func:`netkit_available` probes the running kernel: tcx first (the tcx
backend's probe), then a pair in a throw-away namespace and a query of its
PRIMARY hook.  A kernel without netkit (before 6.7, or CONFIG_NETKIT off)
answers the RTM_NEWLINK with EOPNOTSUPP and the query with EINVAL.
"""
from __future__ import annotations

import os
from typing import Optional

from ..dialects.netkit import BPF_NETKIT_PRIMARY, MODES, NETKIT_POINTS
from ..model import OK, Outcome, Step
from . import bpf
from .backend import KernelBackend, _Dev, kernel_available
from .netns import Devices, NetNS


class NetkitBackend(KernelBackend):
    """checker.backend.Backend for the netkit dialect: netkit pairs and veth
    devices in a private network namespace (tcx hooks on both kinds)."""

    KERNEL = "netkit"

    def __init__(self, dialect: str = "netkit"):
        # netkit device name -> (the other device of its pair, is the primary)
        self._pairs: dict[str, tuple[str, bool]] = {}
        super().__init__(dialect)

    @staticmethod
    def unavailable() -> Optional[str]:
        return netkit_available()

    def _op_netkit_add(self, s: Step) -> Outcome:
        mode = MODES[s.mode] if s.mode is not None else None
        ifx, err = self._devs_nl.add_netkit(s.dev, s.peer, mode)
        if err == OK:
            self.devs[s.dev], self.devs[s.peer] = _Dev(ifx[0]), _Dev(ifx[1])
            self._pairs[s.dev], self._pairs[s.peer] = (s.peer, True), (s.dev, False)
        return Outcome(err)

    def _op_dev_add(self, s: Step) -> Outcome:
        out = super()._op_dev_add(s)
        if out.ok:
            self._pairs.pop(s.dev, None)          # the name is a veth now
        return out

    def _op_dev_del(self, s: Step) -> Outcome:
        out = super()._op_dev_del(s)
        pair = self._pairs.pop(s.dev, None) if out.ok else None
        if pair is not None:                      # netkit_del_link(): the peer goes too
            self._pairs.pop(pair[0], None)
            self.devs[pair[0]].present = False
        return out

    def _hook_points(self, dev: str) -> dict:
        points = super()._hook_points(dev)
        pair = self._pairs.get(dev)
        if pair is not None and pair[1]:
            points = {**points, **NETKIT_POINTS}
        return points


_AVAILABLE: list = []   # cached netkit_available() answer


def netkit_available() -> Optional[str]:
    """None if the netkit backend can run here, else the reason it cannot."""
    if not _AVAILABLE:
        _AVAILABLE.append(kernel_available() or _probe())
    return _AVAILABLE[0]


def _probe() -> Optional[str]:
    release = os.uname().release
    ns = NetNS()
    devs = None
    try:
        devs = Devices(ns, prefix="mpcprobe")
        with ns.entered():
            ifx, err = devs.add_netkit("primary", "peer", None)
            if err != OK:
                return (f"the running kernel ({release}) has no netkit: RTM_NEWLINK of kind netkit "
                        f"fails with {err}")
            q = bpf.prog_query(ifx[0], BPF_NETKIT_PRIMARY, 0)
    finally:
        if devs is not None:
            devs.close()
        ns.close()
    if q.errno != OK:
        return (f"the running kernel ({release}) has no netkit hooks: BPF_PROG_QUERY with attach "
                f"type BPF_NETKIT_PRIMARY ({BPF_NETKIT_PRIMARY}) fails with {q.errno}")
    if (q.count, q.revision) != (0, 1):
        return (f"a fresh netkit pair's PRIMARY hook reports count {q.count} revision {q.revision}, "
                f"not 0 and 1")
    return None
