"""``mprog solve``: directive files (grammar/directives.lark), the z3 decision,
least ordering, counts and minimal cores (checker.smt.solve), the
multi-tenant check on the executor, and the CLI through ``register``.

Every random case is cross-checked by brute force over
itertools.permutations (<= 7 programs)."""
from __future__ import annotations

import itertools
import json

import pytest
import z3
from hypothesis import given
from hypothesis import strategies as st

from corpus import DIRECTIVES, run_solve_cli

from checker.syntax.directives import DirectiveSet, parse_directives, read_directives
from checker.errors import BadInput
from checker.smt import solve as S

EXAMPLES = DIRECTIVES
run_cli = run_solve_cli


def core_texts(sol):
    return [d.text for d in sol.core]


# --------------------------------------------------------------------------
# The seed's cases (rfc-first-last.md §0)

SEED = {
    # FIRST|LAST on one program with others present
    "seed-first-last.dirs": ["solo: FIRST", "solo: LAST"],
    # FIRST plus BEFORE the first
    "seed-first-before-first.dirs": ["fw: FIRST", "tap: BEFORE fw"],
    # AFTER a LAST
    "seed-after-last.dirs": ["mon: LAST", "tap: AFTER mon"],
    # two FIRSTs
    "seed-two-firsts.dirs": ["fw: FIRST", "ids: FIRST"],
}


@pytest.mark.parametrize("name", sorted(SEED))
def test_seed_case_is_unsat_with_exact_core(name):
    ds = read_directives(str(EXAMPLES / name))
    sol = S.solve(ds)
    assert sol.status == "unsat"
    assert core_texts(sol) == SEED[name]
    assert sol.core_minimal and sol.complete
    assert sol.ordering is None and sol.count is None


def test_seed_cli_output_verbatim():
    path = EXAMPLES / "seed-first-before-first.dirs"
    code, out, err = run_cli("solve", path)
    assert code == 1 and err == ""
    assert out.splitlines() == [
        f"{path}: unsat",
        "  a minimal set of conflicting directives, 3 programs declared:",
        f"    {path}:2:7: fw: FIRST",
        f"    {path}:3:7: tap: BEFORE fw",
    ]


def test_first_and_last_on_the_only_program_is_sat():
    sol = S.solve(parse_directives("solo: FIRST, LAST\n"))
    assert (sol.status, sol.ordering, sol.count, sol.count_status) == ("sat", ("solo",), 1, "exact")


def test_first_and_last_unsat_with_a_second_program():
    sol = S.solve(parse_directives("solo: FIRST, LAST\nother:\n"))
    assert sol.status == "unsat" and core_texts(sol) == ["solo: FIRST", "solo: LAST"]


def test_core_is_minimal_not_everything():
    # Four directives, two of which conflict; the others are satisfiable.
    text = "a: FIRST\nb: FIRST\nc: AFTER a\nd: BEFORE c, LAST\n"
    sol = S.solve(parse_directives(text))
    assert sol.status == "unsat"
    # d: BEFORE c and d: LAST conflict too: of the two minimal conflicts the
    # one made of the earliest directives is printed, in every run.
    assert core_texts(sol) == ["a: FIRST", "b: FIRST"]
    text = "d: BEFORE c, LAST\na: FIRST\nb: FIRST\nc: AFTER a\n"
    assert core_texts(S.solve(parse_directives(text))) == ["d: BEFORE c", "d: LAST"]


def test_cycle_core_is_the_whole_cycle_and_nothing_else():
    text = "a: BEFORE b\nb: BEFORE c, AFTER d\nc: BEFORE a, AFTER d\nd: FIRST\ne: LAST, AFTER a\n"
    sol = S.solve(parse_directives(text))
    assert sol.status == "unsat"
    assert core_texts(sol) == ["a: BEFORE b", "b: BEFORE c", "c: BEFORE a"]
    sol = S.solve(parse_directives("a: BEFORE b\nb: BEFORE c\nc: BEFORE d\nd: BEFORE a\ne: FIRST\n"))
    assert core_texts(sol) == ["a: BEFORE b", "b: BEFORE c", "c: BEFORE d", "d: BEFORE a"]


def test_before_means_anywhere_before_not_adjacent():
    sol = S.solve(parse_directives("a: BEFORE c\nb:\nc:\n"))
    # [a b c] has b between a and c: BEFORE still holds.
    assert sol.ordering == ("a", "b", "c")
    assert (sol.count, sol.count_status) == (3, "exact")   # abc, acb, bac


