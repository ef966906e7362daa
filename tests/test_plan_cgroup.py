"""mprog plan on a cgroup list (checker.smt.plan_cgroup): plans order the
run order of the cgroup's own list, keep PREORDER programs first, anchor
every attach on a prog-API entry of the same PREORDER group, and replay
(setup + plan) on the executor."""
from __future__ import annotations

from checker.exec import Executor
from checker.runner import run_steps
from checker.smt import plan as P
from checker.syntax.directives import read_directives
from checker.syntax.script import read_script

from corpus import REPO, run_solve_cli

START = REPO / "examples" / "cgroup" / "plan-start.mprog"
WANT = REPO / "examples" / "directives" / "cgroup-want.dirs"
HOOK = "svc:cgroup_inet_egress"


def _want(tmp_path, text, state):
    f = tmp_path / "w.dirs"
    f.write_text(text)
    return read_directives(str(f), known=state.progs)


def test_plan_moves_the_fewest_and_replays(tmp_path):
    state = P.state_from_script(str(START), HOOK)
    assert state.dialect == "cgroup" and state.preorder == {"mon"}
    ds = read_directives(str(WANT), known=state.progs)
    plan = P.synthesize(state, ds)
    assert plan.status == "found"
    assert plan.order == ("mon", "lb", "fw", "policer")
    assert plan.moved == ("fw",) and plan.new == ("policer",) and plan.requests == 3
    assert (plan.start_revision, plan.final_revision) == (4, 7)
    v = P.verify(state, ds, plan)
    assert v.ok and v.final == ("mon", "lb", "fw", "policer"), v.failures
    text = P.script_text(state, ds, plan)
    script = read_script("plan.mprog", text)
    assert script.dialect == "cgroup"
    assert all(r.passed for r in run_steps(script.steps, Executor("cgroup")))
    assert "query svc cgroup_inet_egress effective => ok count 5 rev 0 [mon lb fw policer tap]" in text


def test_preorder_is_a_tracked_constraint(tmp_path):
    state = P.state_from_script(str(START), HOOK)
    plan = P.synthesize(state, _want(tmp_path, "fw: FIRST\n", state))
    assert plan.status == "none"
    assert {getattr(c, "text", c) for c in plan.core} == {
        "fw: FIRST", "mon: PREORDER (runs before every program without it)"}


def test_new_programs_join_their_group_and_anchor_on_prog_api_entries(tmp_path):
    state = P.state_from_script(str(START), HOOK)
    plan = P.synthesize(state, _want(tmp_path, "x: BEFORE lb\n", state))
    assert plan.status == "found" and plan.order == ("mon", "fw", "x", "lb")
    attach = [s for s in plan.steps if s.op == "attach"]
    assert [(s.prog, s.flags, s.relative) for s in attach] == [("x", ("ALLOW_MULTI", "AFTER"), "fw")]


def test_no_anchor_between_two_links(tmp_path):
    src = tmp_path / "s.mprog"
    src.write_text("dialect cgroup\ncgroup_add cg\nload a\nload b\nload c\n"
                   "link_create la a cg cgroup_inet_egress\nlink_create lb b cg cgroup_inet_egress\n"
                   "attach c cg cgroup_inet_egress flags=ALLOW_MULTI\n")
    state = P.state_from_script(str(src), "cg:cgroup_inet_egress")
    plan = P.synthesize(state, _want(tmp_path, "c: BEFORE b\nc: AFTER a\n".replace("\nc:", ","), state))
    assert plan.status == "none"
    assert "between a and b, both owned by links" in plan.reason


def test_a_list_in_mode_none_is_not_ordered(tmp_path):
    src = tmp_path / "s.mprog"
    src.write_text("dialect cgroup\ncgroup_add cg\nload a\nattach a cg cgroup_getsockopt\n"
                   .replace("load a", "load a type cgroup_sockopt expected cgroup_getsockopt"))
    state = P.state_from_script(str(src), "cg:cgroup_getsockopt")
    plan = P.synthesize(state, _want(tmp_path, "b: AFTER a\n", state))
    assert plan.status == "none" and "mode none" in plan.reason


def test_cli(tmp_path):
    code, out, err = run_solve_cli("plan", "--from", START, "--hook", HOOK, "--want", WANT)
    assert code == 0, err
    assert out.splitlines()[3] == "# verified on the model backend: final [mon lb fw policer] rev 7"
    assert out.splitlines()[4] == "dialect cgroup"
    code, out, err = run_solve_cli("plan", "--from", START, "--hook", "svc:cgroup_inet_egres",
                                   "--want", WANT)
    assert code == 2 and "did you mean 'cgroup_inet_egress'" in err
