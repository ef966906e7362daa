"""The cgroup dialect's z3 encoding (checker.smt.cgroup): every rule tracked
under its ID, the encoding equal to the executor (exhaustive on small
worlds, class representatives at the boundaries, totality proofs), the
invariants of spec/cgroup/invariants.md (BMC and induction), and planted
bugs caught on either side."""
from __future__ import annotations

import importlib.util

import pytest

from checker.dialects.cgroup import CGROUP
from checker.exec import cgroup as unit
from checker.smt import cgroup as E
from checker.smt import cgroup_bmc as B
from checker.smt import cgroup_verify as V
from checker.syntax.script import read_script


# The rule-ID and invariant-doc cross-checks of every encoded dialect, cgroup
# included, are tests/smt/test_rule_ids.py's (through checker.smt's entry
# points, which hand cgroup to checker.smt.cgroup_proofs).


def test_the_generic_entry_points_hand_cgroup_to_its_proofs():
    from checker import smt
    from checker.smt import cgroup_proofs
    assert smt.own_proofs("cgroup") is cgroup_proofs and smt.own_proofs("linux") is None
    assert smt.invariant_table("cgroup") == B.INVARIANTS
    assert smt.rule_ids("cgroup") == set(CGROUP)
    reports = smt.verify_equivalence(2, dialect="cgroup", ops=("cgroup_add",))
    assert reports and all(r.status in ("proved", "sampled", "vacuous") for r in reports)
    reports = smt.check_invariants(1, dialect="cgroup", invariants=["CG-INV-FAIL"])
    assert [(r.op, r.case, r.status) for r in reports] == [("bmc", "CG-INV-FAIL", "proved"),
                                                           ("induction", "CG-INV-FAIL", "proved")]