def test_self_reference_is_unsat():
    sol = S.solve(parse_directives("a: BEFORE a\n"))
    assert sol.status == "unsat" and core_texts(sol) == ["a: BEFORE a"]


def test_datapath_example():
    ds = read_directives(str(EXAMPLES / "datapath.dirs"))
    sol = S.solve(ds)
    assert (sol.status, sol.ordering, sol.count, sol.count_status) == \
        ("sat", ("fw", "lb", "tap", "mon"), 2, "exact")


def test_empty_file_has_one_empty_order():
    sol = S.solve(parse_directives("# nothing\n"))
    assert (sol.status, sol.ordering, sol.count) == ("sat", (), 1)


# --------------------------------------------------------------------------
# Counting

def free(n: int) -> DirectiveSet:
    return parse_directives("".join(f"p{i}:\n" for i in range(n)))


@pytest.mark.parametrize("limit,count,status", [(120, 120, "exact"), (1000, 120, "exact"),
                                                (119, 119, "at-least"), (10, 10, "at-least"),
                                                (0, 0, "at-least")])
def test_count_limit_boundary(limit, count, status):
    sol = S.solve(free(5), limit=limit)        # 5! = 120 orders
    assert (sol.count, sol.count_status) == (count, status)


def test_count_exact_seven_programs():
    ds = parse_directives("a: FIRST\nb:\nc:\nd:\ne:\nf: AFTER e\ng: LAST\n")
    sol = S.solve(ds)
    # a and g pinned; among b..f, f after e: 5!/2 = 60
    assert (sol.ordering, sol.count, sol.count_status) == (("a", "b", "c", "d", "e", "f", "g"), 60, "exact")


def test_count_text():
    code, out, _ = run_cli("solve", "--limit", "2", EXAMPLES / "datapath.dirs")
    assert code == 0 and "  orderings: exactly 2" in out.splitlines()
    code, out, _ = run_cli("solve", "--limit", "1", EXAMPLES / "datapath.dirs")
    assert code == 0 and "  orderings: at least 1 (more than --limit 1 exist)" in out.splitlines()


# --------------------------------------------------------------------------
# Brute force cross-check (hypothesis, derandomized by the ci profile)

@st.composite
def directive_texts(draw, max_progs=7):
    """Random directive files over p0..p{n-1}: mostly BEFORE/AFTER between
    distinct programs (cycles of any length), some FIRST/LAST, rarely a
    self-reference."""
    n = draw(st.integers(1, max_progs))
    names = [f"p{i}" for i in range(n)]
    lines = []
    for i, p in enumerate(names):
        others = [q for q in names if q != p] or [p]
        one = st.sampled_from(["FIRST", "LAST"] + [f"{k} {q}" for q in others for k in ("BEFORE", "AFTER")])
        if draw(st.integers(0, 19)) == 0:
            one = st.sampled_from([f"BEFORE {p}", f"AFTER {p}"])
        ds = draw(st.lists(one, max_size=2, unique=True))
        lines.append(f"{p}: {', '.join(ds)}")
    return "\n".join(lines) + "\n"


def brute(ds: DirectiveSet, directives=None):
    """Satisfying orders in lexicographic order of declaration indexes."""
    directives = ds.directives if directives is None else directives
    return [perm for perm in itertools.permutations(ds.names)
            if all(d.holds(perm) for d in directives)]


LIMIT = 40


def _z3_count_args(ds: DirectiveSet):
    from checker.smt.directives import Order
    order = Order(ds.names)
    return order, [t.expr for t in order.directives(ds)]


@given(directive_texts(max_progs=6))
def test_combinatorial_count_equals_the_z3_enumeration(text):
    """count_orders (linear extensions) and count_orders_z3 (models of the
    z3 encoding, blocking clauses) agree, at and around the limit."""
    ds = parse_directives(text)
    for limit in (0, 3, 25):
        want = S.count_orders_z3(S.Budget(None), *_z3_count_args(ds), limit)
        assert S.count_orders(S.Budget(None), ds, limit) == want, (text, limit)


@given(directive_texts())
def test_solve_agrees_with_brute_force(text):
    ds = parse_directives(text)
    sol = S.solve(ds, limit=LIMIT)
    valid = brute(ds)
    if valid:
        assert sol.status == "sat"
        assert sol.ordering == valid[0]                 # least in declaration order
        assert ds.holds(sol.ordering)
        if len(valid) <= LIMIT:
            assert (sol.count, sol.count_status) == (len(valid), "exact")
        else:
            assert (sol.count, sol.count_status) == (LIMIT, "at-least")
        return
    assert sol.status == "unsat" and sol.core_minimal
    core = list(sol.core)
    assert core and set(core) <= set(ds.directives)
    assert not brute(ds, core)                          # the core alone is unsat
    for d in core:                                      # and irreducible
        assert brute(ds, [c for c in core if c != d]), f"{d.text} is not needed in the core"


