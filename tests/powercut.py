#!/usr/bin/env python3
"""Power loss, not only process crash: a crash-state explorer.

  powercut.py record DIR          run the workload under strace; DIR/trace
  powercut.py explore DIR [--full | --stride N] [--first]
                      [--mutate drop-fsync|early-rename]
                                  build crash states from DIR/trace, run the
                                  oracle on each distinct one; prints
  "powercut: ops N, crash points N, states N, distinct N, violations N"
                                  and exits 1 on a violation.

The workload (`drive`): agent-run with three checkpointing tasks (two keep
running, one finishes), updates acknowledged, the finished one's terminal
update acknowledged, one kill (its KILLED acknowledged), `recover --gc 0`
removing the two terminated runs, one more launch, left unacknowledged.
strace -f -y records every file-system call of agent-run, its executors and
recover.

The model.  Each recorded operation acts on inodes: a write, pwrite or
ftruncate on a file; a create, mkdir, symlink, rename or unlink on a
directory entry.  A write is durable once its file is fsynced (or
fdatasynced) later; an entry operation once its directory is (a rename:
both directories).  A crash point is the moment before and after each sync
barrier, and after each event the agent writes on stdout.  At a crash point the states
are: (a) every operation so far; (b) only the durable ones; (c) durable
plus any one un-synced operation; (d) all but one un-synced operation;
(e) all, one un-synced write torn at its middle, or zero-filled.  (--stride N:
(a) and (b) at every point, (c)-(e) at every Nth, 4 by default; `make
check` takes 8, --full in `make stress` all of them.  --first stops at the
first violation.)

The oracle, on each distinct state, inside a private pid and mount
namespace (no real process can be signalled), with a new boot id (the
power cut rebooted the host):
  - `recover --strict` succeeds and a restarted agent-run registers;
  - no update whose event was written is lost: it is redelivered, or its
    acknowledgement is on disk, or its task's acknowledged terminal update
    completed the stream;
  - no update acknowledged (its `acknowledged` event written) is
    delivered again, and nothing of a task after its acknowledged terminal
    update;
  - no task launched (its `launched` event written) is forgotten while its
    terminal update is unacknowledged; the agent keeps its id.

Not modelled: journal specifics (a real ext4 orders metadata; this model
allows any subset, which is harsher), reordering below a write (a torn
write is cut at its middle only), file sizes updated apart from data, and a
second fault during recovery.  Self-test: --mutate drop-fsync forgets the
fsync of every renamed file, --mutate early-rename moves each rename of a
file before that file's fsync; either must produce violations.
"""
import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("AGENT_BIN",
                     os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "bin"))
SYSCALLS = ("execve,openat,open,creat,write,pwrite64,writev,ftruncate,fsync,fdatasync,syncfs,"
            "rename,renameat,renameat2,mkdir,mkdirat,unlink,unlinkat,rmdir,symlink,symlinkat,lseek")


# ---- the workload ----

class Agent:
    def __init__(self, work, *extra, env=None):
        self.p = subprocess.Popen([os.path.join(BIN, "agent-run"), "-d", work, *extra],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env)
        self.buf = b""
        self.events = []

    def send(self, line):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()

    def wait(self, pred, n=1, timeout=30):
        """Read events until n of them match pred; False on timeout/exit."""
        deadline = time.monotonic() + timeout
        while sum(1 for e in self.events if pred(e)) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                continue
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                return False
            self.buf += chunk
            *lines, self.buf = self.buf.split(b"\n")
            self.events += [json.loads(l) for l in lines if l.strip()]
        return True

    def update(self, task, state):
        return next(e for e in self.events if e.get("event") == "update"
                    and e["task_id"] == task and e["state"] == state)


def is_update(task, state=None):
    return lambda e: (e.get("event") == "update" and e.get("task_id") == task
                      and (state is None or e.get("state") == state))


