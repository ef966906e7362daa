"""``mprog plan`` (checker.smt.plan): every plan is replayed from its printed
script on the reference executor, asserting the final query's order and
revision; random cases are cross-checked against a brute-force minimum
number of moves (itertools.permutations over <= 6 programs)."""
from __future__ import annotations

import itertools
import json

import pytest
import z3
from hypothesis import given
from hypothesis import strategies as st

from corpus import DIRECTIVES, REPO, run_solve_cli

from checker.syntax.directives import parse_directives
from checker.errors import BadInput
from checker.exec import Executor
from checker.runner import run_steps
from checker.syntax.script import read_script
from checker.smt import plan as P

TOUR = REPO / "examples" / "tour.mprog"
EXAMPLES = DIRECTIVES
run_cli = run_solve_cli


def from_json(doc: dict) -> P.HookState:
    return P.state_from_json("state.json", json.dumps(doc))


def make(doc: dict, want: str):
    state = from_json(doc)
    ds = parse_directives(want, "want.dirs", state.progs)
    return state, ds, P.synthesize(state, ds)


def replay(text: str):
    """Run a printed plan script on a fresh executor; every expectation must
    hold.  Returns the last query result."""
    script = read_script("<plan>", text)
    last = None
    for r in run_steps(script.steps, Executor()):
        assert r.passed, (r.index, r.step, r.outcome)
        if r.step.op == "query":
            last = r.outcome.query
    return last


def plan_lines(text: str) -> list[str]:
    lines = text.splitlines()
    return lines[lines.index("# -- plan --") + 1:]


# --------------------------------------------------------------------------
# Exact plans

def test_move_one_program_to_the_front():
    state, ds, plan = make({"progs": ["a", "b", "c"], "revision": 4}, "c: FIRST\n")
    assert (plan.status, plan.order, plan.moved, plan.new, plan.requests) == \
        ("found", ("c", "a", "b"), ("c",), (), 2)
    text = P.script_text(state, ds, plan)
    assert plan_lines(text) == [
        "detach c d0 ingress rev 4 => ok",
        "attach c d0 ingress before rev 5 => ok",
        "query d0 ingress => ok count 3 rev 6 [c a b]",
    ]
    q = replay(text)
    assert (q.progs, q.revision) == (("c", "a", "b"), 6)


def test_link_owned_programs_stay_and_others_move_around_them():
    state, ds, plan = make({"progs": ["a", "b", "c"], "links": ["la", None, None], "revision": 9},
                           "a: AFTER c\n")
    assert (plan.order, plan.moved) == (("c", "a", "b"), ("c",))
    text = P.script_text(state, ds, plan)
    assert plan_lines(text) == [
        "detach c d0 ingress rev 9 => ok",
        "attach c d0 ingress before rev 10 => ok",
        "query d0 ingress => ok count 3 rev 11 [c a@la b]",
    ]
    q = replay(text)
    assert (q.progs, q.links, q.revision) == (("c", "a", "b"), (None, "la", None), 11)


def test_new_programs_are_loaded_and_attached_after_their_predecessor():
    state, ds, plan = make({"progs": ["a", "b"], "links": [None, "lb"], "revision": 3},
                           "x: FIRST\ny: AFTER a, BEFORE b\n")
    assert (plan.order, plan.moved, plan.new, plan.requests) == (("x", "a", "y", "b"), (), ("x", "y"), 2)
    text = P.script_text(state, ds, plan)
    assert plan_lines(text) == [
        "load x => ok",
        "load y => ok",
        "attach x d0 ingress before rev 3 => ok",
        "attach y d0 ingress after a rev 4 => ok",
        "query d0 ingress => ok count 4 rev 5 [x a y b@lb]",
    ]
    assert replay(text).revision == 5


def test_already_satisfied_needs_no_request():
    state, ds, plan = make({"progs": ["a", "b"], "revision": 3}, "a: FIRST\nb: LAST\n")
    assert (plan.status, plan.moved, plan.requests, plan.final_revision) == ("found", (), 0, 3)
    assert plan_lines(P.script_text(state, ds, plan)) == ["query d0 ingress => ok count 2 rev 3 [a b]"]


def test_links_make_it_impossible_and_the_core_says_so():
    state, ds, plan = make({"progs": ["a", "b"], "links": ["la", "lb"], "revision": 3}, "b: BEFORE a\n")
    assert plan.status == "none" and plan.core_minimal
    assert [c if isinstance(c, str) else c.text for c in plan.core] == [
        "b: BEFORE a",
        "a is owned by link la: the prog API cannot move it",
        "b is owned by link lb: the prog API cannot move it",
    ]


