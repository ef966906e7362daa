"""The spec, the rule registry, the executor and the vectors name the same
rules (spec/README.md), for every dialect of the registry: headings are rule
IDs, and every ID is everywhere.  A root dialect's chapter has a heading for
each of its rules; a delta dialect's chapter only for the rules it changes
(the others are its parent's)."""
from __future__ import annotations

import importlib
import pathlib
import re

import pytest

from checker import dialects
from checker.dialects import linux as constants

from corpus import REPO

DIALECTS = sorted(dialects.registry().values(), key=lambda d: d.name)
HEADING = re.compile(r"^### `([^`]+)`\n(.*?)(?=^#|\Z)", re.S | re.M)
RULE_ID = re.compile(r'"([a-z_]+/[a-z\-]+)"')
LOCAL_IMPORT = re.compile(r"^from \.(\w+) import", re.M)


def by_name(d):
    return d.name


def spec_rules(d):
    out = {}
    # invariants.md uses the same heading form for invariant IDs (checked in
    # tests/smt/); every other chapter's headings are rule IDs.
    for path in sorted(p for p in (REPO / d.spec).glob("*.md") if p.name != "invariants.md"):
        for m in HEADING.finditer(path.read_text()):
            assert m.group(1) not in out, f"duplicate rule heading {m.group(1)}"
            out[m.group(1)] = (path.name, m.group(2))
    return out


def resolve(dotted: str):
    """A module attribute named by a dotted path (``pkg.mod.Class.method``)."""
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def unit_source(module_name: str) -> tuple[str, list]:
    """A unit's source text and the sibling modules it imports from."""
    mod = importlib.import_module(module_name)
    text = pathlib.Path(mod.__file__).read_text()
    pkg = module_name.rpartition(".")[0]
    return text, [f"{pkg}.{m}" for m in LOCAL_IMPORT.findall(text)]


def executor_ids(d) -> tuple[set, set]:
    """(IDs in the dialect's own unit, IDs in it and every unit it builds on:
    its imports in checker.exec and its parent's units)."""
    own_text, deps = unit_source(d.executor)
    own = set(RULE_ID.findall(own_text))
    seen, every = {d.executor}, set(own)
    todo = deps + ([dialects.get(d.parent).executor] if d.parent else [])
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        text, more = unit_source(m)
        every |= set(RULE_ID.findall(text))
        todo += more
    return own, every


@pytest.mark.parametrize("d", DIALECTS, ids=by_name)
def test_spec_headings_equal_registry(d):
    want = d.changed if d.parent else set(d.rules)
    assert sorted(spec_rules(d)) == sorted(want)


@pytest.mark.parametrize("d", DIALECTS, ids=by_name)
def test_each_rule_has_errno_kernel_and_executor_lines(d):
    for rid, (fname, body) in spec_rules(d).items():
        errno = re.search(r"^- Errno: (\S+)$", body, re.M)
        assert errno and errno.group(1) == d.rules[rid], f"{fname} {rid}: Errno line"
        assert re.search(r"^- Kernel: \S+", body, re.M), f"{fname} {rid}: Kernel line"
        ex = re.search(r"^- Executor: ([\w.]+)$", body, re.M)
        assert ex, f"{fname} {rid}: Executor line"
        assert callable(resolve(ex.group(1))), f"{rid}: {ex.group(1)} does not exist"
        assert len(body.split("- Errno:")[0].strip()) > 20, f"{rid}: no normative sentence"


@pytest.mark.parametrize("d", DIALECTS, ids=by_name)
def test_executor_carries_exactly_the_registry_ids(d):
    own, every = executor_ids(d)
    assert sorted(own - set(d.rules)) == [], "executor rule IDs missing from the registry"
    # A delta may change a rule without naming it (by dropping the check
    # before it): its rules are decided somewhere in the units it builds on.
    if d.parent:
        assert sorted(set(d.rules) - every) == []
    else:
        assert sorted(every) == sorted(d.rules)


def test_constants_table_matches_code():
    rows = dict(re.findall(r"^\| (\w+) \| (\d+) \|$", (REPO / "spec" / "linux" / "constants.md").read_text(), re.M))
    code = {f"BPF_F_{k}": v for k, v in constants.FLAGS.bits.items()}
    code.update(BPF_F_QUERY_EFFECTIVE=constants.BPF_F_QUERY_EFFECTIVE,
                BPF_TCX_INGRESS=constants.BPF_TCX_INGRESS, BPF_TCX_EGRESS=constants.BPF_TCX_EGRESS,
                MPROG_MAX=constants.MPROG_MAX)
    assert {k: int(v) for k, v in rows.items()} == code


# The other two ID sets are enforced beside their code: the z3 encoding's in
# tests/smt/test_rule_ids.py, the conformance corpus's (every rule decided by
# a case) in tests/test_rules.py::test_every_rule_has_a_case_with_a_decided_step.