def drive(work):
    a = Agent(work, "--agent-id", "A1", "--hostname", "h",
              "--executor", os.path.join(BIN, "agent-executor"))
    ok = True

    def need(cond, what):
        nonlocal ok
        if not cond:
            sys.stderr.write(f"drive: {what} did not happen\n")
            ok = False
        return cond

    for t, argv in (("T1", "sleep 1000"), ("T2", "sleep 1000"), ("T3", "true")):
        a.send(f"launch --checkpoint F {t}e {t} -- {argv}")
    need(a.wait(is_update("T1", "TASK_RUNNING")) and a.wait(is_update("T2", "TASK_RUNNING"))
         and a.wait(is_update("T3", "TASK_FINISHED")), "three tasks started")
    for t, s in (("T1", "TASK_STARTING"), ("T1", "TASK_RUNNING"), ("T2", "TASK_STARTING"),
                 ("T3", "TASK_STARTING"), ("T3", "TASK_RUNNING"), ("T3", "TASK_FINISHED")):
        a.send("ack " + a.update(t, s)["uuid"])
    need(a.wait(lambda e: e.get("event") == "acknowledged", 6), "six acknowledgements")
    need(a.wait(lambda e: e.get("event") == "terminated" and e["task_id"] == "T3"), "T3 terminated")
    a.send("kill F T2")
    need(a.wait(is_update("T2", "TASK_KILLED")), "T2 killed")
    a.send("ack " + a.update("T2", "TASK_RUNNING")["uuid"])
    a.send("ack " + a.update("T2", "TASK_KILLED")["uuid"])
    need(a.wait(lambda e: e.get("event") == "terminated" and e["task_id"] == "T2"), "T2 terminated")
    gc = subprocess.run([os.path.join(BIN, "recover"), "-d", work, "--gc", "0"],
                        capture_output=True, text=True)
    need(gc.returncode == 0 and gc.stdout.count("\n") == 4, f"gc of two runs ({gc.stdout!r} {gc.stderr!r})")
    a.send("launch --checkpoint F T4e T4 -- sleep 1000")
    need(a.wait(is_update("T4", "TASK_RUNNING")), "T4 running")
    a.send("ping")
    need(a.wait(lambda e: e.get("event") == "pong"), "pong")
    a.p.kill()
    a.p.wait()
    kill_under(work)
    return 0 if ok else 1


def kill_under(work):
    """Kill every process whose cwd is under work (executors, tasks)."""
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.readlink(f"/proc/{p}/cwd").startswith(work):
                    os.kill(int(p), signal.SIGKILL)
            except OSError:
                pass


def record(d):
    d = os.path.abspath(d)    # strace runs in d: its -o path is d's own
    os.makedirs(d, exist_ok=True)
    work = os.path.join(d, "w")
    rc = subprocess.run(["strace", "-f", "-y", "-xx", "-s", "1000000", "-o",
                         os.path.join(d, "trace"), "-e", "trace=" + SYSCALLS,
                         sys.executable, os.path.abspath(__file__), "drive", work],
                        cwd=d).returncode
    kill_under(work)
    with open(os.path.join(d, "work"), "w") as f:
        f.write(work)
    return rc


# ---- parsing strace -f -y -xx ----

HEX = re.compile(r'(?:\\x[0-9a-f]{2})*')


def unhex(s):
    return bytes.fromhex(s.replace("\\x", ""))


TOKEN = re.compile(r'"((?:\\x[0-9a-f]{2})*)"(\.\.\.)?|(-?\d+|AT_FDCWD)<((?:\\x[0-9a-f]{2})*)>|([A-Z_|0-9a-zx]+)')


def args_of(text):
    """The arguments of a call: ('s', bytes) strings, ('fd', n, path), ('w', word)."""
    out = []
    for m in TOKEN.finditer(text):
        if m.group(1) is not None:
            out.append(("s", unhex(m.group(1))))
        elif m.group(3) is not None:
            out.append(("fd", m.group(3), unhex(m.group(4)).decode(errors="replace")))
        else:
            out.append(("w", m.group(5)))
    return out


LINE = re.compile(r'^(\d+) (\w+)\((.*)\) += (-?\d+)(?:<((?:\\x[0-9a-f]{2})*)>)?')


def calls(path):
    """(pid, name, args, ret, ret_path) of each completed call, in order of
    completion (an unfinished call is joined to its resumption)."""
    pending = {}
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r'(\d+)\s+(.*)', line.rstrip("\n"))
            if not m:
                continue
            pid, rest = m.groups()
            if rest.endswith("<unfinished ...>"):
                pending[pid] = rest[:-len("<unfinished ...>")]
                continue
            m = re.match(r'<\.\.\. \w+ resumed>(.*)', rest)
            if m:
                rest = pending.pop(pid, "") + m.group(1)
            m = LINE.match(pid + " " + rest)
            if not m or int(m.group(4)) < 0:
                continue
            ret_path = unhex(m.group(5)).decode(errors="replace") if m.group(5) is not None else None
            yield int(m.group(1)), m.group(2), args_of(m.group(3)), int(m.group(4)), ret_path