def test_unsat_directives_alone_give_a_directive_core():
    state, ds, plan = make({"progs": ["a", "b"], "links": ["la", None], "revision": 3},
                           "b: FIRST\nx: FIRST\n")
    assert plan.status == "none"
    assert [c.text for c in plan.core] == ["b: FIRST", "x: FIRST"]


def test_hook_capacity():
    progs = [f"p{i}" for i in range(62)]
    state, ds, plan = make({"progs": progs, "revision": 63}, "x: FIRST\ny: LAST\n")
    assert plan.status == "none" and plan.core == ()
    assert plan.reason == "62 programs on the hook and 2 new ones: a hook holds at most 63"


def test_empty_hook_with_a_kept_revision_is_recreated_with_clsact():
    state, ds, plan = make({"progs": [], "revision": 4}, "x: LAST\ny:\n")
    text = P.script_text(state, ds, plan)
    assert "clsact_add d0 => ok" in text
    assert plan_lines(text) == ["load x => ok", "load y => ok",
                                "attach y d0 ingress before rev 4 => ok",
                                "attach x d0 ingress after y rev 5 => ok",
                                "query d0 ingress => ok count 2 rev 6 [y x]"]
    assert replay(text).revision == 6


@pytest.mark.parametrize("links", [[None, None], ["la", None]])
@pytest.mark.parametrize("rev", [3, 4, 5, 8])
def test_setup_reaches_any_revision(links, rev):
    state = from_json({"progs": ["a", "b"], "links": links, "revision": rev})
    ex = Executor()
    assert all(r.passed for r in run_steps(state.setup, ex))
    assert ex.world.devs["d0"].hook("ingress").revision == rev


def test_high_revision_is_verified_without_a_setup():
    state, ds, plan = make({"progs": ["a", "b"], "revision": 100000}, "b: FIRST\n")
    assert state.setup is None
    text = P.script_text(state, ds, plan)
    assert "# -- setup" not in text
    assert plan_lines(text) == ["detach b d0 ingress rev 100000 => ok",
                                "attach b d0 ingress before rev 100001 => ok",
                                "query d0 ingress => ok count 2 rev 100002 [b a]"]
    v = P.verify(state, ds, plan)
    assert v.ok and (v.final, v.revision) == (("b", "a"), 100002)


# --------------------------------------------------------------------------
# From a script

def test_plan_from_the_tour():
    state = P.state_from_script(str(TOUR), "veth0:ingress")
    assert (state.slots, state.revision) == ((("mon", None), ("fw", None)), 5)
    ds = parse_directives((EXAMPLES / "tour-want.dirs").read_text(), "tour-want.dirs", state.progs)
    plan = P.synthesize(state, ds)
    text = P.script_text(state, ds, plan)
    assert plan_lines(text) == [
        "detach fw veth0 ingress rev 5 => ok",
        "attach fw veth0 ingress before rev 6 => ok",
        "attach lb veth0 ingress after mon rev 7 => ok",
        "query veth0 ingress => ok count 3 rev 8 [fw mon lb]",
    ]
    q = replay(text)
    assert (q.progs, q.revision) == (("fw", "mon", "lb"), 8)


def test_closed_fd_is_immovable(tmp_path):
    s = tmp_path / "s.mprog"
    s.write_text("dev_add d\nload a\nload b\nattach a d ingress\nattach b d ingress\nclose a\n")
    state = P.state_from_script(str(s), "d:ingress")

    def plan_for(want):
        ds = parse_directives(want, "w.dirs", state.progs)
        return ds, P.synthesize(state, ds)
    # a cannot be re-attached (its fd is closed), so b moves in front of it
    _, plan = plan_for("b: FIRST\n")
    assert (plan.order, plan.moved) == (("b", "a"), ("b",))
    _, plan = plan_for("a: AFTER b\n")
    assert (plan.order, plan.moved) == (("b", "a"), ("b",))
    ds, plan = plan_for("x: BEFORE a\n")
    text = P.script_text(state, ds, plan)
    assert plan_lines(text) == ["load x => ok", "attach x d ingress before rev 3 => ok",
                                "query d ingress => ok count 3 rev 4 [x a b]"]
    assert replay(text).progs == ("x", "a", "b")


def test_closed_fd_relative_is_named_by_id(tmp_path):
    s = tmp_path / "s.mprog"
    s.write_text("dev_add d\nload a\nload b\nattach a d ingress\nattach b d ingress\nclose a\n")
    state = P.state_from_script(str(s), "d:ingress")
    ds = parse_directives("x: AFTER a, BEFORE b\n", "w.dirs", state.progs)
    plan = P.synthesize(state, ds)
    text = P.script_text(state, ds, plan)
    assert plan_lines(text)[-2:] == ["attach x d ingress after id a rev 3 => ok",
                                     "query d ingress => ok count 3 rev 4 [a x b]"]
    assert replay(text).progs == ("a", "x", "b")


