"""Per-rule cases (tests/rules/<op>/<case>.mprog for linux,
tests/rules/<dialect>/<op>/<case>.mprog for the others): for every spec rule,
a step decided by that rule (marked ``#! rule``) and, for error rules, a
near miss that gets past it (marked ``#+ rule``).  Every line carries an
expectation, and queries after each change pin order, owners, revision (and
stored flags where the dialect reports them).

A delta dialect's cases cover its changed rules; its inherited rules are
decided by its parent's cases (the same rule, the same text)."""
from __future__ import annotations

import re

import pytest

from checker import dialects
from checker.exec import Executor
from checker.runner import run_steps
from checker.syntax.render import render_step
from checker.syntax.script import read_script

from corpus import RULE_CASES, rule_case_dir

MARK = re.compile(r"#([!+])\s*([a-z_]+/[a-z\-]+)")


def markers(path):
    out = {}
    for lineno, text in enumerate(path.read_text().splitlines(), 1):
        for kind, rule in MARK.findall(text):
            out.setdefault(lineno, []).append((kind, rule))
    return out


def cases(dialect: str) -> list:
    return sorted(rule_case_dir(dialect).glob("*/*.mprog"))


@pytest.mark.parametrize("path", RULE_CASES, ids=lambda p: str(p.relative_to(rule_case_dir("linux"))))
def test_rule_case(path):
    script = read_script(str(path))
    assert path in cases(script.dialect), f"a {script.dialect} case outside {rule_case_dir(script.dialect)}"
    marks = markers(path)
    problems = []
    for r in run_steps(script.steps, Executor(script.dialect)):
        s, o = r.step, r.outcome
        if s.expect is None:
            problems.append(f"line {s.line}: no expectation")
        if not r.passed:
            problems.append(f"line {s.line}: {render_step(s)}: {'; '.join(r.failures)} [{o.rule}]")
        fired = {o.rule, *o.effects}
        for kind, rule in marks.get(s.line, ()):
            if kind == "!" and rule not in fired:
                problems.append(f"line {s.line}: expected rule {rule}, got {sorted(fired)}")
            if kind == "+" and rule in fired:
                problems.append(f"line {s.line}: near miss still decided by {rule}")
    assert problems == []


def decided(dialect: str) -> tuple[set, set]:
    """(rules decided by a ``#!`` step, rules with a ``#+`` near miss) in a
    dialect's own cases."""
    dec, near = set(), set()
    for path in cases(dialect):
        for ms in markers(path).values():
            for kind, rule in ms:
                (dec if kind == "!" else near).add(rule)
    return dec, near


def covered(d) -> set:
    """Rules of ``d`` decided by its own cases or, inherited, by its parent's."""
    own = decided(d.name)[0]
    if d.parent is None:
        return own
    return own | (covered(dialects.get(d.parent)) & (set(d.rules) - d.changed))


@pytest.mark.parametrize("name", sorted(dialects.names()))
def test_every_rule_has_a_case_with_a_decided_step(name):
    d = dialects.get(name)
    own, near = decided(name)
    assert sorted(own - set(d.rules)) == [], "markers naming rules of another dialect"
    mine = set(d.rules) if d.parent is None else set(d.changed)
    assert sorted(mine - own) == [], "rules without a case of their own"
    assert sorted(set(d.rules) - covered(d)) == []
    errors = {r for r in mine if d.rules[r] != "ok"}
    assert sorted(errors - near) == [], "error rules without a near-miss case"
    for rule in mine:
        op, case = rule.split("/")
        assert (rule_case_dir(name) / op / f"{case}.mprog").exists(), rule
