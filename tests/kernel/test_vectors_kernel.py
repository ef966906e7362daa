"""The published suite on the live kernel (issue 10): every vector of a
dialect the kernel runs passes through the Python backend and through the
emitted C test (compiled with the machine's gcc, -Wall -Werror), and a
planted wrong expectation makes the C test report it and exit non-zero."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from checker import dialects
from checker.kernel import kernel_available
from checker.suite.emit_c import emit
from checker.suite.replay import replay

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
SUITE = REPO / "vectors"
MANIFEST = json.loads((SUITE / "manifest.json").read_text())
KERNEL_DIALECTS = [n for n in MANIFEST["dialects"] if dialects.get(n).kernel == "tcx"]
# The dialects the emitted C test runs (tcx and cgroup), and those the
# Python kernel backend replays here.
C_DIALECTS = [n for n in MANIFEST["dialects"] if dialects.get(n).kernel in ("tcx", "cgroup")]
GCC = shutil.which("gcc")

pytestmark = pytest.mark.skipif(kernel_available() is not None, reason=str(kernel_available()))


def _kernel_reason(name: str):
    from checker.suite.confirm import kernel_reason
    return kernel_reason(name)


@pytest.mark.parametrize("name", C_DIALECTS)
def test_the_suite_replays_100_percent_on_the_kernel(name, expedited_rcu):
    if _kernel_reason(name) is not None:
        pytest.skip(_kernel_reason(name))
    results = list(replay(str(SUITE / name), "kernel"))
    bad = [(r.path, r.lines[:4]) for r in results if r.status != "passed"]
    assert bad == []
    assert len(results) == MANIFEST["dialects"][name]["vectors"]


def _compile(c_text: str, tmp_path) -> pathlib.Path:
    if GCC is None:
        pytest.skip("gcc is not installed (bash .ci/run installs it)")
    src, exe = tmp_path / "mprog_vectors.c", tmp_path / "mprog_vectors"
    src.write_text(c_text)
    p = subprocess.run([GCC, "-Wall", "-Werror", "-O1", "-o", str(exe), str(src)], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr[:3000]
    return exe


def test_emitted_c_compiles_with_wall_werror_and_passes_on_the_kernel(tmp_path, expedited_rcu):
    if _kernel_reason("cgroup") is not None:
        pytest.skip(_kernel_reason("cgroup"))
    text, n, left_out = emit(str(SUITE))
    assert n == sum(MANIFEST["dialects"][k]["vectors"] for k in C_DIALECTS)
    assert left_out == sum(d["vectors"] for k, d in MANIFEST["dialects"].items() if k not in C_DIALECTS)
    exe = _compile(text, tmp_path)
    p = subprocess.run([str(exe)], capture_output=True, text=True, timeout=1200)
    lines = p.stdout.splitlines()
    assert lines[-1] == f"{n} passed, 0 failed", "\n".join(l for l in lines if not l.startswith("ok "))[:3000]
    assert p.returncode == 0
    assert sum(l.startswith("ok   ") for l in lines) == n
    # A filter runs only the matching vectors.
    p = subprocess.run([str(exe), "linux/dev_del/"], capture_output=True, text=True, timeout=120)
    assert p.stdout.splitlines()[-1] == f"{len(list((SUITE / 'linux' / 'dev_del').glob('*.json')))} passed, 0 failed"
    # Nothing of the cgroup vectors is left in the cgroup2 mount.
    from checker.kernel.cgroup import cgroup2_mount
    assert not [p for p in os.listdir(cgroup2_mount()) if p.startswith("mprog-c-")]


def test_emitted_c_reports_planted_wrong_cgroup_expectations(tmp_path):
    """An owner, a mode and an errno the kernel does not answer."""
    if _kernel_reason("cgroup") is not None:
        pytest.skip(_kernel_reason("cgroup"))
    d = tmp_path / "v"
    d.mkdir()
    src = next(p for p in sorted((SUITE / "cgroup" / "link_create").glob("attach-insert.*.json"))
               if any(s["op"] == "query" and None in s["expect"].get("links", [None])
                      and any(s["expect"].get("links", [])) for s in json.loads(p.read_text())["steps"]))
    shutil.copy(src, d / "a.json")
    doc = json.loads(src.read_text())
    qi = max(i for i, s in enumerate(doc["steps"]) if s["op"] == "query" and any(s["expect"].get("links", [])))
    links = doc["steps"][qi]["expect"]["links"]
    j = next(k for k, l in enumerate(links) if l is not None)
    links[j] = None                                            # a link's entry as a prog-API one
    (d / "b.json").write_text(json.dumps(doc))
    doc = json.loads(src.read_text())
    doc["steps"][qi]["expect"]["mode"] = "override"            # wrong mode (the list is multi)
    (d / "c.json").write_text(json.dumps(doc))
    doc = json.loads(src.read_text())
    ai = next(i for i, s in enumerate(doc["steps"]) if s["op"] == "cgroup_add")
    doc["steps"][ai]["expect"]["errno"] = "EEXIST"             # wrong errno
    (d / "e.json").write_text(json.dumps(doc))
    text, n, _ = emit(str(d))
    exe = _compile(text, tmp_path)
    p = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    out = p.stdout
    assert p.returncode == 1, out
    assert "ok   a.json" in out
    assert f"FAIL b.json: step {qi}: query " in out and f"  entry {j}: expected " in out \
        and "owned by the prog API" in out.split("FAIL b.json")[1]
    assert f"FAIL c.json: step {qi}: query " in out and "  mode: expected 1, got 2" in out
    assert f"FAIL e.json: step {ai}: cgroup_add " in out and "  errno: expected EEXIST, got ok" in out
    assert out.splitlines()[-1] == "1 passed, 3 failed"
    from checker.kernel.cgroup import cgroup2_mount
    assert not [p for p in os.listdir(cgroup2_mount()) if p.startswith("mprog-c-")]


def test_emitted_c_reports_a_planted_wrong_expectation(tmp_path, expedited_rcu):
    d = tmp_path / "v"
    d.mkdir()
    shutil.copy(SUITE / "linux/attach/insert.n1.rel-prog-fd.relpos-first.after.json", d / "a.json")
    doc = json.loads((SUITE / "linux/attach/full.n63.json").read_text())
    step = next(i for i, s in enumerate(doc["steps"]) if s["expect"]["errno"] == "ERANGE")
    doc["steps"][step]["expect"]["errno"] = "EEXIST"          # wrong errno
    (d / "b.json").write_text(json.dumps(doc))
    doc = json.loads((d / "a.json").read_text())
    q = next(s for s in reversed(doc["steps"]) if len(s["expect"].get("progs", [])) > 1)
    q["expect"]["progs"].reverse()                             # wrong order
    q["expect"]["links"].reverse()
    (d / "c.json").write_text(json.dumps(doc))
    doc = json.loads((d / "a.json").read_text())
    q = next(s for s in reversed(doc["steps"]) if "revision" in s["expect"])
    q["expect"]["revision"] += 1                               # wrong revision
    (d / "e.json").write_text(json.dumps(doc))
    text, n, _ = emit(str(d))
    exe = _compile(text, tmp_path)
    p = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    out = p.stdout
    assert p.returncode == 1
    assert "ok   a.json" in out
    assert f"FAIL b.json: step {step}: attach p4 lo ingress\n  errno: expected EEXIST, got ERANGE" in out
    assert "FAIL c.json: step 5: query lo ingress\n  entry 0: expected p4" in out
    assert "FAIL e.json: step" in out and "  revision: expected" in out
    assert out.splitlines()[-1] == "1 passed, 3 failed"


def test_plugin_runs_vectors_on_the_kernel(tmp_path, expedited_rcu):
    proj = tmp_path / "proj"
    (proj / "v").mkdir(parents=True)
    for p in sorted((SUITE / "linux" / "link_update").glob("replace.*.json"))[:3]:
        shutil.copy(p, proj / "v")
    shutil.copy(SUITE / "rfc/dev_del/device-del-loopback.dev-lo.json", proj / "v" / "rfc.json")
    (proj / "v" / ".mprog-vectors").write_text("")
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs",
                        "--mprog-backend", "kernel"], capture_output=True, text=True, cwd=proj)
    assert p.returncode == 0, p.stdout[-2000:]
    assert "3 passed, 1 skipped" in p.stdout and "cannot run dialect rfc" in p.stdout


def test_a_kernel_disagreement_stops_generation_and_writes_nothing(tmp_path, monkeypatch, capsys,
                                                                   expedited_rcu):
    """The executor is the source of the expectations; the kernel must agree
    with each one, or nothing is written (here an executor copy that answers
    EEXIST where the kernel answers ERANGE, on a full hook)."""
    import argparse

    from checker.cli import vectors as cli
    from checker.model import Expect
    from checker.suite import generate as G
    from checker.syntax.vectors import read_vector

    path = "linux/attach/full.n63.json"
    script = read_vector(path, (SUITE / path).read_text())
    i = next(k for k, s in enumerate(script.steps) if s.expect.errno == "ERANGE")
    steps = list(script.steps)
    steps[i] = steps[i].__class__(**{**{f: getattr(steps[i], f) for f in steps[i].__slots__},
                                     "expect": Expect("EEXIST")})
    wrong = G.Vector(path, script.__class__(tuple(steps), dialect="linux"), "attach", "attach/full",
                     ("attach/full",), i)
    suite = G.DialectSuite("linux", vectors=[wrong], candidates=1, n_max=63)
    monkeypatch.setattr(G, "generate_dialect", lambda name: suite)
    out = tmp_path / "suite"
    args = argparse.Namespace(out=str(out), dialect=["linux"], kernel="auto", expedited_rcu=False)
    assert cli.cmd_generate(args) == 1
    err = capsys.readouterr().err
    assert "the kernel disagrees with the executor; generation stopped, nothing written" in err
    assert f"{path}: step {i}: attach p4 lo ingress" in err
    assert "errno: expected EEXIST, got ERANGE (expected: the executor, got: the kernel)" in err
    assert not out.exists()
