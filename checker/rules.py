"""Rule registry: every spec rule ID with its errno, per dialect.

The spec headings (spec/*.md) are the source; tests/test_spec_xref.py checks
that this table, the spec, the executor's rule literals, the z3 encoding and
the conformance vectors name the same set of rules.
"""
from __future__ import annotations

# rule ID -> errno the rule decides ("ok" for successes and effects)
LINUX: dict[str, str] = {
    # spec/objects.md
    "relative/link-fd-zero": "EINVAL",
    "relative/fd-closed": "EBADF",
    "relative/not-link": "EINVAL",
    "relative/not-prog": "EINVAL",
    "relative/id-unknown": "ENOENT",
    "relative/type-mismatch": "EINVAL",
    "load/ok": "ok",
    # spec/attach.md
    "attach/flags-mask": "EINVAL",
    "attach/prog-fd-closed": "EBADF",
    "attach/prog-not-prog": "EINVAL",
    "attach/prog-type": "EINVAL",
    "attach/dev-missing": "ENODEV",
    "attach/replace-fd-closed": "EBADF",
    "attach/replace-not-prog": "EINVAL",
    "attach/replace-type": "EINVAL",
    "attach/stale-revision": "ESTALE",
    "attach/prog-exists": "EEXIST",
    "attach/replace-missing": "ENOENT",
    "attach/replace-owner": "EBUSY",
    "attach/full": "ERANGE",
    "attach/before-missing": "ENOENT",
    "attach/before-conflict": "ERANGE",
    "attach/after-missing": "ENOENT",
    "attach/after-conflict": "ERANGE",
    "attach/relative-without-position": "EINVAL",
    "attach/insert": "ok",
    "attach/replace": "ok",
    # spec/detach.md
    "detach/flags-mask": "EINVAL",
    "detach/prog-fd-closed": "EBADF",
    "detach/prog-not-prog": "EINVAL",
    "detach/prog-type": "EINVAL",
    "detach/dev-missing": "ENODEV",
    "detach/no-entry": "ENOENT",
    "detach/replace-flag": "EINVAL",
    "detach/stale-revision": "ESTALE",
    "detach/empty": "ENOENT",
    "detach/prog-missing": "ENOENT",
    "detach/prog-owner": "EBUSY",
    "detach/before-missing": "ENOENT",
    "detach/before-conflict": "ERANGE",
    "detach/after-missing": "ENOENT",
    "detach/after-conflict": "ERANGE",
    "detach/relative-without-position": "EINVAL",
    "detach/position-max": "ERANGE",
    "detach/link-owned": "EBUSY",
    "detach/remove": "ok",
    # spec/query.md
    "query/flags-unknown": "EINVAL",
    "query/dev-missing": "ENODEV",
    "query/flags-nonzero": "EINVAL",
    "query/no-entry": "ok",
    "query/truncated": "ENOSPC",
    "query/ok": "ok",
    # spec/link.md
    "link_create/prog-fd-closed": "EBADF",
    "link_create/prog-not-prog": "EINVAL",
    "link_create/prog-type": "EINVAL",
    "link_create/dev-missing": "ENODEV",
    "link_update/flags": "EINVAL",
    "link_update/link-fd-closed": "EBADF",
    "link_update/not-link": "EINVAL",
    "link_update/prog-fd-closed": "EBADF",
    "link_update/prog-not-prog": "EINVAL",
    "link_update/old-fd-closed": "EBADF",
    "link_update/old-not-prog": "EINVAL",
    "link_update/old-without-replace": "EINVAL",
    "link_update/defunct": "ENOLINK",
    "link_update/old-mismatch": "EPERM",
    "link_update/same-prog": "ok",
    "link_update/prog-exists": "EEXIST",
    "link_update/prog-type": "EINVAL",
    "link_update/replace": "ok",
    "link_detach/link-fd-closed": "EBADF",
    "link_detach/not-link": "EINVAL",
    "link_detach/defunct": "ok",
    "link_detach/detach": "ok",
    "close/fd-closed": "EBADF",
    "close/prog": "ok",
    "close/link": "ok",
    # spec/device.md
    "device/add": "ok",
    "device/add-exists": "EEXIST",
    "device/del": "ok",
    "device/del-missing": "ENODEV",
    "clsact/dev-missing": "ENODEV",
    "clsact/add": "ok",
    "clsact/add-exists": "EEXIST",
    "clsact/del": "ok",
    "clsact/del-missing": "ENOENT",
    "hook/create": "ok",
    "hook/free-when-empty": "ok",
}

RULES: dict[str, dict[str, str]] = {"linux": LINUX}


def rules(dialect: str = "linux") -> dict[str, str]:
    return RULES[dialect]