@given(directive_texts(max_progs=4))
def test_output_is_deterministic(text):
    ds = parse_directives(text, "x.dirs")
    a = S.solve(ds, limit=30)
    b = S.solve(parse_directives(text, "x.dirs"), limit=30)
    assert a == b


# --------------------------------------------------------------------------
# unknown is never sat or unsat

def test_spent_budget_is_unknown():
    sol = S.solve(free(6), timeout_s=1e-9)
    assert sol.status == "unknown" and not sol.complete
    assert sol.ordering is None and sol.core is None
    assert "timeout" in sol.reason


def _unknown_after(monkeypatch, k):
    real = z3.Solver.check
    calls = {"n": 0}

    def check(self, *a):
        calls["n"] += 1
        return z3.unknown if calls["n"] > k else real(self, *a)
    monkeypatch.setattr(z3.Solver, "check", check)


def test_unknown_decision_exit_3(monkeypatch):
    _unknown_after(monkeypatch, 0)
    code, out, _ = run_cli("solve", EXAMPLES / "seed-two-firsts.dirs")
    assert code == 3
    assert out.splitlines()[0].endswith(": unknown (z3 returned unknown: no answer, neither sat nor unsat)")
    assert len(out.splitlines()) == 1            # no core, no ordering


def test_unknown_while_counting_is_a_lower_bound(monkeypatch):
    """The budget runs out while counting (16 free programs: 2^16 placed-sets
    to visit for an exact 16!): "unknown" with the lower bound 1 (sat was
    decided), never a count presented as exact."""
    clock = iter(range(10**9))
    budget = S.Budget(1.0)
    monkeypatch.setattr(S.Budget, "left_ms", lambda self: 0 if next(clock) > 0 else 1000)
    assert S.count_orders(budget, free(16), 10**15) == (1, "unknown")


def test_unknown_count_makes_the_solution_incomplete(monkeypatch):
    monkeypatch.setattr(S, "count_orders", lambda budget, ds, limit, pre=None: (1, "unknown"))
    sol = S.solve(free(4))
    assert sol.status == "sat" and sol.ordering == ("p0", "p1", "p2", "p3")
    assert (sol.count, sol.count_status) == (1, "unknown") and not sol.complete
    code, out, _ = run_cli("solve", EXAMPLES / "datapath.dirs")
    assert code == 3 and "  orderings: unknown (at least 1 found before the z3 returned unknown)" in out


def test_unknown_while_minimizing_core(monkeypatch):
    _unknown_after(monkeypatch, 1)
    sol = S.solve(parse_directives("a: FIRST\nb: FIRST\n"))
    assert sol.status == "unsat" and not sol.core_minimal and not sol.complete
    assert core_texts(sol) == ["a: FIRST", "b: FIRST"]


def test_one_solver_per_check(monkeypatch):
    made = []
    real = z3.Solver.__init__

    def init(self, *a, **kw):
        made.append(self)
        real(self, *a, **kw)
    monkeypatch.setattr(z3.Solver, "__init__", init)
    S.solve(parse_directives("a: FIRST\nb: FIRST\nc: LAST\n"))
    assert len(made) == 2               # decide, core
    made.clear()
    S.solve(parse_directives("a: FIRST\nb:\nc: LAST\n"))
    assert len(made) == 2               # decide, least ordering (the count is combinatorial)
    made.clear()
    S.count_orders_z3(S.Budget(None), *_z3_count_args(parse_directives("a: FIRST\nb:\nc: LAST\n")), 10)
    assert len(made) == 1


# --------------------------------------------------------------------------
# Parser errors: file:line:col and did-you-mean