class Model:
    """Inodes and directory entries: the recorded file system (full), or a
    crash state (built from a subset of operations)."""

    def __init__(self):
        self.kind = {0: "d"}
        self.data = {}
        self.dirs = {0: {}}
        self.target = {}

    def lookup(self, parts):
        ino = 0
        for p in parts:
            ino = self.dirs.get(ino, {}).get(p)
            if ino is None:
                return None
        return ino

    def apply(self, op, kinds, variant=None):
        t = op[0]
        if t in ("create", "mkdir", "symlink"):
            _, d, name, ino = op[:4]
            self.dirs.setdefault(d, {})[name] = ino
            self.ensure(ino, kinds)
            if t == "symlink":
                self.target[ino] = op[4]
        elif t == "rename":
            _, sd, sn, dd, dn, ino = op
            if self.dirs.get(sd, {}).get(sn) == ino:
                del self.dirs[sd][sn]
            self.dirs.setdefault(dd, {})[dn] = ino
            self.ensure(ino, kinds)
        elif t == "unlink":
            _, d, name, ino = op
            if self.dirs.get(d, {}).get(name) == ino:
                del self.dirs[d][name]
        elif t == "write":
            _, ino, off, data = op
            if variant == "torn":
                data = data[:len(data) // 2]
            elif variant == "zero":
                data = bytes(len(data))
            self.ensure(ino, kinds)
            b = self.data[ino]
            if len(b) < off:
                b.extend(bytes(off - len(b)))
            b[off:off + len(data)] = data
        elif t == "trunc":
            _, ino, size = op
            self.ensure(ino, kinds)
            b = self.data[ino]
            del b[size:]
            b.extend(bytes(size - len(b)))

    def ensure(self, ino, kinds):
        if ino not in self.kind:
            self.kind[ino] = kinds[ino][0]
            if kinds[ino].startswith("l:"):
                self.target[ino] = kinds[ino][2:]
            if kinds[ino] == "f":
                self.data[ino] = bytearray()
            elif kinds[ino] == "d":
                self.dirs.setdefault(ino, {})

    def materialize(self, root):
        """Write the tree under root; return its digest."""
        h = hashlib.sha256()

        def walk(ino, path, rel):
            for name in sorted(self.dirs.get(ino, {})):
                child = self.dirs[ino][name]
                p, r = os.path.join(path, name), rel + "/" + name
                k = self.kind[child]
                if k == "d":
                    if r.count("/") > 64:
                        continue
                    os.mkdir(p, 0o700)
                    h.update(f"d {r}\n".encode())
                    walk(child, p, r)
                elif k == "l":
                    os.symlink(self.target[child], p)
                    h.update(f"l {r} {self.target[child]}\n".encode())
                else:
                    with open(p, "wb") as f:
                        f.write(self.data[child])
                    h.update(f"f {r} ".encode() + hashlib.sha256(self.data[child]).digest())
        os.makedirs(root, mode=0o700, exist_ok=True)
        walk(0, root, "")
        return h.hexdigest()


def parse(d):
    """The operations on the work dir, in order: entry ops, writes, syncs
    ('sync', ino) and events ('event', dict)."""
    work = open(os.path.join(d, "work")).read()
    m = Model()
    kinds = {0: "d"}
    ops = []
    offsets = {}
    appendfd = set()
    agent_pids = set()
    nino = [0]

    def rel(path):
        if path == work:
            return []
        if path.startswith(work + "/"):
            return path[len(work) + 1:].split("/")
        return None

    def resolve(a, b=None):
        """Absolute path of (dirfd, name) or (name)."""
        if b is None:
            return a
        if b.startswith("/"):
            return b
        return os.path.join(a, b)

    def new(kind):
        nino[0] += 1
        kinds[nino[0]] = kind
        return nino[0]

    def ino_of(path):
        parts = rel(path)
        return None if parts is None else m.lookup(parts)

    def emit(op):
        ops.append(op)
        if op[0] not in ("sync", "event"):
            m.apply(op, kinds)

    def entry(path):
        parts = rel(path)
        if not parts:
            return None, None
        return m.lookup(parts[:-1]), parts[-1]

    for pid, name, args, ret, ret_path in calls(os.path.join(d, "trace")):
        strs = [a[1].decode(errors="replace") for a in args if a[0] == "s"]
        fds = [a for a in args if a[0] == "fd"]
        words = [a[1] for a in args if a[0] == "w"]
        if name == "execve":
            if strs and strs[0].endswith("/agent-run"):
                agent_pids.add(pid)
            else:
                agent_pids.discard(pid)
        elif name in ("openat", "open", "creat"):
            path = ret_path or ""
            if rel(path) is None:
                continue
            flags = " ".join(words)
            offsets[(pid, ret)] = 0
            appendfd.discard((pid, ret))
            if "O_APPEND" in flags:
                appendfd.add((pid, ret))
            ino = ino_of(path)
            if ino is None and ("O_CREAT" in flags or name == "creat"):
                dino, nm = entry(path)
                if dino is not None:
                    emit(("create", dino, nm, new("f")))
            elif ino is not None and "O_TRUNC" in flags and kinds.get(ino) == "f":
                emit(("trunc", ino, 0))
        elif name in ("write", "pwrite64"):
            if not fds:
                continue
            fd, path = int(fds[0][1]), fds[0][2]
            data = [a[1] for a in args if a[0] == "s"][0][:ret]
            if fd == 1 and pid in agent_pids and rel(path) is None:
                for l in data.split(b"\n"):
                    if l.strip():
                        ops.append(("event", json.loads(l)))
                continue
            ino = ino_of(path)
            if ino is None or kinds.get(ino) != "f":
                continue
            if name == "pwrite64":
                off = int(words[-1])
            elif (pid, fd) in appendfd or (pid, fd) not in offsets:
                off = len(m.data.get(ino, b""))
            else:
                off = offsets[(pid, fd)]
            emit(("write", ino, off, data))
            if name == "write":
                offsets[(pid, fd)] = off + len(data)
        elif name == "lseek":
            if fds:
                offsets[(pid, int(fds[0][1]))] = ret
        elif name == "ftruncate":
            ino = ino_of(fds[0][2]) if fds else None
            if ino is not None:
                emit(("trunc", ino, int(words[-1])))
        elif name in ("fsync", "fdatasync"):
            ino = ino_of(fds[0][2]) if fds else None
            if ino is not None:
                ops.append(("sync", ino))
        elif name == "syncfs":
            # the whole file system: every file and directory so far
            ops.append(("syncall",))
        elif name in ("mkdir", "mkdirat", "symlink", "symlinkat", "unlink", "unlinkat", "rmdir"):
            if name == "symlinkat":
                target, path = strs[0], resolve(fds[0][2], strs[1])
            elif name == "symlink":
                target, path = strs[0], strs[1]
            else:
                path = resolve(fds[0][2], strs[0]) if fds else strs[0]
            if not os.path.isabs(path):
                continue
            dino, nm = entry(path)
            if dino is None:
                continue
            if name.startswith("mkdir"):
                emit(("mkdir", dino, nm, new("d")))
            elif name.startswith("symlink"):
                emit(("symlink", dino, nm, new("l:" + target), target))
            else:
                ino = m.dirs.get(dino, {}).get(nm)
                if ino is not None:
                    emit(("unlink", dino, nm, ino))
        elif name in ("rename", "renameat", "renameat2"):
            if name == "rename":
                src, dst = strs[0], strs[1]
            else:
                src, dst = resolve(fds[0][2], strs[0]), resolve(fds[1][2], strs[1])
            sd, sn = entry(src)
            dd, dn = entry(dst)
            if sd is None or dd is None:
                continue
            ino = m.dirs.get(sd, {}).get(sn)
            if ino is not None:
                emit(("rename", sd, sn, dd, dn, ino))
    return ops, kinds


def mutate(ops, how):
    """Deliberate bugs the oracle must catch."""
    renamed = {op[5] for op in ops if op[0] == "rename" and op[5]}
    if how == "drop-fsync":
        # a syncfs followed by a rename before the next one is the
        # barrier that makes renamed files durable (group commit)
        first = set()
        for i, op in enumerate(ops):
            if op[0] != "syncall":
                continue
            for nxt in ops[i + 1:]:
                if nxt[0] == "syncall":
                    break
                if nxt[0] == "rename":
                    first.add(i)
                    break
        return [op for i, op in enumerate(ops)
                if not (op[0] == "sync" and op[1] in renamed) and i not in first]
    if how == "early-rename":
        out = list(ops)
        for i, op in enumerate(ops):
            if op[0] != "rename":
                continue
            j = out.index(op)
            # move it before the last sync of its file (or of all) preceding it
            k = max((x for x in range(j) if out[x] in (("sync", op[5]), ("syncall",))),
                    default=None)
            if k is not None:
                out.insert(k, out.pop(j))
        return out
    raise SystemExit(f"powercut.py: unknown mutation '{how}'")


def covered(ops):
    """durable[i]: index of the sync that makes op i durable (len(ops) if
    none): its file's for a write, its directory's for an entry (a rename
    across directories: the later of both)."""
    n = len(ops)
    durable = [n] * n
    nxt = {}        # ino -> index of its next sync, scanning backwards
    nall = n        # index of the next syncfs
    for i in range(n - 1, -1, -1):
        op = ops[i]
        t = op[0]
        if t == "sync":
            nxt[op[1]] = i
        elif t == "syncall":
            nall = i
        elif t == "event":
            durable[i] = i
        elif t in ("write", "trunc"):
            durable[i] = min(nxt.get(op[1], n), nall)
        elif t == "rename":
            durable[i] = max(min(nxt.get(op[1], n), nall), min(nxt.get(op[3], n), nall))
        else:
            durable[i] = min(nxt.get(op[1], n), nall)
    return durable


def states(ops, kinds, stride):
    """Yield (crash point, label, events so far, model) for every state."""
    durable = covered(ops)
    # before and after each sync barrier, after each event
    points = [i + 1 for i, op in enumerate(ops) if op[0] in ("sync", "syncall", "event")]
    points += [i for i, op in enumerate(ops) if op[0] in ("sync", "syncall")]
    points = sorted(set(points))
    for pi, c in enumerate(points):
        events = [op[1] for op in ops[:c] if op[0] == "event"]
        base = [i for i in range(c) if ops[i][0] not in ("sync", "syncall", "event")]
        pend = [i for i in base if durable[i] >= c]
        dur = [i for i in base if durable[i] < c]

        def build(sel, variant_of=None, variant=None):
            m = Model()
            for i in sorted(sel):
                m.apply(ops[i], kinds, variant if i == variant_of else None)
            return m

        yield c, "all", events, build(base)
        if not pend:
            continue
        yield c, "durable", events, build(dur)
        if pi % stride:
            continue
        for p in pend:
            yield c, f"durable+{p}", events, build(dur + [p])
            yield c, f"all-{p}", events, build([i for i in base if i != p])
            if ops[p][0] == "write" and len(ops[p][3]) > 1:
                yield c, f"torn {p}", events, build(base, p, "torn")
                yield c, f"zero {p}", events, build(base, p, "zero")


# ---- the oracle ----

TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR",
            "TASK_DROPPED", "TASK_GONE"}


