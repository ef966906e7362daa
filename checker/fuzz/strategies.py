"""Hypothesis strategies for request sequences (tests, fuzzing).

Sequences are biased to reach every rule: relatives that exist or not, by fd
and by id, programs and links, stale and current revisions, both directions,
positional detach, link update/detach/close, device delete and re-add,
the namespace's loopback (never deletable), clsact add/del, foreign program types and raw numbers.  A sequence starts
with its declarations so every name is declared before use.

In the netkit dialect the devices are a netkit pair (nk0 primary, nk1 peer)
and a veth d0; requests mostly name the netkit hooks through the primary,
and also through the peer (EACCES), the veth (ENXIO) or a deleted device
(ENODEV), and the tcx hooks of all three; the pair is deleted through either
device and created again, sometimes the other way round (nk1 primary).
"""
from __future__ import annotations

from hypothesis import strategies as st

from ..dialects.linux import LOOPBACK
from ..model import Raw, Step
from ..flags import canonical as canonical_flags

RAW_FD = Raw(999999)          # an fd that is not open
RAW_ID = Raw(2147483000)      # an id that names nothing
DIRS = ("ingress", "egress")
NETKIT_DEVS = ("nk0", "nk1", "d0")
NETKIT_DIRS = ("primary", "peer")


# Stray bits per dialect: valid kernel flags (or none) the mprog mask rejects.
_STRAY = {"linux": ["ALLOW_MULTI", "PREORDER", 1 << 10], "rfc": ["ALLOW_MULTI", 1 << 10],
          "netkit": ["ALLOW_MULTI", "PREORDER", 1 << 10]}


# (device, attach point) of a netkit sequence's request: mostly a netkit hook
# through the primary (nk0, unless the pair was made the other way round),
# then the errors of the device lookup, then the tcx hooks of every device
# (the namespace's loopback too: undeclared, never deletable).
_NETKIT_TARGETS = ([("nk0", "primary")] * 7 + [("nk0", "peer")] * 3
                   + [("nk1", "primary"), ("nk1", "peer"), ("d0", "primary"), ("d0", "peer")]
                   + [("nk0", "ingress"), ("nk1", "egress"), ("d0", "ingress"), ("d0", "egress")]
                   + [(LOOPBACK, "primary"), (LOOPBACK, "ingress")])


def _netkit_target(draw) -> tuple:
    return draw(st.sampled_from(_NETKIT_TARGETS))


def _on_programs(draw, op: str, dev: str, dir: str, progs: list) -> Step:
    """An attach or detach whose program, relative and replaced program are
    all loaded programs (half of a netkit sequence's): its hooks see fewer
    requests than a tcx sequence's, and the position, REPLACE and removal
    rules need programs that are on them; one of each shape."""
    p, r = draw(st.sampled_from(progs)), draw(st.sampled_from(progs))
    shape = draw(st.sampled_from(["plain", "plain", "before", "after", "relative", "replace",
                                  "replace-before", "replace-after"]))
    flags = {"before": ("BEFORE",), "after": ("AFTER",), "replace": ("REPLACE",),
             "replace-before": ("REPLACE", "BEFORE"), "replace-after": ("REPLACE", "AFTER")}.get(shape, ())
    if op == "detach":
        flags = tuple(f for f in flags if f != "REPLACE")
        named = draw(st.booleans())
        return Step("detach", dev=dev, dir=dir, prog=p if named else None, flags=flags,
                    relative=r if shape not in ("plain", "replace") else None)
    rel = draw(st.sampled_from(progs)) if shape in ("before", "after", "relative", "replace-before",
                                                       "replace-after") else None
    return Step("attach", dev=dev, dir=dir, prog=p, flags=flags, relative=rel,
                replace=r if "REPLACE" in flags else None)


