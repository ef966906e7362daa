"""Every spec rule has a tracked z3 constraint, in every dialect with an
encoding, and spec/<dialect>/invariants.md documents exactly the checked
invariants (a delta dialect: its own; the ones it keeps are its parent's)."""
from __future__ import annotations

import pathlib
import re

import pytest

from checker import dialects, smt

REPO = pathlib.Path(__file__).resolve().parents[2]
ENCODED = sorted(n for n, d in dialects.registry().items() if d.encoding)


def test_every_dialect_of_the_registry_is_encoded():
    assert ENCODED == sorted(dialects.names())


@pytest.mark.parametrize("name", ENCODED)
def test_rule_ids_equal_registry(name):
    rules = set(dialects.get(name).rules)
    assert smt.rule_ids(name) == rules, sorted(rules ^ smt.rule_ids(name))


@pytest.mark.parametrize("name", ENCODED)
def test_equivalence_encoding_alone_covers_every_rule(name):
    assert smt.equivalence_rule_ids(name) == set(dialects.get(name).rules)


@pytest.mark.parametrize("name", ENCODED)
def test_tracked_labels_are_rule_at_step(name):
    E = smt.encoding(name)
    pre, post, r = E.state(0, 3), E.state(1, 3), E.Req(0)
    for op in E.OPS:
        for t in E.encode(op, 0, pre, post, r).tracked:
            rule, _, step = t.label.rpartition("@")
            assert rule in E.TABLE and step == "0", t.label


@pytest.mark.parametrize("name", ENCODED)
def test_invariants_doc_headings_equal_invariant_ids(name):
    d = dialects.get(name)
    text = (REPO / d.spec / "invariants.md").read_text()
    heads = re.findall(r"^### `([^`]+)`$", text, re.M)
    assert len(heads) == len(set(heads))
    table = smt.invariant_table(name)
    parent = smt.invariant_table(d.parent) if d.parent else {}
    assert set(heads) == {i for i in table if i not in parent}
    for inv in set(table) & set(parent):
        assert table[inv] == parent[inv], f"{inv}: a kept invariant keeps its statement"
        assert f"`{inv}`" in text, f"{name}'s chapter names the kept {inv}"


def test_linux_names_stay():
    assert smt.RULE_IDS == set(dialects.get("linux").rules)
    assert smt.INVARIANTS == smt.invariant_table("linux")
