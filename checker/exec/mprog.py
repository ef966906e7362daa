"""The mainline bpf_mprog core (kernel/bpf/mprog.c since 6.6-rc6): target
positions, attach, detach (:class:`Core`).  Shared by the dialects built on
mainline bpf_mprog (tcx, and netkit through the same core); a kernel version
whose core checks differ subclasses Core (checker.exec.linux_66rc).

Conventions follow kernel/bpf/mprog.c: ``n`` = number of slots, ``idx`` =
target position with UNSET (the kernel's -ERANGE sentinel), -1 = front, n =
back.  Each rule picks a position independently; all chosen positions must
agree (mprog.c: "If all rules agree ...").  An Err never changes anything;
a success that changes a hook bumps its revision by exactly one
(bpf_mprog_commit()).

::

    slots:     [ A  B  C ]        BEFORE B -> idx 0 (i - 1), inserted at 1
    index:    -1  0  1  2  3      AFTER  B -> idx 2 (i + 1), inserted at 2
             front         back   no relative: BEFORE -> -1, AFTER -> n
"""
from __future__ import annotations

from typing import Optional

from ..dialects.linux import AFTER, BEFORE, ID, LINK, MPROG_MAX, REPLACE
from ..model import Ref
from .driver import Err
from .objects import resolve_relative
from .world import Hook, World

UNSET = -34          # mprog.c initialises idx to -ERANGE: "no rule has chosen yet"


# --------------------------------------------------------------------------
# Positions (bpf_mprog_pos_*).  A relative given as a prog matches that prog
# whatever owns it; given as a link it matches only that link's slot.

def _pos_exact(slots: tuple, prog: Optional[str], link: Optional[str], missing: str, busy: str) -> int:
    for i, (p, l) in enumerate(slots):
        if p == prog:
            if l != link:
                raise Err("EBUSY", busy)
            return i
    raise Err("ENOENT", missing)


def _pos_rel(slots: tuple, rel, before: bool) -> Optional[int]:
    """Target index for BEFORE (i - 1) / AFTER (i + 1) of the relative; with
    no relative: -1 (front) / n (back).  None = relative not in the list."""
    if rel is None:
        return -1 if before else len(slots)
    rp, rl = rel
    for i, (p, l) in enumerate(slots):
        if p == rp and (rl is None or rl == l):
            return i - 1 if before else i + 1
    return None


# (flag, picks "before", rule when R is missing, rule when positions disagree)
_POSITION_RULES = {
    "attach": ((BEFORE, True, "attach/before-missing", "attach/before-conflict"),
               (AFTER, False, "attach/after-missing", "attach/after-conflict")),
    "detach": ((BEFORE, True, "detach/before-missing", "detach/before-conflict"),
               (AFTER, False, "detach/after-missing", "detach/after-conflict")),
}


def _positions(slots: tuple, bits: int, rel, idx: int, op: str) -> int:
    """Apply the BEFORE and AFTER rules: each picks a position independently;
    all chosen positions must agree (mprog.c: "If all rules agree ...")."""
    for flag, before, missing, conflict in _POSITION_RULES[op]:
        if bits & flag:
            t = _pos_rel(slots, rel, before)
            if t is None:
                raise Err("ENOENT", missing)
            if idx != UNSET and t != idx:
                raise Err("ERANGE", conflict)
            idx = t
    return idx


# --------------------------------------------------------------------------
# Core attach / detach (bpf_mprog_attach / bpf_mprog_detach)

