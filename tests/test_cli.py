"""The command line as a user meets it, run through ``python -m checker`` from
a directory outside the repository (so the installed package is used)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from corpus import REPO

TOUR = REPO / "examples" / "tour.mprog"


def mprog(*args, cwd):
    return subprocess.run([sys.executable, "-m", "checker", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_tour_passes_from_outside_the_repo(tmp_path):
    r = mprog("run", TOUR, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == f"ok   {TOUR}"


def test_one_wrong_expectation_exits_1_with_the_trace(tmp_path):
    text = TOUR.read_text().replace("attach mon veth0 ingress before rev 3        => ok",
                                    "attach mon veth0 ingress before rev 3        => EEXIST")
    bad = tmp_path / "wrong.mprog"
    bad.write_text(text)
    r = mprog("run", bad, cwd=tmp_path)
    assert r.returncode == 1
    out = r.stdout
    assert f"FAIL {bad}: step 9 (line 15): attach mon veth0 ingress before rev 3 => EEXIST" in out
    assert "errno: expected EEXIST, got ok" in out
    assert "rule: attach/insert" in out
    assert "trace (last 10 steps, model backend):" in out
    # later expectations still run and fail against the changed revision
    assert "Traceback" not in r.stderr


def test_malformed_script_exits_2_with_location_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.mprog"
    bad.write_text("dev_add veth0\nload p1\nattach p1 veth0 ingres => ok\n")
    out_file = tmp_path / "out.json"
    for args in (("run", bad), ("convert", bad, "-o", out_file)):
        r = mprog(*args, cwd=tmp_path)
        assert r.returncode == 2
        assert "Traceback" not in r.stderr
        lines = r.stderr.splitlines()
        assert lines[0].startswith(f"{bad}:3:17: unexpected 'ingres'; expected 'egress', 'ingress'")
        assert lines[1].strip() == "attach p1 veth0 ingres => ok"
        assert lines[2] == "    " + " " * 16 + "^"
    assert not out_file.exists()


def test_broken_vector_exits_2_with_location(tmp_path):
    v = tmp_path / "v.json"
    v.write_text('{"format": "mprog-vector", "version": 1, "steps": [\n'
                 '  {"op": "dev_add", "dev": "d"},\n  {"op": "atach", "dev": "d"}\n]}\n')
    r = mprog("run", v, cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"{v}:3:3: unknown op 'atach' (did you mean 'attach'?)")
    v.write_text('{"format": "mprog-vector", "version": 1, "steps": [}\n')
    r = mprog("run", v, cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith(f"{v}:1:52: invalid JSON: Expecting value")


def test_json_output(tmp_path):
    r = mprog("run", "--json", TOUR, cwd=tmp_path)
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["file"] == str(TOUR) and doc["passed"] is True
    steps = doc["steps"]
    assert steps[0] == {"index": 0, "line": 3, "errno": "ok", "rule": "device/add", "query": None,
                        "failures": []}
    q = [s for s in steps if s["query"]][1]
    assert q["query"] == {"count": 2, "revision": 3, "progs": ["fw", "lb"], "links": [None, "lb_link"]}
    assert [s["errno"] for s in steps if s["errno"] != "ok"] == ["ESTALE", "EBUSY", "EBUSY"]


def test_file_without_expectations_prints_trace_and_final_state(tmp_path):
    f = tmp_path / "t.mprog"
    f.write_text("dev_add d0\nload p1\nload p2\nattach p1 d0 ingress\nattach p2 d0 ingress before p1\n"
                 "attach p2 d0 egress\n")
    r = mprog("run", f, cwd=tmp_path)
    assert r.returncode == 0
    assert "step 4 (line 5): attach p2 d0 ingress before p1\n      -> ok  [attach/insert]" in r.stdout
    assert r.stdout.rstrip().endswith(
        f"{f}: final state (model backend)\n"
        "  d0 egress: count 1 rev 2 [p2]\n"
        "  d0 ingress: count 2 rev 3 [p2 p1]")


def test_convert_round_trip_through_files(tmp_path):
    j = tmp_path / "tour.json"
    s = tmp_path / "tour2.mprog"
    assert mprog("convert", TOUR, "-o", j, cwd=tmp_path).returncode == 0
    assert mprog("convert", j, "-o", s, cwd=tmp_path).returncode == 0
    assert mprog("run", j, s, cwd=tmp_path).returncode == 0
    j2 = tmp_path / "again.json"
    assert mprog("convert", s, "-o", j2, cwd=tmp_path).returncode == 0
    a, b = json.loads(j.read_text()), json.loads(j2.read_text())
    assert a["steps"] == b["steps"]


def test_script_from_a_pipe_is_checked(tmp_path):
    text = TOUR.read_text().replace("=> ok count 0 rev 1 []", "=> ok count 0 rev 7 []")
    r = subprocess.run([sys.executable, "-m", "checker", "run", "/dev/stdin"], input=text, cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "revision: expected 7, got 1" in r.stdout


def test_unreadable_file_exits_2(tmp_path):
    r = mprog("run", tmp_path / "missing.mprog", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == f"{tmp_path / 'missing.mprog'}: cannot read file: No such file or directory\n"


def test_rfc_dialect_is_refused_by_the_kernel_backend_by_name():
    """Independent of a live kernel: the dialect check names what the
    kernel implements (checker.kernel.backend._kernel_dialect)."""
    from checker.errors import BackendUnavailable
    from checker.kernel.backend import _kernel_dialect
    assert _kernel_dialect("linux", "tcx").name == "linux"
    assert _kernel_dialect("netkit", "netkit").name == "netkit"
    with pytest.raises(BackendUnavailable, match=r"implement the linux, netkit and cgroup dialects, not 'rfc' "
                                                  r"\(the 2023 proposal"):
        _kernel_dialect("rfc", "tcx")
    with pytest.raises(BackendUnavailable, match=r"dialect 'netkit' runs on the netkit backend, not the tcx one"):
        _kernel_dialect("netkit", "tcx")


def test_rfc_run_prints_stored_flags(tmp_path):
    p = tmp_path / "r.mprog"
    p.write_text("dialect rfc\ndev_add veth0\nload a\nload b\nattach a veth0 ingress first\n"
                 "link_create l b veth0 ingress last\nquery veth0 ingress\n")
    r = mprog("run", p, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "-> ok count 2 rev 3 [a{FIRST} b@l{LAST}]  [query/ok]" in r.stdout
    assert "veth0 ingress: count 2 rev 3 [a{FIRST} b@l{LAST}]" in r.stdout
    r = mprog("run", "--json", p, cwd=tmp_path)
    q = json.loads(r.stdout)["steps"][-1]["query"]
    assert q["flags"] == [["FIRST"], ["LAST"]]
