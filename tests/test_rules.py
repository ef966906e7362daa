"""Per-rule cases, for every dialect of the registry: for every spec rule, a
step decided by that rule (marked ``#! rule``) and, for error rules, a near
miss that gets past it (marked ``#+ rule``).  Every line carries an
expectation, and queries after each change pin order, owners and revision.

Layout: tests/rules/<op>/<case>.mprog for linux, and
tests/rules/<dialect>/<op>/<case>.mprog for every other dialect; a delta
dialect has cases for the rules it changes (the others are its parent's).
"""
from __future__ import annotations

import re

import pytest

from checker import dialects
from checker.exec import Executor
from checker.runner import run_steps
from checker.syntax.render import render_step
from checker.syntax.script import read_script

from corpus import REPO, RULE_CASES, case_id

MARK = re.compile(r"#([!+])\s*([a-z_]+/[a-z\-]+)")
DIALECTS = sorted(dialects.names())


def markers(path):
    out = {}
    for lineno, text in enumerate(path.read_text().splitlines(), 1):
        for kind, rule in MARK.findall(text):
            out.setdefault(lineno, []).append((kind, rule))
    return out


def case_dir(dialect: str):
    base = REPO / "tests" / "rules"
    return base if dialect == "linux" else base / dialect


@pytest.mark.parametrize("path", RULE_CASES, ids=case_id)
def test_rule_case(path):
    script = read_script(str(path))
    assert path.is_relative_to(case_dir(script.dialect)), f"a {script.dialect} case outside its directory"
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


@pytest.mark.parametrize("name", DIALECTS)
def test_every_rule_has_a_case_with_a_decided_step(name):
    d = dialects.get(name)
    rules = {r: d.rules[r] for r in (d.changed if d.parent else d.rules)}
    decided, near = set(), set()
    for path in RULE_CASES:
        if read_script(str(path)).dialect != name:
            continue
        for ms in markers(path).values():
            for kind, rule in ms:
                (decided if kind == "!" else near).add(rule)
    assert sorted(set(rules) - decided) == []
    assert sorted(decided - set(d.rules)) == []
    errors = {r for r, e in rules.items() if e != "ok"}
    assert sorted(errors - near) == [], "error rules without a near-miss case"
    for rule in rules:
        op, case = rule.split("/")
        assert (case_dir(name) / op / f"{case}.mprog").exists(), rule
