"""Hypothesis strategies for cgroup-dialect request sequences (tests, fuzzing).

A sequence declares a hierarchy of 1 to 3 levels (with a sibling now and
then), programs of the attach points' types and of foreign types, then draws
requests biased to reach every rule of spec/cgroup/: the three attach modes,
PREORDER, REPLACE (in place and self-replace), relatives by fd and by id,
programs and links, raw numbers, stale and current revisions, effective and
truncated queries, link update/detach/close, and cgroup removal (links go
defunct) and re-creation.  One sequence in ten starts from a full list (64
entries).
"""
from __future__ import annotations

from hypothesis import strategies as st

from ..dialects.cgroup import CGROUP_MAX_PROGS
from ..flags import canonical
from ..model import Raw, Step

RAW_FD = Raw(999999)          # an fd that is not open
RAW_ID = Raw(2147483000)      # an id that names nothing
SKB = ("cgroup_inet_egress", "cgroup_inet_ingress")
SOCKOPT = "cgroup_getsockopt"
# The hierarchy shapes: (name, parent) in creation order, by depth.
SHAPES = {1: (("a", None),),
          2: (("a", None), ("b", "a")),
          3: (("a", None), ("b", "a"), ("c", "b"))}
MODES = ((),) * 2 + (("ALLOW_MULTI",),) * 12 + (("ALLOW_OVERRIDE",),) * 2 \
    + (("ALLOW_OVERRIDE", "ALLOW_MULTI"),)


def _position(draw) -> list:
    flags = draw(st.sampled_from([[], [], ["BEFORE"], ["AFTER"], ["BEFORE"], ["AFTER"],
                                  ["BEFORE", "AFTER"]]))
    if draw(st.integers(0, 3)) == 0:
        flags.append("ID")
    if draw(st.integers(0, 4)) == 0:
        flags.append("LINK")
    if draw(st.integers(0, 3)) == 0:
        flags.append("PREORDER")
    return flags


