"""Our own fuzz harness (issue 9): grammar-aware and byte-level mutations of
scripts, vectors and directive files through the real command line, with a
fixed budget.  Judge and mutations: tests/hostile.py.  The long campaign
(>= 100,000 inputs, figures in README): bench/bench_hostile.py."""
from __future__ import annotations

import functools
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

import hostile

# ~ 15 s in CI: 3 x 300 inputs, each through every command that reads it.
EXAMPLES = 300


@functools.lru_cache(maxsize=1)
def _corpus():
    return hostile.seed_corpus()


def _check(kind: str, seed: int, pick: int, tmp_path_factory) -> None:
    corpus = _corpus()[kind]
    rng = Random(seed)
    data = hostile.mutate(rng, kind, corpus[pick % len(corpus)], corpus)
    tally = hostile.Tally()
    hostile.judge(tally, kind, data, str(tmp_path_factory.mktemp("hostile")))
    assert tally.ok, tally.failures


@settings(max_examples=EXAMPLES)
@given(seed=st.integers(0, 2**32 - 1), pick=st.integers(0, 1000))
def test_mutated_scripts(seed, pick, tmp_path_factory):
    _check("mprog", seed, pick, tmp_path_factory)


@settings(max_examples=EXAMPLES)
@given(seed=st.integers(0, 2**32 - 1), pick=st.integers(0, 1000))
def test_mutated_vectors(seed, pick, tmp_path_factory):
    _check("json", seed, pick, tmp_path_factory)


@settings(max_examples=EXAMPLES // 3)
@given(seed=st.integers(0, 2**32 - 1), pick=st.integers(0, 1000))
def test_mutated_directive_files(seed, pick, tmp_path_factory):
    _check("dirs", seed, pick, tmp_path_factory)


def test_the_judge_catches_what_it_must():
    """The harness can fail: a traceback, a changed output file and a
    position outside the file are each reported."""
    t = hostile.Tally()
    assert hostile._positions_inside("f", b"a\nb\n", "f:3:1: x\n") == ["line 3 outside 1..2"]
    assert hostile._positions_inside("f", b"ab\n", "f:1:4: x\n") == ["1:4: column outside the line"]
    assert hostile._positions_inside("f", b"ab\n", "f:1:3: x\n") == []
    assert t.ok
    t.tracebacks += 1
    assert not t.ok
