"""Executor invariants over generated request sequences (hypothesis).

No duplicate program per hook; at most 63 entries; a successful request
bumps the revision of the hook it changes by exactly one (a link update to
the same program and device-level operations excepted, see spec); a failed
request changes nothing; a query changes nothing; the executor never raises."""
from __future__ import annotations

from hypothesis import given

from checker.exec import step
from checker.fuzz.strategies import sequences
from checker.exec.world import World

NO_BUMP = {"link_update/same-prog", "link_detach/defunct", "device/del", "device/add",
           "clsact/add", "clsact/del", "load/ok", "close/prog", "query/ok", "query/no-entry"}


def hooks(w: World):
    return {(d, dir): h for d, dev in w.devs.items() if dev.present
            for dir, h in (("ingress", dev.hook("ingress")), ("egress", dev.hook("egress")))}


@given(sequences())
def test_invariants_hold_after_every_step(steps):
    w = World()
    for s in steps:
        out, w2 = step(w, s)
        for (d, dir), h in hooks(w2).items():
            if h is None:
                continue
            progs = [p for p, _ in h.slots]
            assert len(progs) == len(set(progs)), f"duplicate prog on {d} {dir}: {progs}"
            assert len(progs) <= 63
            assert h.revision >= 1
        if not out.ok:
            assert w2 == w, f"{s.op} failed with {out.errno} but changed the world"
        elif s.op == "query":
            assert w2 == w
        else:
            before, after = hooks(w), hooks(w2)
            changed = [k for k in after if k in before and before[k] != after[k]
                       and before[k] is not None and after[k] is not None]
            for k in changed:
                assert after[k].revision == before[k].revision + 1, (s, before[k], after[k])
            if out.rule in NO_BUMP:
                assert not changed or out.rule.startswith("clsact"), (s, out.rule)
        w = w2


@given(sequences(full_hook=True, max_requests=12))
def test_full_hook_never_exceeds_max(steps):
    w = World()
    for s in steps:
        _, w = step(w, s)
        for h in hooks(w).values():
            assert h is None or len(h.slots) <= 63
