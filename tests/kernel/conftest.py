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


@pytest.fixture(scope="session", autouse=True)
def _record_what_the_run_creates():
    """test_zz_nothing_left.py checks that nothing the run creates is left."""
    from created import record
    with record() as created:
        yield created


def pytest_collection_modifyitems(session, config, items):
    """test_zz_nothing_left.py runs after every other test of the session
    (also those outside tests/kernel that verify on the kernel, e.g. plans)."""
    last = [i for i in items if i.path.name == "test_zz_nothing_left.py"]
    items[:] = [i for i in items if i.path.name != "test_zz_nothing_left.py"] + last
