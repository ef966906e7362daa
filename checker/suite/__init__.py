"""The conformance suite (spec/vectors.md "Suites"): generated vectors for
other implementations, their replay, coverage and a C emitter.

* :mod:`.family`: how a family of dialects builds hook states (fixtures) and
  requests (devices with tcx-style hooks: every dialect with ``dev_add``);
* :mod:`.select`: candidates -> the vectors that cover every (op, rule) and
  the boundaries, by greedy set cover over the dimensions that matter;
* :mod:`.generate`: the suite of one or more dialects as file texts plus
  ``manifest.json`` (pure: the CLI writes it);
* :mod:`.reach`: z3 for the (rule, op) pairs no candidate reached (proved
  unreachable, or a generator bug);
* :mod:`.confirm`: the kernel replay at generation time;
* :mod:`.replay`, :mod:`.coverage`, :mod:`.emit_c`: consumers of a suite.
"""
