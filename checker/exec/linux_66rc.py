"""The linux-6.6-rc dialect's executor unit (spec/linux-6.6-rc/): a delta
over checker.exec.linux.  Only what the three 6.6-rc fixes changed is here;
every other op and check is mainline's.
"""
from __future__ import annotations

from ..dialects.linux import BPF_F_QUERY_EFFECTIVE, MPROG_MAX
from ..model import UNDEFINED, Step
from . import linux
from .driver import Err, make_step
from .mprog import Core
from .tcx import present_dev
from .world import World

hooks = linux.hooks


class Core66rc(Core):
    """kernel/bpf/mprog.c@053c8e1f235d: the core before the fixes."""

    def enter(self, hook) -> None:
        # A hook that took a 64th program has no NULL terminator left: the
        # model does not follow it (hook/overfull); queries stay defined.
        if len(hook.slots) > MPROG_MAX:
            raise Err(UNDEFINED, "hook/overfull")

    def check_room(self, slots: tuple) -> None:
        """No check before the position rules (f9b0e1088bbf added it): only
        Core.attach's target-index check (attach/full) remains."""

    def check_nonempty(self, slots: tuple) -> None:
        """No check after the revision guard (d210f9735e13 added it)."""

    def check_fetch(self, slots: tuple, idx: int) -> None:
        # bpf_mprog_fetch() maps idx -1 to slot 0 and idx == 0 == total to
        # slot -1 (read as u32 4294967295): both outside an empty list.
        if not slots:
            raise Err(UNDEFINED, "detach/empty")


def op_query(w: World, s: Step):
    # tcx_prog_query()@24cc7564e0de: no bundle -> ENOENT, before the core's
    # flag check (edfa9af0a73e moved it into bpf_mprog_query()).
    if s.query_flags & ~BPF_F_QUERY_EFFECTIVE:
        raise Err("EINVAL", "query/flags-unknown")
    dev = present_dev(w, s.dev, "query/dev-missing")
    if dev.hook(s.dir) is None:
        raise Err("ENOENT", "query/no-entry")
    return linux.op_query(w, s)


OPS = {**linux.ops(Core66rc()), "query": op_query}
step = make_step(OPS)
