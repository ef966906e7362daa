"""The cgroup dialect on the reference executor, beyond what the tests of
every dialect check (tests/test_spec_xref.py, test_rules.py, test_scripts.py,
test_grammar.py, test_vectors.py run the cgroup spec, per-rule cases and
selftest translations too): the constants, the selftest corpus is complete,
the script language round-trips and explains its mistakes, the executor keeps
the dialect's invariants over generated sequences (hypothesis), and the
effective order is the kernel's composition."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checker.dialects import cgroup as C
from checker.errors import BadInput
from checker.exec.cgroup import effective, step
from checker.exec.world import CGroup, CgList, World
from checker.fuzz.cgroup import sequences
from checker.model import owners_by_program
from checker.syntax import grammar as grammar_ref
from checker.syntax.fast import Reject, parse_line_fast
from checker.syntax.render import render_step
from checker.syntax.script import read_script

from corpus import CGROUP_SCRIPTS, REPO

SPEC = REPO / "spec" / "cgroup"


# ---------------------------------------------------------------------------
# Constants and corpus

def test_constants_table_matches_code():
    text = (SPEC / "constants.md").read_text()
    rows = dict(re.findall(r"^\| (\w+) \| (\d+) \|$", text, re.M))
    code = {f"BPF_F_{k}": v for k, v in C.FLAGS.bits.items()}
    code.update(BPF_F_QUERY_EFFECTIVE=C.BPF_F_QUERY_EFFECTIVE, BPF_CGROUP_MAX_PROGS=C.CGROUP_MAX_PROGS)
    code.update({f"BPF_{p.upper()}": v for p, v in C.ATTACH_TYPE.items()})
    assert {k: int(v) for k, v in rows.items()} == code
    types = dict(re.findall(r"^\| (cgroup_\w+) \| ([a-z_]+) \|$", text, re.M))
    assert types == C.POINT_PROG_TYPE


def test_selftest_corpus_is_complete():
    names = {p.stem for p in CGROUP_SCRIPTS}
    assert names == {f"test_cgroup_mprog_opts_{t}" for t in (
        "prog_attach_detach", "link_attach_detach", "preorder_prog_attach_detach",
        "preorder_link_attach_detach", "invalid_attach_detach")} | {"test_cgroup_mprog_ordering"}


# ---------------------------------------------------------------------------
# The script language

def _normal(s):
    if s.op == "close" and s.link is not None:
        return replace(s, prog=s.link, link=None)
    return s


@given(sequences(max_requests=20))
def test_render_then_parse_is_identity_for_both_parsers(steps):
    for s in steps:
        text = render_step(s)
        fast = parse_line_fast(text, 0)
        ref = grammar_ref.parse_line(text, "<gen>", 0)
        assert fast == ref == _normal(s), text


HEADER = "dialect cgroup\ncgroup_add cg\nload p1\nload o1 type cgroup_sockopt expected cgroup_getsockopt\n"
BAD = [
    ("attach p1 cg cgroup_inet_egres", 5, 14,
     "unknown attach point 'cgroup_inet_egres' in dialect 'cgroup'"),
    ("attach p1 cg ingress", 5, 14, "unknown attach point 'ingress' in dialect 'cgroup'"),
    ("attach p1 cgx cgroup_inet_egress", 5, 11, "unknown cgroup 'cgx' (did you mean 'cg'?); declare it with cgroup_add"),
    ("cgroup_add sub parent nope", 5, 23, "unknown cgroup 'nope'"),
    ("cgroup_add cgroup_x", 5, 12, "reads as an attach point"),
    ("cgroup_add cg parent cg", 5, 22, "cannot be its own parent"),
    ("load p2 type cgroup_sockopt expected cgroup_getsockop", 5, 38,
     "unknown expected attach type 'cgroup_getsockop' in dialect 'cgroup' (did you mean 'cgroup_getsockopt'?)"),
    ("query cg cgroup_inet_egress => ok mode mult", 5, 40, "expected 'none', 'override' or 'multi'"),
    ("dev_add veth0", 5, 1, "unknown op 'dev_add' in dialect 'cgroup'"),
]


@pytest.mark.parametrize("body,line,col,fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_located_and_explained(body, line, col, fragment):
    with pytest.raises(BadInput) as ei:
        read_script("bad.mprog", HEADER + body + "\n")
    e = ei.value
    assert fragment in e.message
    assert (e.path, e.line, e.column) == ("bad.mprog", line, col), e.render()


def test_a_cgroup_name_keeps_its_place():
    read_script("ok.mprog", "dialect cgroup\ncgroup_add a\ncgroup_add b parent a\ncgroup_del b\n"
                            "cgroup_add b parent a\n")
    with pytest.raises(BadInput, match="was added with parent 'a' on line 3"):
        read_script("bad.mprog", "dialect cgroup\ncgroup_add a\ncgroup_add b parent a\n"
                                 "cgroup_del b\ncgroup_add b\n")


def test_cgroup_syntax_is_accepted_by_both_parsers():
    for line in ("load o type cgroup_sockopt expected cgroup_getsockopt",
                 "cgroup_add b parent a", "query a cgroup_sysctl count 0 effective prog_attach_flags",
                 "detach a cgroup_getsockopt rev 3", "query a cgroup_device => ok count 1 rev 2 [p] mode multi"):
        try:
            fast = parse_line_fast(line, 1)
        except Reject:
            fast = None
        assert fast is not None and fast == grammar_ref.parse_line(line, "x", 1), line


# ---------------------------------------------------------------------------
# Invariants of the executor (the z3 proofs check the same per request; see
# spec/cgroup/invariants.md)

NO_CHANGE = {"load/ok", "close/prog", "link_detach/defunct", "cgroup/add", "cgroup/del"}


def _lists(w: World):
    return {(n, p): l for n, c in w.cgroups.items() if c.present for p, l in c.lists.items()}


@given(st.sampled_from([False] * 9 + [True]).flatmap(lambda f: sequences(full_list=f)))
def test_invariants_hold_after_every_step(steps):
    w = World()
    for s in steps:
        out, w2 = step(w, s)
        for (n, p), lst in _lists(w2).items():
            owned = [e[0] for e in lst.entries if e[1] is None]
            assert len(owned) == len(set(owned)), f"a prog twice through the prog API on {n} {p}"
            assert len(lst.entries) <= C.CGROUP_MAX_PROGS
            links = [e[1] for e in lst.entries if e[1] is not None]
            assert len(links) == len(set(links))
            if lst.mode != C.MULTI:
                assert len(lst.entries) <= 1 and not links, (n, p, lst)
            if not lst.entries:
                assert lst.mode == 0
            for l in links:
                assert w2.links[l].dev == n and w2.links[l].dir == p and w2.links[l].prog == \
                    next(e[0] for e in lst.entries if e[1] == l)
        if not out.ok:
            assert w2 == w, f"{s.op} failed with {out.errno} but changed the world"
            continue
        before, after = _lists(w), _lists(w2)
        changed = [k for k in after if after[k] != before.get(k, CgList())]
        for k in changed:
            old = before.get(k, CgList())
            assert after[k].revision == old.revision + 1, (s, old, after[k])
        assert len(changed) <= 1
        if out.rule in NO_CHANGE or s.op == "query":
            assert changed == [], (s, out.rule)
        w = w2


def _kernel_effective(w: World, name: str, point: str) -> tuple:
    """compute_effective_progs() as the kernel writes it: count, then fill
    an array from both ends of the PREORDER boundary and reverse each
    level's PREORDER run (an independent check of the composition)."""
    chain, n = [], name
    while n is not None:
        chain.append(w.cgroups[n])
        n = w.cgroups[n].parent
    cnt = preorder = 0
    for c in chain:
        lst = c.list(point)
        if cnt == 0 or lst.mode & C.MULTI:
            cnt += len(lst.entries)
            preorder += sum(1 for e in lst.entries if e[2])
    items = [None] * cnt
    cnt, fstart, bstart = 0, preorder, preorder - 1
    for c in chain:
        lst = c.list(point)
        if cnt > 0 and not lst.mode & C.MULTI:
            continue
        init = bstart
        for e in lst.entries:
            if e[2]:
                items[bstart] = e
                bstart -= 1
            else:
                items[fstart] = e
                fstart += 1
            cnt += 1
        i, j = bstart + 1, init
        while i < j:
            items[i], items[j] = items[j], items[i]
            i, j = i + 1, j - 1
    return tuple(items)


@st.composite
def hierarchies(draw):
    depth = draw(st.integers(1, 5))
    w = World()
    parent = None
    for i in range(depth):
        mode = draw(st.sampled_from([0, C.OVERRIDE, C.MULTI, C.MULTI]))
        k = draw(st.integers(0, 4 if mode == C.MULTI else 1))
        entries = tuple((f"p{i}{j}", None, draw(st.booleans())) for j in range(k))
        lst = CgList(entries, mode if entries else 0, 1 + k)
        w = w.with_cgroup(f"c{i}", CGroup(parent, True, {"cgroup_inet_egress": lst}))
        parent = f"c{i}"
    return w, parent


@given(hierarchies())
def test_effective_order_is_the_kernels_composition(wp):
    w, leaf = wp
    name = leaf
    while name is not None:
        assert effective(w, name, "cgroup_inet_egress") == _kernel_effective(w, name, "cgroup_inet_egress")
        name = w.cgroups[name].parent


def test_owners_by_program():
    assert owners_by_program(("a", "b"), ("l1", None)) == ("l1", None)
    assert owners_by_program(("a", "x", "a", "a"), ("l2", None, None, "l1")) == (None, None, "l1", "l2")
