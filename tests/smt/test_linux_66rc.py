"""The linux-6.6-rc encoding (checker.smt.linux_66rc) agrees with its
executor unit (checker.exec.linux_66rc): z3 proves, for each concrete
(hook state, request) below, that the encoding's outcome is exactly the
executor's (errno, rule, post slots, revision, device/clsact/bundle, query
answer).  Small hooks: every state with <= 1 slot (the attach and detach
cores: the empty states) and every request of the equivalence alphabet
(checker.smt.equiv, LEAN); large hooks: 62, 63 (full) and 64 (overfull)
slots against the requests that the 6.6-rc fixes changed.
"""
from __future__ import annotations

import pytest
import z3

from checker.exec import linux_66rc as executor
from checker.exec.world import Device, Hook, Link, Prog, World
from checker.model import Raw, Step
from checker.smt import equiv
from checker.smt import linux_66rc as E

DEV, DIR = equiv.DEV, equiv.DIR


def _is(var, val):
    return (var == val) if not isinstance(val, bool) else (var if val else z3.Not(var))


def agree(op: str, states) -> int:
    """For every (world, requests) of ``states``: z3 proves that the
    encoding's outcome of each request is exactly the executor's.  One
    solver per op; returns the number of distinct (inputs, outcome) checks."""
    states = list(states)
    size = max(len(equiv._hook(w)[0]) for w, _ in states) + 1
    pre, post, r = E.State(0, size), E.State(1, size), E.Req(0)
    sv = z3.Solver()
    sv.add([t.expr for t in E.encode(op, 0, pre, post, r).tracked])
    checked = 0
    for w, requests in states:
        slots, rev, flags = equiv._hook(w)
        sv.push()
        sv.add(pre.n == len(slots), pre.rev == rev, pre.present == flags[0],
               pre.clsact == flags[1], pre.bundle == flags[2])
        sv.add([pre.prog[j] == (slots[j][0] if j < len(slots) else 0) for j in range(size)])
        sv.add([pre.link[j] == (slots[j][1] if j < len(slots) else 0) for j in range(size)])
        seen = set()
        for s in requests:
            out, w2 = executor.step(w, s)
            ps, prev, pflags = equiv._hook(w2)
            v = equiv._abstract(op, w, s)
            q = (out.query.count, out.query.revision, len(out.query.progs)) if out.query else None
            sig = (tuple(sorted(v.items())), out.errno, out.rule, ps, prev, pflags, q)
            if sig in seen:
                continue
            seen.add(sig)
            want = [r.errno == E.errno_code(out.errno), r.rule == E.rule_code(out.rule),
                    post.n == len(ps), post.rev == prev, post.present == pflags[0],
                    post.clsact == pflags[1], post.bundle == pflags[2]]
            want += [post.prog[j] == (ps[j][0] if j < len(ps) else 0) for j in range(size)]
            want += [post.link[j] == (ps[j][1] if j < len(ps) else 0) for j in range(size)]
            if q is not None:
                want += [r.q_count == q[0], r.q_rev == q[1], r.q_shown == q[2]]
            what = f"{s} on {slots} rev {rev} {flags}: executor {out.errno} [{out.rule}]"
            sv.push()
            sv.add([_is(getattr(r, f), val) for f, val in v.items()])
            assert sv.check(z3.And(want)) == z3.sat, "the executor's outcome is not a model: " + what
            assert sv.check(z3.Not(z3.And(want))) == z3.unsat, "the encoding allows another outcome: " + what
            sv.pop()
            checked += 1
        sv.pop()
    return checked


# Hooks of at most one slot; the ops with large request sets (the ones that
# run the attach and detach cores) on empty hooks only, where the 6.6-rc
# rules differ from mainline's (a one-slot hook runs mainline's checks).
HEAVY = ("attach", "link_create", "detach", "link_update")


@pytest.mark.parametrize("op", ("detach", "query", "attach", "link_create", "link_detach", "close",
                                "link_update", "dev_del", "clsact_del"))
def test_small_hooks_every_request(op):
    states = ((equiv._world(slots, rev, flags), list(equiv._requests(op, rev, equiv.LEAN)))
              for slots, rev, flags in equiv._states(0 if op in HEAVY else 1, equiv.LEAN))
    assert agree(op, states) > 0


def _big(n: int, linked: bool) -> World:
    """veth0 ingress holding p1..pn (the last one owned by link l1 when
    ``linked``), p{n+1}, p{n+2} loaded but not attached."""
    progs = {f"p{i}": Prog() for i in range(1, n + 3)}
    slots = tuple((f"p{i}", "l1" if linked and i == n else None) for i in range(1, n + 1))
    links = {"l1": Link(f"p{n}", DEV, DIR)} if linked else {}
    return World(progs, links, {DEV: Device(True, False, {DIR: Hook(slots, n + 1)})})


def _big_requests(n: int) -> list:
    new, hook = f"p{n + 1}", dict(dev=DEV, dir=DIR)
    first, last, mid = "p1", f"p{n}", f"p{n - 1}"
    out = [Step("attach", prog=new, **hook), Step("attach", prog=new, flags=("AFTER",), **hook),
           Step("attach", prog=new, flags=("BEFORE",), **hook),
           Step("link_create", link="l7", prog=new, flags=("BEFORE",), relative=last, **hook),
           Step("query", **hook), Step("query", count=2, **hook), Step("dev_del", dev=DEV),
           Step("detach", prog=first, **hook), Step("detach", **hook),
           Step("detach", flags=("BEFORE",), **hook),
           Step("link_update", link="l1", prog=new), Step("link_detach", link="l1"),
           Step("close", link="l1"), Step("attach", prog=Raw(7), **hook),
           Step("attach", prog=new, flags=("ID",), relative=first, **hook),
           Step("attach", prog=new, flags=("BEFORE",), relative=f"p{n + 2}", **hook),
           Step("attach", prog=new, flags=("REPLACE",), replace=first, **hook),
           Step("attach", prog=new, flags=("ALLOW_MULTI",), **hook)]
    for rel in (first, mid, last):
        for pos in ("BEFORE", "AFTER"):
            out.append(Step("attach", prog=new, flags=(pos,), relative=rel, **hook))
    return out


@pytest.mark.parametrize("n", (62, 63, 64))
def test_full_and_overfull_hooks(n):
    by_op: dict = {}
    for linked in (False, True):
        w = _big(n, linked)
        for s in _big_requests(n):
            if s.op in ("link_update", "link_detach", "close") and not linked:
                continue
            by_op.setdefault(s.op, {}).setdefault(linked, (w, []))[1].append(s)
    for op, states in by_op.items():
        assert agree(op, states.values()) > 0
