"""Paths of the repository's script corpus, shared by the tests.  (A module of
its own: ``from conftest import ...`` is ambiguous once tests/kernel has a
conftest.py too.)"""
from __future__ import annotations

import pathlib

REPO = pathlib.Path(__file__).resolve().parent.parent
SCRIPTS = sorted((REPO / "tests" / "scripts").glob("*.mprog"))
RULE_CASES = sorted((REPO / "tests" / "rules").glob("*/*.mprog"))
EXAMPLES = sorted((REPO / "examples").glob("*.mprog"))