def test_verify_cli_takes_the_cgroup_bound(capsys, monkeypatch):
    import argparse

    from checker import smt
    from checker.cli import main
    from checker.cli import verify as verify_cli
    real = smt.verify_equivalence
    monkeypatch.setattr(smt, "verify_equivalence",
                        lambda n, t, **d: real(n, t, ops=("cgroup_del",), **d))
    p = argparse.ArgumentParser(prog="mprog")
    verify_cli.register(p.add_subparsers(dest="cmd", required=True))
    args = p.parse_args(["verify", "--dialect", "cgroup", "--only", "equivalence", "--n-max", "4"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "mprog verify (cgroup)" in out and "sampled   classes:cgroup_del:" in out
    assert "of the proved are sampled: the encoding is proved total" in out
    assert main(["verify", "--dialect", "cgroup", "--n-max", "65"]) == 2
    assert "--n-max: must be from 0 to 64, not 65" in capsys.readouterr().err


def test_exhaustive_small_worlds_agree():
    """The first worlds one request away from the start (lists of at most one
    entry), every request of the alphabet on each (the whole depth-1 run,
    29 worlds, is in README)."""
    [r] = V.verify_exhaustive(1, depth=1, cap=6)
    assert r.status == "proved", r.detail + "\n" + r.script
    assert int(r.detail.split()[0]) > 4000


def test_exhaustive_alphabet_reaches_most_rules():
    """The rules the exhaustive alphabet decides from the start and one step
    on; the rest need bigger worlds (a full list, a removed parent, a
    PREORDER anchor) and are covered by the class representatives."""
    shape = V.Shape(2, 2, 3, 2)
    rules = set()
    for c in V.reachable(shape, V.EXHAUSTIVE_ATTRS, 2, 1, 100):
        for q in V.alphabet(shape, c):
            rules.add(V.step(V.exec_world(c, V.EXHAUSTIVE_ATTRS), q.step(V.EXHAUSTIVE_ATTRS))[0].rule)
    assert len(rules & set(CGROUP)) >= 65


def test_classes_at_n4_every_rule_agrees_or_is_unreachable():
    reports = V.verify_classes(4)
    bad = [r for r in reports if r.status not in ("proved", "sampled", "vacuous")]
    assert bad == [], [r.line() + "\n" + r.script for r in bad]
    assert all(r.status == "proved" for r in reports if r.case == "total")
    sampled = {(r.op, r.case) for r in reports if r.status == "sampled"}
    vacuous = {(r.op, r.case) for r in reports if r.status == "vacuous"}
    # Unreachable by construction (spec): a LINK relative in PROG_ATTACH is
    # refused before the lookup; LINK_CREATE's mask keeps REPLACE and the
    # modes out of the core; 64 entries need N = 64.
    assert vacuous == {("attach", "attach/full"), ("attach", "relative/link-fd-zero"),
                       ("attach", "relative/not-link"), ("link_create", "attach/full"),
                       ("link_create", "attach/duplicate"), ("link_create", "attach/override-multi"),
                       ("link_create", "attach/replace"), ("link_create", "attach/replace-missing"),
                       ("link_create", "attach/replace-position"), ("link_create", "attach/replace-single"),
                       ("link_create", "attach/replace-without-multi"), ("link_create", "relative/not-prog")}
    # Every decision rule (cgroup/release is an effect of cgroup/del: the
    # per-case checks compare it, here and in the exhaustive mode).
    assert {rule for _, rule in sampled} == set(CGROUP) - {"attach/full", "cgroup/release"}


def test_full_lists():
    [r] = V.full_list_cases()
    assert r.status == "sampled" and r.reps == 32, r.line() + "\n" + r.script


def test_totality_at_64():
    reports = V.verify_classes(64, ops=("detach",), rules=())
    assert reports == []                  # rules=(): no classes, and no totality either
    shape = V.Shape(depth=2, size=64, progs=65, links=2)
    u = V.Universe(shape)
    chain = u.chains["attach"]
    s = V.z3.Solver()
    s.add([u.req.op == V.OPS.index("attach")] + [t.expr for t in chain.tracked] + V._domain(u, "attach"))
    assert s.check(V.z3.Not(chain.decided)) == V.z3.unsat


def _copy_unit(name: str):
    spec = importlib.util.spec_from_file_location(f"checker.exec.{name}", unit.__file__)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "checker.exec"
    spec.loader.exec_module(mod)
    return mod


def test_a_planted_executor_bug_is_caught_with_a_script(monkeypatch):
    """AFTER inserts one slot too far in a copy of the executor: the class
    check reports it with a runnable script."""
    buggy = _copy_unit("cgroup_after_off_by_one")
    real = buggy._position

    def position(w, entries, prog, link, bits, relative):
        at = real(w, entries, prog, link, bits, relative)
        from checker.dialects.cgroup import AFTER
        return min(at + 1, len(entries)) if bits & AFTER and relative is not None else at
    buggy._position = position
    buggy.step = buggy.make_step(buggy.OPS)
    monkeypatch.setattr(V, "step", buggy.step)
    reports = V.verify_classes(4, ops=("attach",))
    bad = [r for r in reports if r.status == "violated"]
    assert bad and all(r.script for r in bad)
    script = read_script("cx.mprog", bad[0].script)
    assert script.dialect == "cgroup" and script.steps[-1].op == "attach"


def test_a_planted_encoding_bug_breaks_an_invariant(monkeypatch):
    """An encoding whose removals forget the revision bump (detach, link
    detach, close) violates CG-INV-REV; BMC finds it."""
    real = E._remove

    def remove_without_bump(pre, post, at):
        return E.z3.substitute(real(pre, post, at), (pre.rev + 1, pre.rev))
    monkeypatch.setattr(E, "_remove", remove_without_bump)
    reports = B.check_invariants(3, only=("CG-INV-REV",))
    assert [r.status for r in reports] == ["violated"], [r.line() for r in reports]


def test_invariants_hold_at_depth_2():
    reports = B.check_invariants(2)
    assert all(r.status == "proved" for r in reports), [r.line() for r in reports if r.status != "proved"]
    assert {r.case for r in reports if r.op == "induction"} == set(B.INVARIANTS) | {"well-formed"}


@pytest.mark.parametrize("size", [16])
def test_max_is_inductive(size):
    assert B.check_max_inductive(size).status == "proved"
