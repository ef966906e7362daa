"""Invariants by BMC and 1-induction (checker.smt.bmc); traces replay on the executor."""
from __future__ import annotations

import z3

from checker.exec import Executor
from checker.runner import run_steps
from checker.syntax.script import read_script
from checker.smt import INVARIANTS, check_invariants
from checker.smt import bmc
from checker.smt import linux as encode


def test_invariants_hold_to_depth_3_and_induction_closes():
    rs = check_invariants(3, timeout_s=60)
    invs = [r for r in rs if r.check == "invariant"]
    assert {r.case for r in invs} == set(INVARIANTS)
    bad = [r.line() for r in invs if r.status != "proved"]
    assert not bad, "\n".join(bad)
    assert any(r.op == "induction" and r.case == "INV-MAX" and r.n_max == 63 for r in rs)
    # the contrast linux is expected to refute (checker.smt.CONTRASTS)
    assert [(r.case, r.status) for r in rs if r.check == "contrast"] == [("STAYS-FIRST", "refuted")]


def _trace(extra, depth):
    u = bmc.Unrolling(depth)
    sv = u.bmc_solver(None)
    sv.s.add(extra(u))
    assert sv.s.check() == z3.sat
    return u.script(sv.s.model(), depth, "trace")


def test_bmc_traces_replay_on_the_executor():
    """A symbolic trace (two links, one defunct, three slots) is a script the
    executor runs with every expectation met: the BMC transition relation is
    not vacuous and agrees with the executor on whole sequences."""
    text = _trace(lambda u: [u.worlds[5].h.n == 3, u.worlds[5].ls[0] == bmc.ATTACHED,
                             u.worlds[5].ls[1] == bmc.DEFUNCT], 5)
    results = list(run_steps(read_script("<trace>", text).steps, Executor()))
    assert all(r.passed for r in results), text


def test_unqualified_stale_claim_has_a_counterexample():
    """Without the detach/replace-flag exemption INV-STALE is false: the spec
    checks REPLACE first.  The counterexample is a runnable script.  Every
    other exemption is held fixed, so REPLACE is the only way out and the
    answer does not depend on which model z3 picks."""
    def stale_detach(u):
        r = u.reqs[1]
        h = u.worlds[1].h       # past the prelude: flags, fds, device and bundle are fine
        return [r.exp != 0, r.exp != h.rev, u.ops[1] == bmc.OPS.index("detach"), z3.Not(r.stray),
                h.present, h.bundle,
                # a prog fd or none (a link fd as prog fd fails first, another exempt case)
                z3.Or(r.prog_fd == encode.FD_NONE, r.prog_fd == encode.FD_PROG), r.errno != encode.errno_code("ESTALE")]
    text = _trace(stale_detach, 2)
    assert "flags=REPLACE" in text and "=> EINVAL" in text
    assert all(r.passed for r in run_steps(read_script("<cex>", text).steps, Executor())), text


def test_traces_name_only_declared_objects():
    """A relative link that was never created (the model may pick one) is
    written as a raw number, not as an undeclared name: every trace is a
    valid script, and it replays on the executor (regression: a full run
    once drew such a model and the validator rejected the trace)."""
    for by_id in (False, True):
        def unborn_relative(u):
            r = u.reqs[0]
            return [u.ops[0] == bmc.OPS.index("attach"), r.rel_kind == encode.REL_LINK,
                    r.rel_link == 1, u.worlds[0].ls[0] == bmc.UNBORN, r.before,
                    r.id if by_id else z3.Not(r.id)]
        text = _trace(unborn_relative, 1)
        assert "before" in text and "l1" not in text, text
        results = list(run_steps(read_script("<trace>", text).steps, Executor()))
        assert all(r.passed for r in results), text
