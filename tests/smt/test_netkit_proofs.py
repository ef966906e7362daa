"""The netkit encoding (checker.smt.netkit) against its executor unit
(checker.exec.netkit) and its invariants (spec/netkit/invariants.md):
exhaustive agreement on empty hooks of both netkit attach points (every
revision a kept bundle can have, the deleted pair) through the primary, the
peer, a veth and a missing device, and on one-slot hooks for the link ops;
every NK-* invariant proved; a planted bug on either side is caught."""
from __future__ import annotations

import re

import pytest

from checker.exec import netkit as executor
from checker.model import QueryResult
from checker.smt import netkit as E
from checker.smt import netkit_verify as V

from corpus import REPO


@pytest.mark.parametrize("op,n", [("attach", 0), ("link_create", 0), ("detach", 0), ("query", 1),
                                  ("link_update", 1), ("link_detach", 1), ("close", 1), ("load", 0),
                                  ("dev_del", 1), ("netkit_add", 1)])
def test_exhaustive_agreement(op, n):
    r, = V.verify_exhaustive(n, ops=(op,))
    assert r.status == "proved", r.line()
    assert r.reps > 0


def test_a_planted_executor_bug_is_caught():
    """The empty-query quirk "fixed" in a copy of the executor (the real
    revision instead of 1): the query check is violated."""
    def step(w, s):
        out, w2 = executor.step(w, s)
        if out.rule == "netkit/query-empty":
            h = w.devs[s.dev].hook(s.dir)
            out = type(out)(out.errno, out.rule, QueryResult(0, h.revision), out.effects)
        return out, w2
    r, = V.verify_exhaustive(0, ops=("query",), step_fn=step)
    assert r.status == "violated" and "netkit/query-empty" in r.detail


def test_invariants_hold():
    reports = V.check_invariants(depth=3, n_max=4)
    assert {r.case: r.status for r in reports} == dict(
        {inv: "proved" for inv in V.INVARIANTS}, **{"NK-STATE (63)": "proved", "reachable": "proved"})


def test_a_planted_encoding_bug_breaks_nk_rev(monkeypatch):
    """A netkit hook that forgets its revision when it empties (tcx's
    settle): NK-REV is violated."""
    from checker.smt import linux
    monkeypatch.setattr(E.Chain, "settle_removal", linux.Chain.settle_removal)
    bad = {r.case: r.status for r in V.check_invariants(depth=2, n_max=3)}
    assert bad["NK-REV"] == "violated"


def test_invariants_doc_headings_equal_invariant_ids():
    text = (REPO / "spec" / "netkit" / "invariants.md").read_text()
    assert re.findall(r"^### `([^`]+)`$", text, re.M) == list(V.INVARIANTS)
