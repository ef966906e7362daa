"""``mprog solve`` on 63 programs (a full tcx hook) with seeded random directive sets.

Prints times; asserts nothing.  For each density, several sets are drawn
with random.Random(seed): a hidden order of the 63 programs, then
BEFORE/AFTER directives consistent with it (plus FIRST on its head and LAST
on its tail), so the set is sat; the unsat variant adds a random cycle of
3..8 BEFORE directives among other programs.  Phases are timed separately
(decide; least ordering; count up to --limit; unsat core, the canonical
minimal one) and the whole ``solve()`` call once more end to end.  Baseline
in the same run: the time per order of enumerating orders from the z3
encoding with blocking clauses (the first 20), the method the combinatorial
count replaced.  The last row
plans a reordering of a 50-program hook to a 63-program wanted order.

    python bench/bench_solve.py [--seed N] [--sets K] [--limit L]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from checker.syntax.directives import parse_directives  # noqa: E402
from checker.smt import solve as S  # noqa: E402
from checker.smt.directives import Order, must_precede  # noqa: E402

N = 63


def directive_text(rng: random.Random, edges: int, pins: bool, cycle: int) -> str:
    names = [f"p{i:02d}" for i in range(N)]
    hidden = names[:]
    rng.shuffle(hidden)
    rank = {p: i for i, p in enumerate(hidden)}
    per: dict[str, list[str]] = {p: [] for p in names}
    if pins:
        per[hidden[0]].append("FIRST")
        per[hidden[-1]].append("LAST")
    seen = set()
    while len(seen) < edges:
        a, b = rng.sample(names, 2)
        if (a, b) in seen or (b, a) in seen:
            continue
        seen.add((a, b))
        kind = "BEFORE" if rank[a] < rank[b] else "AFTER"
        per[a].append(f"{kind} {b}")
    if cycle:
        ring = rng.sample(names[1:-1], cycle)
        for a, b in zip(ring, ring[1:] + ring[:1]):
            d = f"BEFORE {b}"
            if d not in per[a]:
                per[a].append(d)
    return "".join(f"{p}: {', '.join(dict.fromkeys(ds))}\n" for p, ds in per.items())


def timed(f, *a, **kw):
    t = time.perf_counter()
    r = f(*a, **kw)
    return r, time.perf_counter() - t


Z3_ORDERS = 20          # the baseline enumerates this many orders with z3 blocking clauses


def phases(ds, limit):
    budget = S.Budget(None)
    order = Order(ds.names)
    tracked = order.directives(ds)
    (st, core), t_decide = timed(S.tracked_check, budget, order.domain(), tracked)
    out = {"status": st, "decide": t_decide}
    if st == "unsat":
        (labels, _), t_core = timed(S.canonical_core, budget, order.domain(), tracked)
        out.update(core=t_core, core_size=len(labels), z3_core=len(core))
        return out
    cons = [t.expr for t in tracked]
    _, out["order"] = timed(S.least_order, budget, order, cons, must_precede(ds.names, ds.directives))
    (k, cst), out["count"] = timed(S.count_orders, budget, ds, limit)
    out["n_orders"] = f"{k} ({cst})"
    (kz, _), t_z3 = timed(S.count_orders_z3, budget, order, cons, Z3_ORDERS)
    out["z3_per_order"] = t_z3 / max(1, min(kz + 1, Z3_ORDERS + 1))
    return out
def ms(xs):
    return f"{1000 * statistics.median(xs):8.1f} ms (max {1000 * max(xs):7.1f})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20240607)
    ap.add_argument("--sets", type=int, default=5, help="random sets per row (default 5)")
    ap.add_argument("--limit", type=int, default=1000)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    print(f"bench_solve: {N} programs, {args.sets} seeded sets per row (seed {args.seed}), "
          f"count limit {args.limit}; median (max)")
    rows = [("sat, 0 directives", 0, False, 0), ("sat, 20 BEFORE/AFTER + FIRST/LAST", 20, True, 0),
            ("sat, 60 BEFORE/AFTER + FIRST/LAST", 60, True, 0),
            ("sat, 200 BEFORE/AFTER + FIRST/LAST", 200, True, 0),
            ("sat, 1000 BEFORE/AFTER + FIRST/LAST", 1000, True, 0),
            ("unsat, 60 + a 3..8-cycle", 60, True, -1), ("unsat, 200 + a 3..8-cycle", 200, True, -1)]
    for label, edges, pins, cyc in rows:
        res, total, counts = [], [], []
        for _ in range(args.sets):
            text = directive_text(rng, edges, pins, rng.randint(3, 8) if cyc else 0)
            ds = parse_directives(text, "bench.dirs")
            res.append(phases(ds, args.limit))
            sol, t = timed(S.solve, ds, limit=args.limit)
            total.append(t)
            counts.append(sol.count if sol.status == "sat" else len(sol.core))
        print(f"\n{label}: {len(ds.directives)} directives in the last set, "
              f"status {sorted({r['status'] for r in res})}")
        print(f"  decide        {ms([r['decide'] for r in res])}")
        if res[0]["status"] == "sat":
            print(f"  least order   {ms([r['order'] for r in res])}")
            print(f"  count         {ms([r['count'] for r in res])}   orderings: "
                  f"{', '.join(r['n_orders'] for r in res)}")
            print(f"  baseline: z3 blocking-clause enumeration, per order "
                  f"{ms([r['z3_per_order'] for r in res])}")
        else:
            print(f"  core (min.)   {ms([r['core'] for r in res])}   core sizes: "
                  f"{', '.join(str(r['core_size']) for r in res)} (z3's: "
                  f"{', '.join(str(r['z3_core']) for r in res)})")
        print(f"  solve() total {ms(total)}")

    # plan: 50 programs on the hook in a random order, 13 new; want the hidden order's directives
    from checker.smt import plan as P
    import json
    times, moves = [], []
    for _ in range(args.sets):
        text = directive_text(rng, 60, True, 0)
        ds0 = parse_directives(text, "w.dirs")
        on_hook = list(ds0.names[:50])
        rng.shuffle(on_hook)
        links = [f"l{i}" if rng.random() < 0.1 else None for i in range(50)]
        state = P.state_from_json("s.json", json.dumps({"progs": on_hook, "links": links, "revision": 51}))
        ds = parse_directives(text, "w.dirs", state.progs)
        plan, t = timed(P.synthesize, state, ds)
        times.append(t)
        moves.append(f"{plan.status}:{len(plan.moved)}")
    print(f"\nplan, 50 on the hook (~10% link-owned) + 13 new, 60 BEFORE/AFTER + FIRST/LAST:")
    print(f"  synthesize    {ms(times)}   status:moves {', '.join(moves)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
