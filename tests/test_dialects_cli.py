"""``mprog dialects list`` and ``mprog dialects diff`` (checker.dialect_diff):
the registry as printed, the pre-fix differences of linux-6.6-rc found, and
every printed script replaying on its dialect with the printed answers."""
from __future__ import annotations

import io
import json
import re

import pytest

from checker import dialects
from checker.cli import build_parser
from checker.dialect_diff import diff
from checker.exec import Executor
from checker.runner import run_steps
from checker.syntax.render import render_script
from checker.syntax.script import read_script

SCRIPT_HEAD = re.compile(r"^# ==== \d+: .*====$", re.M)


def mprog(*argv):
    """(exit status, stdout, stderr) of ``mprog argv`` in-process."""
    args = build_parser().parse_args([str(a) for a in argv])
    out, err = io.StringIO(), io.StringIO()
    if args.func.__name__ == "cmd_list":
        code = args.func(args, out)
    else:
        code = args.func(args, out, err)
    return code, out.getvalue(), err.getvalue()


def replays(text: str) -> None:
    """The script replays on its own dialect with every expectation holding."""
    script = read_script("<printed>", text)
    failures = [f"{r.step.line}: {r.failures}" for r in run_steps(script.steps, Executor(script.dialect))
                if not r.passed]
    assert failures == [], text
    assert all(s.expect is not None for s in script.steps)


