"""Every spec rule of every dialect has a tracked z3 constraint in that
dialect's encoding (and its BMC transition relation), and
spec/<dialect>/invariants.md documents exactly the checked invariants (a
delta dialect: its own; the ones it keeps are its parent's)."""
from __future__ import annotations

import importlib.util
import pathlib
import re

import pytest

from checker import dialects, smt

REPO = pathlib.Path(__file__).resolve().parents[2]
ENCODED = sorted(n for n, d in dialects.registry().items() if d.encoding)


def encoding(name: str):
    """The dialect's encoding unit; a skip naming it while it is not written."""
    d = dialects.get(name)
    if importlib.util.find_spec(d.encoding) is None:
        pytest.skip(f"dialect {name!r} names its z3 encoding {d.encoding}, which does not exist yet")
    return d, d.unit("encoding")


@pytest.mark.parametrize("name", ENCODED)
def test_rule_ids_equal_registry(name):
    d, _ = encoding(name)
    assert smt.rule_ids(name) == set(d.rules), sorted(set(d.rules) ^ smt.rule_ids(name))


@pytest.mark.parametrize("name", ENCODED)
def test_encoding_alone_covers_every_rule(name):
    d, E = encoding(name)
    assert E.rule_ids() == set(d.rules), sorted(set(d.rules) ^ E.rule_ids())


@pytest.mark.parametrize("name", ENCODED)
def test_tracked_labels_are_rule_at_step(name):
    d, E = encoding(name)
    pre, post, r = E.state(0, 3), E.state(1, 3), E.Req(0)
    for op in E.OPS:
        for t in E.encode(op, 0, pre, post, r).tracked:
            rule, _, step = t.label.rpartition("@")
            assert rule in d.rules and step == "0", t.label


@pytest.mark.parametrize("name", ENCODED)
def test_invariants_doc_headings_equal_invariant_ids(name):
    d = dialects.get(name)
    table = smt.invariant_table(name)
    path = REPO / d.spec / "invariants.md"
    text = path.read_text() if path.exists() else ""    # a dialect that states none: no headings
    heads = re.findall(r"^### `([^`]+)`$", text, re.M)
    assert len(heads) == len(set(heads))
    parent = smt.invariant_table(d.parent) if d.parent else {}
    assert set(heads) == {i for i in table if i not in parent}
    for inv in set(table) & set(parent):
        assert table[inv] == parent[inv], f"{inv}: a kept invariant keeps its statement"
        assert f"`{inv}`" in text, f"{name}'s chapter names the kept {inv}"


def test_linux_names_stay():
    assert smt.RULE_IDS == set(dialects.get("linux").rules)
    assert smt.INVARIANTS == smt.invariant_table("linux")
