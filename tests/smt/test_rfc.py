"""The rfc dialect's z3 encoding: equivalence with the rfc executor, the
invariants (RFC-*), the lock-out property, the contrasts with linux, and a
planted bug; counterexamples and traces replay on the executors."""
from __future__ import annotations

import pytest
import z3
from planted import rfc_executor_with_prepend_past_first

from checker.exec import Executor
from checker.runner import run_steps
from checker.smt import bmc, check_invariants, equivalence_rule_ids, invariant_table, verify_equivalence
from checker.smt import rfc as E
from checker.smt.equiv import verify_exhaustive
from checker.syntax.script import read_script


@pytest.fixture(scope="module")
def reports():
    return verify_equivalence(4, timeout_s=60, dialect="rfc")


def replays(text: str, dialect: str, unit=None) -> bool:
    script = read_script("<cex>", text)
    assert script.dialect == dialect
    return all(r.passed for r in run_steps(script.steps, Executor(dialect, unit=unit)))


def test_every_class_proved_or_vacuous_at_n4(reports):
    bad = [r.line() for r in reports if r.status not in ("proved", "vacuous")]
    assert not bad, "\n".join(bad)
    assert {r.op for r in reports if r.check == "coverage" and r.status == "proved"} == set(E.OPS)


def test_every_rule_but_the_full_hook_ones_decides_a_proved_class(reports):
    reached = {r.case.split("[")[0] for r in reports if r.check == "equivalence" and r.status == "proved"}
    assert equivalence_rule_ids("rfc") - reached == {"attach/full", "attach/first-full", "attach/last-full",
                                                     "hook/create", "hook/free-when-empty"}


def test_pins_are_part_of_the_proved_templates(reports):
    by = {r.case: r.detail for r in reports if r.status == "proved"}
    assert "pins request" in by["attach/replace[FIRST,LAST]"] or "pins 11" in by["attach/replace[FIRST,LAST]"]
    assert any("pins 10" in d for c, d in by.items() if c.startswith("attach/first["))


def test_full_hook_rules_at_the_kernel_maximum():
    rs = verify_equivalence(63, timeout_s=120, ops=("attach",), sample="one", dialect="rfc",
                            rules={"attach/full", "attach/first-full", "attach/last-full"})
    by = {r.case: r.status for r in rs}
    assert by["attach/full"] == by["attach/first-full"] == by["attach/last-full"] == "proved"
    assert all(r.status in ("proved", "vacuous") for r in rs), [r.line() for r in rs]


def test_exhaustive_cheap_ops_and_pinned_attach_to_n1():
    from checker.smt.equiv import RFC_LEAN
    rs = verify_exhaustive(1, timeout_s=30, dialect="rfc", ops=("link_detach", "close", "query", "clsact_del"))
    assert [r.status for r in rs] == ["proved"] * 4, [r.line() for r in rs]
    a = dict(RFC_LEAN, flag_sets=((), ("BEFORE",), ("AFTER",), ("FIRST",), ("LAST",), ("FIRST", "LAST"),
                                  ("REPLACE", "FIRST")), relatives=(None, "p1", "l1"), progs=("p1", "p3"))
    rs = verify_exhaustive(1, timeout_s=30, ops=("attach",), alphabet=a, dialect="rfc")
    assert [r.status for r in rs] == ["proved"], [r.line() for r in rs]


def test_planted_prepend_past_first_is_caught():
    buggy = rfc_executor_with_prepend_past_first("_executor_planted_rfc")
    rs = verify_equivalence(2, timeout_s=30, step_fn=buggy.step, ops=("attach",), dialect="rfc")
    bad = [r for r in rs if r.status == "violated"]
    before = [r for r in bad if "BEFORE" in r.case]
    assert before, [r.case for r in bad]
    # another class only where its representative asks BEFORE and the bug
    # names another rule for the same errno (attach/locked: before-first
    # answers where the lock decides), which a script's errno cannot show
    assert all("ingress before" in r.script and "attach/before-first" in r.detail
               for r in bad if r not in before), [r.line() for r in bad]
    for r in before:
        assert not replays(r.script, "rfc", unit=buggy), r.script
        assert replays(r.script, "rfc"), r.script


@pytest.fixture(scope="module")
def invariants():
    return check_invariants(3, timeout_s=120, dialect="rfc")


def test_rfc_invariants_hold_to_depth_3_and_induction_closes(invariants):
    proved = {r.case for r in invariants if r.status == "proved"}
    assert proved == set(invariant_table("rfc")), [r.line() for r in invariants if r.status != "proved"]
    assert {r.case for r in invariants if r.op == "induction" and r.status == "proved"} >= \
        {"RFC-LOCKOUT", "RFC-PINNED", "RFC-FIRST", "RFC-LAST", "RFC-ALONE", "RFC-STAYS-FIRST"}


def test_no_lockout_is_refuted_in_rfc_by_a_first_last_pin(invariants):
    (r,) = [r for r in invariants if r.case == "NO-LOCKOUT"]
    assert r.status == "refuted" and "attach/locked" in r.detail
    assert "first last => ok" in r.script and "=> EBUSY" in r.script
    assert replays(r.script, "rfc")


def test_linux_proves_no_lockout_and_refutes_stays_first():
    rs = check_invariants(3, timeout_s=120, invariants=("INV-NO-LOCKOUT",))
    assert [r.status for r in rs] == ["proved"]
    u = bmc.Unrolling(3)
    r = bmc._refute("STAYS-FIRST", bmc.CONTRASTS["STAYS-FIRST"][0], u.E, u, 60)
    assert r.status == "refuted" and "before" in r.script, r.script
    assert replays(r.script, "linux")


def _trace(extra, depth):
    u = bmc.Unrolling(depth, E=E)
    sv = u.bmc_solver(None)
    sv.s.add(extra(u))
    assert sv.s.check() == z3.sat
    return u.script(sv.s.model(), depth, "trace")


def test_lockout_is_not_vacuous_a_trace_locks_and_is_refused():
    """A BMC trace that pins FIRST|LAST by a link and then tries to add a
    program replays on the rfc executor with every expectation met."""
    attach = bmc.OPS.index("attach")

    def locked_then_refused(u):
        w, r = u.worlds[2], u.reqs[2]
        plain = [z3.Not(getattr(r, f)) for f in ("replace", "before", "after", "id", "link_flag", "stray",
                                                  "first", "last")]
        return [w.h.n == 1, w.h.fpin[0], w.h.lpin[0], w.h.link[0] != 0, u.ops[2] == attach,
                r.rel_kind == 0, r.exp == 0, r.prog_fd == E.FD_PROG, z3.Not(w.h.member(r.prog))] + plain
    text = _trace(locked_then_refused, 3)
    assert "first last" in text and "=> EBUSY" in text, text
    assert replays(text, "rfc"), text


def test_stays_first_is_not_vacuous_a_claim_survives_other_requests():
    def claimed(u):
        return [u.worlds[1].gf[0], u.worlds[4].gf[0], u.worlds[4].h.n >= 3]
    text = _trace(claimed, 4)
    assert replays(text, "rfc"), text
