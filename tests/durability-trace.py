#!/usr/bin/env python3
"""Check durability discipline from an strace -f -y -s 4096 log:
 1. every rename onto a checkpoint file is preceded by an fsync of the
    file renamed (unless it is a symlink) and followed by an fsync of the
    target's directory, in that process, before its next write to stdout
    (a syncfs of the file system counts as both: group commit);
 2. no update event reaches stdout while a write to a task.updates file is
    not yet fsynced (or followed by a syncfs).
Prints the counts checked; exits 1 naming the first violation.
usage: durability-trace.py TRACE WORKDIR
"""
import os
import re
import sys

trace, work = sys.argv[1], os.path.realpath(sys.argv[2])
line_re = re.compile(r'^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)')
fd_re = re.compile(r'^\d+<([^>]*)>')

pending = {}
calls = []
for raw in open(trace, errors="replace"):
    m = re.match(r'^(\d+)\s+(.*)$', raw.rstrip("\n"))
    if not m:
        continue
    pid, rest = m.groups()
    if rest.endswith("<unfinished ...>"):
        pending[pid] = rest[: -len("<unfinished ...>")]
        continue
    r = re.match(r'^<\.\.\. \w+ resumed>(.*)$', rest)
    if r:
        rest = pending.pop(pid, "") + r.group(1)
    m = line_re.match(pid + " " + rest)
    if m:
        calls.append(m.groups())

symlinked = set()
last_write = {}                 # path -> index of its last write
syncfs_at = {}                  # pid -> index of its last syncfs
fsynced_files = set()
renames = 0
update_events = 0
dirty = {}                      # pid -> set of task.updates paths written, not synced
await_dir = {}                  # pid -> directory whose fsync is owed
violations = []

for idx, (pid, name, args, ret) in enumerate(calls):
    if int(ret) < 0:
        continue
    first = args.split(",")[0].strip()
    fdm = fd_re.match(first)
    path = fdm.group(1) if fdm else None
    if name == "syncfs":
        syncfs_at[pid] = idx
        dirty.get(pid, set()).clear()
        await_dir.pop(pid, None)
    elif name == "symlink":
        symlinked.add(args.split(",")[1].strip().strip('"'))
    elif name in ("fsync", "fdatasync") and path:
        fsynced_files.add(path)
        dirty.get(pid, set()).discard(path)
        if await_dir.get(pid) == path:
            del await_dir[pid]
    elif name in ("rename", "renameat", "renameat2"):
        quoted = re.findall(r'"([^"]*)"', args)
        if len(quoted) < 2 or not quoted[1].startswith(work + "/meta"):
            continue
        src, dst = quoted[0], quoted[1]
        renames += 1
        synced_all = last_write.get(src, -1) < syncfs_at.get(pid, -1)
        if src not in symlinked and src not in fsynced_files and not synced_all:
            violations.append(f"pid {pid}: {src} renamed onto {dst} without an fsync")
        await_dir[pid] = os.path.dirname(dst)
    elif name == "write" and path:
        last_write[path] = idx
        if path.endswith("/task.updates"):
            dirty.setdefault(pid, set()).add(path)
        elif first.startswith("1<") and '\\"event\\":\\"update\\"' in args:
            update_events += 1
            if dirty.get(pid):
                violations.append(f"pid {pid}: update written to stdout before fsync of {sorted(dirty[pid])[0]}")
            if pid in await_dir:
                violations.append(f"pid {pid}: update written to stdout before the fsync of {await_dir[pid]}")

for pid, d in await_dir.items():
    violations.append(f"pid {pid}: no fsync of {d} after its last rename")
print(f"renames checked {renames}, update events checked {update_events}, violations {len(violations)}")
for v in violations[:10]:
    print("  " + v)
sys.exit(1 if violations or renames == 0 or update_events == 0 else 0)