def oracle(work, events, scratch):
    """Violations (strings) of the state in work, given the events written
    before the crash."""
    bad = []
    r = subprocess.run([os.path.join(BIN, "recover"), "-d", work, "--strict"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        bad.append(f"recover --strict exited {r.returncode}: {r.stderr.strip()}")
    ins = subprocess.run([os.path.join(BIN, "ckpt-inspect"), "-d", work, "--updates", "--json"],
                         capture_output=True, text=True)
    acked_on_disk = set()
    for l in ins.stdout.splitlines():
        try:
            rec = json.loads(l)
        except ValueError:
            continue
        if rec.get("type") == "ACK" or rec.get("acknowledged"):
            acked_on_disk.add(rec.get("uuid"))
    boot = os.path.join(scratch, "boot_id")
    with open(boot, "w") as f:
        f.write("00000000-0000-4000-8000-000000000001\n")
    env = dict(os.environ, CKPT_BOOT_ID_SOURCE=boot)
    a = Agent(work, "--executor-reregistration-timeout=1s", env=env)
    up = a.wait(lambda e: e.get("event") in ("registered", "reregistered"), 1, 20)
    if up:
        a.send("ping")
        a.wait(lambda e: e.get("event") == "pong", 1, 20)
    a.p.kill()
    a.p.wait()
    err = a.p.stderr.read().decode(errors="replace").strip()
    if not up:
        bad.append(f"the restarted agent did not register (exit {a.p.returncode}): {err}")
        return bad
    ev2 = a.events
    again = {e["uuid"]: e for e in ev2 if e.get("event") == "update"}
    acked = {e["uuid"] for e in events if e.get("event") == "acknowledged"}
    updates = [e for e in events if e.get("event") == "update"]
    done = {e["task_id"] for e in updates if e["state"] in TERMINAL and e["uuid"] in acked}
    for e in updates:
        u, t = e["uuid"], e["task_id"]
        if u in acked:
            if u in again:
                bad.append(f"acknowledged update {u} ({t} {e['state']}) delivered again")
        elif t not in done and u not in acked_on_disk and u not in again:
            bad.append(f"update {u} ({t} {e['state']}) lost: its event was written")
    for t in done:
        for e in again.values():
            if e["task_id"] == t:
                bad.append(f"update {e['uuid']} ({t} {e['state']}) after the task's acknowledged terminal update")
    known = {e["task_id"] for e in ev2 if e.get("event") == "update"}
    for e in events:
        if e.get("event") == "launched" and e["task_id"] not in done and e["task_id"] not in known:
            t = e["task_id"]
            term_on_disk = any(x["task_id"] == t and x["state"] in TERMINAL and x["uuid"] in acked_on_disk
                               for x in updates)
            if not term_on_disk:
                bad.append(f"task {t} forgotten: launched, no terminal update acknowledged, "
                           "nothing about it after the restart")
    reg = [e for e in events if e.get("event") == "registered"]
    rec2 = [e for e in ev2 if e.get("event") == "recovery"]
    if reg and rec2 and rec2[0].get("agent_id") != reg[0]["agent_id"]:
        bad.append(f"agent {reg[0]['agent_id']} forgotten: restarted as {rec2[0].get('agent_id')}")
    return bad


def explore(d, stride, how, first):
    ops, kinds = parse(d)
    if how:
        ops = mutate(ops, how)
    scratch = tempfile.mkdtemp(prefix="powercut.")
    seen = {}
    n_states = n_points = violations = 0
    last = None
    try:
        for c, label, events, model in states(ops, kinds, stride):
            if first and violations:
                break
            n_states += 1
            if c != last:
                n_points += 1
                last = c
            root = os.path.join(scratch, "w")
            shutil.rmtree(root, ignore_errors=True)
            digest = model.materialize(root)
            key = (digest, json.dumps(events, sort_keys=True))
            if key in seen:
                continue
            bad = oracle(root, events, scratch)
            seen[key] = bad
            if bad:
                violations += 1
                if violations <= 10:
                    sys.stderr.write(f"crash point {c} ({label}; after {ops[c - 1][0]}):\n")
                    for b in bad[:5]:
                        sys.stderr.write(f"  {b}\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    distinct = len({k[0] for k in seen})
    print(f"powercut: ops {sum(1 for o in ops if o[0] not in ('sync', 'event'))}, "
          f"syncs {sum(1 for o in ops if o[0] == 'sync')}, events {sum(1 for o in ops if o[0] == 'event')}, "
          f"crash points {n_points}, states {n_states}, distinct {distinct}, "
          f"checked {len(seen)}, violations {violations}")
    return 1 if violations else 0


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "drive":
        sys.exit(drive(d))
    if cmd == "record":
        sys.exit(record(d))
    if cmd == "explore":
        how = None
        if "--mutate" in sys.argv:
            how = sys.argv[sys.argv.index("--mutate") + 1]
        if os.environ.get("POWERCUT_NS") != "1" and os.getuid() == 0:
            # a private pid and mount namespace: nothing real can be signalled
            os.environ["POWERCUT_NS"] = "1"
            os.execvp("unshare", ["unshare", "-p", "-f", "-m", "--mount-proc",
                                  sys.executable, os.path.abspath(__file__), *sys.argv[1:]])
        stride = 1 if "--full" in sys.argv else 4
        if "--stride" in sys.argv:
            stride = int(sys.argv[sys.argv.index("--stride") + 1])
        sys.exit(explore(d, stride, how, "--first" in sys.argv))
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
