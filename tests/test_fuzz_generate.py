"""The campaign's seeded generator (checker.fuzz.generate) on the model
alone: hypothesis replays a sequence from its recorded integers exactly
(the shrinker depends on it), the coverage steering reaches every linux
rule, and a rule no request reaches stops boosting its operation once the
operation's patience is spent."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, find, settings

from checker import dialects
from checker.exec import Executor
from checker.fuzz import generate
from checker.fuzz.generate import BASE_WEIGHTS, COST, OPS, Bias, Coverage, RandomDraw


def _generated(seed: int, bias: Bias = Bias()):
    """One sequence as the campaign makes it (RandomDraw) and its integers."""
    draw = RandomDraw(seed)
    return generate.sequence(draw, bias), draw.choices


@pytest.mark.filterwarnings("ignore:Generating overly large repr")   # (a full-hook sequence)
@pytest.mark.parametrize("seed", [0, 1, 2, 5, 11])
def test_hypothesis_replays_the_recorded_integers(seed):
    from hypothesis.database import InMemoryExampleDatabase, choices_to_bytes
    steps, choices = _generated(seed)
    db = InMemoryExampleDatabase()
    db.save(b"k.secondary", choices_to_bytes(choices))
    got = find(generate.replay(Bias()), lambda s: s == steps, database_key=b"k",
               settings=settings(database=db, phases=(Phase.reuse,), verbosity=Verbosity.quiet,
                                 deadline=None, suppress_health_check=list(HealthCheck)))
    assert got == steps


def test_generation_is_a_function_of_the_seed():
    assert _generated(3)[0] == _generated(3)[0]
    assert _generated(3)[0] != _generated(4)[0]


def test_coverage_steering_reaches_every_linux_rule_on_the_model():
    """The campaign's steering on the executor alone (the kernel test checks
    the same with the kernel beside it): every linux rule within 20,000
    requests of seed 1's sequence seeds."""
    import random
    rules = dialects.get("linux").rules
    cov = Coverage(rules)
    seeds = random.Random(1)
    n = 0
    while n < 20000:
        bias = cov.bias()
        draw = RandomDraw(seeds.getrandbits(64))
        _, pre, g = generate.start(draw, bias)
        ex = Executor("linux")
        for s in pre:             # (the campaign counts the prelude's rules, load/ok among them)
            o = ex.apply(s)
            cov.record(s, o.rule, o.effects, o.errno, "-", n)
        for s in g.steps(lambda: ex.world):
            world = ex.world
            o = ex.apply(s)
            n += 1
            cov.record(s, o.rule, o.effects, o.errno, generate.hook_size(world, s), n)
        cov.tried(g.drawn)
    assert set(rules) - cov.reached == set()


def test_an_unreachable_rule_stops_boosting_after_its_patience():
    cov = Coverage(["device/never-reached", "attach/ok"])
    cov.reached.add("attach/ok")
    i = OPS.index("dev_del")
    assert cov.bias().weights[i] > BASE_WEIGHTS[i] + 100
    cov.tried({"dev_del": Coverage.PATIENCE // COST["dev_del"] + 1})
    assert cov.bias().weights[i] == BASE_WEIGHTS[i]