def _netkit_pair(draw) -> Step:
    primary, peer = ("nk0", "nk1") if draw(st.integers(0, 4)) else ("nk1", "nk0")
    return Step("netkit_add", dev=primary, peer=peer, mode=draw(st.sampled_from([None, "l2", "l3"])))


def _flags(draw, position: bool = True, dialect: str = "linux") -> tuple:
    flags = []
    if position:
        flags += draw(st.sampled_from([[], ["BEFORE"], ["AFTER"], ["BEFORE"], ["AFTER"], ["BEFORE", "AFTER"]]))
    if dialect == "rfc":      # the proposal's pins, often enough to reach every head/tail rule
        flags += draw(st.sampled_from([[], [], ["FIRST"], ["LAST"], ["FIRST", "LAST"]]))
    if draw(st.integers(0, 3)) == 0:
        flags.append("ID")
    if draw(st.integers(0, 4)) == 0:
        flags.append("LINK")
    if draw(st.integers(0, 30)) == 0:
        flags.append(draw(st.sampled_from(_STRAY.get(dialect, _STRAY["linux"]))))
    return canonical_flags(flags)


@st.composite
def sequences(draw, n_progs: int = 5, n_links: int = 3, devs=("d0", "d1"), max_requests: int = 30,
              full_hook: bool = False, dialect: str = "linux"):
    """A list of Steps: declarations, then up to ``max_requests`` requests.
    With ``full_hook`` a prefix fills d0 ingress to 63 entries (netkit: nk0
    primary).  ``dialect`` "rfc" adds FIRST/LAST and names one object per
    request (its union); "netkit" uses a netkit pair and a veth (module
    docstring)."""
    netkit = dialect == "netkit"
    progs = [f"p{i}" for i in range(n_progs)] + ["x0"]
    if netkit:
        devs = NETKIT_DEVS
        steps = [Step("netkit_add", dev="nk0", peer="nk1", mode=draw(st.sampled_from([None, "l2", "l3"]))),
                 Step("dev_add", dev="d0")]
    else:
        steps = [Step("dev_add", dev=d) for d in devs]
    steps += [Step("load", prog=p) for p in progs[:-1]] + [Step("load", prog="x0", type="xdp")]
    if netkit and not full_hook and draw(st.integers(0, 2)) == 0:
        # A third of the netkit sequences start with programs on the pair's
        # primary hook: the requests on it then meet relatives, replaced and
        # named programs that are there (the position and ownership rules).
        for p in draw(st.lists(st.sampled_from(progs[:-1]), min_size=2, max_size=4, unique=True)):
            steps.append(Step("attach", prog=p, dev="nk0", dir="primary"))
    if full_hook:
        fill = [f"f{i}" for i in range(63)]
        steps += [Step("load", prog=p) for p in fill]
        steps += [Step("attach", prog=p, dev=devs[0], dir="primary" if netkit else "ingress") for p in fill]
        progs += fill[:3]
    links_left = [f"l{i}" for i in range(n_links)]
    links: list[str] = []
    ref_pool = lambda: st.sampled_from(progs + links + [RAW_FD, RAW_ID, Raw(0)])  # noqa: E731
    n = draw(st.integers(1, max_requests))
    for _ in range(n):
        op = draw(st.sampled_from(
            ["attach"] * 6 + ["detach"] * 3 + ["query"] * 2 + ["link_create"] * 3
            + ["link_update"] * 2 + ["link_detach", "close", "dev_del", "dev_add",
                                     "clsact_add", "clsact_del"] + ["netkit_add"] * netkit))
        if netkit:
            dev, dir = _netkit_target(draw)
        else:
            # The namespace's loopback now and then: undeclared, never deletable.
            dev = draw(st.sampled_from(devs * 4 + (LOOPBACK,)))
            dir = draw(st.sampled_from(DIRS))
        # Mostly unguarded: a nonzero guard is usually stale and ESTALE is
        # checked first, which would hide every later rule.
        rev = draw(st.sampled_from([0] * 9 + [1, 2, 3]))
        rel = draw(st.one_of(st.none(), ref_pool())) if draw(st.booleans()) else None
        if netkit and op in ("attach", "detach") and draw(st.booleans()):
            steps.append(_on_programs(draw, op, dev, dir, [p for p in progs if p != "x0"]))
        elif op == "attach":
            flags = _flags(draw, dialect=dialect)
            rep = None
            if draw(st.integers(0, 3)) == 0:
                flags = canonical_flags(flags + ("REPLACE",))
                rep = draw(st.one_of(st.sampled_from(progs), ref_pool()))
            if rep is not None and draw(st.booleans()):
                flags = ("REPLACE",)          # plain in-place replace
            if rep is not None and dialect == "rfc":
                rel = None                    # one union: the replaced program is the object
            steps.append(Step("attach", dev=dev, dir=dir, prog=draw(st.sampled_from(progs + links[:1] + [RAW_FD])),
                              flags=flags, relative=rel, replace=rep, expected_revision=rev))
        elif op == "detach":
            prog = draw(st.one_of(st.none(), st.sampled_from(progs), ref_pool()))
            flags = _flags(draw, dialect=dialect)
            if draw(st.integers(0, 20)) == 0:
                flags = flags + ("REPLACE",)
            steps.append(Step("detach", dev=dev, dir=dir, prog=prog, flags=canonical_flags(flags),
                              relative=rel, expected_revision=rev))
        elif op == "query":
            steps.append(Step("query", dev=dev, dir=dir,
                              count=draw(st.sampled_from([None, None, None, 0, 1, 2])),
                              query_flags=draw(st.sampled_from([0] * 12 + [1, 2])),
                              attach_flags=draw(st.sampled_from([0] * 12 + [1]))))
        elif op == "link_create" and links_left:
            name = links_left.pop(0)
            prog = draw(st.sampled_from(progs)) if draw(st.integers(0, 8)) else draw(ref_pool())
            # Links should mostly come to exist, so later requests can use them.
            flags = _flags(draw, dialect=dialect) if draw(st.integers(0, 2)) == 0 else ()
            steps.append(Step("link_create", link=name, prog=prog, dev=dev, dir=dir,
                              flags=flags, relative=rel if flags else None, expected_revision=rev))
            links.append(name)
        elif op == "link_update" and links:
            # Mostly well-formed updates; sometimes a wrong kind, a raw fd or a stray flag.
            old = draw(st.one_of(st.none(), st.sampled_from(progs), ref_pool()))
            flags = ("REPLACE",) if old is not None and draw(st.integers(0, 5)) else ()
            if draw(st.integers(0, 12)) == 0:
                flags = canonical_flags(flags + (draw(st.sampled_from(["BEFORE", "ID"])),))
            link = draw(st.sampled_from(links)) if draw(st.integers(0, 6)) else draw(ref_pool())
            new = draw(st.sampled_from(progs)) if draw(st.integers(0, 6)) else draw(ref_pool())
            steps.append(Step("link_update", link=link, prog=new, old_prog=old, flags=flags))
        elif op == "link_detach" and links:
            steps.append(Step("link_detach", link=draw(st.sampled_from(links + progs[:1] + [RAW_FD]))))
        elif op == "close" and draw(st.integers(0, 2)) == 0:
            steps.append(Step("close", **({"link": draw(st.sampled_from(links))} if links and draw(st.booleans())
                                          else {"prog": draw(st.sampled_from(progs))})))
        elif op in ("dev_del", "dev_add", "clsact_add", "clsact_del") and draw(st.integers(0, 6 if netkit else 2)) == 0:
            # (netkit: rarer; deleting either device takes the pair's hooks with it)
            steps.append(Step(op, dev=dev))
        elif op == "netkit_add" and draw(st.integers(0, 2)) == 0:
            steps.append(_netkit_pair(draw))
    return steps