@pytest.mark.parametrize("text,where,message", [
    ("a: FRIST\n", (1, 4), "unknown directive 'FRIST' (did you mean 'FIRST'?); "
                           "expected FIRST, LAST, BEFORE <prog> or AFTER <prog>"),
    ("a: last\n", (1, 4), "unknown directive 'last' (did you mean 'LAST'?); "
                          "expected FIRST, LAST, BEFORE <prog> or AFTER <prog>"),
    ("fw:\nlb: AFTER fx\n", (2, 11), "unknown program 'fx' (did you mean 'fw'?); "
                                     "declare it on its own line ('fx:')"),
    ("fw:\napp a: fw lbb\nlb:\n", (2, 11), "unknown program 'lbb' (did you mean 'lb'?); "
                                           "declare it on its own line ('lbb:')"),
    ("a: FIRST|LAST\n", (1, 9), "unexpected character '|'; separate directives with ',' "
                                "(e.g. 'p: FIRST, LAST')"),
    ("a: AFTER\n", (1, 9), "AFTER needs the name of a program"),
    ("a: FIRST, FIRST\n", (1, 11), "duplicate directive 'a: FIRST'"),
    ("a:\na: LAST\n", (2, 1), "program 'a' is declared twice (first on line 1); "
                              "put all its directives on one line"),
    ("a: BEFORE LAST\n", (1, 11), "'LAST' is a keyword, not a program name"),
    ("a:\nb:\napp x: a\n", (2, 1), "program 'b' belongs to no application; list it in an 'app' "
                                   "line (with app lines present, every program needs one)"),
    ("a:\nb:\napp x: a\napp y: a b\n", (4, 8), "program 'a' already belongs to application 'x'"),
    ("app: FIRST\n", (1, 1), "'app' is a keyword: write 'app NAME: prog ...', or rename the program"),
    ("a FIRST\n", (1, 3), "unexpected 'FIRST'; expected ':' after the name"),
    # one word the lexer would split into a keyword and a name
    ("a:\nmon: LASTT\n", (2, 6), "unknown directive 'LASTT' (did you mean 'LAST'?); "
                                  "expected FIRST, LAST, BEFORE <prog> or AFTER <prog>"),
    ("a:\nb: BEFOREa\n", (2, 4), "unknown directive 'BEFOREa'; write 'BEFORE a' with a space"),
    ("a:\nb: LAST, AFTERa\n", (2, 10), "unknown directive 'AFTERa'; write 'AFTER a' with a space"),
])
def test_bad_input(text, where, message):
    with pytest.raises(BadInput) as e:
        parse_directives(text, "bad.dirs")
    assert (e.value.path, e.value.line, e.value.column) == ("bad.dirs", *where)
    assert e.value.message == message


def test_bad_input_cli_exit_2_with_caret(tmp_path):
    f = tmp_path / "bad.dirs"
    f.write_text("fw: FIRST\nlb: AFTR fw\n")
    code, out, err = run_cli("solve", f)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{f}:2:5: unknown directive 'AFTR' (did you mean 'AFTER'?); expected FIRST, LAST, "
        f"BEFORE <prog> or AFTER <prog>",
        "    lb: AFTR fw",
        "        ^",
    ]


def test_missing_file_exit_2(tmp_path):
    code, _, err = run_cli("solve", tmp_path / "nope.dirs")
    assert code == 2 and "cannot read file" in err


def test_comments_blank_lines_and_forward_references():
    ds = parse_directives("\n# head\nlb: AFTER fw   # fw comes later\n\nfw: FIRST\n")
    assert [d.text for d in ds.directives] == ["lb: AFTER fw", "fw: FIRST"]
    assert ds.names == ("lb", "fw")


# --------------------------------------------------------------------------
# Multi-tenant: arrival orders on the executor

def test_tenant_requests_follow_the_documented_mapping():
    ds = parse_directives("a: FIRST, BEFORE d\nb: LAST\nc: BEFORE a\nd: AFTER a, BEFORE b\ne:\n"
                          "app x: a b c d e\n")
    from checker.syntax.render import render_step
    assert [render_step(r.step) for r in S.tenant_requests(ds)] == [
        "attach a d0 ingress before", "attach b d0 ingress after", "attach c d0 ingress before a",
        "attach d d0 ingress after a", "attach e d0 ingress"]


def test_datapath_tenants_exact():
    ds = read_directives(str(EXAMPLES / "datapath.dirs"))
    rep = S.tenants(ds)
    got = [(a.apps, a.ok, tuple(p for p, _ in a.final), a.revision,
            tuple((d.text, r.app) for d, r in a.violated)) for a in rep.arrivals]
    late_tap = (("mon: LAST", "tracer"),)
    assert got == [
        (("cilium", "monitor", "tracer"), False, ("fw", "lb", "mon", "tap"), 5, late_tap),
        (("cilium", "tracer", "monitor"), True, ("fw", "lb", "tap", "mon"), 5, ()),
        (("monitor", "cilium", "tracer"), False, ("fw", "lb", "mon", "tap"), 5, late_tap),
        (("monitor", "tracer", "cilium"), False, ("fw", "lb", "mon", "tap"), 5, late_tap),
        (("tracer", "cilium", "monitor"), True, ("fw", "lb", "tap", "mon"), 5, ()),
        (("tracer", "monitor", "cilium"), True, ("fw", "lb", "tap", "mon"), 5, ()),
    ]
    [(d, where)] = rep.violations()
    assert d.text == "mon: LAST" and len(where) == 3


