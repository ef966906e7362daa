"""Paths of the repository's script corpus, and a helper, shared by the
tests.  (A module of its own: ``from conftest import ...`` is ambiguous once
tests/kernel has a conftest.py too.)"""
from __future__ import annotations

import argparse
import io
import pathlib

REPO = pathlib.Path(__file__).resolve().parent.parent
RULES = REPO / "tests" / "rules"
# Translated selftests: the linux ones at the top, another dialect's in tests/scripts/<dialect>/.
SCRIPTS = sorted((REPO / "tests" / "scripts").glob("**/*.mprog"))


def rule_case_dir(dialect: str) -> pathlib.Path:
    """Per-rule cases: tests/rules/<op>/<case>.mprog for linux,
    tests/rules/<dialect>/<op>/<case>.mprog for every other dialect."""
    return RULES if dialect == "linux" else RULES / dialect


RULE_CASES = sorted(RULES.glob("*/*.mprog")) + sorted(RULES.glob("*/*/*.mprog"))
EXAMPLES = sorted((REPO / "examples").glob("*.mprog"))
# The cgroup dialect's corpus: kernel selftest translations and per-rule cases.
CGROUP_SCRIPTS = sorted((REPO / "tests" / "scripts" / "cgroup").glob("*.mprog"))
CGROUP_RULE_CASES = sorted((REPO / "tests" / "rules" / "cgroup").glob("*/*.mprog"))
DIRECTIVES = REPO / "examples" / "directives"


def case_id(path: pathlib.Path) -> str:
    """A fixture's test id: its path under tests/ or examples/."""
    return str(path.relative_to(REPO)).removeprefix("tests/")


def run_solve_cli(*argv):
    """``mprog solve`` / ``mprog plan`` in-process: (exit status, stdout, stderr)."""
    from checker.cli import plan, solve
    p = argparse.ArgumentParser(prog="mprog")
    sub = p.add_subparsers(dest="command", required=True)
    solve.register(sub)
    plan.register(sub)
    args = p.parse_args([str(a) for a in argv])
    out, err = io.StringIO(), io.StringIO()
    code = args.func(args, out, err)
    return code, out.getvalue(), err.getvalue()
