"""``mprog plan`` for a cgroup list (spec/cgroup/): the start states (a
script's cgroup list, or a live cgroup read with read-only queries) and the
requests that realise a chosen run order.  The search itself is
checker.smt.plan's (fewest moves, least order), with this list's own
constraint added.

What is ordered.  A plan orders the run order of the cgroup's own list: its
PREORDER entries first, then the others, each group in list order
(spec/cgroup/hierarchy.md).  Programs keep their PREORDER bit, so every
PREORDER program runs before every other one: a tracked constraint per
PREORDER program ("x: PREORDER"), which is how a wish against it shows up in
a conflict.  The ancestors' programs run around the list (their PREORDER
entries before it, the others after it) and are not part of the plan.

Requests.  Moved programs (prog-API entries; a link's entry belongs to its
link, a program whose fd is closed cannot be attached again) are detached
(``detach P CG POINT rev N``), then every program not on the list is
attached with ALLOW_MULTI (and PREORDER for its group), in run order, next
to a neighbour of its own group, because an anchor must have the same
PREORDER bit (``attach/relative-preorder``) and be a prog-API entry
(``attach/relative-kind``, ``attach/relative-missing``): at the front
(BEFORE) when nothing of its group precedes it on the list, at the back when
nothing follows, else after its predecessor or before its successor.  A
program that would go between two link-owned entries has no anchor: no plan.  New programs are loaded for the attach point (its program type and
expected attach type).  Only a list in mode ALLOW_MULTI (or an empty one) is
ordered: a list in mode none or ALLOW_OVERRIDE holds one program.
"""
from __future__ import annotations

import os
from typing import Optional

import z3

from ..dialects.cgroup import CGROUP_MAX_PROGS, MODES, MULTI, POINT_PROG_TYPE
from ..errors import BadInput, SpecCrash
from ..exec import Executor
from ..exec.cgroup import effective
from ..flags import canonical
from ..model import Expect, Step, owners_by_program
from ..runner import run_steps
from ..syntax.lexicon import CGROUP_POINT_RE, NAME_RE
from ..syntax.render import render_step
from ..syntax.validate import did_you_mean
from .core import Tracked
from .plan import HookState, Plan, Target, _check_declared, _parse_hook, final_state

MAX_PADDING = 1000


# --------------------------------------------------------------------------
# Start states

def _list_of(world, cgroup: str, point: str):
    return world.cgroups[cgroup].list(point)


def state_from_script(path: str, hook: str, script) -> HookState:
    """The final state of the list ``CGROUP:POINT`` of a cgroup script that
    ran on the executor (its expectations held)."""
    cgroup, point = _parse_hook(hook, "cgroup")
    ex = final_state(script, path)
    c = ex.world.cgroups.get(cgroup)
    if c is None or not c.present:
        present = sorted(n for n, x in ex.world.cgroups.items() if x.present)
        raise BadInput(f"--hook {hook}: cgroup {cgroup!r} is not present at the end of the script"
                       f"{did_you_mean(cgroup, present)} (present: {', '.join(present) or 'none'})",
                       path, 0, 0)
    lst = _list_of(ex.world, cgroup, point)
    progs = [e[0] for e in lst.entries]
    if len(set(progs)) != len(progs):
        raise BadInput(f"--hook {hook}: a program has several entries in the list (through links); "
                       f"directives name programs, so the list cannot be ordered by name", path, 0, 0)
    return HookState(cgroup, point, tuple((p, l) for p, l, _ in lst.entries), lst.revision, ex.world,
                     tuple(script.steps), path, dialect="cgroup",
                     preorder=frozenset(p for p, _, pre in lst.entries if pre))


def state_from_live(path: str, point: str) -> HookState:
    """The list of the live cgroup at ``path`` (read-only queries; see
    checker.kernel.live.read_cgroup), and a setup that recreates it."""
    from ..kernel.live import read_cgroup
    live = read_cgroup(path, point)
    # The recreated copy's cgroup is named after the live one where it can be.
    name = os.path.basename(os.path.normpath(path))
    if not NAME_RE.match(name) or CGROUP_POINT_RE.match(name):
        name = "cg"
    source = f"live query of {path} {point}"
    return _state_from_entries(source, name, point, live.slots, live.preorder, live.revision,
                               live.mode, live.legend)