def test_later_prepend_lands_before_a_first_program():
    ds = read_directives(str(EXAMPLES / "tenants-two-firsts.dirs"))
    rep = S.tenants(ds)
    first = rep.arrivals[0]
    assert first.apps == ("cilium", "suricata", "monitor")
    assert not first.failures                                 # the kernel accepts both prepends
    assert tuple(p for p, _ in first.final) == ("ids", "fw", "mon")
    [(d, r)] = first.violated
    assert d.text == "fw: FIRST" and r.app == "suricata"
    assert {v[0].text for v in rep.violations()} == {"fw: FIRST", "ids: FIRST"}


def test_relative_missing_at_attach_time_fails_with_enoent():
    ds = parse_directives("fw: FIRST\nlb: AFTER fw\napp cilium: fw\napp balancer: lb\n")
    rep = S.tenants(ds)
    by = {a.apps: a for a in rep.arrivals}
    assert by[("cilium", "balancer")].ok
    late = by[("balancer", "cilium")]
    [(r, o)] = late.failures
    assert (r.prog, o.errno, o.rule) == ("lb", "ENOENT", "attach/after-missing")
    assert [d.text for d in late.unchecked] == ["lb: AFTER fw"]
    assert tuple(p for p, _ in late.final) == ("fw",)


def test_tenants_cli_output():
    path = EXAMPLES / "datapath.dirs"
    code, out, _ = run_cli("solve", path)
    assert code == 0
    assert out.splitlines() == [
        f"{path}: sat",
        "  ordering: fw lb tap mon",
        "  orderings: exactly 2",
        "multi-tenant: 6 arrival orders on d0 ingress, 3 succeed (every request ok, every "
        "directive holds at the end)",
        "  requests (the first directive on a program's line decides its request):",
        "    cilium: attach fw d0 ingress before  # fw: FIRST",
        "    cilium: attach lb d0 ingress after fw  # lb: AFTER fw",
        "    monitor: attach mon d0 ingress after  # mon: LAST",
        "    tracer: attach tap d0 ingress  # no directive",
        "  cilium monitor tracer: FAIL  [fw lb mon tap] rev 5",
        "    violates mon: LAST (since tracer: attach tap d0 ingress)",
        "  cilium tracer monitor: ok  [fw lb tap mon] rev 5",
        "  monitor cilium tracer: FAIL  [fw lb mon tap] rev 5",
        "    violates mon: LAST (since tracer: attach tap d0 ingress)",
        "  monitor tracer cilium: FAIL  [fw lb mon tap] rev 5",
        "    violates mon: LAST (since tracer: attach tap d0 ingress)",
        "  tracer cilium monitor: ok  [fw lb tap mon] rev 5",
        "  tracer monitor cilium: ok  [fw lb tap mon] rev 5",
        "  directives that can end up violated (BEFORE/AFTER/FIRST/LAST act only at attach time; "
        "later requests ignore them):",
        "    mon: LAST: in 3 of 6 arrival orders, broken by tracer: attach tap d0 ingress",
    ]


def test_too_many_apps_is_bad_input():
    text = "".join(f"p{i}:\n" for i in range(9)) + "".join(f"app a{i}: p{i}\n" for i in range(9))
    with pytest.raises(ValueError, match="at most 8"):
        S.tenants(parse_directives(text))


# --------------------------------------------------------------------------
# JSON

def test_json_unsat_and_sat():
    code, out, _ = run_cli("solve", "--json", EXAMPLES / "seed-two-firsts.dirs")
    doc = json.loads(out)
    assert code == 1 and doc["status"] == "unsat" and doc["core_minimal"] is True
    assert [(c["directive"], c["line"], c["column"]) for c in doc["core"]] == \
        [("fw: FIRST", 2, 7), ("ids: FIRST", 3, 7)]
    code, out, _ = run_cli("solve", "--json", "--limit", "1", EXAMPLES / "datapath.dirs")
    doc = json.loads(out)
    assert code == 0
    assert (doc["ordering"], doc["count"], doc["count_status"]) == (["fw", "lb", "tap", "mon"], 1, "at-least")
    arr = doc["tenants"]["arrivals"]
    assert [a["ok"] for a in arr] == [False, True, False, False, True, True]
    assert arr[0]["violated"] == [{"directive": "mon: LAST", "broken_by": "attach tap d0 ingress",
                                   "app": "tracer"}]
