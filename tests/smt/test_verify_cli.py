"""``mprog verify`` (checker.cli.verify) through an argparse built here."""
from __future__ import annotations

import argparse
import json

import pytest

from checker.cli import verify as verify_cli


def _run(*argv) -> int:
    """``mprog verify`` in this process (``--jobs 1`` unless given: the
    proof functions a test replaces run here, not in a worker)."""
    p = argparse.ArgumentParser(prog="mprog")
    sub = p.add_subparsers(dest="cmd", required=True)
    verify_cli.register(sub)
    args = p.parse_args(["verify", *(() if "--jobs" in argv else ("--jobs", "1")), *argv])
    return args.func(args)


FEW_OPS = ("query", "clsact_del")


def _few_ops(monkeypatch, **kw):
    """The real proofs, on two ops only (the full run is `mprog verify`):
    the jobs of the other ops report nothing."""
    from checker import smt
    real = smt.verify_equivalence

    def few(n, t, ops=None, **d):
        ops = [op for op in ops or FEW_OPS if op in FEW_OPS]
        return real(n, t, ops=ops, **kw, **d) if ops else []
    monkeypatch.setattr(smt, "verify_equivalence", few)


def test_proved_exits_0(capsys, monkeypatch):
    _few_ops(monkeypatch)
    assert _run("--only", "equivalence", "--n-max", "4") == 0
    out = capsys.readouterr().out
    assert "proved    coverage:query:exactly-one-rule N=4" in out and "equivalence N=4" in out


def test_unknown_exits_3(capsys, monkeypatch):
    from checker import smt
    from checker.smt.equiv import Report
    monkeypatch.setattr(smt, "verify_equivalence", lambda n, t, ops, **d: [
        Report("equivalence", op, "x", "unknown", n, detail="timeout") for op in ops if op == "attach"])
    assert _run("--only", "equivalence", "--n-max", "1", "--timeout", "0.001", "--json") == 3
    rep = json.loads(capsys.readouterr().out)["reports"]
    assert [r["status"] for r in rep] == ["unknown"]


def test_bad_arguments_exit_2(capsys):
    from checker.cli import main
    for argv in (["--n-max", "64"], ["--depth", "0"], ["--exhaustive-n", "-2"],
                 ["--out", "/dev/null"]):
        assert main(["verify", *argv]) == 2
        err = capsys.readouterr().err
        assert (argv[0] in err or argv[1] in err) and "Traceback" not in err
    with pytest.raises(SystemExit) as e:
        _run("--only", "nothing")
    assert e.value.code == 2


def test_violation_exits_1_and_writes_the_counterexample(tmp_path, monkeypatch, capsys):
    from checker import smt
    from checker.smt.equiv import Report
    script = "dialect linux\ndev_add veth0 => ok\nquery veth0 ingress => ok count 0 rev 1 []\n"
    bad = Report("equivalence", "attach", "x", "violated", 1, script=script)
    monkeypatch.setattr(smt, "verify_equivalence", lambda n, t, **d: [bad])
    assert _run("--only", "equivalence", "--n-max", "1", "--out", str(tmp_path)) == 1
    assert "dev_add veth0 => ok" in capsys.readouterr().out
    assert (tmp_path / "counterexample-1.mprog").read_text() == script
    assert json.loads((tmp_path / "counterexample-1.json").read_text())["steps"]


def test_dialect_option(capsys, monkeypatch):
    _few_ops(monkeypatch)
    assert _run("--dialect", "rfc", "--only", "equivalence", "--n-max", "2") == 0
    out = capsys.readouterr().out
    assert "mprog verify (rfc)" in out and "proved    coverage:query:exactly-one-rule N=2" in out
    from checker.cli import main
    assert main(["verify", "--dialect", "rfx"]) == 2
    err = capsys.readouterr().err
    assert "--dialect" in err and "dialect 'rfx' has no z3 encoding (encoded: linux, rfc" in err


