"""The spec, the rule registry, the executor and the vectors name the same
rules (spec/README.md), in every dialect of the registry: headings are rule
IDs, and every ID is everywhere.

A root dialect's chapters hold every rule; a delta dialect's chapters hold
exactly its changed rules (``Dialect.changed``), and the rest of its table is
its parent's, documented there."""
from __future__ import annotations

import ast
import importlib
import re

import pytest

from checker import dialects
from checker.dialects import linux as constants

from corpus import REPO

HEADING = re.compile(r"^### `([^`]+)`\n(.*?)(?=^#|\Z)", re.S | re.M)
RULE_LITERAL = re.compile(r'"([a-z_]+/[a-z\-]+)"')
DIALECTS = sorted(dialects.names())


def spec_rules(d) -> dict:
    out = {}
    # invariants.md uses the same heading form for invariant IDs (checked in
    # tests/smt/); every other chapter's headings are rule IDs.
    for path in sorted(p for p in (REPO / d.spec).glob("*.md") if p.name != "invariants.md"):
        for m in HEADING.finditer(path.read_text()):
            assert m.group(1) not in out, f"{d.name}: duplicate rule heading {m.group(1)}"
            out[m.group(1)] = (path.name, m.group(2))
    return out


def resolve(dotted: str):
    """What a dotted path names: a module attribute, or an attribute of one
    (``checker.exec.mprog.Core.attach``)."""
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


def documented(d) -> dict:
    """Rule ID -> (dialect whose chapter documents it, chapter, body)."""
    out = {} if d.parent is None else {r: v for r, v in documented(dialects.get(d.parent)).items()
                                       if r in d.rules}
    out.update({r: (d.name,) + v for r, v in spec_rules(d).items()})
    return out


@pytest.mark.parametrize("name", DIALECTS)
def test_spec_headings_equal_registry(name):
    d = dialects.get(name)
    own = set(spec_rules(d))
    if d.parent is None:
        assert sorted(own) == sorted(d.rules)
    else:
        assert sorted(own) == sorted(d.changed), "a delta's chapters hold exactly its changed rules"
        parent = dialects.get(d.parent)
        assert sorted(set(d.rules) - d.changed - set(parent.rules)) == [], "inherited from nowhere"
    assert sorted(documented(d)) == sorted(d.rules)


@pytest.mark.parametrize("name", DIALECTS)
def test_each_rule_has_errno_kernel_and_executor_lines(name):
    d = dialects.get(name)
    for rid, (where, fname, body) in documented(d).items():
        errno = re.search(r"^- Errno: (\S+)$", body, re.M)
        assert errno and errno.group(1) == dialects.get(where).rules[rid], f"{where}/{fname} {rid}: Errno"
        if where == d.name:
            assert errno.group(1) == d.rules[rid], f"{fname} {rid}: Errno line"
        assert re.search(r"^- Kernel: \S+", body, re.M), f"{fname} {rid}: Kernel line"
        ex = re.search(r"^- Executor: ([\w.]+)$", body, re.M)
        assert ex, f"{fname} {rid}: Executor line"
        assert callable(resolve(ex.group(1))), f"{rid}: {ex.group(1)} does not exist"
        assert len(body.split("- Errno:")[0].strip()) > 20, f"{rid}: no normative sentence"


def test_a_delta_changes_only_rules_it_documents_with_a_different_meaning():
    """An inherited rule keeps its parent's errno (else it is a changed rule)."""
    for name in DIALECTS:
        d = dialects.get(name)
        if d.parent is None:
            continue
        parent = dialects.get(d.parent)
        for rid in set(d.rules) - d.changed:
            assert d.rules[rid] == parent.rules[rid], f"{name}: {rid}"


def executor_sources(module: str) -> list:
    """The executor unit's file and every checker.exec module it imports,
    transitively (relative imports inside the package)."""
    seen, todo = [], [module]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.append(mod)
        path = REPO / (mod.replace(".", "/") + ".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                # from .mprog import ... / from . import linux (a delta's parent unit)
                todo += ([f"checker.exec.{node.module}"] if node.module else
                         [f"checker.exec.{a.name}" for a in node.names])
    return [REPO / (m.replace(".", "/") + ".py") for m in seen]


@pytest.mark.parametrize("name", DIALECTS)
def test_executor_carries_exactly_the_registry_ids(name):
    d = dialects.get(name)
    src = "".join(p.read_text() for p in executor_sources(d.executor))
    assert sorted(set(RULE_LITERAL.findall(src))) == sorted(d.rules)


@pytest.mark.parametrize("name", DIALECTS)
def test_constants_table_matches_the_flag_table(name):
    d = dialects.get(name)
    # A delta without a constants chapter has its parent's constants.
    doc = d
    while not (REPO / doc.spec / "constants.md").exists():
        doc = dialects.get(doc.parent)
    path = REPO / doc.spec / "constants.md"
    rows = {k: int(v) for k, v in re.findall(r"^\| (\w+) \| (\d+) \|$", path.read_text(), re.M)}
    flag_rows = {k: v for k, v in rows.items() if k.startswith("BPF_F_") and k != "BPF_F_QUERY_EFFECTIVE"}
    assert flag_rows == {f"BPF_F_{k}": v for k, v in d.flags.bits.items()}
    assert set(d.attach_points.values()) <= set(rows.values())
    if d.kernel == "cgroup":          # not bpf_mprog: BPF_CGROUP_MAX_PROGS (tests/test_cgroup.py)
        assert rows["BPF_CGROUP_MAX_PROGS"] == 64
    else:
        assert rows["MPROG_MAX"] == constants.MPROG_MAX


def test_linux_constants_table_matches_code():
    rows = dict(re.findall(r"^\| (\w+) \| (\d+) \|$", (REPO / "spec/linux/constants.md").read_text(), re.M))
    code = {f"BPF_F_{k}": v for k, v in constants.FLAGS.bits.items()}
    code.update(BPF_F_QUERY_EFFECTIVE=constants.BPF_F_QUERY_EFFECTIVE,
                BPF_TCX_INGRESS=constants.BPF_TCX_INGRESS, BPF_TCX_EGRESS=constants.BPF_TCX_EGRESS,
                MPROG_MAX=constants.MPROG_MAX)
    assert {k: int(v) for k, v in rows.items()} == code


# The other two ID sets are enforced beside their code: the z3 encoding's in
# tests/smt/test_rule_ids.py, the conformance corpus's (every rule decided by
# a case) in tests/test_rules.py::test_every_rule_has_a_case_with_a_decided_step.