# --------------------------------------------------------------------------
# Brute force cross-check

@st.composite
def plan_cases(draw):
    """A JSON state of 0..5 programs (some link-owned) and a want file over
    them and 0..2 new programs (6 at most in all): mostly BEFORE/AFTER, so
    that many cases need moves and some are impossible."""
    k = draw(st.integers(0, 5))
    existing = [f"e{i}" for i in range(k)]
    links = [draw(st.sampled_from([None, None, None, f"l{i}"])) for i in range(k)]
    new = [f"n{i}" for i in range(draw(st.integers(0 if k else 1, min(2, 6 - k))))]
    names = existing + new
    lines = []
    for p in names:
        if p in existing and draw(st.integers(0, 2)) == 0:
            continue
        others = [q for q in names if q != p] or [p]
        one = st.sampled_from(["FIRST", "LAST"] + [f"{k} {q}" for q in others for k in ("BEFORE", "AFTER")] * 3)
        ds = draw(st.lists(one, max_size=1 if p in existing else 2, unique=True))
        lines.append(f"{p}: {', '.join(ds)}")
    low = k + 1 if k else 1
    rev = draw(st.sampled_from([low, low + 2, low + 3]))
    return {"progs": existing, "links": links, "revision": rev}, "\n".join(lines) + "\n"


def brute_moves(state, ds):
    """Fewest moved programs over all satisfying final orders, or None."""
    existing = list(state.progs)
    fixed = {p for p, l in state.slots if l is not None}
    allp = existing + [p for p in ds.names if p not in existing]
    best = None
    for perm in itertools.permutations(allp):
        if not ds.holds(perm):
            continue
        pos = {p: i for i, p in enumerate(perm)}
        for r in range(len(existing), -1, -1):
            if best is not None and len(existing) - r >= best:
                break
            if any(fixed <= set(c) and all(pos[a] < pos[b] for a, b in zip(c, c[1:]))
                   for c in itertools.combinations(existing, r)):
                best = len(existing) - r
                break
    return best


@given(plan_cases())
def test_plan_is_minimal_and_replays(case):
    doc, want = case
    state, ds, plan = make(doc, want)
    best = brute_moves(state, ds)
    if best is None:
        assert plan.status == "none" and plan.core
        return
    assert plan.status == "found"
    assert len(plan.moved) == best
    assert plan.requests == 2 * best + len(plan.new)
    q = replay(P.script_text(state, ds, plan))
    assert q.progs == plan.order and ds.holds(q.progs)
    assert q.revision == doc["revision"] + plan.requests
    # link-owned slots keep their owner
    assert {(p, l) for p, l in state.slots if l} <= set(zip(q.progs, q.links))


# --------------------------------------------------------------------------
# Bad input

@pytest.mark.parametrize("doc,message", [
    ({"progs": ["a", "b"], "revision": 2}, "revision 2 is not reachable with 2 programs on the hook "
                                           "(each attach bumps it once from 1)"),
    ({"progs": [], "revision": 2}, "revision 2 is not reachable with 0 programs on the hook (each "
                                   "attach bumps it once from 1; an emptied hook is at 3 or more)"),
    ({"progs": ["a"], "revison": 2}, "unknown key 'revison' (did you mean 'revision'?)"),
    ({"progs": ["a", "a"], "revision": 3}, "\"progs\" names a program twice (a program sits at most "
                                           "once on a hook)"),
    ({"progs": ["a"], "links": [], "revision": 2}, "\"links\" must list, for each program, its "
                                                   "link's name or null"),
    ({"progs": ["a"], "links": ["a"], "revision": 2}, "link names must be distinct from each other "
                                                      "and from the programs"),
])
def test_bad_state(doc, message):
    with pytest.raises(BadInput) as e:
        from_json(doc)
    assert e.value.message == message and e.value.path == "state.json"


def test_bad_json_location():
    with pytest.raises(BadInput) as e:
        P.state_from_json("s.json", '{"progs": ["a"],\n "revision": }\n')
    assert (e.value.line, e.value.column) == (2, 14)


def test_want_names_a_link(tmp_path):
    state = P.state_from_script(str(TOUR), "veth0:ingress")
    ds = parse_directives("lb_link: FIRST\n", "w.dirs", state.progs)
    with pytest.raises(BadInput, match="'lb_link' is a link in .*tour.mprog, not a program"):
        P.synthesize(state, ds)