def _state_from_entries(source: str, cgroup: str, point: str, slots: tuple, preorder: frozenset,
                        rev: int, mode: str, legend: tuple) -> HookState:
    progs = [p for p, _ in slots]
    if len(set(progs)) != len(progs):
        raise BadInput(f"{source}: a program has several entries in the list (through links); "
                       f"directives name programs, so the list cannot be ordered by name", source, 0, 0)
    setup = _setup_steps(cgroup, point, slots, preorder, rev, mode)
    if setup is None:
        raise BadInput(f"{source}: revision {rev} with {len(slots)} entries in mode {mode} cannot be "
                       f"recreated in a fresh cgroup", source, 0, 0)
    ex = Executor("cgroup")
    for r in run_steps(setup, ex):
        if not r.passed:                              # pragma: no cover - construction bug
            raise SpecCrash(f"synthesized setup step failed: {render_step(r.step)}: {r.failures}")
    return HookState(cgroup, point, slots, rev, ex.world, tuple(setup), source, legend=tuple(legend),
                     dialect="cgroup", preorder=preorder)


def _setup_steps(cgroup: str, point: str, slots: tuple, preorder: frozenset, rev: int,
                 mode: str) -> Optional[list]:
    """Steps that build ``slots`` at revision ``rev`` in a fresh cgroup.
    Extra revision bumps: a prog-API entry replaces itself (REPLACE with
    itself bumps the revision and changes nothing), a link updates to its
    own program; an empty list takes a placeholder attached, replaced and
    detached.  None when ``rev`` is unreachable."""
    ok = Expect("ok")
    ptype = POINT_PROG_TYPE[point]
    flags = ("ALLOW_MULTI",) if mode == "multi" else ("ALLOW_OVERRIDE",) if mode == "override" else ()
    k = len(slots)
    extra = rev - 1 - k
    if extra < 0 or (k == 0 and extra == 1) or extra > MAX_PADDING:
        return None
    taken = {p for p, _ in slots} | {l for _, l in slots if l}
    pad = next(n for n in (f"_pad{i}" for i in range(k + 2)) if n not in taken)
    out = [Step("cgroup_add", cgroup=cgroup, expect=ok)]
    names = [p for p, _ in slots] + ([pad] if k == 0 and extra else [])
    out += [Step("load", prog=p, type=ptype, expected_attach_type=point, expect=ok) for p in names]
    for p, l in slots:
        pre = ("PREORDER",) if p in preorder else ()
        if l is None:
            out.append(Step("attach", prog=p, cgroup=cgroup, dir=point, flags=flags + pre, expect=ok))
        else:
            out.append(Step("link_create", link=l, prog=p, cgroup=cgroup, dir=point, flags=pre, expect=ok))
    if k == 0 and extra:
        out.append(Step("attach", prog=pad, cgroup=cgroup, dir=point, flags=("ALLOW_MULTI",), expect=ok))
        out += [Step("attach", prog=pad, cgroup=cgroup, dir=point, flags=("ALLOW_MULTI", "REPLACE"),
                     replace=pad, expect=ok)] * (extra - 2)
        out.append(Step("detach", prog=pad, cgroup=cgroup, dir=point, expect=ok))
    elif extra:
        p, l = slots[0]
        pre = ("PREORDER",) if p in preorder else ()
        bump = Step("link_update", link=l, prog=p, expect=ok) if l is not None else \
            Step("attach", prog=p, cgroup=cgroup, dir=point, flags=("ALLOW_MULTI", "REPLACE") + pre,
                 replace=p, expect=ok) if mode == "multi" else \
            Step("attach", prog=p, cgroup=cgroup, dir=point, flags=flags + pre, expect=ok)
        out += [bump] * extra
    out.append(_plain_query(cgroup, point, slots, rev, mode))
    return out


def _plain_query(cgroup, point, slots, rev, mode) -> Step:
    progs = tuple(p for p, _ in slots)
    return Step("query", cgroup=cgroup, dir=point, expect=Expect(
        "ok", count=len(slots), revision=rev, progs=progs,
        links=owners_by_program(progs, tuple(l for _, l in slots)), mode=mode))


# --------------------------------------------------------------------------
# The target: capacity, new programs, PREORDER, requests

