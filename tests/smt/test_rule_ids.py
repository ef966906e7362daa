"""Every spec rule of every dialect has a tracked z3 constraint in that
dialect's encoding, and spec/linux/invariants.md documents exactly the
checked invariants."""
from __future__ import annotations

import importlib.util
import pathlib
import re

import pytest

from checker import dialects
from checker.dialects.linux import LINUX
from checker.smt import INVARIANTS, RULE_IDS

REPO = pathlib.Path(__file__).resolve().parents[2]
ENCODED = sorted(n for n, d in dialects.registry().items() if d.encoding)


def encoding(name: str):
    """The dialect's encoding unit; a skip naming it while it is not written."""
    d = dialects.get(name)
    if importlib.util.find_spec(d.encoding) is None:
        pytest.skip(f"dialect {name!r} names its z3 encoding {d.encoding}, which does not exist yet")
    return d, d.unit("encoding")


def test_rule_ids_equal_registry():
    assert RULE_IDS == set(LINUX), sorted(set(LINUX) ^ RULE_IDS)


@pytest.mark.parametrize("name", ENCODED)
def test_encoding_alone_covers_every_rule(name):
    d, encode = encoding(name)
    ids = encode.rule_ids()
    assert ids == set(d.rules), sorted(set(d.rules) ^ ids)


@pytest.mark.parametrize("name", ENCODED)
def test_tracked_labels_are_rule_at_step(name):
    d, encode = encoding(name)
    pre, post, r = encode.State(0, 3), encode.State(1, 3), encode.Req(0)
    for op in encode.OPS:
        for t in encode.encode(op, 0, pre, post, r).tracked:
            rule, _, step = t.label.rpartition("@")
            assert rule in d.rules and step == "0", t.label


def test_invariants_doc_headings_equal_invariant_ids():
    text = (REPO / "spec" / "linux" / "invariants.md").read_text()
    heads = re.findall(r"^### `([^`]+)`$", text, re.M)
    assert len(heads) == len(set(heads))
    assert set(heads) == set(INVARIANTS)