@st.composite
def sequences(draw, max_requests: int = 30, full_list: bool = False):
    """A list of Steps: the hierarchy and declarations, then up to
    ``max_requests`` requests.  With ``full_list`` a prefix fills a's
    cgroup_inet_egress list to 64 entries."""
    depth = draw(st.integers(1, 3))
    shape = list(SHAPES[depth])
    if depth > 1 and draw(st.integers(0, 3)) == 0:
        shape.append(("b2", "a"))                   # a sibling: its own effective list
    cgroups = [n for n, _ in shape]
    steps = [Step("cgroup_add", cgroup=n, parent=p) for n, p in shape]
    skb = [f"p{i}" for i in range(5)]
    sockopt = ["q0", "q1"]
    steps += [Step("load", prog=p) for p in skb]
    steps += [Step("load", prog=p, type="cgroup_sockopt", expected_attach_type=SOCKOPT)
              for p in sockopt]
    # Foreign: another type, and a sockopt program loaded for the other hook.
    steps += [Step("load", prog="x0", type="xdp"),
              Step("load", prog="q9", type="cgroup_sockopt", expected_attach_type="cgroup_setsockopt")]
    progs = skb + sockopt + ["x0", "q9"]
    if full_list:
        fill = [f"f{i}" for i in range(CGROUP_MAX_PROGS)]
        steps += [Step("load", prog=p) for p in fill]
        steps += [Step("attach", prog=p, cgroup="a", dir=SKB[0], flags=("ALLOW_MULTI",)) for p in fill]
        progs += fill[:3]
    links_left = [f"l{i}" for i in range(4)]
    links: list[str] = []
    removed: set = set()

    def ref_pool():
        return st.sampled_from(progs + links + [RAW_FD, RAW_ID, Raw(0)])

    n = draw(st.integers(1, max_requests))
    for _ in range(n):
        op = draw(st.sampled_from(
            ["attach"] * 8 + ["detach"] * 3 + ["query"] * 3 + ["link_create"] * 3
            + ["link_update"] * 2 + ["link_detach", "close", "load"] + ["cgroup_del", "cgroup_add"] * 2))
        cg = draw(st.sampled_from(cgroups))
        # Mostly the skb hook (two directions), sometimes getsockopt.
        point = draw(st.sampled_from([SKB[0]] * 4 + [SKB[1], SOCKOPT]))
        pool = sockopt + ["q9"] if point == SOCKOPT else skb
        # Mostly unguarded: a nonzero guard is usually stale, and ESTALE
        # comes early in the core.
        rev = draw(st.sampled_from([0] * 9 + [1, 2, 3, 4]))
        rel = None
        if draw(st.integers(0, 2)) == 0:
            rel = draw(st.one_of(st.sampled_from(pool + links), ref_pool()))
        if op == "attach":
            flags = list(draw(st.sampled_from(MODES)))
            kind = draw(st.sampled_from(["plain", "plain", "anchor", "anchor", "anchor", "odd",
                                         "replace", "replace"]))
            rep = None
            if kind == "anchor":
                # Exactly one direction and an anchor that often exists.
                flags.append(draw(st.sampled_from(["BEFORE", "AFTER"])))
                by = draw(st.sampled_from(["fd", "fd", "id", "link", "id link", "raw"]))
                if "link" in by and links:
                    flags += ["LINK"] + (["ID"] if by == "id link" else [])
                    rel = draw(st.sampled_from(links))
                elif by == "raw":
                    rel = draw(ref_pool())
                else:
                    flags += ["ID"] if by == "id" else []
                    rel = draw(st.sampled_from(pool))
            elif kind == "odd":
                flags += _position(draw)
            elif kind == "replace":
                flags += ["REPLACE"] + (["ALLOW_MULTI"] if draw(st.integers(0, 5)) else [])
                rep = draw(st.sampled_from(pool)) if draw(st.integers(0, 5)) else draw(ref_pool())
                if draw(st.integers(0, 5)) == 0:
                    flags += _position(draw)
                else:
                    rel = None
            else:
                rel = None
            if draw(st.integers(0, 3)) == 0:
                flags.append("PREORDER")
            if draw(st.integers(0, 40)) == 0:
                flags.append(1 << 10)               # outside every mask
            prog = draw(st.sampled_from(pool)) if draw(st.integers(0, 8)) else draw(ref_pool())
            steps.append(Step("attach", cgroup=cg, dir=point, prog=prog, flags=canonical(flags),
                              relative=rel, replace=rep, expected_revision=rev))
        elif op == "detach":
            prog = draw(st.one_of(st.none(), st.sampled_from(pool), st.sampled_from(pool),
                                  st.sampled_from(pool), ref_pool()))
            flags = canonical(draw(st.sampled_from([()] * 12 + [("BEFORE",), ("ALLOW_MULTI",)])))
            steps.append(Step("detach", cgroup=cg, dir=point, prog=prog, flags=flags,
                              relative=rel if draw(st.integers(0, 8)) == 0 else None,
                              expected_revision=rev))
        elif op == "query":
            eff = draw(st.integers(0, 2)) == 0
            steps.append(Step("query", cgroup=cg, dir=point, query_flags=(
                1 if eff else draw(st.sampled_from([0] * 20 + [2]))),
                count=draw(st.sampled_from([None, None, None, 0, 1, 2])),
                prog_attach_flags=draw(st.integers(0, 6)) == 0))
        elif op == "link_create" and links_left:
            name = links_left.pop(0)
            prog = draw(st.sampled_from(pool)) if draw(st.integers(0, 8)) else draw(ref_pool())
            flags = _position(draw) if draw(st.integers(0, 1)) == 0 else []
            if draw(st.integers(0, 12)) == 0:
                flags.append(draw(st.sampled_from(["ALLOW_MULTI", "REPLACE", "ALLOW_OVERRIDE"])))
            steps.append(Step("link_create", link=name, prog=prog, cgroup=cg, dir=point,
                              flags=canonical(flags), relative=rel if flags else None,
                              expected_revision=rev))
            links.append(name)
        elif op == "link_update" and links:
            old = draw(st.one_of(st.none(), st.sampled_from(progs), ref_pool()))
            flags = ("REPLACE",) if old is not None and draw(st.integers(0, 5)) else ()
            if draw(st.integers(0, 12)) == 0:
                flags = canonical(flags + ("BEFORE",))
            link = draw(st.sampled_from(links)) if draw(st.integers(0, 6)) else draw(ref_pool())
            new = draw(st.sampled_from(progs)) if draw(st.integers(0, 6)) else draw(ref_pool())
            steps.append(Step("link_update", link=link, prog=new, old_prog=old, flags=flags))
        elif op == "link_detach" and links:
            steps.append(Step("link_detach", link=draw(st.sampled_from(links + progs[:1] + [RAW_FD]))))
        elif op == "close" and draw(st.integers(0, 2)) == 0:
            if links and draw(st.booleans()):
                steps.append(Step("close", link=draw(st.sampled_from(links))))
            else:
                steps.append(Step("close", prog=draw(st.sampled_from(progs))))
        elif op == "cgroup_del" and draw(st.integers(0, 2)) == 0:
            # Mostly the deepest present cgroup (rmdir works); sometimes any (EBUSY, ENOENT).
            leaf = [c for c in cgroups if c not in removed
                    and not any(p == c and n not in removed for n, p in shape)]
            name = draw(st.sampled_from(leaf)) if leaf and draw(st.integers(0, 3)) else cg
            steps.append(Step("cgroup_del", cgroup=name))
            removed.add(name)
        elif op == "cgroup_add" and draw(st.booleans()):
            # Mostly a removed one again; sometimes a present one (EEXIST).
            name = draw(st.sampled_from(sorted(removed))) if removed and draw(st.integers(0, 3)) \
                else cg
            steps.append(Step("cgroup_add", cgroup=name, parent=dict(shape)[name]))
            removed.discard(name)
        elif op == "load" and draw(st.integers(0, 3)) == 0:
            # A program the kernel refuses to load (a sock_addr program needs
            # an expected attach type); the name then names nothing.
            name = f"z{len(steps)}"
            steps.append(Step("load", prog=name, type="cgroup_sock_addr"))
            progs.append(name)
    return _declared_when_used(steps, dict(shape))


_NAMES = ("prog", "link", "relative", "replace", "old_prog")


def _declared_when_used(steps: list, parents: dict) -> list:
    """Drop the declarations (loads, cgroups) that no request names, so a
    shrunk sequence is short: the prefix follows the requests the shrinker
    keeps.  A used cgroup keeps its ancestors."""
    used = set()
    for s in steps:
        if s.op in ("load", "cgroup_add"):
            continue
        used.update(getattr(s, k) for k in _NAMES if isinstance(getattr(s, k), str))
        if s.cgroup is not None:
            used.add(s.cgroup)
    for name in list(used):
        while parents.get(name):
            name = parents[name]
            used.add(name)
    return [s for s in steps if not (s.op == "load" and s.prog not in used
                                     or s.op == "cgroup_add" and s.cgroup not in used)]