def test_expected_refutation_exits_0_and_is_printed(capsys, monkeypatch, tmp_path):
    from checker import smt
    from checker.smt.equiv import Report
    script = "dialect rfc\ndev_add veth0 => ok\nquery veth0 ingress => ENOENT\n"
    monkeypatch.setattr(smt, "check_invariants", lambda d, t, **kw: [
        Report("contrast", "induction", "NO-LOCKOUT", "refuted", 63, script=script)])
    assert _run("--dialect", "rfc", "--only", "invariants", "--out", str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "refuted as expected, NO-LOCKOUT (rfc does not have it):" in out and "ENOENT" in out
    assert (tmp_path / "refuted-NO-LOCKOUT.mprog").read_text() == script
    monkeypatch.setattr(smt, "check_invariants", lambda d, t, **kw: [
        Report("contrast", "induction", "NO-LOCKOUT", "unrefuted", 63, detail="no counterexample")])
    assert _run("--dialect", "rfc", "--only", "invariants") == 1
    assert "expected to fail in rfc and did not" in capsys.readouterr().out


def test_largest_bound_is_proved_and_the_bounds_between_are_sampled(capsys, monkeypatch):
    """--n-max 32: the proof at N = 32 covers every smaller bound; N = 4 is
    proved too, and N = 32's classes sample hooks of 8 and 16 slots."""
    from checker import smt
    from checker.smt.equiv import Problem
    calls = []
    monkeypatch.setattr(smt, "verify_equivalence",
                        lambda n, t, **d: calls.append((n, d.get("sizes", ()), *d["ops"])) or [])
    assert _run("--only", "equivalence", "--n-max", "32") == 0
    ops = smt.encoding("linux").OPS        # one job per op, N = 4's first
    assert calls == [(4, (), op) for op in ops] + [(32, (8, 16), op) for op in ops]
    names = [name for name, _ in Problem("attach", 32, sizes=(8, 16)).atoms()]
    assert "n=8" in names and "n=16" in names


def test_every_encoded_dialect_runs_through_verify(capsys, monkeypatch):
    """The command line reaches each dialect's proofs (netkit's by exhaustion,
    cgroup's own classes), here on the cheapest op; the proofs themselves are
    tested in their modules."""
    from checker import dialects, smt
    from checker.smt import netkit_verify
    real = netkit_verify.verify_exhaustive
    monkeypatch.setattr(netkit_verify, "verify_exhaustive",
                        lambda n, t, **kw: real(n, t, ops=("query",), step_fn=kw.get("step_fn")))
    _few_ops(monkeypatch)
    for name, d in dialects.registry().items():
        if not d.encoding or name == "cgroup":   # cgroup: tests/smt/test_cgroup_z3.py runs it
            continue
        assert _run("--dialect", name, "--only", "equivalence", "--n-max", "0") == 0, name
        out = capsys.readouterr().out
        assert f"mprog verify ({name})" in out, out
    assert smt.own_proofs("netkit") is netkit_verify


def test_jobs_do_not_change_the_reports(capsys):
    """--jobs 2 runs the per-op jobs in two worker processes; the reports,
    their order and the exit status are those of --jobs 1."""
    def lines(jobs):
        assert _run("--only", "equivalence", "--n-max", "1", "--jobs", jobs, "--json") == 0
        return [(r["check"], r["op"], r["case"], r["status"], r["detail"], bool(r["rules"]))
                for r in json.loads(capsys.readouterr().out)["reports"]]
    one = lines("1")
    assert len(one) > 100 and {r[1] for r in one} >= {"attach", "detach", "query"}
    # A minimized unsat core is one of possibly several: which one z3
    # returns depends on what the process solved before, so only its
    # presence is compared.
    assert lines("2") == one


def test_bad_jobs_exit_2(capsys):
    from checker.cli import main
    assert main(["verify", "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err
