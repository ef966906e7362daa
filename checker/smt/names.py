"""The only place z3 variable names are built.

Names follow the model path (CrossHair style), so a raw ``model()`` dump reads
as hook state without a decoder:

    count@t2              number of slots of the hook before request 2
    rev@t2                the hook's revision before request 2
    slot[3].prog@t2       program id in slot 3 (0 = empty slot)
    slot[3].link@t2       owning link id of slot 3 (0 = prog API)
    slot[3].first@t2      slot 3 stores FIRST (rfc; also .last)
    hook.bundle@t2        the hook has a bpf_mprog bundle before request 2
    dev.present@t2        the hook's device exists before request 2
    dev.clsact@t2         a clsact qdisc holds the device's bundles
    prog[2].fd_open@t2    BMC only: program 2's fd is open
    link[1].state@t2      BMC only: state of link 1 (see checker.smt.bmc)
    req2.flags.before     a flag of request 2
    req2.rel.prog         the relative object of request 2
    req2.errno            errno code of request 2 (checker.smt.encode.ERRNOS)
    fires.attach/full@2   "rule attach/full decided request 2"
    effect.hook/create@2  "effect rule hook/create applied to request 2"

Tracked-constraint labels are ``<rule-id>@<step>`` (``label``), so an unsat
core prints as spec headings.
"""
from __future__ import annotations


def count(t: int) -> str:
    return f"count@t{t}"


def rev(t: int) -> str:
    return f"rev@t{t}"


def slot_prog(j: int, t: int) -> str:
    return f"slot[{j}].prog@t{t}"


def slot_link(j: int, t: int) -> str:
    return f"slot[{j}].link@t{t}"


def slot_pin(j: int, pin: str, t: int) -> str:
    """``slot[3].first@t2``: slot 3 stores FIRST (rfc) before request 2."""
    return f"slot[{j}].{pin}@t{t}"


def hook_flag(field: str, t: int) -> str:
    """``bundle`` -> ``hook.bundle@t2``; ``present``/``clsact`` -> ``dev.<field>@t2``."""
    return f"hook.{field}@t{t}" if field == "bundle" else f"dev.{field}@t{t}"


def prog_fd_open(i: int, t: int) -> str:
    return f"prog[{i}].fd_open@t{t}"


def link_state(i: int, t: int) -> str:
    return f"link[{i}].state@t{t}"


def link_prog(i: int, t: int) -> str:
    return f"link[{i}].prog@t{t}"


def link_pin(i: int, pin: str, t: int) -> str:
    """``link[1].first@t2``: link 1 stores FIRST (rfc) before request 2."""
    return f"link[{i}].{pin}@t{t}"


def ghost(i: int, what: str, t: int) -> str:
    """``ghost.first[2]@t3``: BMC ghost state of program 2 (STAYS-FIRST)."""
    return f"ghost.{what}[{i}]@t{t}"


def req(k: int, field: str) -> str:
    return f"req{k}.{field}"


def fires(rule: str, k: int) -> str:
    return f"fires.{rule}@{k}"


def effect(rule: str, k: int) -> str:
    return f"effect.{rule}@{k}"


def label(rule: str, k: int) -> str:
    return f"{rule}@{k}"


def rule_of_label(label_text: str) -> str:
    """``attach/full@2`` -> ``attach/full``."""
    return label_text.rsplit("@", 1)[0]


# -- the cgroup dialect (checker.smt.cgroup): a chain of cgroups, level 0 the root

def cg(field: str, level: int, t: int) -> str:
    """``cgroup[1].count@t2``, ``.rev``, ``.mode``, ``.present``."""
    return f"cgroup[{level}].{field}@t{t}"


def cg_slot(field: str, level: int, j: int, t: int) -> str:
    """``cgroup[1].slot[3].prog@t2``, ``.owner`` (0 = prog API, else a link),
    ``.preorder``."""
    return f"cgroup[{level}].slot[{j}].{field}@t{t}"


def cg_obj(kind: str, i: int, field: str, t: int = -1) -> str:
    """``prog[2].fd_open@t2``, ``link[1].state@t2``; static attributes
    (``prog[2].sockopt``) without ``@t``."""
    return f"{kind}[{i}].{field}" + (f"@t{t}" if t >= 0 else "")
