"""The multi-tenant game per dialect (``mprog solve --dialect D ...``): each
dialect's requests for the directives, arrival orders run on its executor,
side by side."""
from __future__ import annotations

import json

import pytest

from checker.smt import solve as S
from checker.syntax.directives import parse_directives, read_directives
from checker.syntax.render import render_step

from corpus import DIRECTIVES, run_solve_cli

DATAPATH = DIRECTIVES / "datapath.dirs"
TEXT = "a: FIRST, BEFORE d\nb: LAST\nc: BEFORE a\nd: AFTER a, BEFORE b\ne:\nf: FIRST, LAST\napp x: a b c d e f\n"


@pytest.mark.parametrize("dialect, want", [
    ("linux", ["attach a d0 ingress before", "attach b d0 ingress after", "attach c d0 ingress before a",
               "attach d d0 ingress after a", "attach e d0 ingress", "attach f d0 ingress before"]),
    ("linux-6.6-rc", ["attach a d0 ingress before", "attach b d0 ingress after",
                      "attach c d0 ingress before a", "attach d d0 ingress after a", "attach e d0 ingress",
                      "attach f d0 ingress before"]),
    ("rfc", ["attach a d0 ingress first", "attach b d0 ingress last", "attach c d0 ingress before a",
             "attach d d0 ingress after a", "attach e d0 ingress", "attach f d0 ingress first last"]),
])
def test_each_dialect_implements_the_directives_its_way(dialect, want):
    reqs = S.tenant_requests(parse_directives(TEXT), dialect=dialect)
    assert [render_step(r.step) for r in reqs] == want
    implemented = [[d.text for d in r.directives] for r in reqs]
    both = ["f: FIRST", "f: LAST"] if dialect == "rfc" else ["f: FIRST"]
    assert implemented == [["a: FIRST"], ["b: LAST"], ["c: BEFORE a"], ["d: AFTER a"], [], both]


def test_datapath_linux_breaks_last_rfc_keeps_the_pins():
    ds = read_directives(str(DATAPATH))
    linux, rfc = S.tenants(ds, dialect="linux"), S.tenants(ds, dialect="rfc")
    assert (linux.succeeded, rfc.succeeded) == (3, 6)
    assert [d.text for d, _ in linux.violations()] == ["mon: LAST"]
    assert rfc.violations() == []
    for a in rfc.arrivals:
        # FIRST and LAST stay where the pins put them whoever arrives later.
        progs = [p for p, _ in a.final]
        assert progs[0] == "fw" and progs[-1] == "mon" and not a.failures
        assert a.stored[0] == 0x20 and a.stored[-1] == 0x40 and set(a.stored[1:-1]) == {0}


def test_a_second_first_is_refused_under_rfc_and_accepted_under_linux():
    ds = read_directives(str(DIRECTIVES / "tenants-two-firsts.dirs"))
    linux, rfc = S.tenants(ds, dialect="linux"), S.tenants(ds, dialect="rfc")
    first_l, first_r = linux.arrivals[0], rfc.arrivals[0]
    assert first_l.apps == first_r.apps == ("cilium", "suricata", "monitor")
    assert not first_l.failures and [d.text for d, _ in first_l.violated] == ["fw: FIRST"]
    [(r, o)] = first_r.failures
    assert (r.prog, o.errno, o.rule) == ("ids", "EBUSY", "attach/first-taken")
    assert first_r.violated == () and [d.text for d in first_r.unchecked] == ["ids: FIRST"]


def test_first_and_last_locks_the_hook_under_rfc():
    ds = parse_directives("solo: FIRST, LAST\nmon:\napp a: solo\napp b: mon\n")
    linux, rfc = S.tenants(ds, dialect="linux"), S.tenants(ds, dialect="rfc")
    by_l = {a.apps: a for a in linux.arrivals}
    by_r = {a.apps: a for a in rfc.arrivals}
    # solo first: linux appends mon after it (solo: LAST broken); rfc refuses mon.
    assert [d.text for d, _ in by_l[("a", "b")].violated] == ["solo: LAST"]
    [(r, o)] = by_r[("a", "b")].failures
    assert (r.prog, o.errno, o.rule) == ("mon", "EBUSY", "attach/locked")
    # mon first: FIRST|LAST needs an empty hook under rfc.
    [(r, o)] = by_r[("b", "a")].failures
    assert (r.prog, o.errno, o.rule) == ("solo", "EBUSY", "attach/first-last-not-empty")


def test_cli_side_by_side():
    code, out, err = run_solve_cli("solve", DATAPATH, "--dialect", "linux", "--dialect", "rfc")
    assert code == 0 and err == ""
    lines = out.splitlines()
    start = lines.index("  arrival order          linux  rfc")
    assert lines[start:start + 8] == [
        "  arrival order          linux  rfc",
        "  cilium monitor tracer  FAIL   ok",
        "  cilium tracer monitor  ok     ok",
        "  monitor cilium tracer  FAIL   ok",
        "  monitor tracer cilium  FAIL   ok",
        "  tracer cilium monitor  ok     ok",
        "  tracer monitor cilium  ok     ok",
        "  succeed                3/6    6/6"]
    assert "      linux: attach fw d0 ingress before" in lines
    assert "      rfc:   attach fw d0 ingress first" in lines
    assert "      rfc:   ok    [fw{FIRST} lb tap mon{LAST}] rev 5" in lines
    assert lines[-4:] == [
        "  directives that can end up violated:",
        "    linux (BEFORE/AFTER/FIRST/LAST act only at attach time; later requests ignore them):",
        "      mon: LAST: in 3 of 6 arrival orders, broken by tracer: attach tap d0 ingress",
        "    rfc (BEFORE/AFTER act only at attach time; FIRST/LAST are pins kept for the program's "
        "lifetime): none"]


def test_cli_json_per_dialect():
    code, out, _ = run_solve_cli("solve", "--json", DATAPATH, "--dialect", "rfc", "--dialect", "linux")
    doc = json.loads(out)
    assert code == 0 and set(doc["tenants_by_dialect"]) == {"rfc", "linux"}
    assert doc["tenants"]["dialect"] == "rfc"
    arr = doc["tenants_by_dialect"]["rfc"]["arrivals"][0]
    assert arr["ok"] and arr["stored"] == [["FIRST"], [], [], ["LAST"]]
    assert doc["tenants_by_dialect"]["linux"]["arrivals"][0]["stored"] is None


def test_cli_unknown_dialect_exits_2():
    code, out, err = run_solve_cli("solve", DATAPATH, "--dialect", "rcf")
    assert code == 2 and out == ""
    assert err.strip() == "--dialect: unknown dialect 'rcf' (known: linux, rfc, linux-6.6-rc, netkit, cgroup) " \
                          "(did you mean 'rfc'?)"
