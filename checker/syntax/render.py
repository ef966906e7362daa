"""The canonical renderer: Step -> script line (parse(render(step)) == step)."""
from __future__ import annotations

from ..model import Expect, Raw, Script, Step


def _r(obj) -> str:
    return str(obj.value) if isinstance(obj, Raw) else obj


def _target(s: Step) -> str:
    return s.cgroup if s.cgroup is not None else s.dev


def _flags_text(flags) -> str:
    return "|".join(f if isinstance(f, str) else hex(f) for f in flags)


def _replaced(out: list, flags: list, value, sugar: str, key: str) -> None:
    """A replaced/old program: the sugar word when REPLACE is set (it implies
    the flag), else the exact field."""
    if value is None:
        return
    if "REPLACE" in flags:
        flags.remove("REPLACE")
        out += [sugar, _r(value)]
    else:
        out.append(f"{key}={_r(value)}")


def render_step(s: Step) -> str:
    out = [s.op]
    flags = list(s.flags)
    if s.op == "load":
        out.append(s.prog)
        if s.type is not None:
            out += ["type", s.type]
        if s.expected_attach_type is not None:
            out += ["expected", s.expected_attach_type]
    elif s.op in ("dev_add", "dev_del", "clsact_add", "clsact_del"):
        out.append(s.dev)
    elif s.op in ("cgroup_add", "cgroup_del"):
        out.append(s.cgroup)
        if s.parent is not None:
            out += ["parent", s.parent]
    elif s.op == "netkit_add":
        out += [s.dev, s.peer]
        if s.mode is not None:
            out += ["mode", s.mode]
    elif s.op in ("link_detach",):
        out.append(_r(s.link))
    elif s.op == "close":
        out.append(_r(s.link if s.link is not None else s.prog))
    elif s.op == "query":
        out += [_target(s), s.dir]
        if s.count is not None:
            out += ["count", str(s.count)]
        if s.query_flags == 1 and s.cgroup is not None:
            out.append("effective")
        elif s.query_flags:
            out.append(f"query_flags={s.query_flags}")
        if s.prog_attach_flags:
            out.append("prog_attach_flags")
        if s.attach_flags:
            out.append(f"attach_flags={s.attach_flags}")
    elif s.op == "link_update":
        out += [_r(s.link), _r(s.prog)]
        _replaced(out, flags, s.old_prog, "old", "old_prog")
        if flags:
            out.append("flags=" + _flags_text(flags))
    else:  # attach, detach, link_create
        if s.op == "link_create":
            out += [s.link, _r(s.prog)]
        elif s.prog is not None:
            out.append(_r(s.prog))
        out += [_target(s), s.dir]
        for f in ("FIRST", "LAST"):
            if f in flags:
                flags.remove(f)
                out.append(f.lower())
        pos = [f for f in ("BEFORE", "AFTER") if f in flags]
        if len(pos) == 1:
            flags.remove(pos[0])
            out.append(pos[0].lower())
            if s.relative is not None:
                for f in ("ID", "LINK"):
                    if f in flags:
                        flags.remove(f)
                        out.append(f.lower())
                out.append(_r(s.relative))
        elif s.relative is not None:
            out.append(f"relative={_r(s.relative)}")
        _replaced(out, flags, s.replace, "replace", "replace")
        if s.expected_revision:
            out += ["rev", str(s.expected_revision)]
        if flags:
            out.append("flags=" + _flags_text(flags))
    if s.expect is not None:
        out.append(render_expect(s.expect))
    return " ".join(out)


def render_expect(e: Expect) -> str:
    out = ["=>", e.errno]
    if e.count is not None:
        out += ["count", str(e.count)]
    if e.revision is not None:
        out += ["rev", str(e.revision)]
    if e.progs is not None:
        out.append(entries_text(e.progs, e.links, e.flags))
    if e.mode is not None:
        out += ["mode", e.mode]
    return " ".join(out)


def entries_text(progs, links, stored=None) -> str:
    """``[p p@l p{FIRST|LAST}]``: run order, owners, stored flags (names, or
    raw bits for bits the dialect has no name for; none shown = 0)."""
    links = links or (None,) * len(progs)
    stored = stored or ((),) * len(progs)
    out = []
    for p, l, f in zip(progs, links, stored):
        text = p if l is None else f"{p}@{l}"
        out.append(text + ("{" + _flags_text(f) + "}" if f else ""))
    return "[" + " ".join(out) + "]"


def render_script(script: Script) -> str:
    """The script text; name and description become the header comments that
    checker.syntax.script reads back (one per line of their text)."""
    head = []
    for key in ("name", "description"):
        value = getattr(script, key)
        if value:
            head += [f"# {key}: {line}" for line in value.split("\n")]
    head.append(f"dialect {script.dialect}")
    return "\n".join(head + [render_step(s) for s in script.steps]) + "\n"