class Core:
    """The bpf_mprog core as mainline runs it (kernel/bpf/mprog.c since
    6.6-rc6).  A kernel version whose core checks differently is a subclass
    that overrides the check methods below (the places kernel history moved a
    check: checker.exec.linux_66rc); a dialect unit runs its ops over one
    Core instance (checker.exec.linux.ops)."""

    def enter(self, hook: Hook) -> None:
        """Every request that reaches a hook's bpf_mprog state passes here
        first (attach, detach, link update, device teardown: after the
        syscall's and tcx's own checks).  Nothing to check on mainline."""

    def check_room(self, slots: tuple) -> None:
        """A non-REPLACE attach on a full hook, before the position rules
        (since f9b0e1088bbf, 6.6-rc5)."""
        if len(slots) == MPROG_MAX:
            raise Err("ERANGE", "attach/full")

    def check_nonempty(self, slots: tuple) -> None:
        """Detach from an empty list, right after the revision guard (since
        d210f9735e13)."""
        if not slots:
            raise Err("ENOENT", "detach/empty")

    def check_fetch(self, slots: tuple, idx: int) -> None:
        """Before the victim at ``idx`` is read (bpf_mprog_fetch()).  Nothing
        on mainline: check_nonempty() has ruled out the only out-of-bounds read."""

    def attach(self, w: World, hook: Hook, prog: str, link: Optional[str], old: Optional[str],
               bits: int, relative: Optional[Ref], expected_revision: int) -> Hook:
        self.enter(hook)
        slots = hook.slots
        # Verify the optimistic-concurrency guard first.
        if expected_revision and expected_revision != hook.revision:
            raise Err("ESTALE", "attach/stale-revision")
        # Verify the prog is not on this hook already, whoever owns it.
        if any(p == prog for p, _ in slots):
            raise Err("EEXIST", "attach/prog-exists")
        rel = resolve_relative(w, bool(bits & LINK), bool(bits & ID), relative, w.progs[prog].type,
                               "relative/type-mismatch")
        idx = UNSET
        if bits & REPLACE:
            idx = _pos_exact(slots, old, link, "attach/replace-missing", "attach/replace-owner")
        else:
            self.check_room(slots)
        idx = _positions(slots, bits, rel, idx, "attach")
        if idx == UNSET:
            if rel is not None or bits:
                raise Err("EINVAL", "attach/relative-without-position")
            idx = len(slots)
            bits = AFTER
        # The kernel keeps this check after the position rules; on mainline
        # check_room() has already refused every insertion that reaches it.
        if idx >= MPROG_MAX:
            raise Err("ERANGE", "attach/full")
        new = (prog, link)
        if bits & REPLACE:
            return Hook(slots[:idx] + (new,) + slots[idx + 1:], hook.revision + 1)
        # Insert: BEFORE R chose i - 1 and means "at i"; AFTER R chose i + 1.
        at = idx + 1 if (bits & BEFORE and idx != len(slots)) else idx
        return Hook(slots[:at] + (new,) + slots[at:], hook.revision + 1)

    def detach(self, w: World, hook: Hook, prog: Optional[str], link: Optional[str],
               bits: int, relative: Optional[Ref], expected_revision: int) -> Hook:
        self.enter(hook)
        slots = hook.slots
        if bits & REPLACE:
            raise Err("EINVAL", "detach/replace-flag")
        if expected_revision and expected_revision != hook.revision:
            raise Err("ESTALE", "detach/stale-revision")
        self.check_nonempty(slots)
        rel = resolve_relative(w, bool(bits & LINK), bool(bits & ID), relative,
                               w.progs[prog].type if prog else None, "relative/type-mismatch")
        idx = UNSET
        if prog is not None:
            idx = _pos_exact(slots, prog, link, "detach/prog-missing", "detach/prog-owner")
        idx = _positions(slots, bits, rel, idx, "detach")
        if idx == UNSET:
            if rel is not None or bits:
                raise Err("EINVAL", "detach/relative-without-position")
            idx = len(slots)
        if idx >= MPROG_MAX:
            raise Err("ERANGE", "detach/position-max")
        self.check_fetch(slots, idx)
        k = 0 if idx == -1 else (len(slots) - 1 if idx == len(slots) else idx)
        # bpf_mprog_fetch(): a link-owned slot can only go through its link.
        if slots[k][1] is not None and link is None:
            raise Err("EBUSY", "detach/link-owned")
        return Hook(slots[:k] + slots[k + 1:], hook.revision + 1)


CORE = Core()
