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


# The rfc dialect: its pins (spec/rfc/invariants.md RFC-*) after every step.
FIRST, LAST = 1 << 5, 1 << 6


@given(sequences(dialect="rfc"))
def test_rfc_pins_hold_after_every_step(steps):
    w = World()
    for s in steps:
        out, w2 = step(w, s, "rfc")
        if not out.ok:
            assert w2 == w, f"{s.op} failed with {out.errno} but changed the world"
        for (d, dir), h in hooks(w2).items():
            if h is None:
                continue
            n = len(h.slots)
            progs = [x[0] for x in h.slots]
            assert len(progs) == len(set(progs)) and n <= 63 and h.revision >= 1
            for i, (p, l, f) in enumerate(h.slots):
                assert f & ~(FIRST | LAST) == 0
                assert not f & FIRST or i == 0, f"FIRST off the head: {h.slots}"
                assert not f & LAST or i == n - 1, f"LAST off the tail: {h.slots}"
                assert f != FIRST | LAST or n == 1, f"FIRST|LAST not alone: {h.slots}"
                if l is not None:
                    assert w2.links[l].flags == f, "a link's slot keeps the link's stored pins"
            before = hooks(w).get((d, dir))
            for p, l, f in (before.slots if before is not None else ()):
                after = [x[2] for x in h.slots if x[:2] == (p, l)]
                dropped = s.op == "attach" and "REPLACE" in s.flags and p in (s.replace, s.relative)
                if f and after and not dropped:
                    assert after[0] == f, f"pin of {p} changed by {s}"
        w = w2
