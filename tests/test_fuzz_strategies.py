"""The fuzz campaign's sequence strategies, on the model only: a netkit
campaign (its requests run on the netkit executor twice, standing in for
the kernel) reaches every rule netkit adds, and the rules of the shared
core it needs a longer campaign for are few.  (The campaign against a real
netkit kernel runs in the guests of ``mprog matrix --fuzz``; README.)"""
from __future__ import annotations

from checker import dialects
from checker.exec import Executor
from checker.fuzz import campaign


def test_netkit_campaign_reaches_every_netkit_rule(monkeypatch):
    import checker.kernel as kernel
    monkeypatch.setattr(kernel, "available", lambda dialect: None)
    monkeypatch.setattr(kernel, "kernel_backend", lambda dialect: Executor(dialect))
    s = campaign.run_campaign(1, 20000, 10 ** 9, dialect="netkit")
    netkit = dialects.get("netkit")
    assert s.divergences == 0 and s.requests >= 20000 and s.rules_total == len(netkit.rules) == 98
    assert sorted(netkit.changed - s.rules_covered) == []
    # Observed for seed 1 (hypothesis 6.170): 91/98 (60,000 requests: 96/98, the clsact
    # rules missing; coverage-guided generation is issue 13).
    assert len(s.rules_covered) >= 85, s.rules_missing
