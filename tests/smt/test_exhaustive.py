"""Exhaustive mode (checker.smt.equiv.verify_exhaustive): every concrete
(hook state, request) of an alphabet, one z3 check per outcome group of a
state (and one per case on the old path, batch=False)."""
from __future__ import annotations

from planted import executor_with_after_off_by_one

from checker.smt.equiv import ALPHABET, LEAN, _requests, _states, default_alphabet, verify_exhaustive

CHEAP_OPS = ("link_detach", "close", "query", "load", "dev_add", "dev_del", "clsact_add", "clsact_del")


def test_cheap_ops_agree_on_every_case_to_n1():
    rs = verify_exhaustive(1, timeout_s=30, ops=CHEAP_OPS)
    assert [r.status for r in rs] == ["proved"] * len(CHEAP_OPS), [r.line() for r in rs]
    a = default_alphabet("linux", 1)
    n_states = len(list(_states(1, a)))
    assert all(r.reps == n_states * len(list(_requests(r.op, 1, a))) for r in rs)


def test_attach_position_slice_agrees_to_n2():
    """attach with AFTER or BEFORE, every relative, program and revision, N <= 2."""
    a = dict(LEAN, flag_sets=(("AFTER",), ("BEFORE",)), replaces=(None,))
    rs = verify_exhaustive(2, timeout_s=30, ops=("attach",), alphabet=a)
    assert rs[0].status == "proved", rs[0].line()


def test_alphabet_enumerates_every_hook_state():
    # N=1 over 2 programs, owners {none, l1, l2}: 4 empty variants + 2*3 slots * 2 revs * clsact on/off
    assert len(list(_states(1, ALPHABET))) == 4 + 2 * 3 * 2 * 2
    assert len(set(_states(2, ALPHABET))) == len(list(_states(2, ALPHABET)))


def test_planted_bug_is_caught_exhaustively():
    buggy = executor_with_after_off_by_one("_executor_planted_exh")
    a = dict(LEAN, flag_sets=(("AFTER",),), replaces=(None,))
    rs = verify_exhaustive(2, timeout_s=30, ops=("attach",), step_fn=buggy.step, alphabet=a)
    assert rs[0].status == "violated" and "AFTER" in rs[0].detail, rs[0].line()


def test_batched_and_per_case_paths_agree_on_a_planted_bug_and_the_real_executor():
    """The batched check (one query per outcome group) catches the same bug
    the per-case check does, and both prove the real executor."""
    buggy = executor_with_after_off_by_one("_executor_planted_exh_batch")
    a = dict(LEAN, flag_sets=(("AFTER",), ("BEFORE",)), replaces=(None,))
    for batch in (True, False):
        [bad] = verify_exhaustive(2, timeout_s=30, ops=("attach",), step_fn=buggy.step, alphabet=a, batch=batch)
        assert bad.status == "violated" and "AFTER" in bad.detail, bad.line()
        [ok] = verify_exhaustive(1, timeout_s=30, ops=("detach",), alphabet=a, batch=batch)
        assert ok.status == "proved", ok.line()


def test_three_slot_hooks_are_enumerated_and_proved():
    """Beyond two slots the default alphabet (LEAN3) has three programs for
    the hook, so N = 3 reaches hooks of three slots (LEAN's two programs
    fill at most two); an AFTER/BEFORE slice of attach and detach is
    proved over every such state (the whole of attach, detach and
    link_create at N = 3: README, `mprog verify --exhaustive-n 3`)."""
    a = default_alphabet("linux", 3)
    sizes = {len(slots) for slots, _, _ in _states(3, a)}
    assert sizes == {0, 1, 2, 3}
    assert not any(len(slots) == 3 for slots, _, _ in _states(3, LEAN))
    a = dict(a, flag_sets=(("AFTER",), ("BEFORE",)), replaces=(None,), relatives=(None, "p1", "p3", "l1"))
    rs = verify_exhaustive(3, timeout_s=60, ops=("attach", "detach"), alphabet=a)
    assert [r.status for r in rs] == ["proved", "proved"], [r.line() for r in rs]
    assert all("over 196 hook states" in r.detail for r in rs), [r.detail for r in rs]
