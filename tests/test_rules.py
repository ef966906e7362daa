"""Per-rule cases (tests/rules/<op>/<case>.mprog): for every spec rule, a
step decided by that rule (marked ``#! rule``) and, for error rules, a near
miss that gets past it (marked ``#+ rule``).  Every line carries an
expectation, and queries after each change pin order, owners and revision."""
from __future__ import annotations

import re

import pytest

from checker.exec import Executor
from checker.dialects.linux import LINUX
from checker.runner import run_steps
from checker.syntax.render import render_step
from checker.syntax.script import read_script

from corpus import REPO, RULE_CASES

MARK = re.compile(r"#([!+])\s*([a-z_]+/[a-z\-]+)")


def markers(path):
    out = {}
    for lineno, text in enumerate(path.read_text().splitlines(), 1):
        for kind, rule in MARK.findall(text):
            out.setdefault(lineno, []).append((kind, rule))
    return out


@pytest.mark.parametrize("path", RULE_CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_rule_case(path):
    script = read_script(str(path))
    marks = markers(path)
    problems = []
    for r in run_steps(script.steps, Executor()):
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


def test_every_rule_has_a_case_with_a_decided_step():
    decided, near = set(), set()
    for path in RULE_CASES:
        for ms in markers(path).values():
            for kind, rule in ms:
                (decided if kind == "!" else near).add(rule)
    assert sorted(set(LINUX) - decided) == []
    assert sorted(decided - set(LINUX)) == []
    errors = {r for r, e in LINUX.items() if e != "ok"}
    assert sorted(errors - near) == [], "error rules without a near-miss case"
    for rule in LINUX:
        op, case = rule.split("/")
        assert (REPO / "tests" / "rules" / op / f"{case}.mprog").exists(), rule
