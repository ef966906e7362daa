"""Every script in tests/scripts/ (the kernel selftests tc_opts.c / tc_links.c,
translated; tests/scripts/rfc/: the v2 FIRST/LAST selftests; tests/scripts/netkit/:
tc_netkit.c) and examples/
passes on the reference executor of its dialect: every errno, count,
revision, order, link owner and stored flag it asserts."""
from __future__ import annotations

import pytest

from checker.exec import Executor
from checker.runner import run_steps
from checker.syntax.render import render_step
from checker.syntax.script import read_script

from corpus import EXAMPLES, SCRIPTS


def failures_of(path) -> list[str]:
    script = read_script(str(path))
    out = []
    for r in run_steps(script.steps, Executor(script.dialect)):
        if not r.passed:
            out.append(f"{path.name}:{r.step.line}: {render_step(r.step)}: {'; '.join(r.failures)} "
                       f"[{r.outcome.rule}]")
    return out


@pytest.mark.parametrize("path", SCRIPTS + EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_script_expectations_hold(path):
    assert failures_of(path) == []


def test_selftest_corpus_is_present():
    names = {p.stem for p in SCRIPTS}
    for must in ("test_tc_opts_basic", "test_tc_opts_before_target", "test_tc_opts_max_target",
                 "test_tc_opts_query_target", "test_tc_links_basic", "test_tc_links_replace_target",
                 "test_tc_opts_chain_mixed", "test_tc_links_dev_cleanup_target"):
        assert must in names, f"missing selftest translation {must}"


# serial_test_tc_opts_<name> / serial_test_tc_links_<name> of the v2 series (7 Jun 2023)
RFC_OPTS = ("basic", "first", "last", "both", "before", "after", "revision", "chain_classic",
            "replace", "invalid", "prepend", "append", "dev_cleanup", "mixed", "demixed", "detach",
            "detach_before", "detach_after")
RFC_LINKS = ("basic", "first", "last", "both", "before", "after", "revision", "chain_classic",
             "replace", "invalid", "prepend", "append", "dev_cleanup")


def test_rfc_selftest_corpus_is_complete():
    rfc = {p.stem: p for p in SCRIPTS if p.parent.name == "rfc"}
    want = {f"test_tc_opts_{n}" for n in RFC_OPTS} | {f"test_tc_links_{n}" for n in RFC_LINKS}
    assert sorted(rfc) == sorted(want)
    expectations = 0
    for p in rfc.values():
        script = read_script(str(p))
        assert script.dialect == "rfc", p.name
        expectations += sum(s.expect is not None for s in script.steps)
    assert expectations == 1160


# serial_test_tc_netkit_<name> of tc_netkit.c (tests/scripts/netkit/README.md)
NETKIT = ("basic", "multi_links", "multi_opts", "device", "neigh_links", "pkt_type", "scrub")


def test_netkit_selftest_corpus_is_complete():
    netkit = {p.stem: p for p in SCRIPTS if p.parent.name == "netkit"}
    assert sorted(netkit) == sorted(f"test_tc_netkit_{n}" for n in NETKIT)
    errnos = {}
    for p in netkit.values():
        script = read_script(str(p))
        assert script.dialect == "netkit", p.name
        for s in script.steps:
            if s.expect is not None:
                errnos[s.expect.errno] = errnos.get(s.expect.errno, 0) + 1
    # the device subtest's EACCES (two queries asserted, two link creations)
    assert errnos == {"ok": 224, "EACCES": 4, "ENODEV": 18}