def test_list_names_every_dialect_with_its_rules():
    code, out, _ = mprog("dialects", "list")
    assert code == 0
    for d in dialects.registry().values():
        assert f"{d.name}: {d.summary}" in out
    assert "  rules:          89\n" in out
    assert "  rules:          90, 4 changed from linux: attach/full detach/empty hook/overfull query/no-entry\n" in out
    assert "  z3 encoding:    checker.smt.linux_66rc; spec: spec/linux-6.6-rc/\n" in out
    assert "kernel backend: none (model only; --backend kernel refuses it)" in out
    code, out, _ = mprog("dialects", "list", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["linux-6.6-rc"]["parent"] == "linux" and rows["linux-6.6-rc"]["kernel_backend"] is None
    assert rows["linux"]["flags"]["ID"] == 0x20 and rows["linux"]["rules"] == 89


@pytest.fixture(scope="module")
def rc_report():
    return diff("linux", "linux-6.6-rc", depth=3)


def test_diff_finds_each_pre_fix_difference(rc_report):
    got = {d.rules: (d.answers_a[-1].errno, d.answers_b[-1].errno, d.depth) for d in rc_report.divergences}
    # edfa9af0a73e: a query of a hook without a bundle
    assert got[("query/no-entry", "query/no-entry")] == ("ok", "ENOENT", 2)
    # d210f9735e13: positional detach from an empty bundle (clsact), and the
    # checks the empty-list check used to hide
    assert got[("detach/empty", "detach/empty")] == ("ENOENT", "UNDEFINED", 3)
    assert got[("detach/empty", "detach/relative-without-position")] == ("ENOENT", "EINVAL", 3)
    # f9b0e1088bbf: a full hook takes a 64th program; a missing relative is ENOENT
    assert got[("attach/full", "attach/insert")] == ("ERANGE", "ok", 3)
    assert got[("attach/full", "attach/before-missing")] == ("ERANGE", "ENOENT", 3)
    assert rc_report.complete and len(got) == len(rc_report.divergences)


def test_every_divergence_is_shortest_and_replays_on_both(rc_report):
    for d in rc_report.divergences:
        a, b = d.script("a"), d.script("b")
        assert [s.op for s in a.steps] == [s.op for s in b.steps]
        for script in (a, b):
            results = list(run_steps(script.steps, Executor(script.dialect)))
            assert all(r.passed for r in results), (d.rules, script.dialect)
        # Every step before the last answers alike: the last is the first divergence.
        assert [(x.errno, x.query) for x in d.answers_a[:-1]] == [(x.errno, x.query) for x in d.answers_b[:-1]]
        assert (d.answers_a[-1].errno, d.answers_a[-1].query) != (d.answers_b[-1].errno, d.answers_b[-1].query)
    # Breadth-first: a search to depth 2 finds exactly the divergences of at
    # most 2 requests (and those witnessed by a query after 2 requests).
    shallow = {d.rules: d.depth for d in diff("linux", "linux-6.6-rc", depth=2).divergences}
    deep = {d.rules: d.depth for d in rc_report.divergences}
    assert {r for r, k in deep.items() if k <= 2} <= set(shallow) <= set(deep)
    assert all(deep[r] == k for r, k in shallow.items())


@pytest.fixture(scope="module")
def rfc_report():
    return diff("linux", "rfc", depth=3)


def _by_rules(report) -> dict:
    return {d.rules: d for d in report.divergences}


def test_diff_linux_rfc_finds_the_proposal_s_differences(rfc_report):
    got = _by_rules(rfc_report)
    answers = {k: (d.answers_a[-1].errno, d.answers_b[-1].errno) for k, d in got.items()}
    # The same bits, different meanings: 0x20 is mainline's ID and rfc's FIRST.
    d = got[("relative/id-unknown", "attach/first")]
    assert d.steps_a[-1].flags == d.steps_b[-1].flags == (0x20,)
    assert "flags=0x20 is ID in linux, FIRST in rfc" in d.legend
    # Lock-out: a FIRST|LAST holder (each dialect's FIRST and LAST request)
    # refuses every later attach; a FIRST holder refuses another FIRST.
    d = got[("attach/insert", "attach/locked")]
    assert answers[d.rules] == ("ok", "EBUSY")
    assert any(line.startswith("directive FIRST|LAST: linux writes 'attach p1 d0 ingress before', "
                               "rfc 'attach p1 d0 ingress first last'") for line in d.legend)
    assert answers[("attach/insert", "attach/first-taken")] == ("ok", "EBUSY")
    assert answers[("attach/insert", "attach/last-taken")] == ("ok", "EBUSY")
    # The full-hook errno (a fill, then one more append).
    assert answers[("attach/full", "attach/full")] == ("ERANGE", "ENOSPC")
    # REPLACE: with a position flag, of the program by itself.
    assert answers[("attach/after-conflict", "attach/replace-flags")] == ("ERANGE", "EINVAL")
    assert answers[("attach/prog-exists", "attach/replace")] == ("EEXIST", "ok")
    # A pin is part of what a query shows.
    assert any(d.answers_b[-1].query is not None and any(d.answers_b[-1].query.flags)
               for d in rfc_report.divergences)


def test_every_linux_rfc_script_replays_on_its_dialect(rfc_report):
    for d in rfc_report.divergences:
        for which in ("a", "b"):
            script = d.script(which)
            text = render_script(script)
            replays(text)


def test_printed_scripts_replay_on_their_dialects():
    code, out, _ = mprog("dialects", "diff", "linux", "linux-6.6-rc", "--depth", "3")
    assert code == 1
    assert out.startswith("mprog dialects diff linux linux-6.6-rc: 10 first divergences within depth 3\n")
    assert "       linux-6.6-rc: UNDEFINED  [detach/empty]\n" in out
    parts = SCRIPT_HEAD.split(out)[1:]
    assert len(parts) == 20
    for text in parts:
        replays(text.lstrip("\n"))
    dialects_seen = [re.search(r"^dialect (\S+)$", t, re.M).group(1) for t in parts]
    assert dialects_seen == ["linux", "linux-6.6-rc"] * 10


def test_out_dir_and_json(tmp_path):
    code, out, _ = mprog("dialects", "diff", "linux", "linux-6.6-rc", "--depth", "1", "--out", tmp_path)
    assert code == 1
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["01-linux-6.6-rc.mprog", "01-linux.mprog"]
    for p in tmp_path.iterdir():
        replays(p.read_text())
    code, out, _ = mprog("dialects", "diff", "linux", "linux-6.6-rc", "--depth", "1", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["complete"] and doc["attach_point"] == "ingress"
    (d,) = doc["divergences"]
    assert d["rules"] == {"a": "query/no-entry", "b": "query/no-entry"}
    assert d["answers"] == {"a": "ok count 0 rev 1 []  [query/no-entry]", "b": "ENOENT  [query/no-entry]"}
    replays(d["scripts"]["a"])
    replays(d["scripts"]["b"])


def test_a_dialect_against_itself_has_no_divergence():
    code, out, _ = mprog("dialects", "diff", "linux", "linux", "--depth", "2")
    assert code == 0
    assert out.startswith("mprog dialects diff linux linux: 0 first divergences within depth 2\n")


def test_max_states_stops_the_search():
    code, out, _ = mprog("dialects", "diff", "linux", "linux", "--depth", "3", "--max-states", "5")
    assert code == 3
    assert "stopped at --max-states" in out


@pytest.mark.parametrize("argv, message", [
    (("linux", "bsd"), "dialect 'bsd' is not implemented (known: linux, rfc, linux-6.6-rc, netkit, cgroup)"),
    (("linux", "linux", "--depth", "0"), "--depth must be from 1 to 8, not 0"),
    (("linux", "linux", "--max-states", "0"), "--max-states must be >= 1, not 0"),
    # tcx hooks of a device and cgroup attach points: no request runs on both.
    (("linux", "cgroup"), "dialects 'linux' and 'cgroup' have no attach point in common (linux: ingress "
                          "egress; cgroup: cgroup_inet_ingress cgroup_inet_egress ... (28)), so no request "
                          "sequence runs on both; their rules are in spec/linux/ and spec/cgroup/"),
])
def test_bad_arguments_exit_2(argv, message):
    code, out, err = mprog("dialects", "diff", *argv)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_diff_linux_netkit_compares_the_primary_hook_with_ingress():
    """netkit's own hook (Dialect.diff_hook: primary, on a netkit_add pair)
    against linux's ingress: the empty-detach order, the revision that
    survives an empty period, and the empty-query quirk; every script
    replays on its dialect, netkit's written with netkit's requests."""
    report = diff("linux", "netkit", depth=4)
    assert report.point == "ingress (linux) / primary (netkit)"
    found = _by_rules(report)
    assert sorted(found) == [("attach/insert", "attach/insert"), ("detach/replace-flag", "netkit/detach-empty"),
                             ("query/ok", "netkit/query-empty")]
    kept = found[("attach/insert", "attach/insert")]   # attach, detach, attach: netkit's bundle kept counting
    assert (kept.answers_a[-1].query.revision, kept.answers_b[-1].query.revision) == (2, 4)
    for d in report.divergences:
        assert d.steps_b[3].op == "netkit_add" and d.steps_a[3].op == "dev_add"
        assert {s.dir for s in d.steps_b if s.dir} == {"primary"}
        replays(render_script(d.script("a")))
        replays(render_script(d.script("b")))
    code, out, _ = mprog("dialects", "diff", "linux", "netkit")
    assert code == 1 and "netkit: ENOENT  [netkit/detach-empty]" in out
    assert "the netkit script (the requests as netkit writes them)" in out