def test_want_unknown_reference_has_did_you_mean():
    with pytest.raises(BadInput, match=r"unknown program 'mn' \(did you mean 'mon'\?\)"):
        parse_directives("x: AFTER mn\n", "w.dirs", ("mon", "fw"))


# --------------------------------------------------------------------------
# CLI

def test_cli_plan_prints_a_runnable_script(tmp_path):
    code, out, err = run_cli("plan", "--from", TOUR, "--hook", "veth0:ingress",
                             "--want", EXAMPLES / "tour-want.dirs")
    assert code == 0 and err == ""
    assert "# verified on the model backend: final [fw mon lb] rev 8" in out.splitlines()
    q = replay(out)
    assert (q.progs, q.revision) == (("fw", "mon", "lb"), 8)


def test_cli_plan_output_file(tmp_path):
    st_file = tmp_path / "s.json"
    st_file.write_text(json.dumps({"progs": ["a", "b", "c"], "revision": 4}))
    want = tmp_path / "w.dirs"
    want.write_text("c: FIRST\n")
    o = tmp_path / "plan.mprog"
    code, out, _ = run_cli("plan", "--state", st_file, "--want", want, "-o", o)
    assert code == 0
    assert out.splitlines() == [
        "plan for d0 ingress: 2 hook requests, rev 4 -> 6",
        "  wanted order: c a b",
        "  moved (detach + re-attach): c; new: none",
        f"  written to {o}",
        "verified on the model backend: final [c a b] rev 6",
    ]
    assert replay(o.read_text()).progs == ("c", "a", "b")


def test_cli_no_plan_exit_1(tmp_path):
    st_file = tmp_path / "s.json"
    st_file.write_text(json.dumps({"progs": ["a", "b"], "links": ["la", "lb"], "revision": 3}))
    want = tmp_path / "w.dirs"
    want.write_text("b: BEFORE a\n")
    code, out, _ = run_cli("plan", "--state", st_file, "--want", want)
    assert code == 1
    assert out.splitlines() == [
        "no plan for d0 ingress: no order satisfies the directives; a minimal set of conflicts:",
        f"    {want}:1:4: b: BEFORE a",
        "    a is owned by link la: the prog API cannot move it",
        "    b is owned by link lb: the prog API cannot move it",
        "  link-owned programs cannot be moved through the prog API (BPF_PROG_DETACH on a link's "
        "slot fails with EBUSY, rule detach/link-owned); only their owner can detach the link",
    ]


@pytest.mark.parametrize("argv,needle", [
    (["--from", TOUR, "--want", EXAMPLES / "tour-want.dirs"], "--from needs --hook DEV:DIR"),
    (["--from", TOUR, "--hook", "veth0:ingres", "--want", EXAMPLES / "tour-want.dirs"],
     "did you mean 'ingress'?"),
    (["--from", TOUR, "--hook", "veth1:ingress", "--want", EXAMPLES / "tour-want.dirs"],
     "device 'veth1' is not present at the end of the script (did you mean 'veth0'?)"),
])
def test_cli_bad_input_exit_2(argv, needle):
    code, out, err = run_cli("plan", *argv)
    assert code == 2 and out == "" and needle in err


def test_cli_unknown_exit_3(monkeypatch, tmp_path):
    monkeypatch.setattr(z3.Solver, "check", lambda self, *a: z3.unknown)
    code, out, _ = run_cli("plan", "--from", TOUR, "--hook", "veth0:ingress",
                           "--want", EXAMPLES / "tour-want.dirs")
    assert code == 3 and out.startswith("unknown: no answer for veth0 ingress")


# --------------------------------------------------------------------------
# The live kernel (skipped where bpf(2)/namespaces are unavailable)

def _kernel_reason():
    try:
        from checker.kernel import kernel_available
    except Exception as e:       # pragma: no cover
        return str(e)
    return kernel_available()


@pytest.mark.kernel
@pytest.mark.skipif(_kernel_reason() is not None, reason=str(_kernel_reason()))
def test_plan_verified_on_the_kernel(tmp_path):
    st_file = tmp_path / "s.json"
    st_file.write_text(json.dumps({"progs": ["a", "b", "c"], "links": ["la", None, "lc"], "revision": 6}))
    want = tmp_path / "w.dirs"
    want.write_text("b: FIRST\nn: AFTER a, BEFORE c\n")
    code, out, err = run_cli("plan", "--state", st_file, "--want", want, "--backend", "kernel")
    assert code == 0, err
    assert "# verified on the kernel backend: final [b a n c] rev 9" in out.splitlines()