def _check_new(state: HookState, ds, new) -> None:
    _check_declared(state, ds, new)
    want = POINT_PROG_TYPE[state.dir]
    for p in new:
        prog = state.world.progs.get(p)
        if prog is not None and prog.type != want:
            decl = next(x for x in ds.programs if x.name == p)
            raise BadInput(f"program {p!r} is of type {prog.type}; {state.dir} takes {want}",
                           ds.path, decl.line, decl.column)


def _fixed(state: HookState, order) -> list:
    """A PREORDER program runs before every program without it."""
    others = [p for p in order.progs if p not in state.preorder]
    return [Tracked(f"{p}: PREORDER (runs before every program without it)",
                    z3.And([order.before(p, q) for q in others]))
            for p in order.progs if p in state.preorder and others]


def _requests(state: HookState, final, moved, new):
    """Run the plan's requests on the executor from the start state; a
    request the kernel would refuse (an ancestor forbids the attach, the
    list is not ALLOW_MULTI) is a plan that does not exist."""
    cg, point = state.dev, state.dir
    ex = Executor("cgroup")
    ex.world = state.world
    lst = _list_of(ex.world, cg, point)
    if lst.entries and lst.mode != MULTI:
        return Plan("none", reason=f"{cg} {point} is in mode {MODES[lst.mode]}: it holds one program, "
                                   f"which an attach replaces; only an ALLOW_MULTI (or empty) list "
                                   f"is ordered", start_revision=state.revision)
    out: list = []
    ok = Expect("ok")

    def rev() -> int:
        return _list_of(ex.world, cg, point).revision

    def do(s: Step):
        o = ex.apply(s)
        if not o.ok:
            return Plan("none", reason=f"the kernel would refuse {render_step(s)}: {o.errno} [{o.rule}]",
                        start_revision=state.revision)
        out.append(s)
        return None

    ptype = POINT_PROG_TYPE[point]
    for p in new:
        if p not in ex.world.progs:
            do(Step("load", prog=p, type=ptype, expected_attach_type=point, expect=ok))
    for p in moved:
        if (bad := do(Step("detach", prog=p, cgroup=cg, dir=point, expected_revision=rev(),
                           expect=ok))) is not None:
            return bad
    on_list = set(state.progs) - set(moved)
    linked = {p for p, l in state.slots if l is not None}
    for group, extra in (([p for p in final if p in state.preorder], ("PREORDER",)),
                         ([p for p in final if p not in state.preorder], ())):
        for i, p in enumerate(group):
            if p in on_list:
                continue
            ahead = [q for q in group[:i] if q in on_list]
            behind = [q for q in group[i + 1:] if q in on_list]
            # The run position within the group, anchored on a prog-API
            # neighbour (PROG_ATTACH cannot anchor on a link's entry).
            if not ahead:
                pos, rel = ("BEFORE",), None             # the front
            elif not behind:
                pos, rel = (), None                      # the back
            elif ahead[-1] not in linked:
                pos, rel = ("AFTER",), ahead[-1]
            elif behind[0] not in linked:
                pos, rel = ("BEFORE",), behind[0]
            else:
                return Plan("none", reason=f"{p} would go between {ahead[-1]} and {behind[0]}, both "
                                           f"owned by links: a prog-API attach anchors only on "
                                           f"prog-API entries", start_revision=state.revision)
            flags = ("ALLOW_MULTI",) + extra + pos
            if rel is not None and not ex.world.progs[rel].fd_open:
                flags += ("ID",)
            if (bad := do(Step("attach", prog=p, cgroup=cg, dir=point, flags=canonical(flags),
                               relative=rel, expected_revision=rev(), expect=ok))) is not None:
                return bad
            on_list.add(p)
    lst = _list_of(ex.world, cg, point)
    got = state.run_order(tuple(e[0] for e in lst.entries))
    if got != tuple(final):   # pragma: no cover - a planner bug
        raise SpecCrash(f"plan reached {got}, wanted {final}")
    out.append(_plain_query(cg, point, tuple((e[0], e[1]) for e in lst.entries), lst.revision,
                            MODES[lst.mode]))
    run = tuple(e[0] for e in effective(ex.world, cg, point))
    out.append(Step("query", cgroup=cg, dir=point, query_flags=1, expect=Expect(
        "ok", count=len(run), revision=0, progs=run, links=(None,) * len(run), mode="none")))
    return tuple(out), lst.revision


TARGET = Target(CGROUP_MAX_PROGS, _check_new, _fixed, _requests)
