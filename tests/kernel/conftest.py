"""Kernel tests run with /sys/kernel/rcu_expedited=1 (announced in README),
restored to its previous value at the end of the session whatever happens."""
from __future__ import annotations

import pytest

from checker.kernel import rcu


@pytest.fixture(scope="session")
def expedited_rcu_session():
    with rcu.expedited_rcu() as prev:
        yield prev


@pytest.fixture
def expedited_rcu(expedited_rcu_session):
    return expedited_rcu_session
